// Attention.swift — fused scaled dot-product attention (Vaswani et al. 2017, §3.2.1) with causal
// and key-padding masks, its backward beside it, and the preallocated KV cache used for
// incremental decoding (llama2.c's key_cache/value_cache, behind mlx-swift-lm's update API).
//
// Letters: B batch, H heads, Tq query positions, Tk key positions, D head dim.
import CKernels
import Foundation

// MARK: attention

/// softmax(Q·Kᵀ/√D + mask)·V for every (batch, head).
///
/// - causal: query i, at absolute position `queryOffset + i`, sees keys j ≤ queryOffset + i. With a
///   KV cache holding `cached` earlier positions, pass queryOffset = cached and Tk = cached + Tq.
/// - keyMask: (B, Tk), false marks padding keys that no query may see.
/// A query that sees no key at all gets a zero output and passes no gradient.
///
/// Forward per (b, h): S = Q·Kᵀ/√D (sgemm), mask, row softmax → P (saved), O = P·V (sgemm).
/// Backward: dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS·K/√D, dK = dSᵀ·Q/√D.
///
/// Threading: the products run one head after another, each spread over the cores by BLAS; the
/// softmax rows in between run under `parallelFor`. Running heads concurrently instead nests BLAS
/// threads inside ours, and on 2 cores that measured ~2× slower (B 16, H 2, T 400, D 128).
/// Every head and row writes only its own slices, so neither phase needs locks.
public func attention(q: Tensor, k: Tensor, v: Tensor, causal: Bool,
                      queryOffset: Int = 0, keyMask: [Bool]? = nil) -> Tensor {
    precondition(q.rank == 4 && k.rank == 4 && v.rank == 4,
                 "attention: q, k, v must be (B, H, T, D), got \(q.shape), \(k.shape), \(v.shape)")
    let batch = q.shape[0], heads = q.shape[1], tq = q.shape[2], d = q.shape[3]
    let tk = k.shape[2]
    precondition(k.shape == [batch, heads, tk, d] && v.shape == k.shape,
                 "attention: k and v must be (B, H, Tk, D) = (\(batch), \(heads), Tk, \(d)), got \(k.shape) and \(v.shape)")
    precondition(queryOffset >= 0, "attention: queryOffset \(queryOffset) must be ≥ 0")
    if let keyMask {
        precondition(keyMask.count == batch * tk, "attention: keyMask has \(keyMask.count) entries, expected B·Tk = \(batch * tk)")
    }
    let scale = 1 / Float(d).squareRoot()
    let qStride = tq * d, kStride = tk * d, pStride = tq * tk, bh = batch * heads
    let rowChunk = max(1, 8192 / max(tk, 1))  // softmax rows per parallel task
    /// Keys 0..<visibleEnd(i) can be visible to query row i; causal masking hides the rest.
    @inline(__always) func visibleEnd(_ i: Int) -> Int { causal ? min(tk, queryOffset + i + 1) : tk }

    var out = [Float](repeating: 0, count: bh * qStride)    // (B, H, Tq, D)
    var probs = [Float](repeating: 0, count: bh * pStride)  // (B, H, Tq, Tk), saved for the backward
    q.withValues { qp in k.withValues { kp in v.withValues { vp in
    out.withUnsafeMutableBufferPointer { op in probs.withUnsafeMutableBufferPointer { pp in
        attentionForward(q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, kvHeadStride: kStride,
                         out: op.baseAddress!, probs: pp.baseAddress!, batch: batch, heads: heads, tq: tq, tk: tk, d: d,
                         causal: causal, queryOffset: queryOffset, keyMask: keyMask)
    } } } } }

    return Tensor.result(shape: [batch, heads, tq, d], data: out, parents: [q, k, v]) { o in
        let g = o.grad!  // (B, H, Tq, D)
        // Gradients go to fresh buffers first: q, k and v may be one tensor, and nested mutable
        // accesses to one grad array would trap.
        var dq = [Float](repeating: 0, count: q.requiresGrad ? q.count : 0)  // (B, H, Tq, D)
        var dk = [Float](repeating: 0, count: k.requiresGrad ? k.count : 0)  // (B, H, Tk, D)
        var dv = [Float](repeating: 0, count: v.requiresGrad ? v.count : 0)  // (B, H, Tk, D)
        let needQK = q.requiresGrad || k.requiresGrad
        var dS = [Float](repeating: 0, count: needQK ? bh * pStride : 0)    // (B, H, Tq, Tk)
        g.withUnsafeBufferPointer { gp in probs.withUnsafeBufferPointer { pp in
        q.withValues { qp in k.withValues { kp in v.withValues { vp in
        dq.withUnsafeMutableBufferPointer { dqp in dk.withUnsafeMutableBufferPointer { dkp in dv.withUnsafeMutableBufferPointer { dvp in
        dS.withUnsafeMutableBufferPointer { sp in
            let p = pp.baseAddress!, dO = gp.baseAddress!
            for h in 0..<bh {
                if v.requiresGrad {
                    // dV (Tk, D) = Pᵀ (Tk, Tq) · dO (Tq, D)
                    sgemm(p + h * pStride, dO + h * qStride, dvp.baseAddress! + h * kStride, m: tk, n: d, k: tq, transA: true)
                }
                if needQK {
                    // dP (Tq, Tk) = dO (Tq, D) · Vᵀ (D, Tk)
                    sgemm(dO + h * qStride, vp.baseAddress! + h * kStride, sp.baseAddress! + h * pStride,
                          m: tq, n: tk, k: d, transB: true)
                }
            }
            guard needQK else { return }
            let ds = sp.baseAddress!
            parallelFor(bh * tq, minChunk: rowChunk) { rows in
                for r in rows {
                    // Softmax backward; beyond the causal end (and at masked keys) P = 0, so dS = 0.
                    let pr = p + r * tk, sr = ds + r * tk, end = visibleEnd(r % tq)
                    var dot: Float = 0
                    for j in 0..<end { dot += sr[j] * pr[j] }
                    for j in 0..<end { sr[j] = pr[j] * (sr[j] - dot) }
                    for j in end..<tk { sr[j] = 0 }
                }
            }
            for h in 0..<bh {
                if q.requiresGrad {
                    // dQ (Tq, D) = dS (Tq, Tk) · K (Tk, D) / √D
                    sgemm(ds + h * pStride, kp.baseAddress! + h * kStride, dqp.baseAddress! + h * qStride,
                          m: tq, n: d, k: tk, alpha: scale)
                }
                if k.requiresGrad {
                    // dK (Tk, D) = dSᵀ (Tk, Tq) · Q (Tq, D) / √D
                    sgemm(ds + h * pStride, qp.baseAddress! + h * qStride, dkp.baseAddress! + h * kStride,
                          m: tk, n: d, k: tq, transA: true, alpha: scale)
                }
            }
        } } } } } } } } }
        if q.requiresGrad { q.accumulateGrad(dq) }
        if k.requiresGrad { k.accumulateGrad(dk) }
        if v.requiresGrad { v.accumulateGrad(dv) }
    }
}

