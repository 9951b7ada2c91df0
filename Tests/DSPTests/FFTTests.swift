// FFTTests.swift: FFTPlan against the O(n²) DFT definition and against closed forms.

import XCTest
@testable import DSP

final class FFTTests: XCTestCase {
    // Expected values: naiveDFT (TestSupport.swift), the DFT sum evaluated directly in Double.
    // Tolerance: Float FFT rounding grows like log2(n)·ε·‖x‖; 2e-6 of the largest bin allows for it.
    func testComplexForwardMatchesNaiveDFT() {
        for n in [8, 64, 1024] {
            var rng = TestRNG(seed: UInt64(n))
            let xr = (0..<n).map { _ in rng.signed() }
            let xi = (0..<n).map { _ in rng.signed() }
            let ref = naiveDFT(re: xr, im: xi)
            var re = xr, im = xi
            FFTPlan(n: n).forward(re: &re, im: &im)
            let scale = zip(ref.re, ref.im).map { ($0 * $0 + $1 * $1).squareRoot() }.max()!
            var worst = 0.0
            for k in 0..<n {
                worst = max(worst, abs(Double(re[k]) - ref.re[k]), abs(Double(im[k]) - ref.im[k]))
            }
            XCTAssertLessThan(worst / scale, 2e-6, "n=\(n): max error \(worst) against largest bin \(scale)")
        }
    }

    // Expected values: the input itself (inverse is defined with 1/n so it undoes forward).
    func testInverseUndoesForward() {
        for n in [1, 2, 8, 64, 1024] {
            var rng = TestRNG(seed: 7 + UInt64(n))
            let xr = (0..<n).map { _ in rng.signed() }
            let xi = (0..<n).map { _ in rng.signed() }
            var re = xr, im = xi
            let plan = FFTPlan(n: n)
            plan.forward(re: &re, im: &im)
            plan.inverse(re: &re, im: &im)
            for k in 0..<n {
                XCTAssertEqual(re[k], xr[k], accuracy: 1e-5, "n=\(n) re[\(k)]")
                XCTAssertEqual(im[k], xi[k], accuracy: 1e-5, "n=\(n) im[\(k)]")
            }
        }
    }

    // Expected values: naiveDFT of the real input, bins 0...n/2; then irfft must give the input back.
    func testRealFFTMatchesNaiveDFTAndInverts() {
        for n in [2, 4, 8, 64, 1024] {
            var rng = TestRNG(seed: 100 + UInt64(n))
            let x = (0..<n).map { _ in rng.signed() }
            let ref = naiveDFT(re: x, im: [Float](repeating: 0, count: n))
            let plan = FFTPlan(n: n)
            let (re, im) = plan.rfft(x)
            XCTAssertEqual(re.count, n / 2 + 1)
            let scale = max(1, zip(ref.re, ref.im).map { ($0 * $0 + $1 * $1).squareRoot() }.max()!)
            for k in 0...(n / 2) {
                XCTAssertEqual(Double(re[k]), ref.re[k], accuracy: 2e-6 * scale, "n=\(n) re[\(k)]")
                XCTAssertEqual(Double(im[k]), ref.im[k], accuracy: 2e-6 * scale, "n=\(n) im[\(k)]")
            }
            let back = plan.irfft(re: re, im: im)
            for j in 0..<n { XCTAssertEqual(back[j], x[j], accuracy: 1e-5, "n=\(n) x[\(j)]") }
        }
    }

    // Expected values, closed form: sin(2π·k0·j/n) = (e^{iθ} − e^{−iθ})/2i, so its DFT is −i·n/2 at
    // bin k0 (and its mirror), and 0 at every other bin.
    func testSineAtExactBinPeaksWithMagnitudeHalfN() {
        let n = 1024, k0 = 37
        let x = (0..<n).map { Float(sin(2 * Double.pi * Double(k0 * $0) / Double(n))) }
        let (re, im) = FFTPlan(n: n).rfft(x)
        let mags = zip(re, im).map { ($0 * $0 + $1 * $1).squareRoot() }
        XCTAssertEqual(mags.indices.max(by: { mags[$0] < mags[$1] }), k0)
        XCTAssertEqual(mags[k0], Float(n) / 2, accuracy: 1e-3)
        XCTAssertEqual(im[k0], -Float(n) / 2, accuracy: 1e-3)
        for k in mags.indices where k != k0 { XCTAssertLessThan(mags[k], 1e-3, "bin \(k)") }
    }
}
