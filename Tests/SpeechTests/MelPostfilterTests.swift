// MelPostfilterTests.swift — the mel postfilter against closed forms: a ripple across bands of
// period P through a centred box of 5 keeps c(P) = (1/5) Σ_{k=-2..2} cos(2πk/P) of itself in the
// local mean, so a detail gain g turns its amplitude a into a·(c + g·(1 − c)); a plane in bands
// and frames is its own local mean and passes unchanged; a fit of a teacher whose ripple is k
// times the model's returns k; and a config's hostile postfilter is refused by name.
import Foundation
import Speech
import XCTest

final class MelPostfilterTests: XCTestCase {
    static let nMels = 80

    /// frames × 80 log-mel: base(t, b) + a·cos(2πb/P + φ·t).
    static func rippled(frames: Int, amplitude a: Float, period p: Float, base: (Int, Int) -> Float = { t, b in -4 + 0.02 * Float(b) - 0.01 * Float(t) }) -> [Float] {
        var x = [Float](repeating: 0, count: frames * nMels)
        for t in 0..<frames {
            for b in 0..<nMels { x[t * nMels + b] = base(t, b) + a * cos(2 * .pi * Float(b) / p + 0.7 * Float(t)) }
        }
        return x
    }

    func testSpectralGainScalesARippleByItsClosedForm() {
        let frames = 12, a: Float = 0.5, g: Float = 2
        // A plane (no ripple): unchanged where the box sees no edge (its own local mean).
        var plane = Self.rippled(frames: frames, amplitude: 0, period: 4)
        let original = plane
        let filter = MelPostfilter(spectralWidth: 5, temporalWidth: 3,
                                   spectralGain: ["slt": [Float](repeating: g, count: Self.nMels)],
                                   temporalGain: ["slt": [Float](repeating: 1.5, count: Self.nMels)])
        filter.apply(&plane, frames: frames, nMels: Self.nMels, voice: "slt")
        for t in 1..<(frames - 1) {
            for b in 2..<(Self.nMels - 2) { XCTAssertEqual(plane[t * Self.nMels + b], original[t * Self.nMels + b], accuracy: 1e-5) }
        }
        // A ripple of period 4 across bands, spectral gain only: c = (1 + 2cos(π/2) + 2cos(π))/5 = −0.2,
        // so the amplitude becomes a·(−0.2 + 2·1.2) = 2.2a on the interior bands.
        let spectralOnly = MelPostfilter(spectralGain: ["slt": [Float](repeating: g, count: Self.nMels)])
        var x = Self.rippled(frames: frames, amplitude: a, period: 4)
        spectralOnly.apply(&x, frames: frames, nMels: Self.nMels, voice: "slt")
        let expected = Self.rippled(frames: frames, amplitude: a * 2.2, period: 4)
        for t in 0..<frames {
            for b in 2..<(Self.nMels - 2) { XCTAssertEqual(x[t * Self.nMels + b], expected[t * Self.nMels + b], accuracy: 1e-4) }
        }
        // Period 10: c = (1 + 2cos(0.2π) + 2cos(0.4π))/5 = 0.6472, amplitude a·(0.6472 + 2·0.3528) = 1.3528a.
        let c10 = (1 + 2 * cos(Float.pi / 5) + 2 * cos(2 * Float.pi / 5)) / 5
        var y = Self.rippled(frames: frames, amplitude: a, period: 10)
        spectralOnly.apply(&y, frames: frames, nMels: Self.nMels, voice: "slt")
        let expected10 = Self.rippled(frames: frames, amplitude: a * (c10 + g * (1 - c10)), period: 10)
        for t in 0..<frames {
            for b in 2..<(Self.nMels - 2) { XCTAssertEqual(y[t * Self.nMels + b], expected10[t * Self.nMels + b], accuracy: 1e-4) }
        }
        // Another voice, or gains of 1, leave the mel as it was.
        var z = Self.rippled(frames: frames, amplitude: a, period: 4)
        let before = z
        spectralOnly.apply(&z, frames: frames, nMels: Self.nMels, voice: "rms")
        XCTAssertEqual(z, before)
        MelPostfilter(spectralGain: ["slt": [Float](repeating: 1, count: Self.nMels)],
                      temporalGain: ["slt": [Float](repeating: 1, count: Self.nMels)]).apply(&z, frames: frames, nMels: Self.nMels, voice: "slt")
        for (u, v) in zip(z, before) { XCTAssertEqual(u, v, accuracy: 1e-5) }
    }

