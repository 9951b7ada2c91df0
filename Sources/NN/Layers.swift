// Layers.swift — the basic layers on top of the engine's ops. Each layer registers its tensors in
// a ParameterStore under an explicit checkpoint name (candle's `vb.pp("layers").pp(i)` scoping),
// and runs with `callAsFunction` (mlx-swift). Weight layouts match PyTorch so shapes read naturally.
import Engine
import Foundation

/// A name prefix inside a parameter store: `scope.child("layers").child(0)("weight")`.
public struct Scope {
    public let store: ParameterStore
    public let prefix: String
    /// False when the weights are about to be loaded from a file: layers then allocate unfilled
    /// tensors (`Tensor(unfilled:)`) instead of drawing random values nobody will read, and the
    /// strict load writes every one of them (loading a model got 5–10% faster, then faster again
    /// when the zeros went: 10 ms of first-touch page faults for the speech model's 11.8 MB).
    public let randomInit: Bool

    public init(_ store: ParameterStore, prefix: String = "", randomInit: Bool = true) {
        self.store = store; self.prefix = prefix; self.randomInit = randomInit
    }

    public func child(_ name: String) -> Scope { Scope(store, prefix: key(name), randomInit: randomInit) }
    public func child(_ i: Int) -> Scope { child(String(i)) }
    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    /// Registers `t` as `prefix.name`.
    @discardableResult
    public func param(_ name: String, _ t: Tensor) -> Tensor { store.register(key(name), t) }

    /// Registers a parameter drawn uniformly from [−bound, bound) (unfilled without `randomInit`).
    public func uniform(_ name: String, _ shape: [Int], bound: Float, rng: inout RNG) -> Tensor {
        param(name, randomInit ? Tensor(uniform: shape, low: -bound, high: bound, rng: &rng) : Tensor(unfilled: shape))
    }

    /// Registers a parameter drawn from N(0, std²) (unfilled without `randomInit`).
    public func normal(_ name: String, _ shape: [Int], std: Float, rng: inout RNG) -> Tensor {
        param(name, randomInit ? Tensor(randn: shape, std: std, rng: &rng) : Tensor(unfilled: shape))
    }
}

/// y = x Wᵀ + b. W (out, in), PyTorch's default uniform(±1/√in) init.
public final class Linear {
    public let weight: Tensor   // (out, in)
    public let bias: Tensor?    // (out)

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, scope: Scope, rng: inout RNG) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = scope.uniform("weight", [outFeatures, inFeatures], bound: bound, rng: &rng)
        self.bias = bias ? scope.uniform("bias", [outFeatures], bound: bound, rng: &rng) : nil
    }

    /// A half-precision copy of the weight, used for small no-gradient products (sampling steps;
    /// `HalfMatrix.serves`).
    public private(set) var halfWeight: HalfMatrix?

    /// Keeps (or drops) a half-precision copy of the weight for small products without gradients.
    public func keepHalfPrecision(_ on: Bool = true) { halfWeight = on ? HalfMatrix(weight) : nil }

    /// x (..., in) → (..., out)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let halfWeight, halfWeight.serves(x), !GradMode.isEnabled {
            return halfWeight.linear(x, bias: bias)
        }
        return linear(x, weight: weight, bias: bias)
    }
}

/// 1-D convolution over (B, C, T). W (out, in, K).
public final class Conv1d {
    public let weight: Tensor   // (Cout, Cin, K)
    public let bias: Tensor?    // (Cout)
    public let stride: Int, padding: Int, dilation: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil,
                dilation: Int = 1, bias: Bool = true, scope: Scope, rng: inout RNG) {
        let bound = 1 / Float(inChannels * kernel).squareRoot()
        weight = scope.uniform("weight", [outChannels, inChannels, kernel], bound: bound, rng: &rng)
        self.bias = bias ? scope.uniform("bias", [outChannels], bound: bound, rng: &rng) : nil
        self.stride = stride
        self.dilation = dilation
        // default: "same" length for stride 1 and odd kernels
        self.padding = padding ?? (dilation * (kernel - 1)) / 2
    }

    /// x (B, Cin, T) → (B, Cout, T')
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv1d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
    }
}

/// Transposed 1-D convolution (upsampling by `stride`). W (in, out, K), PyTorch layout.
public final class ConvTranspose1d {
    public let weight: Tensor   // (Cin, Cout, K)
    public let bias: Tensor?    // (Cout)
    public let stride: Int, padding: Int, outputPadding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int, padding: Int = 0,
                outputPadding: Int = 0, bias: Bool = true, scope: Scope, rng: inout RNG) {
        let bound = 1 / Float(outChannels * kernel).squareRoot()
        weight = scope.uniform("weight", [inChannels, outChannels, kernel], bound: bound, rng: &rng)
        self.bias = bias ? scope.uniform("bias", [outChannels], bound: bound, rng: &rng) : nil
        self.stride = stride; self.padding = padding; self.outputPadding = outputPadding
    }

    /// x (B, Cin, T) → (B, Cout, (T−1)·stride − 2·padding + K + outputPadding)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        convTranspose1d(x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding)
    }
}

/// Lookup table (V, C).
public final class Embedding {
    public let table: Tensor    // (V, C)

    public init(_ count: Int, _ dim: Int, std: Float = 0.02, scope: Scope, rng: inout RNG) {
        table = scope.normal("weight", [count, dim], std: std, rng: &rng)
    }

    /// ids with `shape` → (shape..., C)
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor { embedding(table, ids: ids, shape: shape) }
}

/// LayerNorm over the last dimension with a learned gain and shift.
public final class LayerNorm {
    public let gamma: Tensor, beta: Tensor   // (C)

    public init(_ dim: Int, scope: Scope) {
        gamma = scope.param("weight", Tensor(filling: 1, shape: [dim]))
        beta = scope.param("bias", Tensor(zeros: [dim]))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, gamma: gamma, beta: beta) }
}
