// ParallelismTests.swift: the thread budget (ThreadBudget.count, read by DSPParallelism) limits how many threads the STFT, iSTFT and YIN
// loops use, and changes only the grouping of independent frames, so every width gives the same bits.

import Foundation
import XCTest
import Base
@testable import DSP

final class ParallelismTests: XCTestCase {
    override func tearDown() { ThreadBudget.count = ProcessInfo.processInfo.activeProcessorCount }

    func testForEachVisitsEveryIterationOnceWithinTheWidth() {
        for width in [1, 2, 3, 8] {
            ThreadBudget.count = width
            let lock = NSLock()
            var seen = [Int](repeating: 0, count: 37)
            var running = 0, peak = 0
            DSPParallelism.forEach(37) { i in
                lock.lock(); running += 1; peak = max(peak, running); seen[i] += 1; lock.unlock()
                usleep(200)
                lock.lock(); running -= 1; lock.unlock()
            }
            XCTAssertEqual(seen, [Int](repeating: 1, count: 37), "width \(width)")
            XCTAssertLessThanOrEqual(peak, width, "width \(width): \(peak) blocks ran at once")
        }
        ThreadBudget.count = 0
        XCTAssertEqual(ThreadBudget.count, 1, "the width is at least 1")
    }

    func testEveryWidthGivesBitIdenticalResults() {
        // A deterministic chirp with noise-like harmonics: long enough (≈ 2 s) for the parallel paths.
        let x: [Float] = (0..<44_100).map { i in
            let t = Float(i) / 22050
            return 0.4 * sin(2 * .pi * (110 + 60 * t) * t) + 0.2 * sin(2 * .pi * 347 * t * t) + 0.05 * sin(Float(i * i % 977))
        }
        let stft = STFT()
        func run() -> (re: [Float], im: [Float], inverse: [Float], f0: [Float]) {
            let s = stft.forward(x)
            let y = stft.inverse(s, length: x.count)
            let f0 = PitchTracker.yin(x, sampleRate: 22050, hopSeconds: 256.0 / 22050, frames: s.frames)
            return (s.re, s.im, y, f0)
        }
        ThreadBudget.count = ProcessInfo.processInfo.activeProcessorCount
        let full = run()
        XCTAssertGreaterThan(full.f0.filter { $0 > 0 }.count, 10, "the pitch tracker found no voiced frames")
        for width in [1, 2, 3] {
            ThreadBudget.count = width
            let r = run()
            XCTAssertEqual(r.re, full.re, "STFT real part, width \(width)")
            XCTAssertEqual(r.im, full.im, "STFT imaginary part, width \(width)")
            XCTAssertEqual(r.inverse, full.inverse, "iSTFT, width \(width)")
            XCTAssertEqual(r.f0, full.f0, "YIN, width \(width)")
        }
    }
}
