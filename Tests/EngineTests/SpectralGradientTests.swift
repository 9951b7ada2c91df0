// Gradient checks and closed-form checks of the spectral ops that the vocoder (and the codec
// decoder) train through: the complex STFT, its inverse, the polar head, the integrated phase,
// the anti-wrapping phase losses, and the depthwise convolution of the ConvNeXt blocks.
//
// Where the expected numbers come from: `gradCheck` compares backward() with central finite
// differences (see OpGradientTests for the tolerance argument: 1e-3 relative-or-absolute, an order
// of magnitude above Float32 rounding at ε = 1e-2 and far below the O(0.1–1) error of a real
// mistake). The round trip istft(stftComplex(x)) = x is the perfect-reconstruction identity of
// weighted overlap-add (Griffin & Lim 1984), independent of both implementations.
import XCTest
@testable import Engine

private func randn(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor(randn: shape, std: std, rng: &rng)
}

final class SpectralGradientTests: XCTestCase {
    private func check(_ what: String, _ inputs: [Tensor], eps: Float = 1e-2, file: StaticString = #filePath, line: UInt = #line,
                       _ f: () -> Tensor) {
        let report = gradCheck(inputs, eps: eps, maxPerInput: 48, f)
        XCTAssertGreaterThan(report.checked, 0, "\(what): nothing was checked", file: file, line: line)
        XCTAssertLessThan(report.maxError, 1e-3, "\(what): \(report)", file: file, line: line)
    }

    func testSTFTComplexGradient() {
        let basis = STFTBasis(nFFT: 16, hop: 4)
        let x = randn([2, 1, 40], seed: 1)
        check("stftComplex", [x]) { stftComplex(x, basis: basis, padding: 8) }
    }

    func testISTFTGradient() {
        let basis = STFTBasis(nFFT: 16, hop: 4)
        let spec = randn([2, 6, 18], seed: 2)
        check("istft", [spec]) { istft(spec, basis: basis, padding: 8, length: 20) }
    }

    func testISTFTInvertsSTFT() {
        // A centred STFT (N/2 zeros each side) and back: every sample the frames cover returns exactly.
        let basis = STFTBasis(nFFT: 32, hop: 8)
        let x = randn([1, 1, 200], seed: 3)
        let frames = conv1dOutputLength(200, kernel: 32, stride: 8, padding: 16)
        let y = istft(stftComplex(x, basis: basis, padding: 16), basis: basis, padding: 16, length: (frames - 1) * 8)
        var worst: Float = 0
        for t in 0..<y.count { worst = max(worst, Swift.abs(y.data[t] - x.data[t])) }
        XCTAssertEqual(y.count, 200)
        XCTAssertLessThan(worst, 1e-5, "istft(stft(x)) differs from x by \(worst)")
    }

    func testPolarSpectrumGradientAndClosedForm() {
        let h = randn([1, 3, 10], seed: 4, std: 0.7)
        check("polarSpectrum", [h]) { polarSpectrum(h) }
        // exp(m)·(cos p, sin p), checked at one bin.
        let z = polarSpectrum(h)
        XCTAssertEqual(z.data[0], Foundation.exp(h.data[0]) * Foundation.cos(h.data[5]), accuracy: 1e-5)
        XCTAssertEqual(z.data[5], Foundation.exp(h.data[0]) * Foundation.sin(h.data[5]), accuracy: 1e-5)
    }

    func testPhaseLossesGradientAndWrapping() {
        // Phases kept away from the wrap points (|aw| near π) and from 0, where |·| has kinks.
        let p = randn([1, 4, 6], seed: 5, std: 0.5)
        var rng = RNG(seed: 6)
        let target = (0..<24).map { i in p.data[i] + (rng.uniform() > 0.5 ? 1 : -1) * (0.3 + rng.uniform()) + 2 * Float.pi * Float(i % 3 - 1) }
        let weight = (0..<24).map { Float($0 % 5 == 0 ? 0 : 1) }
        check("phase IP", [p], eps: 1e-3) { phaseLosses(p, target: target, weight: weight).instantaneous }
        // Shifting a target by whole turns changes nothing: the losses see phases modulo 2π.
        let a = phaseLosses(p, target: target, weight: weight)
        let b = phaseLosses(p, target: target.map { $0 + 4 * Float.pi }, weight: weight)
        XCTAssertEqual(a.instantaneous.item, b.instantaneous.item, accuracy: 1e-4)
        XCTAssertEqual(a.groupDelay.item, b.groupDelay.item, accuracy: 1e-4)
        // A prediction equal to the target up to whole turns scores 0.
        let exact = Tensor(shape: [1, 4, 6], data: target.map { $0 - 2 * Float.pi })
        XCTAssertEqual(phaseLosses(exact, target: target, weight: weight).frequency.item, 0, accuracy: 1e-5)
    }

    func testPhaseDifferenceGradients() {
        let p = randn([1, 4, 6], seed: 7, std: 0.3)
        let target = (0..<24).map { Float($0 % 7) * 0.9 - 2.5 }
        let weight = [Float](repeating: 1, count: 24)
        check("phase GD", [p], eps: 1e-3) { phaseLosses(p, target: target, weight: weight).groupDelay }
        check("phase IAF", [p], eps: 1e-3) { phaseLosses(p, target: target, weight: weight).frequency }
    }

    func testIntegratePhaseGradient() {
        let h = randn([2, 5, 9], seed: 11, std: 0.5)
        check("integratePhase", [h]) { integratePhase(h, nFFT: 4, hop: 1) }
    }

