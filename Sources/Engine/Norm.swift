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
    x.withValues { xp in (gamma?.data ?? ones).withUnsafeBufferPointer { gp in
    (beta?.data ?? zeros).withUnsafeBufferPointer { bp in out.withUnsafeMutableBufferPointer { op in
    mean.withUnsafeMutableBufferPointer { mp in rstd.withUnsafeMutableBufferPointer { rp in
        parallelFor(n, minChunk: max(1, 16_384 / max(c, 1))) { range in
            let x = xp.baseAddress!, y = op.baseAddress!, gamma = gp.baseAddress!, beta = bp.baseAddress!
            // Two passes (mean, then centred squares) avoid the cancellation of E[x²] − E[x]². Each
            // row's sums run in j's order, one addition after another, so four rows go together:
            // four independent chains keep the adder busy where one waits on each addition's
            // latency (the same operations per row: the same bits as one row at a time).
            var row = range.lowerBound
            while row + 4 <= range.upperBound {
                let x0 = x + row * c, x1 = x0 + c, x2 = x1 + c, x3 = x2 + c
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                for j in 0..<c { s0 += x0[j]; s1 += x1[j]; s2 += x2[j]; s3 += x3[j] }
                let m0 = s0 / Float(c), m1 = s1 / Float(c), m2 = s2 / Float(c), m3 = s3 / Float(c)
                var v0: Float = 0, v1: Float = 0, v2: Float = 0, v3: Float = 0
                for j in 0..<c {
                    let d0 = x0[j] - m0, d1 = x1[j] - m1, d2 = x2[j] - m2, d3 = x3[j] - m3
                    v0 += d0 * d0; v1 += d1 * d1; v2 += d2 * d2; v3 += d3 * d3
                }
                func finish(_ k: Int, _ m: Float, _ v: Float) {
                    let r = 1 / (v / Float(c) + eps).squareRoot()
                    normalizeRow(x + (row + k) * c, y + (row + k) * c, c, m, r, gamma, beta)
                    mp[row + k] = m; rp[row + k] = r
                }
                finish(0, m0, v0); finish(1, m1, v1); finish(2, m2, v2); finish(3, m3, v3)
                row += 4
            }
            while row < range.upperBound {
                let xr = x + row * c
                var s: Float = 0
                for j in 0..<c { s += xr[j] }
                let m = s / Float(c)
                var v: Float = 0
                for j in 0..<c { let d = xr[j] - m; v += d * d }
                let r = 1 / (v / Float(c) + eps).squareRoot()
                normalizeRow(xr, y + row * c, c, m, r, gamma, beta)
                mp[row] = m; rp[row] = r
                row += 1
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
                x.withValues { xp in (gamma?.data ?? ones).withUnsafeBufferPointer { gp in
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
            gamma.accumulateGrad { gg in x.withValues { xp in g.withUnsafeBufferPointer { dp in
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
    table.withValues { tp in out.withUnsafeMutableBufferPointer { op in
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

/// y[j] = (x[j] − mean) · rstd · gamma[j] + beta[j] for one row of `c` values.
@inline(__always)
private func normalizeRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ c: Int, _ mean: Float, _ rstd: Float,
                          _ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>) {
    for j in 0..<c { y[j] = (x[j] - mean) * rstd * gamma[j] + beta[j] }
}
