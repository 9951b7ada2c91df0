// Forward-value tests for the fast ops, each against something computed independently of them:
// a naive direct loop written from the op's definition, a closed-form identity (a transposed conv
// is the adjoint of a conv; causal attention's first query sees only the first key), or the same
// op run another way (one-token-at-a-time decoding through the KV cache).
import XCTest
@testable import Engine

private func randn(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor(randn: shape, std: std, rng: &rng)
}

private func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "compared arrays differ in length: \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, Swift.abs($1.0 - $1.1)) }
}

/// PyTorch Conv1d by definition: out[b, o, t] = bias[o] + Σ_c Σ_k w[o, c, k] · x[b, c, t·s − p + k·d].
private func naiveConv1d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: Int, padding: Int, dilation: Int) -> [Float] {
    let (batch, cin, length) = (x.shape[0], x.shape[1], x.shape[2])
    let (cout, kernel) = (w.shape[0], w.shape[2])
    let tout = (length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    var out = [Float](repeating: 0, count: batch * cout * tout)
    for b in 0..<batch { for o in 0..<cout { for t in 0..<tout {
        var s = Double(bias?.data[o] ?? 0)
        for c in 0..<cin { for k in 0..<kernel {
            let pos = t * stride - padding + k * dilation
            if pos >= 0 && pos < length { s += Double(w.data[(o * cin + c) * kernel + k]) * Double(x.data[(b * cin + c) * length + pos]) }
        } }
        out[(b * cout + o) * tout + t] = Float(s)
    } } }
    return out
}

/// PyTorch ConvTranspose1d by definition: every input x[b, c, t] scatters w[c, o, k] · x into
/// out[b, o, t·s − p + k·d].
private func naiveConvTranspose1d(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, stride: Int, padding: Int,
                                  outputPadding: Int, dilation: Int) -> [Float] {
    let (batch, cin, length) = (x.shape[0], x.shape[1], x.shape[2])
    let (cout, kernel) = (w.shape[1], w.shape[2])
    let tout = (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
    var out = [Double](repeating: 0, count: batch * cout * tout)
    for b in 0..<batch { for o in 0..<cout { for t in 0..<tout { out[(b * cout + o) * tout + t] = Double(bias?.data[o] ?? 0) } } }
    for b in 0..<batch { for c in 0..<cin { for t in 0..<length { for o in 0..<cout { for k in 0..<kernel {
        let pos = t * stride - padding + k * dilation
        if pos >= 0 && pos < tout {
            out[(b * cout + o) * tout + pos] += Double(w.data[(c * cout + o) * kernel + k]) * Double(x.data[(b * cin + c) * length + t])
        }
    } } } } }
    return out.map { Float($0) }
}

/// Attention by definition, one query at a time: softmax over the visible keys of q·k/√D, then Σ p·v.
private func naiveAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool, queryOffset: Int, keyMask: [Bool]?) -> [Float] {
    let (batch, heads, tq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let tk = k.shape[2]
    var out = [Float](repeating: 0, count: q.count)
    for b in 0..<batch { for h in 0..<heads { for i in 0..<tq {
        let qBase = ((b * heads + h) * tq + i) * d
        var scores = [Double](repeating: -.infinity, count: tk)
        for j in 0..<tk where (!causal || j <= queryOffset + i) && (keyMask?[b * tk + j] ?? true) {
            let kBase = ((b * heads + h) * tk + j) * d
            var s = 0.0
            for e in 0..<d { s += Double(q.data[qBase + e]) * Double(k.data[kBase + e]) }
            scores[j] = s / Double(d).squareRoot()
        }
        let m = scores.max()!
        if m == -.infinity { continue }
        let weights = scores.map { Foundation.exp($0 - m) }, total = weights.reduce(0, +)
        for e in 0..<d {
            var s = 0.0
            for j in 0..<tk { s += weights[j] / total * Double(v.data[((b * heads + h) * tk + j) * d + e]) }
            out[qBase + e] = Float(s)
        }
    } } }
    return out
}

final class OpForwardTests: XCTestCase {
    // permute by definition: out[idx permuted] = x[idx]. Shapes with length-1 axes (the no-copy
    // path when only those move; the copying one when others move too) against a naive loop.
    func testPermuteMatchesItsDefinition() {
        for (shape, perm) in [([2, 1, 3, 4], [0, 2, 1, 3]), ([1, 3, 1, 2], [2, 0, 1, 3]), ([2, 1, 3, 4], [2, 1, 0, 3]), ([3, 1, 2], [1, 2, 0])] {
            let x = randn(shape, seed: 31)
            let y = permute(x, perm)
            let outShape = perm.map { shape[$0] }
            XCTAssertEqual(y.shape, outShape)
            var strides = [Int](repeating: 1, count: shape.count)
            for a in stride(from: shape.count - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * shape[a + 1] }
            var expected = [Float](repeating: 0, count: x.count)
            for o in 0..<x.count {
                var rest = o, src = 0
                for a in stride(from: outShape.count - 1, through: 0, by: -1) {
                    src += (rest % outShape[a]) * strides[perm[a]]; rest /= outShape[a]
                }
                expected[o] = x.data[src]
            }
            XCTAssertEqual(y.data, expected, "shape \(shape), perm \(perm)")
        }
    }

    // Broadcasting binary ops by NumPy's definition, out[i] = f(a[i through a's strides],
    // b[i through b's]), computed here index by index: every path of `binary` (same shape, a
    // scalar either side, a block repeated along leading axes on either side, and the general
    // odometer) must give exactly these floats (one Float operation per element either way).
    func testBroadcastingMatchesItsDefinition() {
        let cases: [([Int], [Int])] = [([2, 3, 4], [2, 3, 4]), ([2, 3, 4], []), ([], [2, 3, 4]), ([2, 3, 4], [4]),
                                       ([2, 3, 4], [1, 3, 4]), ([4], [2, 3, 4]), ([1, 1, 4], [5, 4]), ([2, 3, 4], [3, 1]),
                                       ([2, 1, 4], [3, 1]), ([3, 1], [2, 3, 4])]
        let ops: [(String, (Tensor, Tensor) -> Tensor, (Float, Float) -> Float)] = [("add", add, +), ("sub", sub, -), ("mul", mul, *), ("div", div, /)]
        for (sa, sb) in cases {
            let a = randn(sa, seed: 41), b = randn(sb, seed: 42)
            let outShape = broadcastShape(sa, sb)!
            let stA = broadcastStrides(sa, to: outShape), stB = broadcastStrides(sb, to: outShape)
            for (name, op, f) in ops {
                let y = op(a, b)
                XCTAssertEqual(y.shape, outShape, "\(name) \(sa) \(sb)")
                var expected = [Float](repeating: 0, count: shapeCount(outShape))
                for o in 0..<expected.count {
                    var rest = o, ia = 0, ib = 0
                    for d in stride(from: outShape.count - 1, through: 0, by: -1) {
                        let k = rest % outShape[d]; rest /= outShape[d]
                        ia += k * stA[d]; ib += k * stB[d]
                    }
                    expected[o] = f(a.data[ia], b.data[ib])
                }
                XCTAssertEqual(y.data, expected, "\(name) \(sa) \(sb)")
            }
        }
    }

    // MARK: convolutions

    // Expected: the direct sum from PyTorch's Conv1d definition, in Double. Float32 sums of
    // ≤ 12 products of O(1) values agree with it to ~1e-6; 1e-4 leaves room.
    func testConv1dMatchesDirectLoop() {
        let cases: [(k: Int, s: Int, p: Int, d: Int)] = [(3, 1, 1, 1), (3, 2, 2, 1), (3, 1, 0, 2), (4, 3, 1, 2), (1, 1, 0, 1), (1, 2, 1, 1)]
        let x = randn([2, 3, 11], seed: 1)
        for (n, c) in cases.enumerated() {
            let w = randn([4, 3, c.k], seed: 10 + UInt64(n)), bias = randn([4], seed: 20 + UInt64(n))
            let y = conv1d(x, weight: w, bias: bias, stride: c.s, padding: c.p, dilation: c.d)
            let expected = naiveConv1d(x, w, bias, stride: c.s, padding: c.p, dilation: c.d)
            XCTAssertEqual(y.shape, [2, 4, conv1dOutputLength(11, kernel: c.k, stride: c.s, padding: c.p, dilation: c.d)])
            XCTAssertEqual(y.count, expected.count, "case \(c)")
            XCTAssertLessThan(maxAbsDiff(y.data, expected), 1e-4, "conv1d case \(c)")
        }
    }

    // Expected: the direct scatter from PyTorch's ConvTranspose1d definition, in Double.
    // Output lengths follow (T − 1)s − 2p + d(K − 1) + outputPadding + 1; e.g. T 5, K 4, s 2, p 1 → 10.
    func testConvTranspose1dMatchesDirectScatter() {
        let cases: [(k: Int, s: Int, p: Int, op: Int, d: Int)] = [(4, 2, 1, 0, 1), (4, 2, 1, 1, 1), (8, 4, 2, 0, 1), (3, 1, 0, 0, 2), (3, 3, 1, 2, 1)]
        let x = randn([2, 3, 5], seed: 2)
        for (n, c) in cases.enumerated() {
            let w = randn([3, 2, c.k], seed: 30 + UInt64(n)), bias = randn([2], seed: 40 + UInt64(n))
            let y = convTranspose1d(x, weight: w, bias: bias, stride: c.s, padding: c.p, outputPadding: c.op, dilation: c.d)
            let expected = naiveConvTranspose1d(x, w, bias, stride: c.s, padding: c.p, outputPadding: c.op, dilation: c.d)
            XCTAssertEqual(y.count, expected.count, "case \(c)")
            XCTAssertLessThan(maxAbsDiff(y.data, expected), 1e-4, "convTranspose1d case \(c)")
        }
        XCTAssertEqual(convTranspose1d(x, weight: randn([3, 2, 4], seed: 3), bias: nil, stride: 2, padding: 1).shape, [2, 2, 10])
    }

    // Closed form: a transposed conv is the adjoint of the conv with the same weights, so
    // ⟨conv1d(x, W), y⟩ = ⟨x, convTranspose1d(y, W)⟩ exactly; both sides are summed in Double and
    // differ only by Float32 rounding (relative 1e-5 allowed).
    func testConvTranspose1dIsAdjointOfConv1d() {
        let cases: [(t: Int, k: Int, s: Int, p: Int, d: Int)] = [(12, 3, 1, 1, 1), (12, 4, 2, 1, 1), (13, 4, 2, 1, 1), (17, 8, 4, 2, 1), (15, 3, 2, 2, 2)]
        for (n, c) in cases.enumerated() {
            let x = randn([2, 3, c.t], seed: 50 + UInt64(n))
            let w = randn([4, 3, c.k], seed: 60 + UInt64(n))  // conv: (Cout 4, Cin 3, K); convT reads it as (Cin 4, Cout 3, K)
            let y = conv1d(x, weight: w, bias: nil, stride: c.s, padding: c.p, dilation: c.d)
            let tout = y.shape[2]
            // outputPadding recovers the input length a strided conv rounded away.
            let outputPadding = c.t - convTranspose1dOutputLength(tout, kernel: c.k, stride: c.s, padding: c.p, dilation: c.d)
            let z = randn([2, 4, tout], seed: 70 + UInt64(n))
            let back = convTranspose1d(z, weight: w, bias: nil, stride: c.s, padding: c.p, outputPadding: outputPadding, dilation: c.d)
            XCTAssertEqual(back.shape, x.shape, "case \(c)")
            var lhs = 0.0, rhs = 0.0
            for i in 0..<y.count { lhs += Double(y.data[i]) * Double(z.data[i]) }
            for i in 0..<x.count { rhs += Double(x.data[i]) * Double(back.data[i]) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-5 * max(1, Swift.abs(lhs)), "adjoint identity, case \(c)")
        }
    }

    // MARK: attention

    // Closed form: under a causal mask the first query sees only key 0, whose softmax weight is 1,
    // so its output is exactly v[0] for every batch item and head.
    func testCausalAttentionFirstQueryEqualsFirstValue() {
        let q = randn([2, 3, 5, 4], seed: 80), k = randn([2, 3, 5, 4], seed: 81), v = randn([2, 3, 5, 4], seed: 82)
        let o = attention(q: q, k: k, v: v, causal: true)
        XCTAssertEqual(o.shape, [2, 3, 5, 4])
        for bh in 0..<6 {
            for e in 0..<4 { XCTAssertEqual(o.data[bh * 20 + e], v.data[bh * 20 + e], accuracy: 1e-6) }
        }
    }

    // Expected: attention written out one query at a time in Double from its definition.
    func testAttentionMatchesNaiveReference() {
        let q = randn([2, 2, 3, 4], seed: 83), k = randn([2, 2, 6, 4], seed: 84), v = randn([2, 2, 6, 4], seed: 85)
        let mask = [true, true, false, true, true, true, true, false, true, true, false, true]
        for (causal, offset, keyMask) in [(false, 0, nil), (false, 0, mask), (true, 3, nil), (true, 3, mask), (true, 0, mask)] as [(Bool, Int, [Bool]?)] {
            let o = attention(q: q, k: k, v: v, causal: causal, queryOffset: offset, keyMask: keyMask)
            let expected = naiveAttention(q, k, v, causal: causal, queryOffset: offset, keyMask: keyMask)
            XCTAssertLessThan(maxAbsDiff(o.data, expected), 1e-5, "causal \(causal) offset \(offset) mask \(keyMask != nil)")
        }
    }

    // Closed form: a query whose keys are all padding attends to nothing; it outputs zeros and its
    // gradients are zero, not NaN.
    func testFullyMaskedQueryGivesZerosAndFiniteGradients() {
        let q = randn([2, 1, 2, 3], seed: 86, std: 1), k = randn([2, 1, 3, 3], seed: 87), v = randn([2, 1, 3, 3], seed: 88)
        for t in [q, k, v] { t.requiresGrad = true }
        let o = attention(q: q, k: k, v: v, causal: false, keyMask: [true, true, false, false, false, false])
        XCTAssertEqual(Array(o.data[6..<12]), [Float](repeating: 0, count: 6))
        sum(o).backward()
        for t in [q, k, v] { XCTAssertTrue(t.grad!.allSatisfy { $0.isFinite }) }
        XCTAssertEqual(Array(q.grad![6..<12]), [Float](repeating: 0, count: 6))
    }

    // Expected: full causal attention over the whole sequence. Decoding appends one position at a
    // time to the cache and attends with queryOffset = positions already cached; causal masking
    // makes each step's output equal the full run's row at that position. A prefill of 2 positions
    // followed by single steps checks the Tq > 1 path too.
    func testKVCacheIncrementalDecodingMatchesFullCausalAttention() {
        let (b, h, t, d) = (2, 2, 6, 4)
        let q = randn([b, h, t, d], seed: 89), k = randn([b, h, t, d], seed: 90), v = randn([b, h, t, d], seed: 91)
        let full = attention(q: q, k: k, v: v, causal: true)
        let cache = KVCache(batch: b, heads: h, maxLength: 8, headDim: d)
        var start = 0
        for step in [2, 1, 1, 1, 1] {
            let qs = slice(q, axis: 2, start..<(start + step))
            let (keys, values) = cache.update(keys: slice(k, axis: 2, start..<(start + step)),
                                              values: slice(v, axis: 2, start..<(start + step)))
            XCTAssertEqual(keys.shape, [b, h, start + step, d])
            XCTAssertEqual(cache.length, start + step)
            let o = attention(q: qs, k: keys, v: values, causal: true, queryOffset: start)
            let expected = slice(full, axis: 2, start..<(start + step))
            // Same arithmetic on different matrix sizes: only BLAS's summation order may differ.
            XCTAssertLessThan(maxAbsDiff(o.data, expected.data), 1e-5, "positions \(start)..<\(start + step)")
            start += step
        }
        cache.reset()
        XCTAssertEqual(cache.length, 0)
        let (keys, _) = cache.update(keys: slice(k, axis: 2, 0..<1), values: slice(v, axis: 2, 0..<1))
        XCTAssertEqual(keys.data, slice(k, axis: 2, 0..<1).data)
    }

    // Expected: the copying path (update, then attention over the gathered prefix) step by step.
    // attend reads the same keys and values in place, with the same products on the same numbers,
    // so the outputs must be bit-identical, not merely close.
    func testKVCacheAttendInPlaceEqualsCopyingPath() {
        let (b, h, t, d) = (2, 3, 7, 4)
        let q = randn([b, h, t, d], seed: 92), k = randn([b, h, t, d], seed: 93), v = randn([b, h, t, d], seed: 94)
        let inPlace = KVCache(batch: b, heads: h, maxLength: 10, headDim: d), copying = KVCache(batch: b, heads: h, maxLength: 10, headDim: d)
        var start = 0
        for step in [3, 1, 1, 2] {
            let r = start..<(start + step)
            let a = inPlace.attend(q: slice(q, axis: 2, r), keys: slice(k, axis: 2, r), values: slice(v, axis: 2, r))
            let (keys, values) = copying.update(keys: slice(k, axis: 2, r), values: slice(v, axis: 2, r))
            let c = attention(q: slice(q, axis: 2, r), k: keys, v: values, causal: true, queryOffset: start)
            XCTAssertEqual(a.data, c.data, "positions \(r)")
            XCTAssertEqual(inPlace.length, start + step)
            start += step
        }
    }

    // Closed form: a product over an empty inner dimension is an empty sum, so all zeros.
    func testMatmulWithEmptyInnerDimensionGivesZeros() {
        let y = matmul(Tensor(zeros: [2, 0]), Tensor(zeros: [0, 3]))
        XCTAssertEqual(y.shape, [2, 3])
        XCTAssertEqual(y.data, [Float](repeating: 0, count: 6))
    }

    // MARK: shape, norm and embedding

    // Expected by hand: counts [2, 0, 3] repeat row 0 twice, drop row 1, repeat row 2 three times.
    func testRepeatByCountsGivesExpectedRows() {
        let x = Tensor(shape: [3, 2], data: [1, 2, 3, 4, 5, 6])
        let y = repeatByCounts(x, counts: [2, 0, 3])
        XCTAssertEqual(y.shape, [5, 2])
        XCTAssertEqual(y.data, [1, 2, 1, 2, 5, 6, 5, 6, 5, 6])
        let batched = repeatByCounts(Tensor(shape: [2, 2, 1], data: [1, 2, 3, 4]), counts: [1, 2, 0, 1])
        XCTAssertEqual(batched.shape, [2, 3, 1])
        XCTAssertEqual(batched.data, [1, 2, 2, 4, 0, 0])  // item 1 padded with zeros
    }

    // Closed form: without gamma/beta every row of the output has mean 0 and variance
    // var/(var + eps) ≈ 1 (eps 1e-5 against variances ≈ 4 shifts it by ~3e-6).
    func testLayerNormRowsHaveZeroMeanAndUnitVariance() {
        let x = randn([5, 16], seed: 92, std: 2)
        let y = layerNorm(x, gamma: nil, beta: nil)
        for r in 0..<5 {
            let row = y.data[(r * 16)..<((r + 1) * 16)].map(Double.init)
            let mean = row.reduce(0, +) / 16
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 16
            XCTAssertEqual(mean, 0, accuracy: 1e-6)
            XCTAssertEqual(variance, 1, accuracy: 1e-4)
        }
    }

    // Expected: the formula one row at a time, as layerNorm computed it before it took rows four
    // at a time (sums in j's order, one addition after another): the same bits, with row counts
    // that leave 0 to 3 rows after the groups of four, in one worker's chunk or several.
    func testLayerNormInGroupsOfRowsIsTheOneRowFormulaBitForBit() {
        for (n, c, seed) in [(11, 128, 93), (40, 192, 94), (3, 5, 95), (601, 64, 96)] {
            let x = randn([n, c], seed: UInt64(seed), std: 2), gamma = randn([c], seed: UInt64(seed) + 10), beta = randn([c], seed: UInt64(seed) + 20)
            let y = layerNorm(x, gamma: gamma, beta: beta)
            var expected = [Float](repeating: 0, count: n * c)
            for row in 0..<n {
                let xr = Array(x.data[(row * c)..<((row + 1) * c)])
                var s: Float = 0
                for v in xr { s += v }
                let m = s / Float(c)
                var q: Float = 0
                for v in xr { let d = v - m; q += d * d }
                let r = 1 / (q / Float(c) + 1e-5).squareRoot()
                for j in 0..<c { expected[row * c + j] = (xr[j] - m) * r * gamma.data[j] + beta.data[j] }
            }
            XCTAssertEqual(y.data, expected, "n \(n) c \(c)")
        }
    }

    // Expected by hand: each output row is the table row its id names.
    func testEmbeddingGathersRows() {
        let table = Tensor(shape: [3, 2], data: [0, 1, 10, 11, 20, 21])
        let y = embedding(table, ids: [2, 0, 2, 1], shape: [2, 2])
        XCTAssertEqual(y.shape, [2, 2, 2])
        XCTAssertEqual(y.data, [20, 21, 0, 1, 20, 21, 10, 11])
    }
}
