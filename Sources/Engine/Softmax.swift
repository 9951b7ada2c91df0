// Softmax.swift — softmax and log-softmax over the last axis, computed stably (max subtracted).

/// softmax over the last dimension.
import CKernels
import Foundation

public func softmax(_ x: Tensor) -> Tensor {
    let v = x.shape.last ?? 1, rows = x.count / max(v, 1)
    let out = uninitializedFloats(x.count) { op in x.withValues { xp in
        parallelFor(rows, minChunk: max(1, 8192 / max(v, 1))) { r in
            for row in r { softmaxRow(xp.baseAddress! + row * v, op.baseAddress! + row * v, v) }
        }
    } }
    return Tensor.result(shape: x.shape, data: out, parents: [x]) { o in
        // dx = y ⊙ (dy − Σ dy·y)
        let g = o.grad!, y = o.data
        x.accumulateGrad { gx in
            for row in 0..<rows {
                let base = row * v
                var dot: Float = 0
                for j in 0..<v { dot += g[base + j] * y[base + j] }
                for j in 0..<v { gx[base + j] += y[base + j] * (g[base + j] - dot) }
            }
        }
    }
}

/// log-softmax over the last dimension.
public func logSoftmax(_ x: Tensor) -> Tensor {
    let v = x.shape.last ?? 1, rows = x.count / max(v, 1)
    var out = [Float](repeating: 0, count: x.count)
    x.withValues { xp in
        for row in 0..<rows {
            let base = row * v
            let lse = Float(logSumExpRow(xp.baseAddress! + base, v))
            for j in 0..<v { out[base + j] = xp[base + j] - lse }
        }
    }
    return Tensor.result(shape: x.shape, data: out, parents: [x]) { o in
        // dx = dy − softmax · Σ dy
        let g = o.grad!, y = o.data
        x.accumulateGrad { gx in
            for row in 0..<rows {
                let base = row * v
                var s: Float = 0
                for j in 0..<v { s += g[base + j] }
                for j in 0..<v { gx[base + j] += g[base + j] - expf(y[base + j]) * s }
            }
        }
    }
}

/// log Σ_j exp(x_j) of one row of n logits, shifted by the row's maximum and summed in Double.
@inline(__always) func logSumExpRow(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
    var m = -Float.infinity
    for j in 0..<n { m = max(m, x[j]) }
    var s: Double = 0
    for j in 0..<n { s += Double(expf(x[j] - m)) }
    return Double(m) + log(s)
}

/// Stable softmax of one row of `n` values, returning the row's log Σ exp (−∞ for a fully masked
/// row, whose softmax is all zeros): cross-entropy's loss from the same pass as its softmax. In C
/// (`gk_softmax_row`: eight exps at a time where the CPU has AVX2; libm's expf one by one was 7% of
/// `gen speech`'s time, in FastSpeech's attention).
@inline(__always)
func softmaxRowLogSumExp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) -> Double {
    gk_softmax_row(x, y, n)
}

/// Stable softmax of one row of `n` values (shared with attention; `y` may be `x`: each entry is
/// read before it is written).
@inline(__always)
public func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    _ = softmaxRowLogSumExp(x, y, n)
}
