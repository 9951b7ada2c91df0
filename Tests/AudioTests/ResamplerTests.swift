// Tests for Resampler and Normalize against closed-form expectations: a resampled sine keeps
// its frequency and amplitude, a tone above the new Nyquist is removed, and peak normalisation
// lands on 10^(dBFS/20).

import Foundation
import XCTest
@testable import Audio

final class ResamplerTests: XCTestCase {
    // 1 s of 440 Hz at 16 kHz becomes round(16000 · 22050/16000) = 22050 frames. Over exactly
    // 1 s, 440 Hz is a whole DFT bin, so its magnitude is A·N/2 = 0.5·22050/2 ≈ 5512 while
    // 400 and 480 Hz (whole bins too) see only edge leakage; a 440 Hz sine crosses zero
    // 2·440 = 880 times per second.
    func testUpsample16kTo22050KeepsLengthAndFrequency() throws {
        let input = sine(440, rate: 16000, frames: 16000)
        let out = try Resampler.resample(input, from: 16000, to: 22050)
        XCTAssertEqual(out.count, 22050)

        let at440 = dftMagnitude(out, at: 440, rate: 22050)
        XCTAssertEqual(at440, 0.5 * 22050 / 2, accuracy: 0.01 * 0.5 * 22050 / 2)
        for neighbour in [400.0, 420, 460, 480] {
            XCTAssertGreaterThan(at440, 50 * dftMagnitude(out, at: neighbour, rate: 22050), "at \(neighbour) Hz")
        }
        XCTAssertEqual(Double(zeroCrossings(out[...])), 880, accuracy: 2)
        // Amplitude is kept: a sine of amplitude A has RMS A/√2 (interior, away from the edges).
        XCTAssertEqual(rms(out[2000..<20000]), 0.5 / 2.0.squareRoot(), accuracy: 0.005)
    }

    // 15 kHz lies above 22050 Hz's Nyquist (11025 Hz); without a low-pass it would alias to
    // 22050 - 15000 = 7050 Hz at full level. The sinc filter must cut it by more than 40 dB
    // (RMS ratio < 0.01), while a 1 kHz control tone passes at its original RMS.
    func testDownsample44100To22050RemovesToneAboveNyquist() throws {
        let high = sine(15000, rate: 44100, frames: 22050)
        let out = try Resampler.resample(high, from: 44100, to: 22050)
        XCTAssertEqual(out.count, 11025)
        let drop = 20 * log10(rms(out) / rms(high))
        XCTAssertLessThan(drop, -40, "15 kHz only dropped \(drop) dB")

        let low = sine(1000, rate: 44100, frames: 22050)
        let kept = try Resampler.resample(low, from: 44100, to: 22050, quality: .medium)
        XCTAssertEqual(rms(kept[1000..<10000]), rms(low), accuracy: 0.005)
    }

    // Stereo stays interleaved: resampling [L, R] equals resampling L and R separately.
    func testStereoBufferResamplesEachChannel() throws {
        let left = sine(300, rate: 16000, frames: 1600, amplitude: 0.4)
        let right = sine(500, rate: 16000, frames: 1600, amplitude: 0.2)
        var interleaved = [Float]()
        for t in 0..<1600 { interleaved += [left[t], right[t]] }
        let buffer = AudioBuffer(samples: interleaved, sampleRate: 16000, channels: 2)
        let out = try Resampler.resample(buffer, to: 24000, quality: .fastest)
        XCTAssertEqual(out.sampleRate, 24000)
        XCTAssertEqual(out.channels, 2)
        XCTAssertEqual(out.frames, 2400)
        let l = try Resampler.resample(left, from: 16000, to: 24000, quality: .fastest)
        let r = try Resampler.resample(right, from: 16000, to: 24000, quality: .fastest)
        for t in 0..<2400 {
            XCTAssertEqual(out.samples[2 * t], l[t], accuracy: 1e-5)
            XCTAssertEqual(out.samples[2 * t + 1], r[t], accuracy: 1e-5)
        }
    }

    func testSameRateIsIdentityAndBadInputsThrow() throws {
        let x: [Float] = [0.1, -0.2, 0.3]
        XCTAssertEqual(try Resampler.resample(x, from: 22050, to: 22050), x)
        XCTAssertEqual(try Resampler.resample([], from: 16000, to: 22050), [])
        XCTAssertThrowsError(try Resampler.resample(x, from: 0, to: 22050))
        XCTAssertThrowsError(try Resampler.resample(x, from: 22050, to: -1))
        XCTAssertThrowsError(try Resampler.resample(x, channels: 2, from: 16000, to: 22050))
        XCTAssertThrowsError(try Resampler.resample(x, from: 1, to: 1000))   // ratio 1000 > 256
    }
}

final class NormalizeTests: XCTestCase {
    // Peak is max |x|; toPeak scales so the peak equals 10^(dBFS/20):
    // -1 dBFS → 0.891251, -6.0206 dBFS → 0.5, 0 dBFS → 1.
    func testToPeakHitsRequestedLevel() {
        let x: [Float] = [0.2, -0.7, 0.5, 0.05]
        XCTAssertEqual(Normalize.peak(x), 0.7)
        XCTAssertEqual(Normalize.peak(Normalize.toPeak(x)), 0.891251, accuracy: 1e-6)
        XCTAssertEqual(Normalize.peak(Normalize.toPeak(x, dBFS: -6.0206)), 0.5, accuracy: 1e-5)
        XCTAssertEqual(Normalize.peak(Normalize.toPeak(x, dBFS: 0)), 1, accuracy: 1e-6)
        // The negative sample carries the peak, so it lands at -target and ratios are kept.
        let y = Normalize.toPeak(x, dBFS: 0)
        XCTAssertEqual(y[1], -1, accuracy: 1e-6)
        XCTAssertEqual(y[0] / y[2], 0.4, accuracy: 1e-6)
    }

    func testSilenceStaysSilent() {
        XCTAssertEqual(Normalize.toPeak([0, 0, 0]), [0, 0, 0])
        XCTAssertEqual(Normalize.toPeak([]), [])
        XCTAssertEqual(Normalize.peak([]), 0)
    }
}
