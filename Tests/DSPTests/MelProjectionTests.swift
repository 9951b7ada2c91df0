// MelProjectionTests.swift: the mel projection after the neural vocoder (DSP/MelProjection.swift)
// on flite speech: a signal already at its target is left alone, a signal off its target is brought
// to it, chunked and whole projections agree, and hostile settings are refused.

import XCTest
import Audio
import Teacher
@testable import DSP

final class MelProjectionTests: XCTestCase {
    private func speechClip(_ text: String = "The quick brown fox jumps over the lazy dog.") throws -> [Float] {
        let (samples, rate) = try Flite.synthesize(text: text, voice: "slt")
        return try Resampler.resample(samples, from: rate, to: 22050)
    }

    private func meanAbs(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(Float(0)) { $0 + Swift.abs($1.0 - $1.1) } / Float(min(a.count, b.count))
    }

    // Expected: the identity, closed form. At its own log-mel every band's gain is ln 1 = 0, so each
    // step is stft(istft(stft(y))) = stft(y) and the momentum term c_n − c_{n−1} is 0: the output is
    // istft(stft(y)) = y up to float rounding (the STFT tests' perfect reconstruction, 1e-5 there).
    func testASignalAtItsTargetIsLeftAlone() throws {
        let y = try speechClip()
        let fb = MelFilterbank()
        let out = MelProjection(settings: MelProjectionSettings(iterations: 8), filterbank: fb).apply(y, logMel: fb.logMel(audio: y))
        XCTAssertEqual(out.count, y.count)
        let worst = zip(out, y).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-4, "largest change \(worst)")
    }

    // Expected: the target is the log-mel of the clip with 1–3 kHz raised by 9 dB and 4–6 kHz cut by
    // 6 dB (a gain per bin in the STFT, then the inverse), so the clip starts that equaliser's distance
    // away (measured when written: 4.07 dB on average over the 80 bands, the bands outside both ranges
    // moving by what the frames' leakage carries). The projection must close nearly all of it:
    // measured, 0.096 dB after 1 step, 0.053 after 2 and 0.017 after 8; the bounds (a tenth after 1, a
    // fiftieth after 8, each better than the last) leave room. Its change must stay an equaliser's: the
    // output's correlation with the equalised clip above 0.99.
    func testTheProjectionBringsTheMelToItsTarget() throws {
        let y = try speechClip()
        let fb = MelFilterbank(), stft = STFT(config: MelConfig.standard.stft)
        var s = stft.forward(y)
        for t in 0..<s.frames {
            for f in 0..<s.bins {
                let hz = Double(f) * 22050 / 1024
                let g: Float = hz >= 1000 && hz <= 3000 ? 2.8184 : hz >= 4000 && hz <= 6000 ? 0.5012 : 1   // +9 dB, −6 dB
                s.re[t * s.bins + f] *= g; s.im[t * s.bins + f] *= g
            }
        }
        let eq = stft.inverse(s, length: y.count)
        let target = fb.logMel(audio: eq)
        let before = meanAbs(fb.logMel(audio: y), target) * 20 / Float(M_LN10)   // dB
        XCTAssertGreaterThan(before, 1.5, "the target is \(before) dB away")
        var last = before
        for n in [1, 2, 8] {
            let out = MelProjection(settings: MelProjectionSettings(iterations: n), filterbank: fb).apply(y, logMel: target)
            let after = meanAbs(fb.logMel(audio: out), target) * 20 / Float(M_LN10)
            XCTAssertLessThan(after, last, "\(n) steps: \(after) dB, not below \(last)")
            last = after
            if n == 1 { XCTAssertLessThan(after, before / 10, "1 step: \(before) → \(after) dB") }
            if n == 8 {
                XCTAssertLessThan(after, before / 50, "8 steps: \(before) → \(after) dB")
                var dot: Float = 0, a: Float = 0, b: Float = 0
                for i in 0..<out.count { dot += out[i] * eq[i]; a += out[i] * out[i]; b += eq[i] * eq[i] }
                XCTAssertGreaterThan(dot / (a * b).squareRoot(), 0.99)
            }
        }
    }

    // Expected: equal to one pass over the whole signal within float rounding plus what the pieces'
    // edges leave: each step reaches nFFT/hop − 1 = 3 frames further, so 8 steps stay 24 frames
    // inside the 64 frames of context either side, and a frame's arithmetic does not depend on where
    // its piece starts. Bound: 1e-3 of the clip's peak (measured when written: equal bit for bit).
    func testChunkedProjectionEqualsTheWhole() throws {
        var y: [Float] = []
        for text in ["One, two, three, four, five, six, seven, eight, nine, ten.",
                     "Eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty.",
                     "The rain in Spain stays mainly in the plain, and the quick brown fox jumps over the lazy dog again and again.",
                     "She sells sea shells by the sea shore, and the shells she sells are surely sea shells."] {
            y += try speechClip(text)
        }
        let fb = MelFilterbank(), frames = 1 + y.count / 256
        XCTAssertGreaterThan(frames, MelProjection.chunkFrames + 2 * MelProjection.context + 100, "the clip must span several pieces")
        let target = fb.logMel(audio: y).map { $0 + 0.3 }   // every band 2.6 dB louder
        let p = MelProjection(settings: MelProjectionSettings(iterations: 8), filterbank: fb)
        let chunked = p.apply(y, logMel: target)
        let whole = p.project(y[...], target: target[...])
        XCTAssertEqual(chunked.count, y.count)
        let peak = y.map { Swift.abs($0) }.max() ?? 1
        let worst = zip(chunked, whole).map { Swift.abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-3 * peak, "chunks differ from the whole by \(worst)")
    }

    // Expected: every out-of-range value named, with the range, the key as config.json spells it.
    func testHostileSettingsAreRefused() {
        XCTAssertEqual(MelProjectionSettings().problems(), [])
        XCTAssertEqual(MelProjectionSettings(iterations: 0, copyIterations: 64).problems(), [])
        let bad = MelProjectionSettings(iterations: 1_000_000_000, momentum: .nan, maxGainDB: -3, copyIterations: 65).problems()
        XCTAssertEqual(bad, ["mel_projection.iterations must be in 0...64, got 1000000000",
                             "mel_projection.copy_iterations must be in 0...64, got 65",
                             "mel_projection.momentum must be in 0...1.5, got nan",
                             "mel_projection.max_gain_db must be in (0, 40], got -3.0"])
        // Too short for one frame of the STFT, or no steps: returned as it is.
        let fb = MelFilterbank()
        let short: [Float] = [0.1, -0.2, 0.3]
        XCTAssertEqual(MelProjection(settings: MelProjectionSettings(), filterbank: fb).apply(short, logMel: [Float](repeating: 0, count: 80)), short)
    }
}
