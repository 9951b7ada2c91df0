// MatMul.swift — matrix products on cblas_sgemm: matmul (with a flattened leading batch), batched
// matmul, and the Linear layer's affine map. Forward and backward side by side.
import Base
import COpenBLAS

/// C (M, N) = op(A) · op(B) (+ beta·C), row-major, through cblas.
@inline(__always)
public func sgemm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                  m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
                  alpha: Float = 1, beta: Float = 0) {
    if m == 0 || n == 0 { return }
    if k == 0 { if beta == 0 { c.update(repeating: 0, count: m * n) }; return }
    if BF16Products.trainingProduct(a, b, c, m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta) { return }
    if m <= 2 {
        // One or two rows (a sampling step, guidance's pair): a matrix-vector product per row
        // skips sgemm's packing of B, 1.7-4.4x faster at the prior's sizes (measured, 2 cores).
        // Row i of C = row i of op(A) · op(B); op(A)'s row i is A's column i when transposed.
        for i in 0..<m {
            cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, Int32(transB ? n : k), Int32(transB ? k : n), alpha,
                        b, Int32(transB ? k : n), transA ? a + i : a + i * k, Int32(transA ? m : 1), beta, c + i * n, 1)
        }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha,
                a, Int32(transA ? m : k), b, Int32(transB ? k : n), beta, c, Int32(n))
}

/// `sgemm` of an op's forward pass (not called inside another parallel loop): where OpenBLAS runs
/// its products in the caller's thread (a short command, `Runtime.blasInCallerThread`) and the
/// thread budget has more than one worker, a product big enough to pay for a dispatch is split
/// into row blocks of C computed concurrently, each by single-threaded sgemm (OpenBLAS takes
/// concurrent calls). OpenBLAS blocks a product by its sizes, so a block's elements can round
/// differently from one call's (as they do between its own 1- and 2-thread runs): a sentence of
/// speech then differs by at most 1 in 16-bit samples. A sentence of `gen speech` spends over a
/// third of its time in sgemm, which otherwise left the second core idle.
public func sgemmForward(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                         m: Int, n: Int, k: Int, transB: Bool = false, beta: Float = 0) {
    if BF16Products.trainingProduct(a, b, c, m: m, n: n, k: k, transA: false, transB: transB, alpha: 1, beta: beta) { return }
    let workers = ThreadBudget.count
    guard workers > 1, m >= 64, m * n * k >= 1 << 22, openblas_get_num_threads() == 1 else {
        return sgemm(a, b, c, m: m, n: n, k: k, transB: transB, beta: beta)
    }
    // Blocks of whole multiples of 16 rows, so none is a sliver.
    let tiles = (m + 15) / 16
    parallelFor(tiles, minChunk: 2) { range in
        let lo = range.lowerBound * 16, hi = min(m, range.upperBound * 16)
        sgemm(a + lo * k, b, c + lo * n, m: hi - lo, n: n, k: k, transB: transB, beta: beta)
    }
}

