// FFTTests.swift: FFTPlan against the O(n²) DFT definition and against closed forms.

import XCTest
import CKernels
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
    /// `FFTPlan.shared` keeps one plan per length, from any thread, and a shared plan transforms
    /// exactly as a plan built afresh (expected: the fresh plan's own output, bit for bit).
    func testSharedPlansAreOnePerLengthAndTransformAsNewOnes() {
        let plans = UnsafeMutableBufferPointer<FFTPlan?>.allocate(capacity: 8)
        plans.initialize(repeating: nil)
        defer { plans.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 8) { i in plans[i] = FFTPlan.shared(n: 512) }   // each thread its own slot
        XCTAssertTrue(plans.allSatisfy { $0 === plans[0] }, "one plan for every thread")
        XCTAssertTrue(FFTPlan.shared(n: 512) === plans[0])
        XCTAssertFalse(FFTPlan.shared(n: 256) === plans[0])
        var rng = TestRNG(seed: 9)
        let x = (0..<512).map { _ in rng.signed() }
        let shared = FFTPlan.shared(n: 512).rfft(x), fresh = FFTPlan(n: 512).rfft(x)
        XCTAssertEqual(shared.re, fresh.re)
        XCTAssertEqual(shared.im, fresh.im)
    }

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

    // Expected values: the reference kernel (plain radix-2, `FFTPlan.reference*`), which the naive-DFT
    // tests above pin down; the fast kernel must agree with it at every length the project may use.
    // Tolerance as above: both carry Float rounding of order log2(n)·ε relative to the largest bin.
    func testFastKernelMatchesReferenceForEveryPowerOfTwo() {
        for bits in 1...12 {
            let n = 1 << bits
            let plan = FFTPlan(n: n)
            var rng = TestRNG(seed: 500 + UInt64(n))
            let xr = (0..<n).map { _ in rng.signed() }
            let xi = (0..<n).map { _ in rng.signed() }

            var fastRe = xr, fastIm = xi, refRe = xr, refIm = xi
            plan.forward(re: &fastRe, im: &fastIm)
            refRe.withUnsafeMutableBufferPointer { r in refIm.withUnsafeMutableBufferPointer { i in plan.referenceForward(re: r, im: i) } }
            assertClose(fastRe, fastIm, refRe, refIm, "n=\(n) forward")

            plan.inverse(re: &fastRe, im: &fastIm)
            refRe.withUnsafeMutableBufferPointer { r in refIm.withUnsafeMutableBufferPointer { i in plan.referenceInverse(re: r, im: i) } }
            assertClose(fastRe, fastIm, refRe, refIm, "n=\(n) inverse")

            let (re, im) = plan.rfft(xr)
            var rRe = [Float](repeating: 0, count: n / 2 + 1), rIm = rRe
            xr.withUnsafeBufferPointer { x in
                rRe.withUnsafeMutableBufferPointer { r in rIm.withUnsafeMutableBufferPointer { i in plan.referenceRFFT(x, re: r, im: i) } }
            }
            assertClose(re, im, rRe, rIm, "n=\(n) rfft")

            // irfft of a spectrum that is not Hermitian-clean (random bins, also in the ignored imaginary
            // parts of DC and Nyquist), so both kernels must ignore the same things.
            let specRe = (0...(n / 2)).map { _ in rng.signed() }, specIm = (0...(n / 2)).map { _ in rng.signed() }
            let y = plan.irfft(re: specRe, im: specIm)
            var yRef = [Float](repeating: 0, count: n)
            var br = specRe, bi = specIm
            br.withUnsafeMutableBufferPointer { r in bi.withUnsafeMutableBufferPointer { i in
                yRef.withUnsafeMutableBufferPointer { o in plan.referenceIRFFT(re: r, im: i, output: o) }
            } }
            assertClose(y, [Float](repeating: 0, count: n), yRef, [Float](repeating: 0, count: n), "n=\(n) irfft")
        }
    }

    // Expected: the butterfly passes run eight lanes wide in C where the CPU has AVX (CKernels'
    // fft.c) with FFT.swift's operations per lane, so the two paths give the same transforms bit for
    // bit: complex forward and inverse, rfft and irfft, at every length from the fast kernel's 16 up
    // (odd and even numbers of radix-4 passes, with and without the closing radix-2 pass).
    func testWidePassesAreTheFourLanePassesBitForBit() throws {
        try XCTSkipUnless(gk_fft_wide() != 0, "this CPU has no AVX: only the four-lane passes run")
        defer { gk_fft_force_portable(0) }
        for bits in 4...12 {
            let n = 1 << bits
            let plan = FFTPlan(n: n)
            var rng = TestRNG(seed: 900 + UInt64(n))
            let xr = (0..<n).map { _ in rng.signed() }, xi = (0..<n).map { _ in rng.signed() }
            let specRe = (0...(n / 2)).map { _ in rng.signed() }, specIm = (0...(n / 2)).map { _ in rng.signed() }
            func transforms() -> [[Float]] {
                var fr = xr, fi = xi, ir = xr, ii = xi
                plan.forward(re: &fr, im: &fi)
                plan.inverse(re: &ir, im: &ii)
                let (rr, ri) = plan.rfft(xr)
                return [fr, fi, ir, ii, rr, ri, plan.irfft(re: specRe, im: specIm)]
            }
            gk_fft_force_portable(0)
            let wide = transforms()
            gk_fft_force_portable(1)
            XCTAssertEqual(gk_fft_wide(), 0)
            XCTAssertEqual(wide, transforms(), "n = \(n)")
        }
    }

    // Expected values: the public transforms on an explicitly windowed copy. STFT's fused entry points
    // (window applied while packing; window, scale and overlap-add applied while unpacking) must give
    // the same numbers, on both the fast kernel and the short-length fallback.
    func testWindowedEntryPointsMatchExplicitWindowing() {
        for n in [2, 4, 16, 32, 64, 1024] {
            let plan = FFTPlan(n: n)
            var rng = TestRNG(seed: 900 + UInt64(n))
            let x = (0..<n).map { _ in rng.signed() }
            let w = (0..<n).map { _ in rng.uniform() }
            let (wantRe, wantIm) = plan.rfft(zip(x, w).map { $0 * $1 })
            var re = [Float](repeating: 0, count: n / 2 + 1), im = re, temp = [Float](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                re.withUnsafeMutableBufferPointer { r in im.withUnsafeMutableBufferPointer { i in temp.withUnsafeMutableBufferPointer { t in
                    plan.rfft(xp.baseAddress!, window: wp.baseAddress!, re: r.baseAddress!, im: i.baseAddress!, temp: t.baseAddress!)
                } } }
            } }
            assertClose(re, im, wantRe, wantIm, "n=\(n) windowed rfft")

            // output[j] += irfft(S)[j] · (n/2) · v[j] with v = w / (n/2), onto a non-zero output.
            let base = (0..<n).map { _ in rng.signed() }
            let y = plan.irfft(re: wantRe, im: wantIm)
            let want = (0..<n).map { base[$0] + y[$0] * w[$0] }
            let v = w.map { $0 / Float(n / 2) }
            var got = base, scratch = [Float](repeating: 0, count: 2 * n)
            wantRe.withUnsafeBufferPointer { r in wantIm.withUnsafeBufferPointer { i in v.withUnsafeBufferPointer { vp in
                got.withUnsafeMutableBufferPointer { o in scratch.withUnsafeMutableBufferPointer { s in
                    let sp = s.baseAddress!
                    plan.irfft(re: r.baseAddress!, im: i.baseAddress!, temp: sp, workRe: sp + n, workIm: sp + n + n / 2,
                               output: o.baseAddress!, addWindowed: vp.baseAddress!)
                } }
            } } }
            for j in 0..<n { XCTAssertEqual(got[j], want[j], accuracy: 1e-5, "n=\(n) overlap-add sample \(j)") }
        }
    }

    private func assertClose(_ re: [Float], _ im: [Float], _ refRe: [Float], _ refIm: [Float], _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        let scale = max(1, zip(refRe, refIm).map { ($0 * $0 + $1 * $1).squareRoot() }.max()!)
        var worst: Float = 0
        for k in refRe.indices { worst = max(worst, abs(re[k] - refRe[k]), abs(im[k] - refIm[k])) }
        XCTAssertLessThan(worst / scale, 2e-6, "\(what): max error \(worst) against largest bin \(scale)", file: file, line: line)
    }
}
