// Loss.swift — L1, MSE and cross-entropy, each returning a scalar mean.

/// mean |a − b|, optionally over the elements where `mask` (same shape as a) is 1.
import Foundation

public func l1Loss(_ a: Tensor, _ b: Tensor, mask: [Float]? = nil) -> Tensor {
    pointwiseLoss(a, b, mask: mask, name: "l1Loss",
                  f: { d in Swift.abs(d) }, df: { d in d > 0 ? 1 : (d < 0 ? -1 : 0) })
}

/// mean (a − b)², optionally masked.
public func mseLoss(_ a: Tensor, _ b: Tensor, mask: [Float]? = nil) -> Tensor {
    pointwiseLoss(a, b, mask: mask, name: "mseLoss", f: { d in d * d }, df: { d in 2 * d })
}

private func pointwiseLoss(_ a: Tensor, _ b: Tensor, mask: [Float]?, name: String,
                           f: (Float) -> Float, df: @escaping (Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape, "\(name): shapes differ: \(a.shape) vs \(b.shape)")
    if let mask { precondition(mask.count == a.count, "\(name): mask has \(mask.count) values for \(a.count)") }
    let n = a.count
    let denom = Float(max(mask.map { $0.reduce(0, +) } ?? Float(n), 1))
    var total: Double = 0
    for i in 0..<n {
        let w = mask?[i] ?? 1
        if w != 0 { total += Double(w * f(a.data[i] - b.data[i])) }
    }
    return Tensor.result(shape: [], data: [Float(total) / denom], parents: [a, b]) { o in
        let g = o.grad![0] / denom
        var ga = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let w = mask?[i] ?? 1
            if w != 0 { ga[i] = g * w * df(a.data[i] - b.data[i]) }
        }
        if a.requiresGrad { a.accumulateGrad(ga) }
        if b.requiresGrad { b.accumulateGrad(ga.map { -$0 }) }
    }
}

/// Mean cross-entropy of logits (N, V) against target distributions (N × V, row-major): −Σⱼ tⱼ log pⱼ
/// per row, averaged over the rows whose targets are not all zero (those are skipped, as padding).
/// A one-hot row gives `crossEntropy`'s value; mixup's λ·onehot(a) + (1 − λ)·onehot(b) is its use.
public func softCrossEntropy(_ logits: Tensor, targets: [Float]) -> Tensor {
    let v = logits.shape.last ?? 1, n = logits.count / max(v, 1)
    precondition(targets.count == logits.count, "softCrossEntropy: \(targets.count) targets for logits \(logits.shape)")
    var probs = [Float](repeating: 0, count: logits.count)
    var mass = [Float](repeating: 0, count: n)
    var total: Double = 0
    var used = 0
    logits.withValues { lp in probs.withUnsafeMutableBufferPointer { pp in
        for row in 0..<n {
            let base = row * v
            mass[row] = targets[base..<(base + v)].reduce(0, +)
            guard mass[row] != 0 else { continue }
            let logZ = softmaxRowLogSumExp(lp.baseAddress! + base, pp.baseAddress! + base, v)
            for j in 0..<v where targets[base + j] != 0 { total += Double(targets[base + j]) * (logZ - Double(lp[base + j])) }
            used += 1
        }
    } }
    let denom = Float(max(used, 1))
    return Tensor.result(shape: [], data: [Float(total) / denom], parents: [logits]) { o in
        let g = o.grad![0] / denom
        logits.accumulateGrad { gl in
            for row in 0..<n where mass[row] != 0 {
                let base = row * v
                for j in 0..<v { gl[base + j] += g * (mass[row] * probs[base + j] - targets[base + j]) }
            }
        }
    }
}

/// Mean cross-entropy of logits (N, V) against integer targets (N). Targets equal to
/// `ignoreIndex` are skipped (padding). Fused log-softmax + NLL for stability and speed.
public func crossEntropy(_ logits: Tensor, targets: [Int], ignoreIndex: Int = -100) -> Tensor {
    let v = logits.shape.last ?? 1, n = logits.count / max(v, 1)
    precondition(targets.count == n, "crossEntropy: \(targets.count) targets for \(n) rows of logits \(logits.shape)")
    for t in targets where t != ignoreIndex { precondition(t >= 0 && t < v, "crossEntropy: target \(t) outside 0..<\(v)") }
    var probs = [Float](repeating: 0, count: logits.count)  // softmax, kept for the backward
    // −log p_t = logsumexp − x_t per row, from the softmax's own pass (max subtracted, summed in
    // Double, so a tiny p keeps its precision); rows in parallel, summed in row order after.
    var rowLoss = [Double](repeating: 0, count: n)
    logits.withValues { lp in probs.withUnsafeMutableBufferPointer { pp in rowLoss.withUnsafeMutableBufferPointer { lossp in
        parallelFor(n, minChunk: max(1, 16_384 / max(v, 1))) { r in
            for row in r {
                let lse = softmaxRowLogSumExp(lp.baseAddress! + row * v, pp.baseAddress! + row * v, v)
                let t = targets[row]
                if t != ignoreIndex { lossp[row] = lse - Double(lp[row * v + t]) }
            }
        }
    } } }
    let used = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let total = rowLoss.reduce(0, +)
    let denom = Float(max(used, 1))
    return Tensor.result(shape: [], data: [Float(total) / denom], parents: [logits]) { o in
        let g = o.grad![0] / denom
        logits.accumulateGrad { gl in
            probs.withUnsafeBufferPointer { pp in
                parallelFor(n, minChunk: max(1, 16_384 / max(v, 1))) { r in
                    for row in r where targets[row] != ignoreIndex {
                        let base = row * v
                        for j in 0..<v { gl[base + j] += g * pp[base + j] }
                        gl[base + targets[row]] -= g
                    }
                }
            }
        }
    }
}

