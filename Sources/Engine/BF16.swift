// BF16.swift — matrix products in bfloat16 on CPUs that multiply it in hardware (AVX512-BF16,
// and AMX-BF16 where present). On AMD Zen 4 VDPBF16PS does twice the multiply-adds per cycle of
// sgemm's FMAs, so these products run about 1.6–1.9× faster than OpenBLAS's (`make bench`, the
// frozen-linear line); on Intel Sapphire Rapids, where VDPBF16PS gains nothing, the AMX tiles run
// them about 5× faster than it (the vocoder card). Both operands are rounded to bfloat16 (8
// significant bits, to nearest); products and sums stay float, so a product's error is within 2⁻⁸
// of Σ|a||b| (tested). Two paths take it: products of weights frozen for inference
// (`Tensor.freezeForInference`, the neural vocoder's) with gradients off, and, opt-in, a training
// run's products inside `BF16Products.training` (`gen train --bf16`). Everything else, gradient
// checks and held-out evaluations included, keeps float products.
import Foundation
import Base
import CKernels
import COpenBLAS

public enum BF16Products {
    /// Whether this CPU has the instructions (and `gk_bf16_force_off` has not turned them off).
    public static var available: Bool { gk_has_bf16() != 0 }

    /// Turns the bfloat16 path off (or back on) for the whole process: products of frozen weights
    /// are then sgemm's, bit for bit as before freezing. For A/B measurements and `gen --float32`.
    public static func setEnabled(_ on: Bool) { gk_bf16_force_off(on ? 0 : 1) }

    /// Whether untransposed products run on AMX tiles (Intel Sapphire Rapids and later; see
    /// bf16gemm.c), and the switch between them and the AVX512 kernel, for measurements and tests.
    public static var tileUnit: Bool { gk_has_amx() != 0 }
    public static func setTileUnitEnabled(_ on: Bool) { gk_amx_force_off(on ? 0 : 1) }

    /// The smallest product worth packing: below it sgemm (or the sampling steps' GEMV) stays.
    static func serves(m: Int, n: Int, k: Int) -> Bool { m >= 4 && n >= 16 && k >= 16 && available && !GradMode.isEnabled }

    /// op(B) (k, n) packed for `gk_bf16_gemm_rows`.
    static func pack(_ b: UnsafePointer<Float>, k: Int, n: Int, transposed: Bool) -> [UInt16] {
        let count = gk_bf16_packed_count(k, n)
        return [UInt16](unsafeUninitializedCapacity: count) { buf, filled in
            gk_bf16_pack_b(b, k, n, transposed ? 1 : 0, buf.baseAddress!)
            filled = count
        }
    }

    /// c (m, n) = op(A) · op(B) (+= with `accumulate`) through B's packed copy: A is (m, k), or
    /// (k, m) with transA; B is (k, n), or (n, k) with transB. Row blocks of c are split over the
    /// workers as `sgemmForward` splits sgemm's. Each element sums its k products in one fixed
    /// order whatever the blocking, so a row's values do not depend on the rows beside it. A block
    /// the kernel declines (no memory for its rounded rows) runs in float on `b` instead (cblas
    /// itself: the engine's `sgemm` would come back here inside a training scope).
    static func product(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, packed: UnsafePointer<UInt16>,
                        _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool,
                        accumulate: Bool) {
        func block(_ lo: Int, _ hi: Int) {
            if gk_bf16_gemm_rows(a, m, transA ? 1 : 0, lo, hi - lo, k, packed, n, c + lo * n, accumulate ? 1 : 0) == 0 {
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            Int32(hi - lo), Int32(n), Int32(k), 1, transA ? a + lo : a + lo * k, Int32(transA ? m : k),
                            b, Int32(transB ? k : n), accumulate ? 1 : 0, c + lo * n, Int32(n))
            }
        }
        // Blocks of whole multiples of 24 rows (two of the AVX512 kernel's 12-row tiles), or of 32
        // (the tile unit's blocks of C).
        let rows = tileUnit && !transA ? 32 : 24
        guard ThreadBudget.count > 1, m >= 2 * rows, m * n * k >= 1 << 21 else { return block(0, m) }
        parallelFor((m + rows - 1) / rows, minChunk: 1) { range in block(range.lowerBound * rows, min(m, range.upperBound * rows)) }
    }
}

// MARK: mixed-precision training (opt-in)

extension BF16Products {
    /// Runs `body` (a training run) with the products of its steps in bfloat16: every product made
    /// while the tape records, and every product of backward, rounds its operands to bfloat16 and
    /// sums in float, on a CPU with AVX512-BF16 (elsewhere nothing changes). Weights, gradients and
    /// the optimizer stay float; products with gradients off (held-out evaluations) stay float too.
    public static func training<R>(_ body: () throws -> R) rethrows -> R {
        let depth = gk_bf16_training_depth()
        gk_set_bf16_training_depth(depth + 1)
        defer { gk_set_bf16_training_depth(depth) }
        return try body()
    }

    /// c (m, n) = op(A) · op(B) (+ c where beta is 1) in bfloat16 (`product`), if a training scope
    /// is open on this thread with gradients on and the product is worth packing; false (c
    /// untouched) otherwise.
    static func trainingProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                                m: Int, n: Int, k: Int, transA: Bool, transB: Bool, alpha: Float, beta: Float) -> Bool {
        guard gk_bf16_training_depth() > 0, alpha == 1, beta == 0 || beta == 1, m >= 16, n >= 16, k >= 16,
              GradMode.isEnabled, available else { return false }
        pack(b, k: k, n: n, transposed: transB).withUnsafeBufferPointer { pp in
            product(a, b, packed: pp.baseAddress!, c, m: m, n: n, k: k, transA: transA, transB: transB, accumulate: beta == 1)
        }
        return true
    }
}

/// A frozen weight's packed bfloat16 copy, built on first use (batch jobs share models across
/// threads, hence the lock) and kept for the tensor's life. It is kept for the layout it was first
/// read in; a weight read in another (a tied embedding, say) is packed afresh each time.
final class BF16Panels {
    private let lock = NSLock()
    private var packed: [UInt16]?
    private var layout: (k: Int, n: Int, transposed: Bool)?

    func get(_ t: Tensor, k: Int, n: Int, transposed: Bool) -> [UInt16] {
        lock.lock(); defer { lock.unlock() }
        if let packed, let layout, layout == (k, n, transposed) { return packed }
        let p = t.withValues { BF16Products.pack($0.baseAddress!, k: k, n: n, transposed: transposed) }
        if packed == nil { packed = p; layout = (k, n, transposed) }
        return p
    }
}
