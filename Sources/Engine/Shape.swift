// Shape.swift — ops that move values without arithmetic: reshape, permute/transpose, slice,
// concat, and repeat-by-counts (FastSpeech's length regulator). Each backward routes gradients
// back to where the values came from.

/// Same values, new shape. One dimension may be -1 and is inferred.
public func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor {
    var s = shape
    if let i = s.firstIndex(of: -1) {
        let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
        precondition(known > 0 && x.count % known == 0, "reshape: cannot infer -1 in \(shape) for \(x.count) values")
        s[i] = x.count / known
    }
    precondition(shapeCount(s) == x.count, "reshape: \(x.shape) has \(x.count) values, \(shape) needs \(shapeCount(s))")
    return Tensor.result(shape: s, data: x.data, parents: [x]) { o in x.accumulateGrad(o.grad!) }
}

/// Reorders dimensions: output dimension i is input dimension `perm[i]`.
public func permute(_ x: Tensor, _ perm: [Int]) -> Tensor {
    precondition(perm.sorted() == Array(0..<x.rank), "permute: \(perm) is not a permutation of \(x.rank) axes")
    let outShape = perm.map { x.shape[$0] }
    // Moving only axes of length 1 leaves the values in the same order: a reshape, no copy (a
    // sampling step's (B, 1, H, D) → (B, H, 1, D) head split is one).
    let moved = perm.filter { x.shape[$0] != 1 }
    if moved == moved.sorted() { return reshape(x, outShape) }
    var inStrides = [Int](repeating: 1, count: x.rank)
    for i in stride(from: x.rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * x.shape[i + 1] }
    let srcStrides = perm.map { inStrides[$0] }  // input stride for each output dimension
    let zero = [Int](repeating: 0, count: x.rank)
    let out = uninitializedFloats(x.count) { op in x.withValues { xp in
        forEachBroadcast(outShape, srcStrides, zero) { o, i, _ in op[o] = xp[i] }
    } }
    return Tensor.result(shape: outShape, data: out, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in
            forEachBroadcast(outShape, srcStrides, zero) { oi, i, _ in gx[i] += g[oi] }
        }
    }
}

/// Swaps two dimensions.
public func transpose(_ x: Tensor, _ a: Int, _ b: Int) -> Tensor {
    var perm = Array(0..<x.rank)
    perm.swapAt(x.axis(a), x.axis(b))
    return permute(x, perm)
}

/// Elements start..<end along `axis`.
public func slice(_ x: Tensor, axis: Int, _ range: Range<Int>) -> Tensor {
    let ax = x.axis(axis)
    precondition(range.lowerBound >= 0 && range.upperBound <= x.shape[ax],
                 "slice: \(range) out of bounds for axis \(axis) of \(x.shape)")
    let outer = x.shape[..<ax].reduce(1, *), inner = x.shape[(ax + 1)...].reduce(1, *)
    let len = range.count, full = x.shape[ax]
    var outShape = x.shape; outShape[ax] = len
    let out = uninitializedFloats(outer * len * inner) { op in x.withValues { xp in
        for o in 0..<outer {
            let src = (o * full + range.lowerBound) * inner, dst = o * len * inner
            for i in 0..<(len * inner) { op[dst + i] = xp[src + i] }
        }
    } }
    return Tensor.result(shape: outShape, data: out, parents: [x]) { t in
        let g = t.grad!
        x.accumulateGrad { gx in
            for o in 0..<outer {
                let src = (o * full + range.lowerBound) * inner, dst = o * len * inner
                for i in 0..<(len * inner) { gx[src + i] += g[dst + i] }
            }
        }
    }
}

/// Joins tensors along `axis`; all other dimensions must agree.
public func concat(_ xs: [Tensor], axis: Int) -> Tensor {
    precondition(!xs.isEmpty, "concat: no tensors")
    let ax = xs[0].axis(axis)
    for x in xs {
        precondition(x.rank == xs[0].rank && (0..<x.rank).allSatisfy { $0 == ax || x.shape[$0] == xs[0].shape[$0] },
                     "concat: shapes \(xs.map(\.shape)) differ outside axis \(axis)")
    }
    let outer = xs[0].shape[..<ax].reduce(1, *), inner = xs[0].shape[(ax + 1)...].reduce(1, *)
    let lens = xs.map { $0.shape[ax] }, total = lens.reduce(0, +)
    var outShape = xs[0].shape; outShape[ax] = total
    let out = uninitializedFloats(outer * total * inner) { op in
        var offset = 0
        for (x, len) in zip(xs, lens) {
            x.withValues { xp in
                for o in 0..<outer {
                    let src = o * len * inner, dst = (o * total + offset) * inner
                    for i in 0..<(len * inner) { op[dst + i] = xp[src + i] }
                }
            }
            offset += len
        }
    }
    return Tensor.result(shape: outShape, data: out, parents: xs) { t in
        let g = t.grad!
        var offset = 0
        for (x, len) in zip(xs, lens) {
            if x.requiresGrad {
                x.accumulateGrad { gx in
                    for o in 0..<outer {
                        let src = o * len * inner, dst = (o * total + offset) * inner
                        for i in 0..<(len * inner) { gx[src + i] += g[dst + i] }
                    }
                }
            }
            offset += len
        }
    }
}

/// The length regulator's gather: x (T, C) → (sum(counts), C), row t repeated counts[t] times.
/// With a batch, x is (B, T, C), counts has B·T entries, and every item is padded with zero rows
/// to `maxLength` (default: the longest item). Rows beyond `maxLength` are dropped.
public func repeatByCounts(_ x: Tensor, counts: [Int], maxLength: Int? = nil) -> Tensor {
    precondition(x.rank == 2 || x.rank == 3, "repeatByCounts: x must be (T, C) or (B, T, C), got \(x.shape)")
    let batched = x.rank == 3
    let b = batched ? x.shape[0] : 1, t = x.shape[x.rank - 2], c = x.shape[x.rank - 1]
    precondition(counts.count == b * t, "repeatByCounts: \(counts.count) counts for \(b * t) rows")
    precondition(counts.allSatisfy { $0 >= 0 }, "repeatByCounts: counts must be non-negative")
    var sums = [Int](repeating: 0, count: b)
    for i in 0..<b { sums[i] = counts[(i * t)..<((i + 1) * t)].reduce(0, +) }
    let length = maxLength ?? (sums.max() ?? 0)
    // source row for each output row, -1 for padding
    var src = [Int](repeating: -1, count: b * length)
    for i in 0..<b {
        var row = 0
        for j in 0..<t {
            for _ in 0..<counts[i * t + j] where row < length { src[i * length + row] = i * t + j; row += 1 }
        }
    }
    var out = [Float](repeating: 0, count: b * length * c)
    for (r, s) in src.enumerated() where s >= 0 {
        for k in 0..<c { out[r * c + k] = x.data[s * c + k] }
    }
    let outShape = batched ? [b, length, c] : [length, c]
    return Tensor.result(shape: outShape, data: out, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in
            for (r, s) in src.enumerated() where s >= 0 {
                for k in 0..<c { gx[s * c + k] += g[r * c + k] }
            }
        }
    }
}