    /// The teacher's ripple is 2× the model's in every band (the same local means): the fitted
    /// spectral gain is 2 on the interior bands; a teacher with less ripple gives 1 (the filter
    /// only restores detail), one with 4× is held at the cap of 2.5.
    func testFitRecoversTheTeachersRippleRatio() {
        func pairs(_ k: Float) -> [(teacher: [Float], predicted: [Float])] {
            (0..<3).map { i in
                let frames = 40 + 7 * i
                return (Self.rippled(frames: frames, amplitude: 0.3 * k, period: 4), Self.rippled(frames: frames, amplitude: 0.3, period: 4))
            }
        }
        let filter = MelPostfilter.fit(["slt": pairs(2), "rms": pairs(0.5), "awb": pairs(4)], nMels: Self.nMels)
        let slt = try! XCTUnwrap(filter.spectralGain["slt"])
        XCTAssertEqual(slt.count, Self.nMels)
        for b in 4..<(Self.nMels - 4) { XCTAssertEqual(slt[b], 2, accuracy: 1e-3, "band \(b)") }
        XCTAssertEqual(filter.spectralGain["rms"]?.max(), 1)
        XCTAssertEqual(filter.spectralGain["awb"]?.min(), MelPostfilter.maxFittedGain)
        XCTAssertTrue(filter.problems(speakers: ["slt", "rms", "awb"], nMels: Self.nMels).isEmpty)
        // The temporal detail of a ripple that moves by 0.7 rad a frame scales the same way, but
        // for the first and last frames, where the box repeats the edge frame and the plane's
        // slope leaks in (measured 1.9987 on 40–54 frames).
        for b in 4..<(Self.nMels - 4) { XCTAssertEqual(filter.temporalGain["slt"]![b], 2, accuracy: 0.005) }
    }

    func testHostilePostfiltersInAConfigAreRefusedByName() {
        var c = FastSpeechConfig(vocabSize: 200, speakers: ["slt", "rms"], pitchMean: [5, 5], pitchStd: [0.1, 0.1], energyMean: 0, energyStd: 1)
        let ok = [Float](repeating: 1.5, count: 80)
        c.postfilter = MelPostfilter(spectralGain: ["slt": ok], temporalGain: ["rms": ok])
        XCTAssertEqual(c.validate(), [])
        let cases: [(MelPostfilter, String)] = [
            (MelPostfilter(spectralWidth: 4), "spectral_width 4"),
            (MelPostfilter(temporalWidth: 99), "temporal_width 99"),
            (MelPostfilter(spectralGain: ["bob": ok]), "'bob'"),
            (MelPostfilter(spectralGain: ["slt": [1, 2]]), "has 2 gains"),
            (MelPostfilter(temporalGain: ["rms": ok.enumerated().map { $0.offset == 7 ? .nan : $0.element }]), "gain nan"),
            (MelPostfilter(temporalGain: ["rms": ok.map { _ in 1e9 }]), "gain 1e+09"),
        ]
        for (filter, expected) in cases {
            c.postfilter = filter
            let problems = c.validate().joined(separator: "; ")
            XCTAssertTrue(problems.contains(expected), "\(expected): \(problems)")
        }
        // Through the JSON a user might edit: absent is fine (older models), present is checked.
        let json = #"{"vocab_size": 200, "speakers": ["slt"], "d_model": 128, "heads": 2, "encoder_layers": 4, "decoder_layers": 4, "ffn_dim": 512, "ffn_kernels": [3, 1], "predictor_channels": 128, "predictor_kernel": 3, "n_mels": 80, "dropout": 0.1, "pitch_mean": [5], "pitch_std": [0.1], "energy_mean": 0, "energy_std": 1}"#
        let plain = try! JSONDecoder().decode(FastSpeechConfig.self, from: Data(json.utf8))
        XCTAssertNil(plain.postfilter)
        let withFilter = json.dropLast() + #", "postfilter": {"spectral_width": 5, "temporal_width": 3, "spectral_gain": {"slt": [2]}, "temporal_gain": {}}}"#
        let parsed = try! JSONDecoder().decode(FastSpeechConfig.self, from: Data(withFilter.utf8))
        XCTAssertTrue(parsed.validate().joined().contains("has 1 gains"))
    }
}
