// Optim.swift — the parameter store, AdamW (Loshchilov & Hutter 2019), global-norm gradient
// clipping, and warm-up + cosine learning-rate schedules.
//
// Parameters are registered once, in order, under checkpoint names ("encoder.layers.0.attn.wq").
// AdamW keeps its first and second moments in two flat buffers laid out in that same order, so
// one loop updates everything (llm.c's layout) and the moments save as two tensors.
import Foundation

public final class ParameterStore {
    public private(set) var names: [String] = []
    public private(set) var tensors: [Tensor] = []
    private var index: [String: Int] = [:]

    public init() {}

    /// Registers a trainable tensor under a unique checkpoint name and returns it.
    @discardableResult
    public func register(_ name: String, _ t: Tensor) -> Tensor {
        precondition(index[name] == nil, "parameter '\(name)' registered twice")
        t.requiresGrad = true
        t.name = name
        index[name] = names.count
        names.append(name)
        tensors.append(t)
        return t
    }

    public subscript(name: String) -> Tensor? { index[name].map { tensors[$0] } }

    /// Total number of scalars.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    public func zeroGrad() { for t in tensors { t.grad = nil } }

    /// `Tensor.freezeForInference` on every parameter: a model loaded to run, never to train.
    public func freezeForInference() { for t in tensors { t.freezeForInference() } }

    /// Offsets of each parameter in the flat layout.
    public var offsets: [Int] {
        var o = [Int](); var acc = 0
        for t in tensors { o.append(acc); acc += t.count }
        return o
    }
}

/// Scales all gradients so their joint L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ params: ParameterStore, maxNorm: Float) -> Float {
    var sq: Double = 0
    for t in params.tensors { if let g = t.grad { for v in g { sq += Double(v) * Double(v) } } }
    let norm = Float(sq.squareRoot())
    if norm > maxNorm && norm.isFinite {
        let s = maxNorm / (norm + 1e-6)
        for t in params.tensors where t.grad != nil {
            t.accumulateGrad { g in for i in 0..<t.count { g[i] *= s } }
        }
    }
    return norm
}

public struct AdamWConfig: Codable, Equatable {
    public var learningRate: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-8
    public var weightDecay: Float = 0.01

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.eps = eps; self.weightDecay = weightDecay
    }

    enum CodingKeys: String, CodingKey {
        case learningRate = "learning_rate", beta1, beta2, eps, weightDecay = "weight_decay"
    }
}

public final class AdamW {
    public var config: AdamWConfig
    public let params: ParameterStore
    /// Moments in the flat layout of `params`.
    public var m: [Float]
    public var v: [Float]
    public var step: Int = 0
    /// Whether a parameter gets weight decay. By default matrices (rank ≥ 2) do; biases and norm gains (rank < 2) do not.
    public var decays: (String, Tensor) -> Bool = { _, t in t.rank >= 2 }

    public init(_ params: ParameterStore, config: AdamWConfig = AdamWConfig()) {
        self.params = params
        self.config = config
        m = [Float](repeating: 0, count: params.parameterCount)
        v = m
    }

    /// One update with learning rate `lr` (the schedule's value for this step; config's when nil).
    public func update(lr: Float? = nil) {
        step += 1
        let c = config, lr = lr ?? c.learningRate
        let bc1 = 1 - Foundation.pow(c.beta1, Float(step)), bc2 = 1 - Foundation.pow(c.beta2, Float(step))
        var offset = 0
        for (name, t) in zip(params.names, params.tensors) {
            defer { offset += t.count }
            guard let g = t.grad else { continue }
            let wd = decays(name, t) ? c.weightDecay : 0
            let n = t.count  // read before t.data is borrowed mutably below
            m.withUnsafeMutableBufferPointer { mp in v.withUnsafeMutableBufferPointer { vp in
                t.data.withUnsafeMutableBufferPointer { w in
                    for i in 0..<n {
                        let mi = c.beta1 * mp[offset + i] + (1 - c.beta1) * g[i]
                        let vi = c.beta2 * vp[offset + i] + (1 - c.beta2) * g[i] * g[i]
                        mp[offset + i] = mi; vp[offset + i] = vi
                        let update = (mi / bc1) / ((vi / bc2).squareRoot() + c.eps)
                        w[i] -= lr * (update + wd * w[i])
                    }
                }
            } }
        }
    }
}

/// Linear warm-up to the peak, then cosine decay to `minRatio`·peak at `totalSteps`.
public struct LRSchedule: Codable, Equatable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minRatio: Float

    public init(peak: Float, warmupSteps: Int, totalSteps: Int, minRatio: Float = 0.1) {
        self.peak = peak; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.minRatio = minRatio
    }

    /// The learning rate for `step` (0-based).
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let span = max(totalSteps - warmupSteps, 1)
        let progress = min(Float(step - warmupSteps) / Float(span), 1)
        let cosine = 0.5 * (1 + Foundation.cos(Float.pi * progress))
        return peak * (minRatio + (1 - minRatio) * cosine)
    }

    enum CodingKeys: String, CodingKey {
        case peak, warmupSteps = "warmup_steps", totalSteps = "total_steps", minRatio = "min_ratio"
    }
}
