// MelTests.swift: the Slaney mel scale, the filterbank's area normalisation, and where a sine lands.

import XCTest
@testable import DSP

/// The Slaney mel scale written out again in the test, from its definition in the Auditory Toolbox
/// (linear at 200/3 Hz per mel up to 1 kHz = 15 mel, then 27 mels per factor of 6.4), so the
/// expected band edges do not come from the code under test.
private func slaneyMel(_ hz: Double) -> Double {
    hz < 1000 ? hz * 3 / 200 : 15 + 27 * log(hz / 1000) / log(6.4)
}
private func slaneyHz(_ mel: Double) -> Double {
    mel < 15 ? mel * 200 / 3 : 1000 * pow(6.4, (mel - 15) / 27)
}
/// Band edges for nMels bands over [fMin, fMax]: nMels + 2 points equally spaced in mel.
private func bandEdges(nMels: Int = 80, fMin: Double = 0, fMax: Double = 8000) -> [Double] {
    let lo = slaneyMel(fMin), hi = slaneyMel(fMax)
    return (0..<(nMels + 2)).map { slaneyHz(lo + (hi - lo) * Double($0) / Double(nMels + 1)) }
}

final class MelTests: XCTestCase {
    // Expected values, closed form from the Slaney definition: 1000 Hz = 15 mel, 200 Hz = 3 mel,
    // 6400 Hz = 1000·6.4 Hz = 15 + 27 mel = 42 mel; melToHz inverts hzToMel.
    func testSlaneyScale() {
        XCTAssertEqual(MelFilterbank.hzToMel(1000), 15, accuracy: 1e-12)
        XCTAssertEqual(MelFilterbank.hzToMel(200), 3, accuracy: 1e-12)
        XCTAssertEqual(MelFilterbank.hzToMel(6400), 42, accuracy: 1e-9)
        for hz in [0.0, 50, 999, 1000, 1001, 4000, 8000, 11025] {
            XCTAssertEqual(MelFilterbank.melToHz(MelFilterbank.hzToMel(hz)), hz, accuracy: 1e-9 * max(hz, 1))
        }
    }

    // Expected values: with Slaney normalisation the triangle of band m, edges f_m < f_{m+1} < f_{m+2}
    // (from bandEdges above), peaks at 2 / (f_{m+2} − f_m) at its centre, so its largest sampled weight
    // is that height times the triangle's value at the FFT bin nearest the centre; and its area in Hz,
    // Σ_f W[m, f]·Δf with Δf = sr / nFFT, is 1 (checked for bands at least 20 bins wide, where the
    // Riemann sum of a triangle is within 1% of its integral).
    func testFiltersHaveSlaneyAreaNormalisation() {
        let fb = MelFilterbank()
        XCTAssertEqual(fb.weights.count, 80 * 513)
        let edges = bandEdges()
        let df = 22050.0 / 1024
        var wideBands = 0
        for m in 0..<80 {
            let (l, c, r) = (edges[m], edges[m + 1], edges[m + 2])
            let height = 2 / (r - l)
            var triangleMax = 0.0
            for f in 0..<513 {
                let hz = Double(f) * df
                triangleMax = max(triangleMax, min((hz - l) / (c - l), (r - hz) / (r - c)))
            }
            let row = fb.weights[(m * 513)..<((m + 1) * 513)]
            XCTAssertEqual(Double(row.max()!), height * triangleMax, accuracy: 1e-6 * height, "band \(m)")
            if (r - l) / df >= 20 {
                wideBands += 1
                let area = row.reduce(0.0) { $0 + Double($1) } * df
                XCTAssertEqual(area, 1, accuracy: 0.01, "band \(m) area")
            }
        }
        XCTAssertGreaterThanOrEqual(wideBands, 5)   // the top 9 bands are that wide at these settings
        // Nothing above fMax = 8000 Hz: bin 372 is 8010 Hz.
        for m in 0..<80 { XCTAssertEqual(fb.weights[m * 513 + 372], 0) }
    }

    // Expected values: the band whose centre (bandEdges, computed in the test) is nearest the sine's
    // frequency on the mel axis. The sines sit well inside a band (≤ 0.45 of a band step from its centre).
    func testSinePeakLandsInNearestBand() {
        let fb = MelFilterbank()
        let centres = Array(bandEdges()[1...80])
        for freq in [440.0, 1000.0, 3000.0] {
            let x = (0..<22050).map { Float(0.5 * sin(2 * Double.pi * freq * Double($0) / 22050)) }
            let mel = fb.melSpectrogram(audio: x)   // (T, 80)
            let frames = mel.count / 80
            var meanBand = [Float](repeating: 0, count: 80)
            for t in 2..<(frames - 2) { for m in 0..<80 { meanBand[m] += mel[t * 80 + m] } }
            let got = meanBand.indices.max(by: { meanBand[$0] < meanBand[$1] })!
            let expected = centres.indices.min(by: {
                abs(slaneyMel(centres[$0]) - slaneyMel(freq)) < abs(slaneyMel(centres[$1]) - slaneyMel(freq))
            })!
            print("sine \(freq) Hz: mel peak band \(got), nearest centre band \(expected) (\(centres[expected]) Hz)")
            XCTAssertEqual(got, expected, "\(freq) Hz")
        }
    }