/// a (..., M, K) · b (K, N) → (..., M, N); with `transposeB`, b is (N, K).
/// The leading dimensions of `a` are flattened into M, so one sgemm serves a whole batch.
public func matmul(_ a: Tensor, _ b: Tensor, transposeB: Bool = false) -> Tensor {
    precondition(a.rank >= 1 && b.rank == 2, "matmul: a must be (..., K) and b 2-D, got \(a.shape) and \(b.shape)")
    let k = a.shape[a.rank - 1]
    let n = transposeB ? b.shape[0] : b.shape[1]
    let kb = transposeB ? b.shape[1] : b.shape[0]
    precondition(k == kb, "matmul: inner dimensions differ: a \(a.shape), b \(b.shape)\(transposeB ? " (transposed)" : "")")
    let m = a.shape.dropLast().reduce(1, *)  // not a.count / k, which is 0 when K is 0
    var outShape = a.shape; outShape[outShape.count - 1] = n
    // sgemm with beta 0 writes all of C (zeros when K is 0).
    let panels = BF16Products.serves(m: m, n: n, k: k) ? b.bf16Panels : nil
    let bf16 = panels != nil
    let packed = panels?.get(b, k: k, n: n, transposed: transposeB) ?? []
    let out = uninitializedFloats(m * n) { cp in a.withValues { ap in b.withValues { bp in
        if bf16 {
            packed.withUnsafeBufferPointer { pp in
                BF16Products.product(ap.baseAddress!, bp.baseAddress!, packed: pp.baseAddress!, cp.baseAddress!,
                                     m: m, n: n, k: k, transB: transposeB, accumulate: false)
            }
        } else {
            sgemmForward(ap.baseAddress!, bp.baseAddress!, cp.baseAddress!, m: m, n: n, k: k, transB: transposeB)
        }
    } } }
    return Tensor.result(shape: outShape, data: out, parents: [a, b]) { o in
        let g = o.grad!
        g.withUnsafeBufferPointer { gp in
            if a.requiresGrad {
                // dA (M, K) += dC (M, N) · op(B)ᵀ
                a.accumulateGrad { ga in b.withValues { bp in
                    sgemm(gp.baseAddress!, bp.baseAddress!, ga, m: m, n: k, k: n, transB: !transposeB, beta: 1)
                } }
            }
            if b.requiresGrad {
                b.accumulateGrad { gb in a.withValues { ap in
                    if transposeB {  // dB (N, K) += dCᵀ (N, M) · A (M, K)
                        sgemm(gp.baseAddress!, ap.baseAddress!, gb, m: n, n: k, k: m, transA: true, beta: 1)
                    } else {         // dB (K, N) += Aᵀ (K, M) · dC (M, N)
                        sgemm(ap.baseAddress!, gp.baseAddress!, gb, m: k, n: n, k: m, transA: true, beta: 1)
                    }
                } }
            }
        }
    }
}

/// Batched product: a (B, M, K) · b (B, K, N) → (B, M, N). `transposeA`/`transposeB` read the
/// last two dimensions of a or b transposed (so b may be (B, N, K), as in Q·Kᵀ).
public func bmm(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0],
                 "bmm: expects (B, M, K) and (B, K, N), got \(a.shape) and \(b.shape)")
    let batch = a.shape[0]
    let m = transposeA ? a.shape[2] : a.shape[1], k = transposeA ? a.shape[1] : a.shape[2]
    let kb = transposeB ? b.shape[2] : b.shape[1], n = transposeB ? b.shape[1] : b.shape[2]
    precondition(k == kb, "bmm: inner dimensions differ: \(a.shape) · \(b.shape)")
    let sa = m * k, sb = k * n, sc = m * n
    let out = uninitializedFloats(batch * sc) { cp in a.withValues { ap in b.withValues { bp in
        for i in 0..<batch {
            sgemm(ap.baseAddress! + i * sa, bp.baseAddress! + i * sb, cp.baseAddress! + i * sc,
                  m: m, n: n, k: k, transA: transposeA, transB: transposeB)
        }
    } } }
    return Tensor.result(shape: [batch, m, n], data: out, parents: [a, b]) { o in
        let g = o.grad!
        g.withUnsafeBufferPointer { gp in
            if a.requiresGrad {
                a.accumulateGrad { ga in b.withValues { bp in
                    for i in 0..<batch {
                        let gi = gp.baseAddress! + i * sc, bi = bp.baseAddress! + i * sb, ai = ga + i * sa
                        if transposeA {  // A stored (K, M): dA = op(B) · dCᵀ
                            sgemm(bi, gi, ai, m: k, n: m, k: n, transA: transposeB, transB: true, beta: 1)
                        } else {         // A stored (M, K): dA = dC · op(B)ᵀ
                            sgemm(gi, bi, ai, m: m, n: k, k: n, transB: !transposeB, beta: 1)
                        }
                    }
                } }
            }
            if b.requiresGrad {
                b.accumulateGrad { gb in a.withValues { ap in
                    for i in 0..<batch {
                        let gi = gp.baseAddress! + i * sc, ai = ap.baseAddress! + i * sa, bi = gb + i * sb
                        if transposeB {  // B stored (N, K): dB = dCᵀ · op(A)
                            sgemm(gi, ai, bi, m: n, n: k, k: m, transA: true, transB: transposeA, beta: 1)
                        } else {         // B stored (K, N): dB = op(A)ᵀ · dC
                            sgemm(ai, gi, bi, m: k, n: n, k: m, transA: !transposeA, beta: 1)
                        }
                    }
                } }
            }
        }
    }
}

/// y = x · Wᵀ + b, with W stored (out, in) as in PyTorch checkpoints. x is (..., in).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let y = matmul(x, weight, transposeB: true)
    guard let bias else { return y }
    return add(y, bias)
}
