// Inference products in bfloat16 (BF16Products, CKernels' bf16gemm.c), on a CPU with AVX512-BF16:
// each element against a double-precision sum over the operands rounded to bfloat16 (within the
// float rounding of a sum of k terms, γ_k = k·2⁻²⁴ of Σ|a||b|: the kernel multiplies the rounded
// values exactly and adds in float), and against the exact product of the unrounded operands
// (within 2⁻⁸ Σ|a||b|: each operand moves by at most 2⁻⁹ of itself when rounded to 8 significant
// bits, so each product by at most 2⁻⁹ + 2⁻⁹ + 2⁻¹⁸). Shapes cover the kernel's edges: rows that
// leave a partial 12-row tile, an odd k (a zero pads the last pair), columns that leave a partial
// 32-column panel, and both layouts of B. On a CPU without the instructions, and with gradients on
// or the path turned off, the same calls must be sgemm's bit for bit.
import XCTest
import CKernels
@testable import Engine

final class BF16Tests: XCTestCase {
    override func tearDown() { BF16Products.setEnabled(true) }

    private func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.normal() })
    }

    /// The float path: the same product with the weight not frozen.
    private func floatProduct(_ x: Tensor, _ w: Tensor, transposeB: Bool) -> [Float] {
        GradMode.withoutGrad { matmul(x, Tensor(shape: w.shape, data: w.data), transposeB: transposeB).data }
    }

    // Bounds from the comment at the top: γ_k·Σ|ã||b̃| against the rounded operands, 2⁻⁸·Σ|a||b|
    // (plus the float sum's own γ_k) against the exact ones.
    func testFrozenProductsAreBFloat16ProductsSummedInFloat() throws {
        try XCTSkipUnless(BF16Products.available, "this CPU has no AVX512-BF16: the float path is checked below")
        for (m, k, n, trans) in [(5, 17, 40, false), (37, 96, 33, true), (130, 192, 576, true), (64, 385, 70, false), (12, 16, 32, true)] {
            let x = randomTensor([m, k], seed: UInt64(m * 1000 + k))
            let w = randomTensor(trans ? [n, k] : [k, n], seed: UInt64(n * 7 + k))
            w.freezeForInference()
            let y = GradMode.withoutGrad { matmul(x, w, transposeB: trans) }
            XCTAssertEqual(y.shape, [m, n])
            var worstRounded = 0.0, worstExact = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var rounded = 0.0, exact = 0.0, scale = 0.0, scaleRounded = 0.0
                    for t in 0..<k {
                        let a = x.data[i * k + t], b = trans ? w.data[j * k + t] : w.data[t * n + j]
                        let ar = Double(gk_bf16_round(a)), br = Double(gk_bf16_round(b))
                        rounded += ar * br; scaleRounded += abs(ar * br)
                        exact += Double(a) * Double(b); scale += abs(Double(a) * Double(b))
                    }
                    let got = Double(y.data[i * n + j]), gamma = Double(k) * 0x1p-24
                    worstRounded = max(worstRounded, abs(got - rounded) / (gamma * scaleRounded))
                    worstExact = max(worstExact, abs(got - exact) / ((0x1p-8 + gamma) * scale))
                }
            }
            XCTAssertLessThanOrEqual(worstRounded, 1, "m \(m) k \(k) n \(n): beyond float summation of the rounded products")
            XCTAssertLessThanOrEqual(worstExact, 1, "m \(m) k \(k) n \(n): beyond bfloat16 rounding of the operands")
            // And it is not the float path under another name.
            XCTAssertNotEqual(y.data, floatProduct(x, w, transposeB: trans), "m \(m) k \(k) n \(n)")
        }
    }

    // Each element sums its k products in one order whatever the blocking, so a row's values do
    // not depend on the rows computed beside it (chunked synthesis equals one pass): 200 rows at
    // once (split over the workers) against the first 7 and the last 13 alone, bit for bit.
    func testARowDoesNotDependOnTheRowsBesideIt() throws {
        try XCTSkipUnless(BF16Products.available, "this CPU has no AVX512-BF16")
        let k = 192, n = 576
        let x = randomTensor([200, k], seed: 3), w = randomTensor([n, k], seed: 4)
        w.freezeForInference()
        let all = GradMode.withoutGrad { matmul(x, w, transposeB: true) }.data
        let head = GradMode.withoutGrad { matmul(Tensor(shape: [7, k], data: Array(x.data[0..<(7 * k)])), w, transposeB: true) }.data
        let tail = GradMode.withoutGrad { matmul(Tensor(shape: [13, k], data: Array(x.data[(187 * k)...])), w, transposeB: true) }.data
        XCTAssertEqual(head, Array(all[0..<(7 * n)]))
        XCTAssertEqual(tail, Array(all[(187 * n)...]))
    }

    // Where bfloat16 must not be used, the frozen weight's product is sgemm's exactly: with
    // gradients on (training and gradient checks), with the path turned off (`--float32`), and on
    // a CPU without the instructions (where this is the only path there is).
    func testGradientsOnOrPathOffKeepFloatProducts() {
        let x = randomTensor([40, 64], seed: 5), w = randomTensor([48, 64], seed: 6)
        let expected = floatProduct(x, w, transposeB: true)
        w.freezeForInference()
        XCTAssertEqual(matmul(x, w, transposeB: true).data, expected, "gradients on")
        BF16Products.setEnabled(false)
        XCTAssertFalse(BF16Products.available)
        XCTAssertEqual(GradMode.withoutGrad { matmul(x, w, transposeB: true) }.data, expected, "path off")
    }

    // A frozen convolution (the FastSpeech FFN's kernel-3 conv, the vocoder's input conv) with a
    // bias, which the kernel adds to: against the float conv within the operands' rounding bound,
    // computed per output as above from the unfolded input; padding 1 and an odd channel count.
    func testFrozenConvolutionWithBiasStaysWithinTheRoundingBound() throws {
        try XCTSkipUnless(BF16Products.available, "this CPU has no AVX512-BF16")
        let cin = 33, cout = 50, kernel = 3, length = 90
        let x = randomTensor([1, cin, length], seed: 7), w = randomTensor([cout, cin, kernel], seed: 8), b = randomTensor([cout], seed: 9)
        let reference = GradMode.withoutGrad { conv1d(x, weight: Tensor(shape: w.shape, data: w.data), bias: b, padding: 1) }.data
        w.freezeForInference()
        let y = GradMode.withoutGrad { conv1d(x, weight: w, bias: b, padding: 1) }.data
        XCTAssertNotEqual(y, reference)
        for o in 0..<cout {
            for t in 0..<length {
                var scale = 0.0
                for c in 0..<cin {
                    for j in 0..<kernel where t + j - 1 >= 0 && t + j - 1 < length {
                        scale += abs(Double(w.data[(o * cin + c) * kernel + j]) * Double(x.data[c * length + t + j - 1]))
                    }
                }
                let bound = (0x1p-8 + Double(cin * kernel + 1) * 0x1p-24) * (scale + abs(Double(b.data[o])))
                XCTAssertLessThanOrEqual(abs(Double(y[o * length + t]) - Double(reference[o * length + t])), 2 * bound, "output \(o), \(t)")
            }
        }
    }
}
