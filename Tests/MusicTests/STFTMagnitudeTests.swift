// STFTMagnitudeTests.swift — the differentiable STFT magnitude (Engine/Spectral.swift) that the
// codec's and vocoder's spectral losses are built on, and the music-like test signal the music
// tests share.
//
// Expected values come from outside the code under test: DSP.STFT's FFT, a sine's closed-form
// peak (A·N/4 under a Hann window), and central finite differences for the gradients.
import DSP
import Engine
import Foundation
import XCTest
@testable import Music

/// A deterministic music-like test signal: three sines with a slow envelope plus a little noise.
func testSignal(_ n: Int, seed: UInt64 = 3) -> [Float] {
    var rng = RNG(seed: seed)
    return (0..<n).map { t in
        let s = Double(t) / 22050
        let env = 0.6 + 0.4 * sin(2 * Double.pi * 1.5 * s)
        let tone = 0.3 * sin(2 * Double.pi * 220 * s) + 0.2 * sin(2 * Double.pi * 440 * s + 1) + 0.1 * sin(2 * Double.pi * 1320 * s)
        return Float(env * tone) + 0.02 * rng.normal()
    }
}

final class STFTMagnitudeTests: XCTestCase {
    // MARK: - differentiable STFT

    // Expected: DSP.STFT (FFT-based, uncentred, same periodic Hann) gives the same |X| as the
    // conv1d-with-cos/sin-kernels formulation, frame for frame and bin for bin.
    func testSTFTMagnitudeMatchesDSP() {
        var rng = RNG(seed: 4)
        let x = (0..<300).map { _ in rng.normal() }
        let basis = STFTBasis(nFFT: 64, hop: 16)
        let ours = stftMagnitude(Tensor(shape: [1, 1, 300], data: x), basis: basis, eps: 0)  // (1, F, S)
        let stft = STFT(nFFT: 64, winLength: 64, hop: 16, center: false)
        let reference = stft.magnitude(x)                                                   // (S, F)
        let frames = stft.frameCount(length: 300), bins = 33
        XCTAssertEqual(ours.shape, [1, bins, frames])
        let peak = reference.max()!
        for s in 0..<frames {
            for f in 0..<bins {
                XCTAssertEqual(ours.data[f * frames + s], reference[s * bins + f], accuracy: 1e-4 * peak, "frame \(s) bin \(f)")
            }
        }
        // The FFT fast path used by the loss agrees with the conv reference, zero padding included.
        let xt = Tensor(shape: [1, 1, 300], data: x)
        let conv = stftMagnitude(xt, basis: basis, padding: 32), fast = stftMagnitudeFFT(xt, basis: basis, padding: 32)
        XCTAssertEqual(conv.shape, fast.shape)
        XCTAssertLessThan(zip(conv.data, fast.data).map { Swift.abs($0 - $1) }.max()!, 1e-4 * peak)
    }

    // Expected: a sine of amplitude A exactly on bin k has |X_k| = A/2 · Σ w = A/2 · N/2 = A·N/4
    // under a periodic Hann window of N; its neighbours k ± 1 get half that, and k ± 3 nothing.
    func testSTFTMagnitudeOfASineInClosedForm() {
        let n = 128, k = 10, a: Float = 0.5
        let x = (0..<1024).map { t in a * Float(sin(2 * Double.pi * Double(k) * Double(t) / Double(n))) }
        let mag = stftMagnitude(Tensor(shape: [1, 1, 1024], data: x), basis: STFTBasis(nFFT: n), eps: 0)
        let frames = mag.shape[2]
        for s in 0..<frames {
            XCTAssertEqual(mag.data[k * frames + s], a * Float(n) / 4, accuracy: 1e-3)
            XCTAssertEqual(mag.data[(k + 1) * frames + s], a * Float(n) / 8, accuracy: 1e-3)
            XCTAssertEqual(mag.data[(k + 3) * frames + s], 0, accuracy: 1e-3)
        }
    }

    // Expected: central finite differences (Engine.gradCheck) of both magnitude paths (conv and
    // FFT) and of the spectral-convergence loss agree with the backward passes.
    func testSTFTMagnitudeAndSpectralLossGradients() {
        var rng = RNG(seed: 5)
        let x = Tensor(randn: [2, 1, 40], rng: &rng)
        let basis = STFTBasis(nFFT: 16, hop: 4)
        let r1 = gradCheck([x], eps: 1e-2) { stftMagnitude(x, basis: basis, padding: 8) }
        XCTAssertLessThan(r1.maxError, 1e-2, "\(r1)")
        let r3 = gradCheck([x], eps: 1e-2) { stftMagnitudeFFT(x, basis: basis, padding: 8) }
        XCTAssertLessThan(r3.maxError, 1e-2, "\(r3)")

        let y = Tensor(randn: [2, 1, 40], rng: &rng)
        let target = Tensor(randn: [2, 1, 40], rng: &rng)
        let r2 = gradCheck([y], eps: 1e-2) { multiResolutionSTFTLoss(y, target, bases: [basis, STFTBasis(nFFT: 8)]).convergence }
        XCTAssertLessThan(r2.maxError, 1e-2, "\(r2)")
    }
}
