// Inference products in bfloat16 (BF16Products, CKernels' bf16gemm.c), on a CPU with AVX512-BF16:
// each element against a double-precision sum over the operands rounded to bfloat16 (within the
// float rounding of a sum of k terms, γ_k = k·2⁻²⁴ of Σ|a||b|: the kernel multiplies the rounded
// values exactly and adds in float), and against the exact product of the unrounded operands
// (within 2⁻⁸ Σ|a||b|: each operand moves by at most 2⁻⁹ of itself when rounded to 8 significant
// bits, so each product by at most 2⁻⁹ + 2⁻⁹ + 2⁻¹⁸). Shapes cover the kernel's edges: rows that
// leave a partial 12-row tile, an odd k (a zero pads the last pair), columns that leave a partial
// 32-column panel, and both layouts of B. On a CPU with AMX tiles every check runs on both kernels
// (the tiles sum each pair of products in another order, so their bits differ from AVX512-BF16's,
// within the same bounds). On a CPU without the instructions, and with gradients on or the path
// turned off, the same calls must be sgemm's bit for bit.
import XCTest
import CKernels
@testable import Engine

final class BF16Tests: XCTestCase {
    override func tearDown() { BF16Products.setEnabled(true); BF16Products.setTileUnitEnabled(true) }

    /// Runs `body` once per bfloat16 kernel this CPU has: on AMX tiles where it has them (Intel
    /// Sapphire Rapids and later), and on AVX512-BF16 alone; `body` gets the kernel's name.
    private func eachKernel(_ body: (String) throws -> Void) rethrows {
        let tiles = BF16Products.tileUnit
        defer { BF16Products.setTileUnitEnabled(true) }
        for on in tiles ? [true, false] : [false] {
            BF16Products.setTileUnitEnabled(on)
            try body(on ? "AMX tiles" : "AVX512-BF16")
        }
    }

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
        try eachKernel { kernel in
        for (m, k, n, trans) in [(5, 17, 40, false), (37, 96, 33, true), (130, 192, 576, true), (64, 385, 70, false), (12, 16, 32, true),
                                 (33, 560, 1026, true)] {
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
            XCTAssertLessThanOrEqual(worstRounded, 1, "\(kernel), m \(m) k \(k) n \(n): beyond float summation of the rounded products")
            XCTAssertLessThanOrEqual(worstExact, 1, "\(kernel), m \(m) k \(k) n \(n): beyond bfloat16 rounding of the operands")
            // And it is not the float path under another name.
            XCTAssertNotEqual(y.data, floatProduct(x, w, transposeB: trans), "\(kernel), m \(m) k \(k) n \(n)")
        }
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
        try eachKernel { kernel in
            let all = GradMode.withoutGrad { matmul(x, w, transposeB: true) }.data
            let head = GradMode.withoutGrad { matmul(Tensor(shape: [7, k], data: Array(x.data[0..<(7 * k)])), w, transposeB: true) }.data
            let tail = GradMode.withoutGrad { matmul(Tensor(shape: [13, k], data: Array(x.data[(187 * k)...])), w, transposeB: true) }.data
            XCTAssertEqual(head, Array(all[0..<(7 * n)]), kernel)
            XCTAssertEqual(tail, Array(all[(187 * n)...]), kernel)
        }
    }

    // The same for columns (a frozen convolution's time steps, which chunked synthesis cuts): the
    // first 37 and the first 70 of 300 columns of B, packed on their own (partial panels of 32,
    // and for the tiles partial 16-column tiles), give those columns of the whole product bit for bit;
    // k = 560 (the vocoder's input convolution) leaves a partial pair block of the padded panels.
    func testAColumnDoesNotDependOnTheColumnsBesideIt() throws {
        try XCTSkipUnless(BF16Products.available, "this CPU has no AVX512-BF16")
        let m = 40, k = 560, n = 300
        let a = randomTensor([m, k], seed: 41).data, b = randomTensor([k, n], seed: 42).data
        func product(columns: Int) -> [Float] {
            let part = (0..<k).flatMap { r in b[(r * n)..<(r * n + columns)] }
            var c = [Float](repeating: 0, count: m * columns)
            let packed = part.withUnsafeBufferPointer { BF16Products.pack($0.baseAddress!, k: k, n: columns, transposed: false) }
            a.withUnsafeBufferPointer { ap in part.withUnsafeBufferPointer { bp in packed.withUnsafeBufferPointer { pp in
                c.withUnsafeMutableBufferPointer { cp in
                    GradMode.withoutGrad {
                        BF16Products.product(ap.baseAddress!, bp.baseAddress!, packed: pp.baseAddress!, cp.baseAddress!,
                                             m: m, n: columns, k: k, transB: false, accumulate: false)
                    }
                }
            }}}
            return c
        }
        try eachKernel { kernel in
            let all = product(columns: n)
            for columns in [37, 70] {
                let part = product(columns: columns)
                for r in 0..<m { XCTAssertEqual(Array(part[(r * columns)..<((r + 1) * columns)]), Array(all[(r * n)..<(r * n + columns)]), "\(kernel), \(columns) columns, row \(r)") }
            }
        }
    }

