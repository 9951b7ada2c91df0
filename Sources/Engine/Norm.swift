// Norm.swift — layer normalisation (Ba et al. 2016) as one fused forward/backward pair, and the
// embedding lookup. LayerNorm is fused (as in llm.c's layernorm_forward/backward) rather than
// composed from mean/sub/div primitives: the composite would allocate five (N, C) temporaries
// and walk them in as many passes.
//
// Letters: N rows (all leading dimensions flattened), C channels, V vocabulary.
import Foundation

// MARK: layerNorm

/// y = (x − mean) / sqrt(var + eps) · gamma + beta over the last dimension of x (..., C).
/// `gamma`/`beta` are (C); nil means 1 and 0. The variance is the biased one, as in PyTorch.
public func layerNorm(_ x: Tensor, gamma: Tensor?, beta: Tensor?, eps: Float = 1e-5) -> Tensor {
    precondition(x.rank >= 1, "layerNorm: x must have a channel dimension, got shape \(x.shape)")
    let c = x.shape[x.rank - 1], n = x.count / max(c, 1)
    if let gamma { precondition(gamma.shape == [c], "layerNorm: gamma shape \(gamma.shape), expected [\(c)]") }
    if let beta { precondition(beta.shape == [c], "layerNorm: beta shape \(beta.shape), expected [\(c)]") }

    var out = uninitializedFloats(x.count) { _ in }  // (N, C): every row written below
    var mean = [Float](repeating: 0, count: n)       // (N), saved for the backward
    var rstd = [Float](repeating: 0, count: n)       // (N), 1 / sqrt(var + eps), saved for the backward
    let ones = [Float](repeating: 1, count: gamma == nil ? c : 0)
    let zeros = [Float](repeating: 0, count: beta == nil ? c : 0)
    x.data.withUnsafeBufferPointer { xp in (gamma?.data ?? ones).withUnsafeBufferPointer { gp in
    (beta?.data ?? zeros).withUnsafeBufferPointer { bp in out.withUnsafeMutableBufferPointer { op in
    mean.withUnsafeMutableBufferPointer { mp in rstd.withUnsafeMutableBufferPointer { rp in
        parallelFor(n, minChunk: max(1, 16_384 / max(c, 1))) { range in
            for row in range {
                let xr = xp.baseAddress! + row * c, yr = op.baseAddress! + row * c
                // Two passes (mean, then centred squares) avoid the cancellation of E[x²] − E[x]².
                var s: Float = 0
                for j in 0..<c { s += xr[j] }
                let m = s / Float(c)
                var v: Float = 0
                for j in 0..<c { let d = xr[j] - m; v += d * d }
                let r = 1 / (v / Float(c) + eps).squareRoot()
                for j in 0..<c { yr[j] = (xr[j] - m) * r * gp[j] + bp[j] }
                mp[row] = m; rp[row] = r
            }
        }
    } } } } } }

    var parents = [x]
    if let gamma { parents.append(gamma) }
    if let beta { parents.append(beta) }
    return Tensor.result(shape: x.shape, data: out, parents: parents) { o in
        let g = o.grad!  // (N, C)
        if x.requiresGrad {
            // With x̂ = (x − mean)·rstd and dx̂ = dy·gamma:
            // dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), per row.
            x.accumulateGrad { gx in
                x.data.withUnsafeBufferPointer { xp in (gamma?.data ?? ones).withUnsafeBufferPointer { gp in
                g.withUnsafeBufferPointer { dp in
                    let gxp = gx
                    parallelFor(n, minChunk: max(1, 16_384 / max(c, 1))) { range in
                        for row in range {
                            let xr = xp.baseAddress! + row * c, dr = dp.baseAddress! + row * c, gr = gxp + row * c
                            let m = mean[row], r = rstd[row]
                            var sumD: Float = 0, sumDX: Float = 0
                            for j in 0..<c {
                                let dxhat = dr[j] * gp[j]
                                sumD += dxhat
                                sumDX += dxhat * (xr[j] - m) * r
                            }
                            let meanD = sumD / Float(c), meanDX = sumDX / Float(c)
                            for j in 0..<c {
                                let xhat = (xr[j] - m) * r
                                gr[j] += r * (dr[j] * gp[j] - meanD - xhat * meanDX)
                            }
                        }
                    }
                } } }
            }
        }
        // dgamma = Σ_rows dy · x̂, dbeta = Σ_rows dy. A row-parallel split would race on these (C)
        // sums; one sequential pass is O(N·C) and small next to the matmuls around a norm.
        if let gamma, gamma.requiresGrad {
            gamma.accumulateGrad { gg in x.data.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { dp in
                for row in 0..<n {
                    let m = mean[row], r = rstd[row], xr = xp.baseAddress! + row * c, dr = dp.baseAddress! + row * c
                    for j in 0..<c { gg[j] += dr[j] * (xr[j] - m) * r }
                }
            } } }
        }
        if let beta, beta.requiresGrad {
            beta.accumulateGrad { gb in
                for row in 0..<n {
                    let base = row * c
                    for j in 0..<c { gb[j] += g[base + j] }
                }
            }
        }
    }
}

// MARK: embedding

/// Gathers rows of table (V, C) for each id: the result has shape `shape + [C]`, where `shape`
/// holds the layout of `ids` (e.g. [B, T]). The backward scatter-adds, so repeated ids accumulate.
public func embedding(_ table: Tensor, ids: [Int], shape: [Int]) -> Tensor {
    precondition(table.rank == 2, "embedding: table must be (V, C), got \(table.shape)")
    precondition(shapeCount(shape) == ids.count,
                 "embedding: \(ids.count) ids do not fill shape \(shape) (\(shapeCount(shape)) positions)")
    let v = table.shape[0], c = table.shape[1]
    for (i, id) in ids.enumerated() where id < 0 || id >= v {
        preconditionFailure("embedding: id \(id) at position \(i) is outside the table's \(v) rows (0..<\(v)); "
                            + "check the tokenizer or vocabulary size")
    }
    var out = [Float](repeating: 0, count: ids.count * c)  // (N, C)
    table.data.withUnsafeBufferPointer { tp in out.withUnsafeMutableBufferPointer { op in
        for (i, id) in ids.enumerated() {
            (op.baseAddress! + i * c).update(from: tp.baseAddress! + id * c, count: c)
        }
    } }
    return Tensor.result(shape: shape + [c], data: out, parents: [table]) { o in
        let g = o.grad!
        // Sequential: two positions with the same id add into the same row.
        table.accumulateGrad { gt in
            g.withUnsafeBufferPointer { gp in
                for (i, id) in ids.enumerated() { vAdd(gt + id * c, gp.baseAddress! + i * c, c) }
            }
        }
    }
}