/// The forward of `attention` on raw buffers. Keys and values of head h start at
/// h·kvHeadStride (tk·D for a packed tensor, maxLength·D inside a KV cache, whose first tk rows
/// of each head are contiguous), so a cache is read in place. probs receives P (B, H, Tq, Tk).
func attentionForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, kvHeadStride: Int,
                      out: UnsafeMutablePointer<Float>, probs p: UnsafeMutablePointer<Float>,
                      batch: Int, heads: Int, tq: Int, tk: Int, d: Int, causal: Bool, queryOffset: Int, keyMask: [Bool]?) {
    let scale = 1 / Float(d).squareRoot()
    let qStride = tq * d, pStride = tq * tk, bh = batch * heads
    let rowChunk = max(1, 8192 / max(tk, 1))
    @inline(__always) func visibleEnd(_ i: Int) -> Int { causal ? min(tk, queryOffset + i + 1) : tk }
    for h in 0..<bh {
        // S (Tq, Tk) = Q (Tq, D) · Kᵀ (D, Tk) / √D, written into P's slot
        sgemm(q + h * qStride, k + h * kvHeadStride, p + h * pStride, m: tq, n: tk, k: d, transB: true, alpha: scale)
    }
    parallelFor(bh * tq, minChunk: rowChunk) { rows in
        for r in rows {
            let b = r / (heads * tq), i = r % tq, row = p + r * tk, end = visibleEnd(i)
            if let keyMask { for j in 0..<end where !keyMask[b * tk + j] { row[j] = -Float.infinity } }
            softmaxRow(row, row, end)  // in place: each entry is read before it is written
            for j in end..<tk { row[j] = 0 }
        }
    }
    for h in 0..<bh {
        // O (Tq, D) = P (Tq, Tk) · V (Tk, D)
        sgemm(p + h * pStride, v + h * kvHeadStride, out + h * qStride, m: tq, n: d, k: tk)
    }
}

