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

    // parallelFor's loops go to LoopWorkers, whose workers spin between loops and sleep after
    // 50 µs: every index must run exactly once whether the loops come back to back (workers
    // spinning), after a pause (workers asleep), inside another parallel loop (the workers are busy,
    // so Dispatch runs it), or from several threads at once (one gets the workers, the rest
    // Dispatch); the caller waiting asleep for a slow chunk; and no more chunks than the width
    // run at once.
    func testParallelForRunsEveryIndexOnceFromAnyThread() {
        for width in [2, 3, 12] {   // 12: more chunks than LoopWorkers takes, so Dispatch runs them
            ThreadBudget.count = width
            for round in 0..<300 {
                let n = 1 + round * 97 % 50_000
                var hits = [UInt8](repeating: 0, count: n)
                hits.withUnsafeMutableBufferPointer { h in
                    parallelFor(n, minChunk: 64) { r in for i in r { h[i] &+= 1 } }
                }
                XCTAssertTrue(hits.allSatisfy { $0 == 1 }, "width \(width), round \(round), n \(n)")
                if round % 50 == 0 { usleep(2_000) }   // long enough for the workers to fall asleep
            }
            // Nested: the inner loops find the workers busy.
            var nested = [UInt8](repeating: 0, count: 64 * 4096)
            nested.withUnsafeMutableBufferPointer { h in
                parallelFor(64, minChunk: 1) { rows in
                    for row in rows { parallelFor(4096, minChunk: 64) { r in for i in r { h[row * 4096 + i] &+= 1 } } }
                }
            }
            XCTAssertTrue(nested.allSatisfy { $0 == 1 }, "nested, width \(width)")
            // Four threads posting loops at once.
            let lock = NSLock()
            var failures = 0
            DispatchQueue.concurrentPerform(iterations: 4) { t in
                for round in 0..<100 {
                    let n = 5_000 + 37 * round + t
                    var hits = [UInt8](repeating: 0, count: n)
                    hits.withUnsafeMutableBufferPointer { h in parallelFor(n, minChunk: 64) { r in for i in r { h[i] &+= 1 } } }
                    if !hits.allSatisfy({ $0 == 1 }) { lock.lock(); failures += 1; lock.unlock() }
                }
            }
            XCTAssertEqual(failures, 0, "width \(width)")
            // At most `width` chunks at once, and more than one: each chunk waits (up to 5 s, not a
            // fixed nap that a busy host may sleep through before a worker wakes) until two have
            // overlapped, which only happens if the chunks run on more than one thread.
            var running = 0, peak = 0
            let deadline = Date().addingTimeInterval(5)
            parallelFor(width * 8, minChunk: 1) { _ in
                lock.lock(); running += 1; peak = max(peak, running); lock.unlock()
                repeat { usleep(200) } while lock.withLock({ peak < 2 }) && Date() < deadline
                lock.lock(); running -= 1; lock.unlock()
            }
            XCTAssertLessThanOrEqual(peak, width)
            XCTAssertGreaterThan(peak, 1, "the chunks ran on more than one thread")
        }
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

    // madeInOrder: items made on several lanes at once are consumed in order, each once, never more
    // than the window ahead of the one being consumed; each lane runs with a thread budget of one
    // while the calling thread keeps the process's. Items take uneven times (item i sleeps (7 i mod 5) ms),
    // so later items often finish first and must wait their turn.
    func testMadeInOrderConsumesInOrderWithinTheWindow() throws {
        ThreadBudget.count = 3
        let lock = NSLock()
        var made = 0, consumed = 0, aheadPeak = 0, budgets = Set<Int>(), lanesSeen = Set<String>()
        var order: [Int] = []
        try madeInOrder(40, lanes: 3, window: 4, produce: { i -> Int in
            lock.lock()
            made += 1; aheadPeak = max(aheadPeak, made - consumed - 1); budgets.insert(ThreadBudget.count)
            lanesSeen.insert("\(Unmanaged.passUnretained(Thread.current).toOpaque())")
            lock.unlock()
            usleep(UInt32(1_000 * (7 * i % 5)))
            return i * i
        }, consume: { i, item in
            XCTAssertEqual(item, i * i)
            XCTAssertEqual(ThreadBudget.count, 3, "the consuming thread's budget")
            order.append(i)
            lock.lock(); consumed += 1; lock.unlock()
        })
        XCTAssertEqual(order, Array(0..<40))
        XCTAssertLessThanOrEqual(aheadPeak, 4, "items started ahead of the one being consumed or waited for")
        XCTAssertEqual(budgets, [1], "a lane's thread budget")
        XCTAssertGreaterThan(lanesSeen.count, 1, "the items ran on one thread")
        XCTAssertEqual(ThreadBudget.count, 3, "the process's budget")
    }

    // The first error in order of i is the one thrown, whether a producer or the consumer throws it;
    // nothing after it is consumed, and the lanes stop (at most the window's items are started past it).
    func testMadeInOrderStopsAtTheFirstError() {
        struct Failure: Error, Equatable { let i: Int }
        ThreadBudget.count = 2
        for throwing in ["produce", "consume"] {
            let lock = NSLock()
            var started = 0, consumed: [Int] = []
            XCTAssertThrowsError(try madeInOrder(1_000, lanes: 2, window: 4, produce: { i -> Int in
                lock.lock(); started += 1; lock.unlock()
                if throwing == "produce" && (i == 5 || i == 7) { throw Failure(i: i) }
                return i
            }, consume: { i, _ in
                if throwing == "consume" && i == 5 { throw Failure(i: i) }
                consumed.append(i)
            })) { XCTAssertEqual($0 as? Failure, Failure(i: 5), throwing) }
            XCTAssertEqual(consumed, Array(0..<5), throwing)
            XCTAssertLessThanOrEqual(started, 5 + 4 + 2, throwing)
            XCTAssertEqual(ThreadBudget.count, 2, throwing)
        }
    }
}