    // A frozen weight keeps the packed copy of the layout it was first read in; read in the other
    // layout it is packed afresh, so both products equal those of a weight read only that way.
    func testAFrozenWeightReadInBothLayoutsGivesBothProducts() throws {
        try XCTSkipUnless(BF16Products.available, "this CPU has no AVX512-BF16")
        let w0 = randomTensor([48, 64], seed: 31), x = randomTensor([40, 64], seed: 32), z = randomTensor([40, 48], seed: 33)
        func frozen() -> Tensor { let w = Tensor(shape: w0.shape, data: w0.data); w.freezeForInference(); return w }
        let w = frozen()
        let first = GradMode.withoutGrad { matmul(x, w, transposeB: true) }.data
        let second = GradMode.withoutGrad { matmul(z, w) }.data
        XCTAssertEqual(second, GradMode.withoutGrad { matmul(z, frozen()) }.data)
        XCTAssertEqual(first, GradMode.withoutGrad { matmul(x, w, transposeB: true) }.data)
        XCTAssertEqual(first, GradMode.withoutGrad { matmul(x, frozen(), transposeB: true) }.data)
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

    // Mixed-precision training (`BF16Products.training`, `gen train --bf16`): inside the scope, a
    // product recorded on the tape and both products of its backward (dX = dY·W, read as is, and
    // dW = dYᵀ·X, A read transposed) are bfloat16 products, each element within the bound at the
    // top of the file of the float one's (2⁻⁸ + γ_k)·Σ|terms|, doubled for the float product's own
    // rounding; with gradients off inside the scope (held-out evaluations) and outside it, the
    // products are sgemm's bit for bit.
    func testTrainingScopeRoundsTheStepsProductsOnly() throws {
        try XCTSkipUnless(BF16Products.available, "this CPU has no AVX512-BF16: the scope changes nothing")
        let (m, k, n) = (70, 48, 40)
        let x0 = randomTensor([m, k], seed: 11), w0 = randomTensor([n, k], seed: 12), g = randomTensor([m, n], seed: 13)
        func run(scoped: Bool, grad: Bool) -> (y: [Float], dx: [Float], dw: [Float]) {
            let x = Tensor(shape: x0.shape, data: x0.data, requiresGrad: true), w = Tensor(shape: w0.shape, data: w0.data, requiresGrad: true)
            func body() -> (y: [Float], dx: [Float], dw: [Float]) {
                if !grad { return (GradMode.withoutGrad { matmul(x, w, transposeB: true) }.data, [], []) }
                let y = matmul(x, w, transposeB: true)
                y.backward(seed: g.data)
                return (y.data, x.grad!, w.grad!)
            }
            return scoped ? BF16Products.training(body) : body()
        }
        let float = run(scoped: false, grad: true), mixed = run(scoped: true, grad: true)
        XCTAssertNotEqual(mixed.y, float.y); XCTAssertNotEqual(mixed.dx, float.dx); XCTAssertNotEqual(mixed.dw, float.dw)
        func check(_ got: [Float], _ want: [Float], rows: Int, cols: Int, depth: Int, term: (Int, Int, Int) -> Double, _ what: String) {
            for i in 0..<rows {
                for j in 0..<cols {
                    var scale = 0.0
                    for t in 0..<depth { scale += abs(term(i, j, t)) }
                    let bound = 2 * (0x1p-8 + Double(depth) * 0x1p-24) * scale
                    XCTAssertLessThanOrEqual(abs(Double(got[i * cols + j]) - Double(want[i * cols + j])), bound, "\(what) (\(i), \(j))")
                }
            }
        }
        let x = x0.data, w = w0.data, gd = g.data
        check(mixed.y, float.y, rows: m, cols: n, depth: k, term: { i, j, t in Double(x[i * k + t]) * Double(w[j * k + t]) }, "y")
        check(mixed.dx, float.dx, rows: m, cols: k, depth: n, term: { i, j, t in Double(gd[i * n + t]) * Double(w[t * k + j]) }, "dX")
        check(mixed.dw, float.dw, rows: n, cols: k, depth: m, term: { i, j, t in Double(gd[t * n + i]) * Double(x[t * k + j]) }, "dW")
        XCTAssertEqual(run(scoped: true, grad: false).y, run(scoped: false, grad: false).y, "gradients off in the scope")
    }

    // A least-squares fit trained inside the scope: 20 steps of plain gradient descent on y = X·Wᵀ
    // against targets made by a known W*, from a fixed seed, against the float run of the same steps.
    // Expected: the loss falls by at least 100×, and its log ratio is within 10% of float's. Measured
    // when written: 769 → 0.0065 in float (ln ratio 11.7), → 0.0117 in bfloat16 (11.1): the products'
    // rounding (2⁻⁸) begins to show only near the end of the fit.
    func testALeastSquaresFitTrainsInBFloat16() throws {
        try XCTSkipUnless(BF16Products.available, "this CPU has no AVX512-BF16")
        let (m, k, n) = (128, 32, 24)
        let x = randomTensor([m, k], seed: 21), target = randomTensor([n, k], seed: 22)
        let y = GradMode.withoutGrad { matmul(x, target, transposeB: true) }.data
        func fit(scoped: Bool) -> (first: Double, last: Double) {
            let w = Tensor(shape: [n, k], data: [Float](repeating: 0, count: n * k), requiresGrad: true)
            var first = 0.0, last = 0.0
            for step in 0..<20 {
                let body = { () -> Double in
                    let out = matmul(x, w, transposeB: true)
                    let r = zip(out.data, y).map { $0 - $1 }
                    out.backward(seed: r.map { 2 * $0 / Float(m) })
                    return r.reduce(0) { $0 + Double($1 * $1) } / Double(m)
                }
                let loss = scoped ? BF16Products.training(body) : body()
                if step == 0 { first = loss }
                last = loss
                for i in 0..<w.count { w.data[i] -= 0.3 * w.grad![i] }
                w.grad = nil
            }
            return (first, last)
        }
        let float = fit(scoped: false), mixed = fit(scoped: true)
        XCTAssertLessThan(mixed.last, mixed.first / 100, "bfloat16: \(mixed)")
        XCTAssertEqual(log(mixed.first / mixed.last), log(float.first / float.last), accuracy: 0.1 * log(float.first / float.last),
                       "bfloat16 \(mixed), float \(float)")
    }
}
