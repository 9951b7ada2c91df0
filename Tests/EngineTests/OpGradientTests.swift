// Finite-difference gradient checks for every differentiable op in the Engine.
//
// Where the expected numbers come from: `gradCheck` (GradCheck.swift) projects an op's output onto
// fixed random weights w, L = Σ w·f(x), accumulated in Double, and compares dL/dx from backward()
// with the central difference (L(x + ε) − L(x − ε)) / 2ε, element by element. Nothing here is
// hard-coded: the finite difference is the independent reference.
//
// Tolerance: errors are measured as |analytic − numeric| / max(1, |analytic|, |numeric|), so for
// the O(1) gradients here they are absolute. The central difference has truncation error
// ε²·|f'''|/6, under 1e-4 at ε = 1e-2 for these inputs (log near 0.5 is the worst, f''' = 16),
// and the Float32 forward adds rounding of about 1e-7·|L|/ε ≈ 1e-5·|L|, |L| ≲ 10. The largest
// error any check here shows is ~1e-4, while a real mistake (a missing term, a wrong index,
// transpose or scale) is off by O(0.1–1); `maxError < 1e-3` sits an order of magnitude from both.
// Kinks (relu, abs, l1 at 0) are skipped where an input lies within 2ε of them, since the finite
// difference straddles the kink there.
import XCTest
@testable import Engine

private let tolerance = 1e-3

private func randn(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor(randn: shape, std: std, rng: &rng)
}

private func uniform(_ shape: [Int], _ low: Float, _ high: Float, seed: UInt64) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor(uniform: shape, low: low, high: high, rng: &rng)
}

final class OpGradientTests: XCTestCase {
    /// Runs `gradCheck` and fails with the whole report when the worst element is off.
    private func check(_ what: String, _ inputs: [Tensor], eps: Float = 1e-2, maxPerInput: Int = 64,
                       skip: ((Int, Int) -> Bool)? = nil, file: StaticString = #filePath, line: UInt = #line,
                       _ f: () -> Tensor) {
        let report = gradCheck(inputs, eps: eps, maxPerInput: maxPerInput, skip: skip, f)
        XCTAssertGreaterThan(report.checked, 0, "\(what): nothing was checked", file: file, line: line)
        XCTAssertLessThan(report.maxError, tolerance, "\(what): \(report)", file: file, line: line)
    }

    // MARK: elementwise

    func testAddSubBroadcast() {
        let a = randn([2, 3, 4], seed: 1), b = randn([4], seed: 2), c = randn([3, 1], seed: 3)
        check("add (2,3,4)+(4)", [a, b]) { add(a, b) }
        check("sub (2,3,4)-(4)", [a, b]) { sub(a, b) }
        check("sub (3,1)-(2,3,4)", [c, a]) { sub(c, a) }
        check("add same shape", [a]) { add(a, a) }  // one tensor on both sides: both contributions add
    }

    func testMulDivBroadcast() {
        let a = randn([2, 1, 4], seed: 4), b = randn([3, 1], seed: 5)
        let positive = uniform([3, 1], 0.5, 1.5, seed: 6)  // keep the divisor away from 0
        check("mul (2,1,4)*(3,1)", [a, b]) { mul(a, b) }
        check("div (2,1,4)/(3,1)", [a, positive]) { div(a, positive) }
        let s = randn([], seed: 7)
        check("mul by scalar tensor", [a, s]) { mul(a, s) }
    }

    func testScaleAddScalarNeg() {
        let x = randn([3, 5], seed: 8)
        check("scale", [x]) { scale(x, -2.5) }
        check("addScalar", [x]) { addScalar(x, 3) }
        check("neg", [x]) { neg(x) }
    }

    func testReluAndLeakyReluAwayFromKink() {
        let x = randn([4, 6], seed: 9)
        let nearZero: (Int, Int) -> Bool = { _, i in Swift.abs(x.data[i]) < 0.02 }
        check("relu", [x], skip: nearZero) { relu(x) }
        check("leakyRelu", [x], skip: nearZero) { leakyRelu(x, slope: 0.1) }
    }

    func testSmoothActivations() {
        let x = randn([4, 6], seed: 10, std: 1.5)
        check("gelu", [x]) { gelu(x) }
        check("tanh", [x]) { tanh(x) }
        check("sigmoid", [x]) { sigmoid(x) }
        check("exp", [x]) { exp(x) }
        check("square", [x]) { square(x) }
        let positive = uniform([4, 6], 0.5, 3, seed: 11)  // log needs x > 0
        check("log", [positive]) { log(positive) }
    }

    // Snake's α is a per-channel parameter (1, C, 1), so both inputs are checked; α away from 0,
    // where 1/(α + 1e-9) is steep.
    func testSnake() {
        let x = randn([2, 3, 5], seed: 21, std: 1.5), alpha = uniform([1, 3, 1], 0.3, 2, seed: 22)
        check("snake", [x, alpha]) { snake(x, alpha: alpha) }
    }

