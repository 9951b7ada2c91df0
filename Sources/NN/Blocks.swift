// Blocks.swift — composite blocks: FastSpeech's FFT block (Ren et al. 2019, §3.1), a pre-LN
// transformer block for the priors (GPT-2 / Jukebox), and Jukebox's dilated residual block.
import Engine

/// FFT block: post-LN self-attention, then a two-layer 1-D conv feed-forward (kernels k1, k2).
public final class FFTBlock {
    public let attn: MultiHeadAttention
    public let norm1: LayerNorm, norm2: LayerNorm
    public let conv1: Conv1d, conv2: Conv1d
    public let dropout: Float

    public init(dModel: Int, heads: Int, ffnDim: Int, kernels: (Int, Int) = (9, 1), dropout: Float = 0.1,
                scope: Scope, rng: inout RNG) {
        attn = MultiHeadAttention(dModel: dModel, heads: heads, scope: scope.child("attn"), rng: &rng)
        norm1 = LayerNorm(dModel, scope: scope.child("norm1"))
        conv1 = Conv1d(dModel, ffnDim, kernel: kernels.0, scope: scope.child("ffn.conv1"), rng: &rng)
        conv2 = Conv1d(ffnDim, dModel, kernel: kernels.1, scope: scope.child("ffn.conv2"), rng: &rng)
        norm2 = LayerNorm(dModel, scope: scope.child("norm2"))
        self.dropout = dropout
    }

    /// x (B, T, C), keyMask (B·T, true = real frame) → (B, T, C); padded frames are zeroed.
    public func callAsFunction(_ x: Tensor, keyMask: [Bool]? = nil, training: Bool, rng: inout RNG) -> Tensor {
        let mask = keyMask.map { maskTensor($0, shape: [x.shape[0], x.shape[1], 1]) }  // (B, T, 1)
        var h = norm1(x + Engine.dropout(attn(x, keyMask: keyMask), p: dropout, training: training, rng: &rng))
        // Zero the padding before the convolutions read across it (ming024's masked_fill), so the
        // last real frames see the same zeros in a padded batch as in a single utterance.
        if let mask { h = h * mask }
        let c = transpose(h, 1, 2)                       // (B, C, T)
        let f = transpose(conv2(relu(conv1(c))), 1, 2)   // (B, T, C)
        h = norm2(h + Engine.dropout(f, p: dropout, training: training, rng: &rng))
        if let mask { h = h * mask }
        return h
    }
}

/// Pre-LN transformer block with optional cross-attention: x + SA(LN x) [+ CA(LN x, ctx)] + MLP(LN x).
public final class TransformerBlock {
    public let norm1: LayerNorm, attn: MultiHeadAttention
    public let normCross: LayerNorm?, cross: MultiHeadAttention?
    public let norm2: LayerNorm, fc1: Linear, fc2: Linear

    public init(dModel: Int, heads: Int, mlpDim: Int? = nil, crossDim: Int? = nil, scope: Scope, rng: inout RNG) {
        norm1 = LayerNorm(dModel, scope: scope.child("norm1"))
        attn = MultiHeadAttention(dModel: dModel, heads: heads, scope: scope.child("attn"), rng: &rng)
        if let crossDim {
            normCross = LayerNorm(dModel, scope: scope.child("norm_cross"))
            cross = MultiHeadAttention(dModel: dModel, heads: heads, contextDim: crossDim, scope: scope.child("cross"), rng: &rng)
        } else { normCross = nil; cross = nil }
        norm2 = LayerNorm(dModel, scope: scope.child("norm2"))
        fc1 = Linear(dModel, mlpDim ?? 4 * dModel, scope: scope.child("mlp.fc1"), rng: &rng)
        fc2 = Linear(mlpDim ?? 4 * dModel, dModel, scope: scope.child("mlp.fc2"), rng: &rng)
    }

    /// x (B, T, C) → (B, T, C). Self-attention is causal unless `causal` is false (an encoder),
    /// `keyMask` (B·T) hides padding, `cross` holds precomputed keys and values for the
    /// cross-attention (when the block has one), `cache` serves incremental decoding, and
    /// `dropout` (training only) drops elements of each residual branch before it is added.
    public func callAsFunction(_ x: Tensor, causal: Bool = true, keyMask: [Bool]? = nil, cross kv: AttentionKV? = nil,
                               cache: KVCache? = nil, dropout: ResidualDropout? = nil) -> Tensor {
        func branch(_ y: Tensor) -> Tensor { dropout?(y) ?? y }
        var h = x + branch(attn(norm1(x), causal: causal, keyMask: keyMask, cache: cache))
        if let cross, let normCross, let kv { h = h + branch(cross(normCross(h), kv: kv)) }
        return h + branch(fc2(gelu(fc1(norm2(h)))))
    }