// MARK: KV cache

/// Keys and values of the positions decoded so far, for one attention layer: preallocated
/// (B, H, maxLength, D) buffers indexed by position (llama2.c's RunState caches).
///
/// Decoding step: `let (keys, values) = cache.update(keys: kNew, values: vNew)`, then
/// `attention(q: qNew, k: keys, v: values, causal: true, queryOffset: cache.length - Tnew)`.
/// The cache stores values only: it is for inference, and gradients do not flow through it.
public final class KVCache {
    public let batch: Int
    public let heads: Int
    public let maxLength: Int
    public let headDim: Int
    /// Positions filled so far.
    public private(set) var length: Int = 0
    private var keys: [Float]    // (B, H, maxLength, D)
    private var values: [Float]  // (B, H, maxLength, D)
    /// Half-precision copies of both, which one-position steps read (`halfPrecision`).
    private var halfKeys: [UInt16], halfValues: [UInt16]
    public let halfPrecision: Bool

    /// With `halfPrecision`, keys and values are also kept in half precision and a step of one
    /// position reads those: half the bytes of a long cache (the other half of a sampling step's
    /// reading, after the weights). Longer appends (a window's prefix) read the F32 buffers.
    public init(batch: Int, heads: Int, maxLength: Int, headDim: Int, halfPrecision: Bool = false) {
        precondition(batch > 0 && heads > 0 && maxLength > 0 && headDim > 0,
                     "KVCache: sizes must be positive, got batch \(batch), heads \(heads), maxLength \(maxLength), headDim \(headDim)")
        self.batch = batch; self.heads = heads; self.maxLength = maxLength; self.headDim = headDim
        self.halfPrecision = halfPrecision
        keys = [Float](repeating: 0, count: batch * heads * maxLength * headDim)
        values = keys
        halfKeys = halfPrecision ? [UInt16](repeating: 0, count: keys.count) : []
        halfValues = halfKeys
    }

    /// Appends keys and values (B, H, Tnew, D) at positions length..<length+Tnew and returns all
    /// cached positions as new (B, H, length, D) tensors.
    public func update(keys newKeys: Tensor, values newValues: Tensor) -> (keys: Tensor, values: Tensor) {
        precondition(newKeys.rank == 4 && newKeys.shape[0] == batch && newKeys.shape[1] == heads && newKeys.shape[3] == headDim,
                     "KVCache.update: keys must be (\(batch), \(heads), Tnew, \(headDim)), got \(newKeys.shape)")
        precondition(newValues.shape == newKeys.shape,
                     "KVCache.update: values shape \(newValues.shape) differs from keys shape \(newKeys.shape)")
        let tnew = newKeys.shape[2]
        precondition(length + tnew <= maxLength,
                     "KVCache.update: appending \(tnew) positions to \(length) cached ones exceeds maxLength \(maxLength); "
                     + "create the cache with a larger maxLength or call reset()")
        store(newKeys, newValues)
        length += tnew
        return (gather(keys), gather(values))
    }

    /// Appends keys and values (B, H, Tnew, D), then attends `q` (B, H, Tnew, D) causally over every
    /// cached position, reading the keys and values in place: no copy of the prefix, so a decoding
    /// step costs O(length·D) arithmetic and no O(length) allocation. Inference only (no tape).
    /// Same arithmetic as `update` followed by `attention`, so the outputs are identical.
    public func attend(q: Tensor, keys newKeys: Tensor, values newValues: Tensor) -> Tensor {
        precondition(q.rank == 4 && q.shape[0] == batch && q.shape[1] == heads && q.shape[3] == headDim
                     && newKeys.shape == q.shape && newValues.shape == q.shape,
                     "KVCache.attend: q, keys and values must be (\(batch), \(heads), Tnew, \(headDim)), got \(q.shape), \(newKeys.shape), \(newValues.shape)")
        let tnew = q.shape[2]
        precondition(length + tnew <= maxLength,
                     "KVCache.attend: appending \(tnew) positions to \(length) cached ones exceeds maxLength \(maxLength)")
        store(newKeys, newValues)
        length += tnew
        if halfPrecision && tnew == 1 { return attendHalf(q) }
        var out = [Float](repeating: 0, count: q.count)                       // (B, H, Tnew, D)
        var probs = [Float](repeating: 0, count: batch * heads * tnew * length)  // (B, H, Tnew, length)
        q.withValues { qp in keys.withUnsafeBufferPointer { kp in values.withUnsafeBufferPointer { vp in
        out.withUnsafeMutableBufferPointer { op in probs.withUnsafeMutableBufferPointer { pp in
            attentionForward(q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, kvHeadStride: maxLength * headDim,
                             out: op.baseAddress!, probs: pp.baseAddress!, batch: batch, heads: heads, tq: tnew, tk: length,
                             d: headDim, causal: true, queryOffset: length - tnew, keyMask: nil)
        } } } } }
        return Tensor(shape: q.shape, data: out)
    }