    // Expected: p_t − p_{t−1} = ω_k + δ_t + θ_t − θ_{t−1} (mod 2π), with ω_k = 2π·k·hop/n_fft, from
    // the definition; and integrating frames [0, S) at once equals integrating [0, j) and then
    // [j, S) from the first part's accumulators (what chunked synthesis relies on).
    func testIntegratePhaseClosedFormAndCarry() {
        let f = 5, s = 7, nFFT = 8, hop = 2
        let h = randn([1, s, 3 * f], seed: 12)
        let y = integratePhase(h, nFFT: nFFT, hop: hop).data
        for t in 1..<s { for k in 0..<f {
            let omega = 2 * Float.pi * Float(k * hop) / Float(nFFT)
            let want = omega + h.data[t * 3 * f + f + k] + h.data[t * 3 * f + 2 * f + k] - h.data[(t - 1) * 3 * f + 2 * f + k]
            XCTAssertEqual(antiWrap(y[t * 2 * f + f + k] - y[(t - 1) * 2 * f + f + k] - want), 0, accuracy: 1e-4)
            XCTAssertEqual(y[t * 2 * f + k], h.data[t * 3 * f + k])
        } }
        var acc = [Double](repeating: 0, count: f)
        var first = [Float](repeating: 0, count: 3 * 2 * f), second = [Float](repeating: 0, count: (s - 3) * 2 * f)
        integratePhaseFrames(Array(h.data[0..<(3 * 3 * f)]), into: &first, batch: 1, frames: 3, bins: f, nFFT: nFFT, hop: hop, accumulators: &acc)
        integratePhaseFrames(Array(h.data[(3 * 3 * f)...]), into: &second, batch: 1, frames: s - 3, bins: f, nFFT: nFFT, hop: hop, accumulators: &acc)
        for (a, b) in zip(y, first + second) { XCTAssertEqual(antiWrap(a - b), 0, accuracy: 1e-5) }
    }

    // Why the integrated head exists. A held tone of 5.3 bins (n_fft 64, hop 16), resynthesized from
    // its own STFT magnitudes: with the same phase in every frame (what a network fed a stationary
    // input predicts) the overlap-add repeats every hop, so its energy sits on multiples of
    // n_fft/hop = 4 bins; with phases integrated from the tone's true advance it sits at 5.3 bins.
    // Expected values: the tone's frequency, and the hop's harmonic grid (a signal periodic in 16
    // samples has no energy between multiples of 64/16 bins).
    func testIntegratedPhaseKeepsAToneBetweenBins() {
        let nFFT = 64, hop = 16, f = nFFT / 2 + 1, frames = 40, bins: Float = 5.3
        let basis = STFTBasis(nFFT: nFFT, hop: hop)
        let length = (frames - 1) * hop
        let tone = Tensor(shape: [1, 1, length], data: (0..<length).map { Foundation.sin(2 * Float.pi * bins * Float($0) / Float(nFFT)) })
        let spec = stftComplex(tone, basis: basis, padding: nFFT / 2)          // (1, S, 2F)
        let s = spec.shape[1]
        var absolute = [Float](repeating: 0, count: s * 2 * f), integrated = [Float](repeating: 0, count: s * 3 * f)
        let middle = s / 2
        for t in 0..<s { for k in 0..<f {
            let re = spec.data[middle * 2 * f + k], im = spec.data[middle * 2 * f + f + k]
            let m = Foundation.log(max((re * re + im * im).squareRoot(), 1e-6))
            absolute[t * 2 * f + k] = m; absolute[t * 2 * f + f + k] = Foundation.atan2(im, re)
            integrated[t * 3 * f + k] = m
            integrated[t * 3 * f + f + k] = antiWrap(2 * Float.pi * (bins - Float(k)) * Float(hop) / Float(nFFT))
        } }
        func peak(_ mp: Tensor) -> Float {
            let y = istft(polarSpectrum(mp, maxLogMagnitude: 50), basis: basis, padding: nFFT / 2, length: length).data
            let part = Array(y[(length / 4)..<(3 * length / 4)])
            var best: (Float, Float) = (0, 0)
            for step in 0...400 {                                            // 0…10 bins in steps of 0.025
                let b = Float(step) * 0.025
                var re: Float = 0, im: Float = 0
                for (n, v) in part.enumerated() {
                    let a = 2 * Float.pi * b * Float(n) / Float(nFFT)
                    re += v * Foundation.cos(a); im += v * Foundation.sin(a)
                }
                if re * re + im * im > best.1 { best = (b, re * re + im * im) }
            }
            return best.0
        }
        let held = peak(Tensor(shape: [1, s, 2 * f], data: absolute))
        let advanced = peak(integratePhase(Tensor(shape: [1, s, 3 * f], data: integrated), nFFT: nFFT, hop: hop))
        XCTAssertEqual(advanced, bins, accuracy: 0.1, "integrated phases put the tone at \(advanced) bins")
        XCTAssertEqual(held.remainder(dividingBy: 4), 0, accuracy: 0.1, "a held phase puts it at \(held) bins, not on the hop's grid")
    }

    func testDepthwiseConvGradientAndClosedForm() {
        let x = randn([2, 9, 5], seed: 8), w = randn([5, 3], seed: 9), b = randn([5], seed: 10)
        check("depthwiseConv1d", [x, w, b]) { depthwiseConv1d(x, weight: w, bias: b, padding: 1) }
        // y[0, 0, c] = b[c] + w[c, 1]·x[0, 0, c] + w[c, 2]·x[0, 1, c] (the tap at −1 reads padding).
        let y = depthwiseConv1d(x, weight: w, bias: b, padding: 1)
        XCTAssertEqual(y.shape, [2, 9, 5])
        for c in 0..<5 {
            XCTAssertEqual(y.data[c], b.data[c] + w.data[c * 3 + 1] * x.data[c] + w.data[c * 3 + 2] * x.data[5 + c], accuracy: 1e-5)
        }
    }
}
