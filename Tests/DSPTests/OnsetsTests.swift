// OnsetsTests.swift — the onset detector (DSP/Onsets.swift) on signals whose onsets are known by
// construction: decaying noise bursts at chosen times, a steady tone, silence.
@testable import DSP
import Foundation
import XCTest

final class OnsetsTests: XCTestCase {
    /// Bursts of noise at `times` (seconds), each decaying over 60 ms, over a quiet steady tone.
    func bursts(at times: [Double], seconds: Double, rate: Int = 22050) -> [Float] {
        var rng = TestRNG(seed: 5)
        var x = (0..<Int(seconds * Double(rate))).map { 0.01 * Float(sin(2 * Double.pi * 220 * Double($0) / Double(rate))) }
        for t in times {
            let start = Int(t * Double(rate))
            for j in 0..<Int(0.2 * Double(rate)) where start + j < x.count {
                x[start + j] += 0.5 * rng.signed() * Float(exp(-Double(j) / (0.06 * Double(rate))))
            }
        }
        return x
    }

    // Expected: the burst times themselves, each found once: no later than one frame of 256 samples
    // (11.6 ms) after it, and no earlier than the half window (512 samples, 23.2 ms) by which a
    // centred 1024-sample frame sees it coming, plus a frame; nothing else, the signal's end included.
    func testFindsEachBurstOnceWithinAFrame() {
        let times = [0.25, 0.7, 1.0, 1.6, 1.75, 2.4, 3.1]
        let found = Onsets.times(bursts(at: times, seconds: 3.5))
        XCTAssertEqual(found.count, times.count, "\(found)")
        for (f, t) in zip(found, times) { XCTAssertTrue(f >= t - 768.0 / 22050 && f <= t + 256.0 / 22050, "\(t): \(found)") }
    }

    // Expected: a steady tone has no attack, at its ends included (the reflected padding of a centred
    // STFT makes a rise there that no note played), and silence none at all.
    func testASteadyToneOrSilenceHasNoOnsets() {
        let tone = (0..<44100).map { 0.3 * Float(sin(2 * Double.pi * 440 * Double($0) / 22050)) }
        XCTAssertEqual(Onsets.times(tone), [])
        XCTAssertEqual(Onsets.times([Float](repeating: 0, count: 22050)), [])
        XCTAssertEqual(Onsets.times([]), [])
    }
}
