// FastMathTests.swift: the eight-lane exp, sin and cos (DSP/FastMath.swift) against libm in Double,
// the closed form, across every quadrant, the range-reduction limit, and the lanes that fall back.

import XCTest
@testable import DSP

final class FastMathTests: XCTestCase {
    /// Every value of `xs`, eight at a time through `f`.
    private func lanes(_ xs: [Float], _ f: (SIMD8<Float>) -> SIMD8<Float>) -> [Float] {
        stride(from: 0, to: xs.count, by: 8).flatMap { i -> [Float] in
            var v = SIMD8<Float>(repeating: 0)
            for j in 0..<8 where i + j < xs.count { v[j] = xs[i + j] }
            let r = f(v)
            return (0..<min(8, xs.count - i)).map { r[$0] }
        }
    }

    // Expected: sin and cos in Double, rounded from the same float inputs. Cephes' sinf/cosf after a
    // three-part Cody–Waite reduction are accurate to a few float ulps of 1 (2.4·10⁻⁷ allowed here)
    // for |x| up to 8192; the inputs cover all four quadrants on both sides of 0 and the bounds.
    func testSinAndCosMatchLibmInEveryQuadrant() {
        var xs: [Float] = (0..<20_000).map { Float(-50 + Double($0) * 0.005) }
        xs += [0, -0, Float.pi / 4, Float.pi / 2, Float.pi, 3 * Float.pi / 2, 2 * Float.pi, 1000.25, -4321.5, 8191.9, -8192]
        let s = lanes(xs) { FastMath.sinCos8($0).sin }, c = lanes(xs) { FastMath.sinCos8($0).cos }
        var worst = 0.0
        for (i, x) in xs.enumerated() {
            worst = max(worst, Swift.abs(Double(s[i]) - Foundation.sin(Double(x))), Swift.abs(Double(c[i]) - Foundation.cos(Double(x))))
        }
        XCTAssertLessThan(worst, 2.4e-7, "largest error \(worst)")
    }

    // Expected: beyond the reduction's limit, and for infinities and NaN, each lane is libm's own value
    // (Float sin/cos), bit for bit, while the other lanes of the same vector stay on the fast path.
    func testLanesBeyondTheLimitTakeLibmsValue() {
        let v = SIMD8<Float>(1e5, -3e7, .infinity, .nan, 0.5, -2, 8192.5, 7)
        let (s, c) = FastMath.sinCos8(v)
        for i in [0, 1, 6] {
            XCTAssertEqual(s[i], Foundation.sin(v[i])); XCTAssertEqual(c[i], Foundation.cos(v[i]))
        }
        XCTAssertTrue(s[2].isNaN && c[2].isNaN && s[3].isNaN && c[3].isNaN)
        for i in [4, 5, 7] {
            XCTAssertEqual(Double(s[i]), Foundation.sin(Double(v[i])), accuracy: 2.4e-7)
            XCTAssertEqual(Double(c[i]), Foundation.cos(Double(v[i])), accuracy: 2.4e-7)
        }
    }

    // Expected: the array forms are the lane forms applied to every value (a count of 13 leaves a
    // partial vector): sin and cos as `sinCos8` gives them, bit for bit; the magnitude as the scalar
    // (re² + im²)^½ of `Spectrogram.magnitude`, bit for bit.
    func testArrayFormsAreTheLaneForms() {
        let xs: [Float] = (0..<13).map { Float($0) * 0.77 - 4.1 }
        var s = [Float](repeating: .nan, count: 13), c = s
        FastMath.sinCos(xs, sin: &s, cos: &c)
        XCTAssertEqual(s, lanes(xs) { FastMath.sinCos8($0).sin })
        XCTAssertEqual(c, lanes(xs) { FastMath.sinCos8($0).cos })
        let re: [Float] = (0..<13).map { Float($0) * 0.3 - 2 }, im: [Float] = (0..<13).map { 1.5 - Float($0) * 0.21 }
        var m = [Float](repeating: .nan, count: 13)
        m.withUnsafeMutableBufferPointer { FastMath.magnitude(re: re, im: im, into: $0.baseAddress!, count: 13) }
        XCTAssertEqual(m, zip(re, im).map { ($0 * $0 + $1 * $1).squareRoot() })
    }

    // Expected: exp in Double; the Taylor polynomial to r⁶ on |r| ≤ ln2/2 is within 3·10⁻⁷ relative
    // (its remainder, (ln2/2)⁷/7! ≈ 1.2·10⁻⁷, plus rounding).
    func testExpMatchesLibmRelatively() {
        let xs: [Float] = (0..<17_500).map { Float(-87 + Double($0) * 0.01) }
        let e = lanes(xs) { FastMath.exp8($0) }
        var worst = 0.0
        for (i, x) in xs.enumerated() { worst = max(worst, Swift.abs(Double(e[i]) / Foundation.exp(Double(x)) - 1)) }
        XCTAssertLessThan(worst, 3e-7, "largest relative error \(worst)")
    }

    // Expected: polar form in Double, |z| = e^min(m, cap): the clamp is exact (a capped bin is e^cap),
    // and the tail after the last full vector of 8 takes the scalar path with the same result.
    func testPolarMatchesItsDefinitionIncludingTheTail() {
        let n = 21
        let m: [Float] = (0..<n).map { Float($0) * 0.4 - 3 }, p: [Float] = (0..<n).map { Float($0) * 0.77 - 7 }
        var re = [Float](repeating: 0, count: n), im = re
        let cap: Float = 4
        FastMath.polar(logMagnitude: m, phase: p, maxLog: cap, re: &re, im: &im, count: n)
        for k in 0..<n {
            let mag = Foundation.exp(Double(min(m[k], cap)))
            XCTAssertEqual(Double(re[k]), mag * Foundation.cos(Double(p[k])), accuracy: 1e-6 * mag)
            XCTAssertEqual(Double(im[k]), mag * Foundation.sin(Double(p[k])), accuracy: 1e-6 * mag)
        }
    }
}