    /// One new position's query (B, H, 1, D) over every cached position, from the half-precision buffers.
    private func attendHalf(_ q: Tensor) -> Tensor {
        let bh = batch * heads, d = headDim, scale = 1 / Float(d).squareRoot(), n = length
        var out = [Float](repeating: 0, count: q.count), scores = [Float](repeating: 0, count: bh * n)
        q.withValues { qp in halfKeys.withUnsafeBufferPointer { kp in halfValues.withUnsafeBufferPointer { vp in
        out.withUnsafeMutableBufferPointer { op in scores.withUnsafeMutableBufferPointer { sp in
            // Heads split between the workers once a head's cache is long enough to pay for a hand-off.
            parallelFor(bh, minChunk: max(1, 65_536 / max(1, n * d))) { heads in
                for h in heads {
                    gk_attend_f16(qp.baseAddress! + h * d, kp.baseAddress! + h * maxLength * d, vp.baseAddress! + h * maxLength * d,
                                  n, d, scale, op.baseAddress! + h * d, sp.baseAddress! + h * n)
                }
            }
        } } } } }
        return Tensor(shape: q.shape, data: out)
    }

    /// Writes new keys and values (B, H, Tnew, D) at positions length..<length+Tnew of every buffer.
    private func store(_ newKeys: Tensor, _ newValues: Tensor) {
        append(newKeys, into: &keys)
        append(newValues, into: &values)
        if halfPrecision {
            appendHalf(newKeys, into: &halfKeys)
            appendHalf(newValues, into: &halfValues)
        }
    }

    /// Writes (B, H, Tnew, D) values, rounded to half precision, at positions length..<length+Tnew.
    private func appendHalf(_ t: Tensor, into buffer: inout [UInt16]) {
        let span = t.shape[2] * headDim
        t.withValues { src in buffer.withUnsafeMutableBufferPointer { dst in
            for bh in 0..<(batch * heads) {
                gk_f32_to_f16(src.baseAddress! + bh * span, dst.baseAddress! + (bh * maxLength + length) * headDim, span)
            }
        } }
    }

    /// Forgets the positions from `position` on (a benchmark repeats one step this way).
    public func rewind(to position: Int) {
        precondition((0...length).contains(position), "KVCache.rewind: \(position) is outside 0...\(length)")
        length = position
    }

    /// Forgets every position; the buffers are kept for the next sequence.
    public func reset() { length = 0 }

    /// Writes (B, H, Tnew, D) values at positions length..<length+Tnew of a (B, H, maxLength, D) buffer.
    private func append(_ t: Tensor, into buffer: inout [Float]) {
        let span = t.shape[2] * headDim
        t.withValues { src in buffer.withUnsafeMutableBufferPointer { dst in
            for bh in 0..<(batch * heads) {
                (dst.baseAddress! + (bh * maxLength + length) * headDim).update(from: src.baseAddress! + bh * span, count: span)
            }
        } }
    }

    /// Copies positions 0..<length of a (B, H, maxLength, D) buffer into a (B, H, length, D) tensor.
    private func gather(_ buffer: [Float]) -> Tensor {
        let d = headDim, span = length * d
        var out = [Float](repeating: 0, count: batch * heads * span)  // (B, H, length, D)
        buffer.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { dst in
            for bh in 0..<(batch * heads) {
                (dst.baseAddress! + bh * span).update(from: src.baseAddress! + bh * maxLength * d, count: span)
            }
        } }
        return Tensor(shape: [batch, heads, length, headDim], data: out)
    }
}