    // Expected values: HiFi-GAN's clamp, ln(1e-5) ≈ −11.5129, for silence; 1 + len // 256 frames (centred STFT).
    func testLogMelOfSilenceIsTheFloor() {
        let fb = MelFilterbank()
        let lm = fb.logMel(audio: [Float](repeating: 0, count: 5000))
        XCTAssertEqual(lm.count, (1 + 5000 / 256) * 80)
        for v in lm { XCTAssertEqual(v, Float(log(1e-5)), accuracy: 1e-6) }
    }

    // Expected values: the mel we started from. A linear magnitude from pseudoInverse must be
    // non-negative and map back through the filterbank to (nearly) the same mel; the projected
    // gradient steps must not make that worse than the transpose-normalised start.
    /// The pseudo-inverse's step is 1 / λ_max(Wᵀ W). The filterbank finds λ_max from the nonzero
    /// entries of W Wᵀ only; the dense power iteration written out here (every entry, zeros
    /// included, the same 100 steps from the same start) must give the same number to the bit,
    /// and λ_max itself must bound the Rayleigh quotient of random vectors (it is the maximum).
    func testLargestEigenvalueEqualsTheDensePowerIteration() {
        for config in [MelConfig.standard, MelConfig(nFFT: 2048, winLength: 2048, hop: 512, nMels: 128, fMax: 11025)] {
            let fb = MelFilterbank(config: config)
            let nm = config.nMels, nb = fb.bins, w = fb.weights
            var gram = [Double](repeating: 0, count: nm * nm)
            for a in 0..<nm { for b in 0..<nm { for f in 0..<nb { gram[a * nm + b] += Double(w[a * nb + f]) * Double(w[b * nb + f]) } } }
            var v = [Double](repeating: 1 / Double(nm).squareRoot(), count: nm), lambda = 0.0
            for _ in 0..<100 {
                var u = [Double](repeating: 0, count: nm)
                for a in 0..<nm { for b in 0..<nm { u[a] += gram[a * nm + b] * v[b] } }
                let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
                lambda = norm
                for a in 0..<nm { v[a] = u[a] / norm }
            }
            XCTAssertEqual(fb.lipschitz, Float(lambda), "n_fft \(config.nFFT)")
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<20 {
                let x = (0..<nm).map { _ in Double.random(in: -1...1, using: &rng) }
                var q = 0.0
                for a in 0..<nm { for b in 0..<nm { q += x[a] * gram[a * nm + b] * x[b] } }
                XCTAssertLessThanOrEqual(q / x.reduce(0) { $0 + $1 * $1 }, Double(fb.lipschitz) * (1 + 1e-6))
            }
        }
    }

    func testPseudoInverseMapsBackToTheSameMel() {
        let fb = MelFilterbank()
        var rng = TestRNG(seed: 5)
        let frames = 20
        // A smooth, speech-like spectral envelope with random detail.
        var linear = [Float](repeating: 0, count: frames * 513)   // (T, F)
        for t in 0..<frames { for f in 0..<513 { linear[t * 513 + f] = exp(-Float(f) / 80) * (0.5 + rng.uniform()) } }
        let mel = fb.apply(linear)
        func relativeError(_ estimate: [Float]) -> Float {
            let back = fb.apply(estimate)
            return spectralConvergence(target: mel, estimate: back)
        }
        let start = fb.pseudoInverse(mel, iterations: 0)
        let refined = fb.pseudoInverse(mel)
        XCTAssertTrue(refined.allSatisfy { $0 >= 0 })
        let e0 = relativeError(start), e1 = relativeError(refined)
        print("mel pseudo-inverse: relative mel error \(e0) (transpose-normalised), \(e1) (20 NNLS steps)")
        XCTAssertLessThanOrEqual(e1, e0)
        XCTAssertLessThan(e1, 0.05)
    }

    // Expected values: the same call one frame at a time. pseudoInverse runs frames in groups of 4,
    // one per SIMD lane; each frame is independent, so 7 frames at once (a full group and a partial
    // one) must give exactly the rows each frame gives alone.
    func testPseudoInverseDoesNotDependOnFrameGrouping() {
        let fb = MelFilterbank()
        var rng = TestRNG(seed: 6)
        let frames = 7, nm = fb.nMels
        let mel = (0..<(frames * nm)).map { _ in rng.uniform() }   // (T, M)
        let together = fb.pseudoInverse(mel)
        for t in 0..<frames {
            let alone = fb.pseudoInverse(Array(mel[(t * nm)..<((t + 1) * nm)]))
            XCTAssertEqual(Array(together[(t * 513)..<((t + 1) * 513)]), alone, "frame \(t)")
        }
    }
}

