// The C kernels (CKernels) and their users: half-precision conversions against IEEE 754 binary16 values
// worked out by hand, the F16C path against the portable one bit for bit, and products against a
// double-precision loop over the rounded weights, within the float rounding of a sum of k terms;
// the half-precision KV-cache step against attention computed in double over the rounded keys
// and values; the vectorized GELU against its formula with libm's tanh in double.
import XCTest
import CKernels
import Foundation
@testable import Engine
@testable import NN

final class CKernelsTests: XCTestCase {
    override func tearDown() { gk_force_portable(0) }

    private func toHalf(_ v: [Float]) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: v.count)
        gk_f32_to_f16(v, &out, v.count)
        return out
    }

    private func toFloat(_ h: [UInt16]) -> [Float] {
        var out = [Float](repeating: 0, count: h.count)
        gk_f16_to_f32(h, &out, h.count)
        return out
    }

    // Expected bit patterns from the binary16 format (1 sign, 5 exponent bits biased by 15, 10
    // fraction bits): 1 = 0x3C00; the largest finite 65504 = 0x7BFF; 65520 lies halfway to the next
    // (65536, not representable) and ties to even, which is infinity 0x7C00; 2⁻²⁴ is the smallest
    // subnormal 0x0001 and 2⁻²⁵ ties to even 0; 1 + 2⁻¹¹ lies halfway between 1 and 1 + 2⁻¹⁰ and
    // ties to even 1 (0x3C00), 1 + 3·2⁻¹¹ ties up to 1 + 2⁻⁹ (0x3C02); −2 = 0xC000; 2⁻¹⁴, the
    // smallest normal, 0x0400; 0.1 rounds to 0x2E66 (0.0999755859375). Each is checked on both
    // paths (F16C's conversion instruction and the portable code), which must agree bit for bit.
    func testConversionsRoundToNearestEven() {
        let values: [Float] = [1, 65504, 65520, 70000, .infinity, -.infinity, Float(sign: .plus, exponent: -24, significand: 1),
                               Float(sign: .plus, exponent: -25, significand: 1), 1 + Float(sign: .plus, exponent: -11, significand: 1),
                               1 + 3 * Float(sign: .plus, exponent: -11, significand: 1), -2, Float(sign: .plus, exponent: -14, significand: 1), 0.1, 0, -0.0]
        let expected: [UInt16] = [0x3C00, 0x7BFF, 0x7C00, 0x7C00, 0x7C00, 0xFC00, 0x0001, 0x0000, 0x3C00, 0x3C02, 0xC000, 0x0400, 0x2E66, 0x0000, 0x8000]
        for portable in [false, true] {
            gk_force_portable(portable ? 1 : 0)
            XCTAssertEqual(toHalf(values), expected, portable ? "portable path" : "CPU path")
            XCTAssertEqual(toFloat(expected)[0..<4], [1, 65504, .infinity, .infinity])
            XCTAssertEqual(toFloat([0x0001])[0], Float(sign: .plus, exponent: -24, significand: 1))
            XCTAssertEqual(toFloat([0x2E66])[0], 0.0999755859375)
        }
        XCTAssertTrue(toFloat([0x7E00])[0].isNaN)
    }

    // Every one of the 65,536 half values converts to float and back to itself (the NaNs to a NaN:
    // the portable path keeps no payload), and random floats over the whole half range round the
    // same way on both paths.
    func testBothPathsAgreeBitForBit() {
        let all = (0...0xFFFF).map { UInt16($0) }
        for portable in [false, true] {
            gk_force_portable(portable ? 1 : 0)
            let f = toFloat(all), back = toHalf(f)
            for (i, (h, b)) in zip(all, back).enumerated() {
                if (h & 0x7C00) != 0x7C00 || (h & 0x3FF) == 0 { XCTAssertEqual(h, b) } else { XCTAssertTrue(f[i].isNaN) }
            }
        }
        var rng = RNG(seed: 5)
        let floats = (0..<20_000).map { i -> Float in
            let e = Float(i % 40 - 28)   // 2⁻²⁸ … 2¹¹ times a normal draw: subnormals, normals, near overflow
            return rng.normal() * Foundation.pow(2, e)
        }
        gk_force_portable(0); let cpu = toHalf(floats)
        gk_force_portable(1); let portable = toHalf(floats)
        XCTAssertEqual(cpu, portable)
    }

    // y = x Wᵀ + b through the half-precision copy against a double-precision loop over the same
    // rounded weights: the only difference is float summation of k = 70 terms (bound k·ε·Σ|w·x|,
    // ε = 2⁻²⁴). Odd sizes (m = 1…5 rows, k not a multiple of 16) cover the kernel's row blocks
    // of 4 and its tail loop; the portable path must give the same within the same bound.
    func testProductMatchesTheRoundedWeights() {
        var rng = RNG(seed: 11)
        let n = 37, k = 70
        let w = Tensor(randn: [n, k], rng: &rng), bias = Tensor(randn: [n], rng: &rng)
        let half = HalfMatrix(w), rounded = half.values
        // The rounding itself: within half an ulp of binary16 (2⁻¹¹ relative) for these magnitudes.
        for (a, b) in zip(w.data, rounded) { XCTAssertLessThanOrEqual(Swift.abs(a - b), Swift.abs(a) * Float(1.0 / 2048) + 1e-7) }
        for portable in [false, true] {
            gk_force_portable(portable ? 1 : 0)
            for m in 1...5 {
                let x = Tensor(randn: [m, k], rng: &rng)
                let y = half.linear(x, bias: bias)
                XCTAssertEqual(y.shape, [m, n])
                for r in 0..<m { for j in 0..<n {
                    var s = Double(bias.data[j]), mag = Swift.abs(Double(bias.data[j]))
                    for i in 0..<k { let t = Double(rounded[j * k + i]) * Double(x.data[r * k + i]); s += t; mag += Swift.abs(t) }
                    XCTAssertEqual(Double(y.data[r * n + j]), s, accuracy: Double(k + 1) * mag / 16_777_216 + 1e-9)
                } }
            }
        }
    }

    // A Linear layer keeps its F32 product under gradient recording and for many rows, and reads
    // the half copy only for a few rows without gradients; dropping the copy restores F32 exactly.
    func testLinearUsesTheHalfCopyOnlyForSmallProductsWithoutGradients() {
        var rng = RNG(seed: 2)
        let layer = Linear(64, 48, scope: Scope(ParameterStore()), rng: &rng)
        let few = Tensor(randn: [1, 2, 64], rng: &rng), many = Tensor(randn: [40, 64], rng: &rng)
        let f32Few = GradMode.withoutGrad { layer(few) }.data, f32Many = GradMode.withoutGrad { layer(many) }.data
        layer.keepHalfPrecision()
        let halfFew = GradMode.withoutGrad { layer(few) }.data
        XCTAssertNotEqual(halfFew, f32Few)                                        // the copy was read
        XCTAssertEqual(halfFew, layer.halfWeight!.linear(few, bias: layer.bias).data)
        XCTAssertEqual(GradMode.withoutGrad { layer(many) }.data, f32Many)      // many rows: F32
        XCTAssertEqual(layer(few).data, f32Few)                                  // gradients on: F32
        layer.keepHalfPrecision(false)
        XCTAssertEqual(GradMode.withoutGrad { layer(few) }.data, f32Few)
    }

    // A KV cache kept in half precision: a one-position step reads the rounded keys and values.
    // Reference: softmax(q·k/√D)·v in double over the same rounded keys and values (read back from
    // a rounding of the inputs, as the cache stores them); the only difference left is float
    // arithmetic over ≤ 37 positions (bound 10⁻⁵ on values of magnitude ~1). Both paths; a prefix
    // of several positions at once still reads the F32 buffers (the same result as a plain cache).
    func testHalfPrecisionCacheStepMatchesAttentionOverRoundedKeys() {
        var rng = RNG(seed: 8)
        let b = 2, h = 3, d = 24, prefix = 36
        for portable in [false, true] {
            gk_force_portable(portable ? 1 : 0)
            let half = KVCache(batch: b, heads: h, maxLength: 40, headDim: d, halfPrecision: true)
            let plain = KVCache(batch: b, heads: h, maxLength: 40, headDim: d)
            let pk = Tensor(randn: [b, h, prefix, d], rng: &rng), pv = Tensor(randn: [b, h, prefix, d], rng: &rng)
            let pq = Tensor(randn: [b, h, prefix, d], rng: &rng)
            XCTAssertEqual(half.attend(q: pq, keys: pk, values: pv).data, plain.attend(q: pq, keys: pk, values: pv).data)
            let q = Tensor(randn: [b, h, 1, d], rng: &rng), k = Tensor(randn: [b, h, 1, d], rng: &rng), v = Tensor(randn: [b, h, 1, d], rng: &rng)
            let out = half.attend(q: q, keys: k, values: v)
            XCTAssertEqual(out.shape, [b, h, 1, d])
            let n = prefix + 1
            for bh in 0..<(b * h) {
                // Keys and values of this head at positions 0..<n, as the cache rounded them.
                let keys = HalfMatrix(Tensor(shape: [n, d], data: Array(pk.data[(bh * prefix * d)..<((bh + 1) * prefix * d)]) + Array(k.data[(bh * d)..<((bh + 1) * d)]))).values
                let vals = HalfMatrix(Tensor(shape: [n, d], data: Array(pv.data[(bh * prefix * d)..<((bh + 1) * prefix * d)]) + Array(v.data[(bh * d)..<((bh + 1) * d)]))).values
                let scores = (0..<n).map { j in (0..<d).reduce(0.0) { $0 + Double(q.data[bh * d + $1]) * Double(keys[j * d + $1]) } / Double(d).squareRoot() }
                let mx = scores.max()!, w = scores.map { Foundation.exp($0 - mx) }, total = w.reduce(0, +)
                for i in 0..<d {
                    let expected = (0..<n).reduce(0.0) { $0 + w[$1] / total * Double(vals[$1 * d + i]) }
                    XCTAssertEqual(Double(out.data[bh * d + i]), expected, accuracy: 1e-5, "head \(bh), dim \(i)")
                }
            }
        }
    }

    // GELU's vectorized forward against ½x(1 + tanh(√(2/π)(x + 0.044715x³))) in double: within
    // 2·10⁻⁷·|x| + 10⁻³⁸ (the kernel's tanh is 1 − 2/(e^{2u} + 1) with a polynomial e^u: absolute
    // error about 2·10⁻⁷, halved by ½x, plus the result's own rounding, half an ulp ≈ 6·10⁻⁸·|x|). Over [−30, 30] in small steps, plus ±0, both paths (the portable one is
    // libm's tanh in float); large |x| must give exactly x and −0.
    // Expected: sin in double precision. The kernel reduces by the nearest multiple of π and sums
    // an odd Taylor polynomial to r¹¹ (remainder (π/2)¹³/13! ≈ 6·10⁻⁸), so the error is float
    // rounding of the reduced argument, about 2⁻²⁴·|u| for arguments u up to 100.
    func testSinKernelMatchesSin() {
        var rng = RNG(seed: 5)
        let x = (0..<4096).map { _ in rng.uniform() * 200 - 100 } + [0, 1e-30, -1e-30, Float.pi / 2, -Float.pi, 50 * Float.pi]
        for scale: Float in [1, 0.37, 2] {
            var y = [Float](repeating: 0, count: x.count)
            gk_sin_scaled(x, &y, x.count, scale)
            for (xi, yi) in zip(x, y) {
                let u = Double(scale * xi)
                XCTAssertEqual(Double(yi), Foundation.sin(u), accuracy: 3e-7 + 1.2e-7 * Swift.abs(u), "sin(\(u))")
            }
        }
    }

    func testGeluKernelMatchesItsFormula() {
        let xs = (-30_000...30_000).map { Float($0) / 1000 } + [0, -0.0, 1e-30, -1e-30, 60, -60, 1e4, -1e4]
        for portable in [false, true] {
            gk_force_portable(portable ? 1 : 0)
            var ys = [Float](repeating: 0, count: xs.count)
            gk_gelu_tanh(xs, &ys, xs.count)
            for (x, y) in zip(xs, ys) {
                let v = Double(x), u = 0.7978845608028654 * (v + 0.044715 * v * v * v)
                let expected = 0.5 * v * (1 + Foundation.tanh(u))
                XCTAssertEqual(Double(y), expected, accuracy: 2e-7 * Swift.abs(v) + 1e-38, "x = \(x)")
            }
            XCTAssertEqual(ys[ys.count - 2], 1e4); XCTAssertEqual(ys[ys.count - 1], 0)
        }
    }

    // GELU's vectorized backward against the derivative of the same formula in double,
    // ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), accumulated onto what gx held. The kernel's
    // tanh is within about 2·10⁻⁷ of the true one; that error reaches the derivative through
    // (1 + t) and through 1 − t² times x·du/dx (under 20 on [−30, 30], and 0 where t is ±1), so
    // 10⁻⁵ bounds it with room for rounding. Both paths; each g a different weight.
    func testGeluBackwardKernelMatchesItsDerivative() {
        let xs = (-30_000...30_000).map { Float($0) / 1000 } + [0, -0.0, 1e-30, 60, -60, 1e4, -1e4]
        let gs = xs.indices.map { Float(0.5 + sin(Double($0))) }
        for portable in [false, true] {
            gk_force_portable(portable ? 1 : 0)
            var gx = [Float](repeating: 0.25, count: xs.count)
            gk_gelu_tanh_backward(xs, gs, &gx, xs.count)
            for i in xs.indices {
                let v = Double(xs[i]), c = 0.7978845608028654, t = Foundation.tanh(c * (v + 0.044715 * v * v * v))
                let d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v)
                XCTAssertEqual(Double(gx[i]), 0.25 + Double(gs[i]) * d, accuracy: 1e-5, "x = \(xs[i]), portable \(portable)")
            }
        }
    }

    // Softmax against its definition in double, e^{x_j − m} / Σ e^{x − m} with x_j − m rounded to
    // float as the kernel rounds it (that rounding alone moves e^{x−m} by up to 3·10⁻⁶ relative at
    // x − m ≈ −50), and ln Σ e^x: each probability within 1e-5 relative + 1e-30 (the polynomial exp
    // is within 2·10⁻⁸; eight float partial sums of up to 128 terms each lose at most 128 half-ulps,
    // 8·10⁻⁶), the log-sum-exp within 1e-5. Rows of every
    // length 1…19 (the 8-wide loop's tails), a 1024-value one, −∞ entries (attention's masks) that
    // must come out exactly 0, values 100 below the maximum (e⁻¹⁰⁰ underflows float: 0), a row of
    // −∞ only (all 0, −∞ returned), and in place (y = x). Both paths.
    func testSoftmaxRowKernelMatchesItsDefinition() {
        var rng = RNG(seed: 11)
        var rows: [[Float]] = (1...19).map { n in (0..<n).map { _ in Float.random(in: -8...8, using: &rng) } }
        rows.append((0..<1024).map { _ in Float.random(in: -30...30, using: &rng) })
        rows.append((0..<13).map { $0 % 3 == 0 ? -Float.infinity : Float($0) })
        rows.append([0, -100, -200, 3, -Float.infinity, 2.5, 1, -1, 0.5])
        for portable in [false, true] {
            gk_force_portable(portable ? 1 : 0)
            for x in rows {
                var y = [Float](repeating: .nan, count: x.count)
                let lse = gk_softmax_row(x, &y, x.count)
                let m = x.max()!, total = x.reduce(0.0) { $0 + Foundation.exp(Double($1 - m)) }
                XCTAssertEqual(lse, Double(m) + Foundation.log(total), accuracy: 1e-5, "row of \(x.count), portable \(portable)")
                for (xi, yi) in zip(x, y) {
                    let p = Foundation.exp(Double(xi - m)) / total
                    if xi == -.infinity { XCTAssertEqual(yi, 0) }
                    XCTAssertEqual(Double(yi), p, accuracy: 1e-5 * p + 1e-30, "x = \(xi) of a row of \(x.count), portable \(portable)")
                }
                var inPlace = x
                inPlace.withUnsafeMutableBufferPointer { _ = gk_softmax_row($0.baseAddress!, $0.baseAddress!, x.count) }
                XCTAssertEqual(inPlace, y, "in place")
            }
            let masked = [Float](repeating: -.infinity, count: 11)
            var y = [Float](repeating: .nan, count: 11)
            XCTAssertEqual(gk_softmax_row(masked, &y, 11), -.infinity)
            XCTAssertEqual(y, [Float](repeating: 0, count: 11))
        }
    }
}
