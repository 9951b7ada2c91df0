// LoudnessTests.swift — Audio.Loudness against closed forms of ITU-R BS.1770-4: a 997 Hz sine of
// amplitude A in one channel reads 20·log10(A) − 3.01 LUFS (the standard's own calibration: a
// full-scale 997 Hz sine is −3.01 LKFS per channel), and its true peak is 20·log10(A) dBTP.
import Audio
import XCTest

final class LoudnessTests: XCTestCase {
    func sine(_ amplitude: Float, seconds: Double = 3, rate: Int = 48000, frequency: Double = 997) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
    }

    func testSineMatchesTheStandardsCalibration() throws {
        for a: Float in [1, 0.5, 0.1] {
            let m = try Loudness.measure(sine(a), sampleRate: 48000)
            XCTAssertEqual(m.integrated ?? 0, 20 * log10(Double(a)) - 3.01, accuracy: 0.05)
            XCTAssertEqual(m.truePeak, 20 * log10(Double(a)), accuracy: 0.1)
        }
        // Two identical channels add 3.01 dB (BS.1770 sums the channels' powers).
        let mono = sine(0.5), stereo = mono.flatMap { [$0, $0] }
        XCTAssertEqual(try Loudness.measure(stereo, sampleRate: 48000, channels: 2).integrated ?? 0, 20 * log10(0.5), accuracy: 0.05)
        XCTAssertNil(try Loudness.measure([Float](repeating: 0, count: 48000), sampleRate: 48000).integrated, "silence has no loudness")
        XCTAssertNil(try Loudness.measure(sine(0.5, seconds: 0.2), sampleRate: 48000).integrated, "under one 400 ms block")
    }

    func testNormalizeReachesTheTargetUnderTheCeiling() throws {
        // A quiet sine needs +23 dB: -16 LUFS with no limiting (its peak lands at -12.99 dBTP).
        let quiet = try Loudness.normalize(sine(0.05, rate: 22050), sampleRate: 22050, target: -16)
        let q = try Loudness.measure(quiet, sampleRate: 22050)
        XCTAssertEqual(q.integrated ?? 0, -16, accuracy: 0.1)
        XCTAssertEqual(q.truePeak, -16 + 3.01, accuracy: 0.15)

        // A sine with sparse full-scale clicks: the gain that reaches -16 LUFS would put the clicks
        // far over -1 dBTP, so the limiter takes them down and the level still reaches -16.
        var spiky = sine(0.05, rate: 22050)
        for i in stride(from: 1000, to: spiky.count, by: 5000) { spiky[i] = 1 }
        let out = try Loudness.normalize(spiky, sampleRate: 22050, target: -16)
        let m = try Loudness.measure(out, sampleRate: 22050)
        XCTAssertEqual(m.integrated ?? 0, -16, accuracy: 0.2)
        XCTAssertLessThanOrEqual(m.truePeak, -1 + 1e-3)

        // A short sound (a streamed "Hi.") is measured as if repeated to 1 s.
        let short = try Loudness.normalize(sine(0.05, seconds: 0.25, rate: 22050), sampleRate: 22050, target: -16)
        XCTAssertEqual(Double(Normalize.peak(short)), pow(10, (-16 + 3.01) / 20), accuracy: 0.01)
        // Silence stays silent; volume scales after the target.
        XCTAssertEqual(try Loudness.normalize([Float](repeating: 0, count: 30000), sampleRate: 22050), [Float](repeating: 0, count: 30000))
        let halved = try Loudness.apply(sine(0.05, rate: 22050), sampleRate: 22050, target: -16, volume: 0.5)
        XCTAssertEqual(try Loudness.measure(halved, sampleRate: 22050).integrated ?? 0, -16 - 6.02, accuracy: 0.1)
        // Interleaved audio of a partial frame is refused, not levelled with a frame cut short.
        XCTAssertThrowsError(try Loudness.normalize([0.1, 0.2, 0.3], sampleRate: 22050, channels: 2)) {
            XCTAssertTrue("\($0)".contains("3 samples for 2 channels"), "\($0)")
        }
    }

    func testLimiterKeepsEverySampleUnderTheCeilingWithoutSteps() throws {
        // A burst of samples at 2.0 inside a quiet sine: every output sample ≤ the ceiling, and
        // far from the burst (beyond the ±5 ms window) the sine is untouched.
        var x = sine(0.1, seconds: 1, rate: 22050)
        for i in 11000..<11050 { x[i] = 2 }
        let y = try Loudness.limited(x, sampleRate: 22050, ceiling: -1)
        let ceiling = Float(pow(10, -1.0 / 20))
        XCTAssertLessThanOrEqual(Normalize.peak(y), ceiling)
        XCTAssertTrue(y[0..<10000].elementsEqual(x[0..<10000]), "untouched before the burst")
        XCTAssertTrue(y[12200...].elementsEqual(x[12200...]), "untouched after the burst")
        XCTAssertLessThanOrEqual(try Loudness.measure(y, sampleRate: 22050).truePeak, -1 + 1e-3)
    }

    // An output too long to hold spills to a temporary file and is levelled block by block. The
    // same arithmetic in the same order, so expected: exactly the samples `Loudness.apply` makes of
    // the whole buffer in memory, for a signal that needs the limiter (clicks far over the ceiling
    // after the gain), one that does not, silence, a volume over 1 that limits again, mono and
    // stereo, the chunks crossing the 65,536-frame blocks and the spill starting mid-stream.
    func testLevelledOutputSpillsToTheSameSamples() throws {
        let rate = 16000
        var speechLike = sine(0.05, seconds: 13, rate: rate, frequency: 220)
        for i in speechLike.indices where (i / 4000) % 3 == 2 { speechLike[i] *= 0.01 }   // pauses
        var clicky = speechLike
        for i in stride(from: 777, to: clicky.count, by: 9001) { clicky[i] = 0.9 }
        let stereo = zip(clicky, speechLike).flatMap { [$0, $1 * 0.5] }
        let cases: [(String, [Float], Int, Double?, Float)] = [
            ("clicks, limited", clicky, 1, -16, 1), ("no limiting", speechLike, 1, -16, 1),
            ("silence", [Float](repeating: 0, count: 150_000), 1, -16, 1), ("volume 4", speechLike, 1, -16, 4),
            ("level off, volume 0.5", clicky, 1, nil, 0.5), ("stereo, limited", stereo, 2, -14, 1),
        ]
        for (name, x, channels, target, volume) in cases {
            let expected = try Loudness.apply(x, sampleRate: rate, channels: channels, target: target, volume: volume)
            if name.contains("limited") || name.contains("volume 4") {   // the limiter's varying gain, not one factor
                XCTAssertGreaterThan(Set(zip(expected, x).filter { abs($0.1) > 1e-3 }.map { ($0.0 / $0.1 * 1000).rounded() }).count, 1, name)
            }
            let out = try LevelledOutput(sampleRate: rate, channels: channels, target: target, volume: volume, memoryLimit: 30_000 * channels)
            var start = 0, k = 0
            while start < x.count {   // chunks of uneven sizes, whole frames
                let n = min(x.count - start, (7_000 + 3_331 * (k % 5)) * channels)
                try out.append(Array(x[start..<(start + n)]))
                start += n; k += 1
            }
            XCTAssertTrue(out.spilled, name)
            var got: [Float] = []
            try out.finish { got += $0 }
            XCTAssertEqual(got.count, expected.count, name)
            XCTAssertTrue(got == expected, "\(name): \(zip(got, expected).filter { $0 != $1 }.count) samples differ")
        }
        // An output that would pass its longest (12 hours by default) is refused at the append that
        // passes it, counted at the appended samples' own rate.
        let capped = try LevelledOutput(sampleRate: 48000, target: nil, maxSeconds: 2, inputRate: 16000) { x in x + x + x }
        try capped.append([Float](repeating: 0.1, count: 32_000))
        XCTAssertThrowsError(try capped.append([0.1])) { XCTAssertEqual("\($0)", "the output would be longer than 2 seconds") }
        XCTAssertEqual("\(LevelledOutput.TooLong(maxSeconds: 5400))", "the output would be longer than 1.5 hours")
        // Whatever the rate, at most 2^30 samples (a spill of 4 GB).
        XCTAssertEqual(try LevelledOutput(sampleRate: 96000, channels: 2, target: nil, memoryLimit: 192_000).maxSeconds, Double(1 << 29) / 96000)
        // Under the limit nothing spills: one block, as `apply` makes it.
        let small = try LevelledOutput(sampleRate: rate, target: -16)
        try small.append(clicky)
        XCTAssertFalse(small.spilled)
        try small.finish { XCTAssertEqual($0, try Loudness.apply(clicky, sampleRate: rate, target: -16)) }
    }
}
