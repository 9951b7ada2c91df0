// Attention.swift — multi-head attention (Vaswani et al. 2017) for self- and cross-attention,
// with an optional KV cache for incremental decoding (llama2.c's RunState idea).
import Engine

public final class MultiHeadAttention {
    public let heads: Int, dModel: Int, headDim: Int
    public let wq: Linear, wk: Linear, wv: Linear, wo: Linear

    public init(dModel: Int, heads: Int, contextDim: Int? = nil, scope: Scope, rng: inout RNG) {
        precondition(dModel % heads == 0, "d_model \(dModel) is not divisible by \(heads) heads")
        self.heads = heads; self.dModel = dModel; headDim = dModel / heads
        wq = Linear(dModel, dModel, scope: scope.child("q_proj"), rng: &rng)
        wk = Linear(contextDim ?? dModel, dModel, scope: scope.child("k_proj"), rng: &rng)
        wv = Linear(contextDim ?? dModel, dModel, scope: scope.child("v_proj"), rng: &rng)
        wo = Linear(dModel, dModel, scope: scope.child("out_proj"), rng: &rng)
    }

    /// Self-attention when `context` is nil, else cross-attention over `context` (B, S, Cctx).
    /// `keyMask` (B·S, true = real) hides padding. With `cache`, x holds only the new positions:
    /// their keys and values are appended and the queries attend to everything cached so far.
    public func callAsFunction(_ x: Tensor /* (B, T, C) */, context: Tensor? = nil, causal: Bool = false,
                               keyMask: [Bool]? = nil, cache: KVCache? = nil) -> Tensor {
        if let context { return self(x, kv: keysValues(context, mask: keyMask)) }
        let q = splitHeads(wq(x), heads: heads)
        let k = splitHeads(wk(x), heads: heads), v = splitHeads(wv(x), heads: heads)
        if let cache {
            // Incremental decoding: causal self-attention over the cache, read in place.
            precondition(causal && keyMask == nil, "a KV cache serves causal self-attention without a key mask")
            return wo(mergeHeads(cache.attend(q: q, keys: k, values: v)))
        }
        return wo(mergeHeads(attention(q: q, k: k, v: v, causal: causal, keyMask: keyMask)))
    }

    /// The keys and values of `context` (B, S, Cctx), split into heads: computed once and reused
    /// while decoding (the prior's lyrics, attended at every step).
    public func keysValues(_ context: Tensor, mask: [Bool]?) -> AttentionKV {
        AttentionKV(keys: splitHeads(wk(context), heads: heads), values: splitHeads(wv(context), heads: heads), mask: mask)
    }

    /// Cross-attention of x (B, T, C) over precomputed keys and values (not causal).
    public func callAsFunction(_ x: Tensor, kv: AttentionKV) -> Tensor {
        let q = splitHeads(wq(x), heads: heads)
        return wo(mergeHeads(attention(q: q, k: kv.keys, v: kv.values, causal: false, keyMask: kv.mask)))
    }
}

/// Keys and values of a context, split into heads, with its padding mask.
public struct AttentionKV {
    public var keys: Tensor     // (B, H, S, D)
    public var values: Tensor   // (B, H, S, D)
    public var mask: [Bool]?    // (B·S), true = real position
    public init(keys: Tensor, values: Tensor, mask: [Bool]?) { self.keys = keys; self.values = values; self.mask = mask }
}

/// (B, T, H·D) → (B, H, T, D)
public func splitHeads(_ x: Tensor, heads: Int) -> Tensor {
    let b = x.shape[0], t = x.shape[1], c = x.shape[2]
    return permute(reshape(x, [b, t, heads, c / heads]), [0, 2, 1, 3])
}

/// (B, H, T, D) → (B, T, H·D)
public func mergeHeads(_ x: Tensor) -> Tensor {
    let b = x.shape[0], h = x.shape[1], t = x.shape[2], d = x.shape[3]
    return reshape(permute(x, [0, 2, 1, 3]), [b, t, h * d])
}