    func testAbsAwayFromKink() {
        let x = randn([4, 6], seed: 12)
        check("abs", [x], skip: { _, i in Swift.abs(x.data[i]) < 0.02 }) { abs(x) }
    }

    func testDropoutWithFixedMask() {
        let x = randn([5, 8], seed: 13)
        // A freshly seeded generator per call draws the same mask for every evaluation.
        check("dropout", [x]) {
            var rng = RNG(seed: 99)
            return dropout(x, p: 0.3, training: true, rng: &rng)
        }
    }

    // MARK: matrix products

    func testMatmulPlainTransposedAndBatched() {
        let a = randn([3, 4], seed: 14), b = randn([4, 5], seed: 15), bt = randn([5, 4], seed: 16)
        check("matmul", [a, b]) { matmul(a, b) }
        check("matmul transposeB", [a, bt]) { matmul(a, bt, transposeB: true) }
        let a3 = randn([2, 3, 4], seed: 17)
        check("matmul 3-D a", [a3, b]) { matmul(a3, b) }
        check("matmul 3-D a transposeB", [a3, bt]) { matmul(a3, bt, transposeB: true) }
    }

    func testBmmAllTransposeCombinations() {
        // Logical product (B, M, K)·(B, K, N) with B = 2, M = 3, K = 4, N = 5.
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = randn(transposeA ? [2, 4, 3] : [2, 3, 4], seed: 18)
                let b = randn(transposeB ? [2, 5, 4] : [2, 4, 5], seed: 19)
                check("bmm tA=\(transposeA) tB=\(transposeB)", [a, b]) {
                    bmm(a, b, transposeA: transposeA, transposeB: transposeB)
                }
            }
        }
    }

    func testLinear() {
        let x = randn([2, 3, 4], seed: 20), w = randn([5, 4], seed: 21), b = randn([5], seed: 22)
        check("linear with bias", [x, w, b]) { linear(x, weight: w, bias: b) }
        check("linear without bias", [x, w]) { linear(x, weight: w, bias: nil) }
    }

    // MARK: shape ops

    func testReshapePermuteTranspose() {
        let x = randn([2, 3, 4], seed: 23)
        check("reshape", [x]) { reshape(x, [4, -1]) }
        check("permute", [x]) { permute(x, [2, 0, 1]) }
        check("transpose", [x]) { transpose(x, 0, -1) }
        // Moving only length-1 axes takes permute's no-copy path (a reshape).
        let y = randn([2, 1, 3, 4], seed: 26)
        check("permute of a length-1 axis", [y]) { permute(y, [0, 2, 1, 3]) }
    }

    func testSliceAndConcat() {
        let x = randn([3, 5, 2], seed: 24), y = randn([3, 2, 2], seed: 25)
        check("slice middle axis", [x]) { slice(x, axis: 1, 1..<4) }
        check("slice last axis", [x]) { slice(x, axis: -1, 1..<2) }
        check("concat", [x, y]) { concat([x, y, x], axis: 1) }  // x twice: its gradients add
    }

    func testRepeatByCountsBatchedWithPadding() {
        let x = randn([2, 3, 2], seed: 26)
        // Item 0 expands to 5 rows, item 1 to 3 rows plus 2 rows of padding.
        check("repeatByCounts", [x]) { repeatByCounts(x, counts: [2, 0, 3, 1, 1, 1]) }
        // maxLength 4 drops item 0's last row.
        check("repeatByCounts truncated", [x]) { repeatByCounts(x, counts: [2, 0, 3, 1, 1, 1], maxLength: 4) }
        let single = randn([3, 2], seed: 27)
        check("repeatByCounts unbatched", [single]) { repeatByCounts(single, counts: [1, 3, 2]) }
    }

    // MARK: reductions, softmax, losses

    func testSumAndMean() {
        let x = randn([2, 3, 4], seed: 28)
        check("sum all", [x]) { sum(x) }
        check("mean all", [x]) { mean(x) }
        check("sum axis 1", [x]) { sum(x, axis: 1) }
        check("sum axis -1 keepDims", [x]) { sum(x, axis: -1, keepDims: true) }
        check("mean axis 0", [x]) { mean(x, axis: 0) }
    }

    func testSoftmaxAndLogSoftmax() {
        let x = randn([3, 5], seed: 29, std: 2)
        check("softmax", [x]) { softmax(x) }
        check("logSoftmax", [x]) { logSoftmax(x) }
    }

    func testL1LossAwayFromKink() {
        let a = randn([3, 4], seed: 30), b = randn([3, 4], seed: 31)
        let mask: [Float] = (0..<12).map { $0 % 3 == 0 ? 0 : 1 }
        let nearTie: (Int, Int) -> Bool = { _, i in Swift.abs(a.data[i] - b.data[i]) < 0.02 }
        check("l1Loss", [a, b], skip: nearTie) { l1Loss(a, b) }
        check("l1Loss masked", [a, b], skip: nearTie) { l1Loss(a, b, mask: mask) }
    }

    func testMseLossMasked() {
        let a = randn([3, 4], seed: 32), b = randn([3, 4], seed: 33)
        let mask: [Float] = (0..<12).map { $0 < 7 ? 1 : 0 }
        check("mseLoss", [a, b]) { mseLoss(a, b) }
        check("mseLoss masked", [a, b]) { mseLoss(a, b, mask: mask) }
    }

    func testCrossEntropyWithIgnoredTarget() {
        let logits = randn([4, 5], seed: 34, std: 2)
        check("crossEntropy", [logits]) { crossEntropy(logits, targets: [1, -100, 4, 0]) }
    }

    /// Many rows (enough for the rows to be split between threads), against the closed form in
    /// double: loss = mean over the scored rows of logsumexp − x_t, gradient (softmax − onehot) / count.
    /// One row's target has p ≈ e^−60, where −log p must still come out as 60 (computed from the
    /// logits, not from a rounded p).
    func testCrossEntropyOverManyRowsMatchesItsClosedForm() {
        let rows = 9_000, v = 3
        let logits = randn([rows, v], seed: 39, std: 3)
        logits.data[0] = 60; logits.data[1] = 0; logits.data[2] = 0
        logits.requiresGrad = true
        let targets = (0..<rows).map { $0 == 0 ? 1 : ($0 % 7 == 3 ? -100 : ($0 * 5) % v) }
        let loss = crossEntropy(logits, targets: targets)
        loss.backward()
        var total = 0.0, used = 0.0
        var grad = [Double](repeating: 0, count: rows * v)
        for r in 0..<rows where targets[r] != -100 { used += 1 }
        for r in 0..<rows where targets[r] != -100 {
            let x = (0..<v).map { Double(logits.data[r * v + $0]) }, m = x.max()!
            let lse = m + Foundation.log(x.reduce(0) { $0 + Foundation.exp($1 - m) })
            total += lse - x[targets[r]]
            for j in 0..<v { grad[r * v + j] = (Foundation.exp(x[j] - lse) - (j == targets[r] ? 1 : 0)) / used }
        }
        XCTAssertEqual(Double(loss.item), total / used, accuracy: 1e-5 * total / used)
        let g = try! XCTUnwrap(logits.grad)
        XCTAssertEqual(Double(crossEntropy(slice(logits, axis: 0, 0..<1), targets: [1]).item), 60, accuracy: 1e-4)
        for i in 0..<(rows * v) { XCTAssertEqual(Double(g[i]), grad[i], accuracy: 1e-9, "logit \(i)") }
    }

    /// Soft targets: the gradient by finite differences; one-hot rows give crossEntropy's value.
    func testSoftCrossEntropy() {
        let logits = randn([4, 5], seed: 38, std: 2)
        let targets: [Float] = [0.7, 0, 0.3, 0, 0,  0, 0, 0, 0, 0,  0, 0, 0, 0, 1,  0.25, 0.25, 0, 0, 0.5]
        check("softCrossEntropy", [logits]) { softCrossEntropy(logits, targets: targets) }
        var oneHot = [Float](repeating: 0, count: 20)
        for (row, t) in [1, 4, 0].enumerated() { oneHot[row * 5 + t] = 1 }
        let three = slice(logits, axis: 0, 0..<3)
        XCTAssertEqual(softCrossEntropy(three, targets: Array(oneHot[0..<15])).item,
                       crossEntropy(three, targets: [1, 4, 0]).item, accuracy: 1e-5)
    }

    // MARK: convolutions

    func testConv1d() {
        let w = randn([4, 3, 3], seed: 35, std: 0.5), bias = randn([4], seed: 36)
        let x = randn([2, 3, 9], seed: 37)
        check("conv1d padding 1", [x, w, bias]) { conv1d(x, weight: w, bias: bias, padding: 1) }
        check("conv1d stride 2 padding 2", [x, w, bias]) { conv1d(x, weight: w, bias: bias, stride: 2, padding: 2) }
        check("conv1d dilation 2", [x, w]) { conv1d(x, weight: w, bias: nil, dilation: 2) }
        check("conv1d stride 3 padding 1 dilation 2", [x, w, bias]) {
            conv1d(x, weight: w, bias: bias, stride: 3, padding: 1, dilation: 2)
        }
        let pointwise = randn([4, 3, 1], seed: 38)
        check("conv1d 1×1", [x, pointwise, bias]) { conv1d(x, weight: pointwise, bias: bias) }
    }

    func testConvTranspose1d() {
        let x = randn([2, 3, 5], seed: 39)
        let w4 = randn([3, 2, 4], seed: 40, std: 0.5), w8 = randn([3, 2, 8], seed: 41, std: 0.5)
        let bias = randn([2], seed: 42)
        check("convTranspose1d stride 2 padding 1", [x, w4, bias]) {
            convTranspose1d(x, weight: w4, bias: bias, stride: 2, padding: 1)
        }
        check("convTranspose1d stride 2 outputPadding 1", [x, w4, bias]) {
            convTranspose1d(x, weight: w4, bias: bias, stride: 2, padding: 1, outputPadding: 1)
        }
        check("convTranspose1d stride 4 padding 2", [x, w8, bias]) {
            convTranspose1d(x, weight: w8, bias: bias, stride: 4, padding: 2)
        }
        check("convTranspose1d stride 1 dilation 2", [x, w4]) {
            convTranspose1d(x, weight: w4, bias: nil, dilation: 2)
        }
    }

    // MARK: embedding and normalisation

    func testEmbeddingRepeatedIdsAccumulate() {
        let table = randn([5, 3], seed: 43)
        // Id 2 appears three times: its row's gradient is the sum of three output gradients.
        check("embedding", [table]) { embedding(table, ids: [2, 0, 2, 4, 2, 1], shape: [2, 3]) }
    }

    func testLayerNorm() {
        let x = randn([2, 3, 6], seed: 44, std: 2), gamma = randn([6], seed: 45), beta = randn([6], seed: 46)
        check("layerNorm affine", [x, gamma, beta]) { layerNorm(x, gamma: gamma, beta: beta) }
        check("layerNorm plain", [x]) { layerNorm(x, gamma: nil, beta: nil) }
    }

    // MARK: attention

    func testAttentionCausalSelf() {
        let q = randn([2, 2, 4, 3], seed: 47), k = randn([2, 2, 4, 3], seed: 48), v = randn([2, 2, 4, 3], seed: 49)
        check("attention causal self", [q, k, v]) { attention(q: q, k: k, v: v, causal: true) }
        let x = randn([1, 2, 4, 3], seed: 50)
        check("attention with q = k = v", [x]) { attention(q: x, k: x, v: x, causal: true) }
    }

    func testAttentionCausalWithQueryOffset() {
        // Tq = 3 new queries after 2 cached positions: query i sees keys 0...2+i of Tk = 5.
        let q = randn([2, 2, 3, 4], seed: 51), k = randn([2, 2, 5, 4], seed: 52), v = randn([2, 2, 5, 4], seed: 53)
        check("attention causal queryOffset 2", [q, k, v]) {
            attention(q: q, k: k, v: v, causal: true, queryOffset: 2)
        }
    }

    func testAttentionCrossWithKeyMask() {
        // Tq = 4 decoder queries over Tk = 3 encoder keys; item 1's middle key is padding.
        let q = randn([2, 2, 4, 3], seed: 54), k = randn([2, 2, 3, 3], seed: 55), v = randn([2, 2, 3, 3], seed: 56)
        let mask = [true, true, true, true, false, true]
        check("attention cross keyMask", [q, k, v]) {
            attention(q: q, k: k, v: v, causal: false, keyMask: mask)
        }
    }

    // MARK: vector quantisation

    // The straight-through output is piecewise constant in x, so its finite difference is 0 and
    // cannot check it: its gradient is identity by definition and is tested in closed form in
    // VectorQuantizeTests. The commitment loss mean (x − sg(q))² is smooth wherever the nearest
    // code does not change, which holds here: inputs sit 0.1 from their codes, codes are ≥ 2 apart,
    // and ε = 1e-3 cannot move a row across a Voronoi boundary.
    func testVectorQuantizerCommitmentLoss() {
        var rng = RNG(seed: 57)
        let vq = VectorQuantizer(codebookSize: 4, dim: 3, rng: &rng)
        let centres: [Float] = [2, 0, 0, 0, 2, 0, 0, 0, 2, -2, -2, -2]
        vq.codebook = Tensor(shape: [4, 3], data: centres)
        let noise = randn([8, 3], seed: 58, std: 0.1)
        var values = [Float](repeating: 0, count: 24)
        for r in 0..<8 { for i in 0..<3 { values[r * 3 + i] = centres[(r % 4) * 3 + i] + noise.data[r * 3 + i] } }
        let x = Tensor(shape: [8, 3], data: values)
        // Scaled by N·D = 24 so the gradient 2(x − q) is O(0.1–1) and the absolute tolerance bites.
        check("VQ commitment loss", [x], eps: 1e-3) {
            var r = RNG(seed: 1)
            return scale(vq(x, training: false, rng: &r).commitLoss, 24)
        }
    }
}
