// LoudnessReferenceTests.swift — Audio's own BS.1770 meter (LoudnessMeter.swift) against
// libebur128 1.2, the library gen used until the meter replaced it (modes I and TRUE_PEAK), on
// the same samples: integrated loudness within 0.01 LU and true peak within 0.01 dB on signals
// built to reach every part of it (speech-like bursts with pauses, clicks between samples, pink
// noise under the absolute gate, several channel counts and their weights, sample rates from 8 to
// 192 kHz, lengths that end mid-step and cross the meter's 65,536-frame chunks). The expected
// numbers are libebur128's, measured in the test; the closed forms are in LoudnessTests.
import Audio
import CEbur128
import XCTest

final class LoudnessReferenceTests: XCTestCase {
    /// libebur128's integrated loudness (nil: −∞, no block above the gates) and true peak in dBTP
    /// (the largest of the channels), fed in uneven pieces as a stream.
    func reference(_ x: [Float], rate: Int, channels: Int) throws -> (Double?, Double) {
        let state = try XCTUnwrap(ebur128_init(UInt32(channels), UInt(rate), Int32(EBUR128_MODE_I.rawValue | EBUR128_MODE_TRUE_PEAK.rawValue)))
        var st: UnsafeMutablePointer<ebur128_state>? = state
        defer { ebur128_destroy(&st) }
        let frames = x.count / channels
        var start = 0, piece = 777
        x.withUnsafeBufferPointer { p in
            while start < frames {
                let n = min(piece, frames - start)
                _ = ebur128_add_frames_float(state, p.baseAddress! + start * channels, n)
                start += n
                piece = piece * 3 % 40_000 + 1
            }
        }
        var lufs = 0.0, peak = 0.0
        ebur128_loudness_global(state, &lufs)
        for c in 0..<channels {
            var p = 0.0
            ebur128_true_peak(state, UInt32(c), &p)
            peak = max(peak, p)
        }
        return (lufs.isFinite ? lufs : nil, 20 * log10(peak))
    }

    /// Noise in syllable-like bursts (4 per second, with silent gaps), coloured by a one-pole
    /// filter, with isolated full-scale clicks whose neighbours make inter-sample peaks; each
    /// channel its own noise and level (`gains`).
    func speechLike(rate: Int, seconds: Double, gains: [Float], seed: UInt64) -> [Float] {
        var s = seed &* 6364136223846793005 &+ 1442695040888963407
        func uniform() -> Float { s = s &* 6364136223846793005 &+ 1442695040888963407; return Float(s >> 40) / Float(1 << 24) * 2 - 1 }
        let frames = Int(seconds * Double(rate)), channels = gains.count
        var out = [Float](repeating: 0, count: frames * channels)
        for c in 0..<channels {
            var low: Float = 0
            for t in 0..<frames {
                let phase = Double(t) / Double(rate) * 4
                let envelope = Float(max(0, sin(Double.pi * phase))) * (Int(phase) % 5 == 4 ? 0 : 1)
                low = 0.85 * low + 0.15 * uniform()
                out[t * channels + c] = gains[c] * envelope * (low + 0.2 * uniform())
            }
            for t in stride(from: rate / 3 + c, to: frames - 1, by: rate / 2) {
                out[t * channels + c] = 0.9; out[(t + 1) * channels + c] = 0.9
            }
        }
        return out
    }

    func assertMatches(_ x: [Float], rate: Int, channels: Int, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (lufs, peak) = try reference(x, rate: rate, channels: channels)
        let m = try Loudness.measure(x, sampleRate: rate, channels: channels)
        if let lufs, lufs > -70 {
            let mine = try XCTUnwrap(m.integrated, "\(label): no loudness, libebur128 \(lufs)", file: file, line: line)
            XCTAssertEqual(mine, lufs, accuracy: 0.01, label, file: file, line: line)
        } else {
            XCTAssertNil(m.integrated, "\(label): libebur128 has none", file: file, line: line)
        }
        XCTAssertEqual(m.truePeak, peak, accuracy: 0.01, label, file: file, line: line)
    }

