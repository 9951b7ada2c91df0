// PitchTests.swift — YIN (DSP/Pitch.swift): its difference function against the defining sum, and
// the pitch of signals whose f0 is known by construction.
@testable import DSP
import Foundation
import XCTest

final class PitchTests: XCTestCase {
    // Expected: d(τ) = Σ_{j<W} (x_j − x_{j+τ})², summed directly in Double (YIN's eq. 6). The FFT
    // form differs by float rounding only: the cross term's error is about 1e-7 · log2(n) of the
    // window's energy, so 1e-5 of it bounds every lag.
    func testDifferenceFunctionEqualsTheDefiningSum() {
        var state: UInt64 = 12345
        func noise() -> Float {   // a fixed-seed LCG: the test is the same on every run
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 1000
        }
        for (window, maxLag) in [(367, 367), (100, 40), (64, 64)] {
            let x = (0..<(window + maxLag)).map { j in 0.7 * Float(sin(2 * Double.pi * 0.013 * Double(j))) + 0.3 * noise() }
            var fast = DifferenceFunction(window: window, maxLag: maxLag)
            var d = [Float](repeating: -1, count: maxLag + 1)
            let e0 = (0..<window).reduce(0.0) { $0 + Double(x[$1]) * Double(x[$1]) }
            // A window below the caller's silence threshold: its energy, and nothing written.
            let quiet = x.withUnsafeBufferPointer { fast.compute($0.baseAddress!, minLag: 1, into: &d, silence: Float(e0) * 1.01) }
            XCTAssertEqual(Double(quiet), e0, accuracy: 1e-5 * e0)
            XCTAssertEqual(d, [Float](repeating: -1, count: maxLag + 1), "a silent window computes no lag")
            let energy = x.withUnsafeBufferPointer { fast.compute($0.baseAddress!, minLag: 1, into: &d) }
            XCTAssertEqual(Double(energy), e0, accuracy: 1e-5 * e0)
            XCTAssertEqual(d[0], -1, "lags below minLag are not written")
            for tau in 1...maxLag {
                let direct = (0..<window).reduce(0.0) { s, j in let v = Double(x[j]) - Double(x[j + tau]); return s + v * v }
                XCTAssertEqual(Double(d[tau]), direct, accuracy: 1e-5 * e0, "window \(window), lag \(tau)")
            }
        }
    }

    // Expected: a sum of 6 harmonics of f0 (decreasing amplitudes, random phases) is periodic with
    // period 1/f0 by construction, so YIN's dip is at the period: f0 within 0.5% (the parabolic
    // interpolation's bias at 22050 Hz); silence gives 0 (unvoiced) in every frame.
    func testPitchOfAHarmonicSignalAndOfSilence() {
        let sr = 22050, hop = 256, seconds = 0.6
        let n = Int(Double(sr) * seconds), frames = n / hop
        for f0 in [95.0, 180.0, 310.0] {
            let phases = (1...6).map { Double($0) * 1.7 }
            let x = (0..<n).map { j -> Float in
                let t = Double(j) / Double(sr)
                return Float((1...6).reduce(0.0) { $0 + sin(2 * Double.pi * f0 * Double($1) * t + phases[$1 - 1]) / Double($1) } * 0.3)
            }
            for fromLagOne in [false, true] {
                let track = PitchTracker.yin(x, sampleRate: sr, hopSeconds: Double(hop) / Double(sr), frames: frames,
                                             fMin: 60, fMax: 400, threshold: 0.15, fromLagOne: fromLagOne)
                let voiced = track.filter { $0 > 0 }
                XCTAssertGreaterThan(voiced.count, frames - 8, "f0 \(f0): only the edge frames may be skipped")
                for v in voiced { XCTAssertEqual(Double(v), f0, accuracy: 0.005 * f0, "f0 \(f0)") }
            }
        }
        let silence = PitchTracker.yin([Float](repeating: 0, count: n), sampleRate: sr, hopSeconds: Double(hop) / Double(sr), frames: frames)
        XCTAssertEqual(silence, [Float](repeating: 0, count: frames))
    }

    // Expected: a frame's f0 depends only on its centre, so a contour at one hop handed in as `known`
    // gives, to the bit, the contour tracked from nothing at another hop: finer (every other frame
    // known), coarser (every frame known), equal, and one whose centres rarely meet (200 against 256).
    // The signal glides in pitch and has silent stretches, so voiced and unvoiced frames both move.
    func testAKnownContourAtAnotherHopGivesTheSameContour() {
        let sr = 22050, n = 22050
        var phase = 0.0
        let x = (0..<n).map { j -> Float in
            let t = Double(j) / Double(sr)
            phase += 2 * Double.pi * (110 + 120 * t) / Double(sr)
            return (t > 0.3 && t < 0.45) ? 0 : Float(0.4 * sin(phase) + 0.2 * sin(2 * phase + 0.5))
        }
        func track(_ hop: Int, known: (contour: [Float], hopSeconds: Double)? = nil) -> [Float] {
            PitchTracker.yin(x, sampleRate: sr, hopSeconds: Double(hop) / Double(sr), frames: 1 + n / hop,
                             fMin: 60, fMax: 500, threshold: 0.15, fromLagOne: true, known: known)
        }
        for (hop, knownHop) in [(128, 256), (512, 256), (256, 256), (200, 256)] {
            let given = (contour: track(knownHop), hopSeconds: Double(knownHop) / Double(sr))
            let plain = track(hop)
            XCTAssertGreaterThan(plain.filter { $0 > 0 }.count, plain.count / 2, "hop \(hop): mostly voiced")
            XCTAssertEqual(track(hop, known: given).map(\.bitPattern), plain.map(\.bitPattern), "hop \(hop) from \(knownHop)")
        }
    }
}
