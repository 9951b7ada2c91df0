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

    /// (B, T, C) → (B, H, T, D)
    func splitHeads(_ x: Tensor) -> Tensor {
        let b = x.shape[0], t = x.shape[1]
        return permute(reshape(x, [b, t, heads, headDim]), [0, 2, 1, 3])
    }

    /// (B, H, T, D) → (B, T, C)
    func mergeHeads(_ x: Tensor) -> Tensor {
        let b = x.shape[0], t = x.shape[2]
        return reshape(permute(x, [0, 2, 1, 3]), [b, t, dModel])
    }

    /// Self-attention when `context` is nil, else cross-attention over `context` (B, S, Cctx).
    /// `keyMask` (B·S, true = real) hides padding. With `cache`, x holds only the new positions:
    /// their keys and values are appended and the queries attend to everything cached so far.
    public func callAsFunction(_ x: Tensor /* (B, T, C) */, context: Tensor? = nil, causal: Bool = false,
                               keyMask: [Bool]? = nil, cache: KVCache? = nil) -> Tensor {
        let q = splitHeads(wq(x))
        let source = context ?? x
        var k = splitHeads(wk(source)), v = splitHeads(wv(source))
        var offset = 0
        if let cache {
            offset = cache.length
            (k, v) = cache.update(keys: k, values: v)
        }
        let y = attention(q: q, k: k, v: v, causal: causal, queryOffset: offset, keyMask: keyMask)
        return wo(mergeHeads(y))
    }
}