    func testMatchesLibebur128AcrossRatesAndChannelCounts() throws {
        for rate in [8000, 16000, 22050, 44100, 48000, 96000, 192_000] {
            try assertMatches(speechLike(rate: rate, seconds: 3.37, gains: [0.3], seed: UInt64(rate)), rate: rate, channels: 1, "mono \(rate) Hz")
        }
        // Channel weights: left, right, centre 1; the surrounds 1.41; the LFE of 6 channels and
        // anything past it 0 (libebur128's default map), each channel at its own level.
        for gains: [Float] in [[0.3, 0.1], [0.3, 0.1, 0.2, 0.05], [0.3, 0.1, 0.2, 0.05, 0.15], [0.3, 0.1, 0.2, 0.5, 0.05, 0.15], [0.3, 0.1, 0.2, 0.5, 0.05, 0.15, 0.4, 0.25]] {
            try assertMatches(speechLike(rate: 48000, seconds: 2.05, gains: gains, seed: UInt64(gains.count)), rate: 48000, channels: gains.count, "\(gains.count) channels")
        }
        // Longer than one 65,536-frame chunk of the meter, ending mid-step.
        try assertMatches(speechLike(rate: 22050, seconds: 9.93, gains: [0.5], seed: 9), rate: 22050, channels: 1, "9.93 s")
    }

    func testMatchesLibebur128AtTheGates() throws {
        // Loud speech, then a long tail 30 dB down: the relative gate drops the tail's blocks.
        var x = speechLike(rate: 22050, seconds: 3, gains: [0.5], seed: 3)
        x += speechLike(rate: 22050, seconds: 6, gains: [0.015], seed: 4)
        try assertMatches(x, rate: 22050, channels: 1, "relative gate")
        // Around the absolute gate: at −75, −68 and −60 dB, and digital silence.
        for gain: Float in [0.0002, 0.0004, 0.002] {
            try assertMatches(speechLike(rate: 22050, seconds: 2, gains: [gain], seed: 5), rate: 22050, channels: 1, "gain \(gain)")
        }
        try assertMatches([Float](repeating: 0, count: 30000), rate: 22050, channels: 1, "silence")
        // Under and just over one 400 ms block; a fade into denormal values.
        try assertMatches(speechLike(rate: 22050, seconds: 0.39, gains: [0.5], seed: 6), rate: 22050, channels: 1, "0.39 s")
        try assertMatches(speechLike(rate: 22050, seconds: 0.41, gains: [0.5], seed: 7), rate: 22050, channels: 1, "0.41 s")
        let fade = (0..<44100).map { t in Float(0.5 * sin(Double(t) * 0.3) * pow(0.995, Double(t))) }
        try assertMatches(fade, rate: 22050, channels: 1, "fade to denormals")
    }

    func testTruePeakSeesBetweenTheSamples() throws {
        // A sine at a quarter of the rate, 45° off the samples: every sample is at ±A/√2 (a
        // sample peak 3.01 dB low), and its crests fall on the 4× grid, so the true peak reads A,
        // times the gain of the 49-tap interpolator there (its passband ripple: +0.10 dB at a
        // quarter of the rate, in libebur128 as here), so between A and A + 0.15 dB.
        for amplitude in [0.5, 0.9] {
            let x = (0..<22050).map { t in Float(amplitude * sin(Double.pi / 2 * Double(t) + Double.pi / 4)) }
            let m = try Loudness.measure(x, sampleRate: 22050)
            XCTAssertEqual(Double(x.map(abs).max()!), amplitude / 2.squareRoot(), accuracy: 1e-6)
            XCTAssertGreaterThanOrEqual(m.truePeak, 20 * log10(amplitude))
            XCTAssertLessThanOrEqual(m.truePeak, 20 * log10(amplitude) + 0.15)
        }
    }
}