    /// Every linear layer of the block (self-attention, cross-attention, MLP).
    public var linears: [Linear] {
        [attn.wq, attn.wk, attn.wv, attn.wo] + (cross.map { [$0.wq, $0.wk, $0.wv, $0.wo] } ?? []) + [fc1, fc2]
    }

    /// The same with the cross-attention's context given whole (its keys and values computed here).
    public func callAsFunction(_ x: Tensor, context: Tensor?, contextMask: [Bool]? = nil, cache: KVCache? = nil) -> Tensor {
        self(x, cross: context.flatMap { c in cross?.keysValues(c, mask: contextMask) }, cache: cache)
    }
}

/// Residual dropout for training (GPT-2's `resid_pdrop`, Vaswani et al. 2017 §5.4): each
/// element of a block's branch output is zeroed with probability p and the rest scaled by
/// 1/(1 − p) before the branch joins the residual stream, so a model that fits a small corpus by
/// heart pays for leaning on any one path. It holds its own generator; a training step passes it
/// to the model's forward, and evaluation and sampling pass none.
public final class ResidualDropout {
    public let p: Float
    private var rng: RNG

    public init(p: Float, rng: RNG) {
        precondition(p >= 0 && p < 1, "residual dropout must be in [0, 1), got \(p)")
        self.p = p; self.rng = rng
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { Engine.dropout(x, p: p, training: true, rng: &rng) }
}

/// Jukebox's residual unit: x + conv1×1(relu(conv3,dilated(relu(x)))), on (B, C, T).
public final class DilatedResBlock {
    public let conv1: Conv1d, conv2: Conv1d

    public init(channels: Int, hidden: Int? = nil, dilation: Int, scope: Scope, rng: inout RNG) {
        conv1 = Conv1d(channels, hidden ?? channels, kernel: 3, dilation: dilation, scope: scope.child("conv1"), rng: &rng)
        conv2 = Conv1d(hidden ?? channels, channels, kernel: 1, scope: scope.child("conv2"), rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x + conv2(relu(conv1(relu(x)))) }
}

/// A constant 0/1 tensor from a Bool mask, for multiplying out padding.
public func maskTensor(_ mask: [Bool], shape: [Int]) -> Tensor {
    Tensor(shape: shape, data: mask.map { $0 ? 1 : 0 })
}

/// ConvNeXt block (Liu et al. 2022) as Vocos uses it, channel-last (B, T, C):
/// x + γ ⊙ W₂ act(W₁ LN(dwconv_K(x))), γ a learned per-channel scale starting small (layer scale),
/// so a deep stack starts close to the identity. `act` is GELU as in the paper, or ReLU, which
/// ConvNeXt's ablation found as accurate and which costs no transcendental per element.
public final class ConvNeXtBlock {
    public let dwWeight: Tensor, dwBias: Tensor   // (C, K), (C)
    public let norm: LayerNorm, fc1: Linear, fc2: Linear
    public let gamma: Tensor                      // (C)
    public let kernel: Int
    public let activation: (Tensor) -> Tensor

    public init(channels: Int, mlpDim: Int, kernel: Int = 7, layerScale: Float, activation: @escaping (Tensor) -> Tensor = gelu,
                scope: Scope, rng: inout RNG) {
        let bound = 1 / Float(kernel).squareRoot()
        dwWeight = scope.uniform("dwconv.weight", [channels, kernel], bound: bound, rng: &rng)
        dwBias = scope.uniform("dwconv.bias", [channels], bound: bound, rng: &rng)
        norm = LayerNorm(channels, scope: scope.child("norm"))
        fc1 = Linear(channels, mlpDim, scope: scope.child("fc1"), rng: &rng)
        fc2 = Linear(mlpDim, channels, scope: scope.child("fc2"), rng: &rng)
        gamma = scope.param("gamma", Tensor(filling: layerScale, shape: [channels]))
        self.kernel = kernel
        self.activation = activation
    }

    /// x (B, T, C) → (B, T, C)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = depthwiseConv1d(x, weight: dwWeight, bias: dwBias, padding: (kernel - 1) / 2)
        return x + fc2(activation(fc1(norm(h)))) * gamma
    }
}
