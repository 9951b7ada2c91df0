// Half.swift — weight matrices kept in half precision (IEEE binary16) for sampling steps.
// A KV-cached step of the prior multiplies one or two rows by every weight matrix of the model,
// so its time is reading the weights; half the bytes read is most of what a step can save
// (llama.cpp's F16 weights, the same reasoning). Values are rounded once, to nearest; products and
// sums stay in single precision. Gradients never flow through these: training keeps F32 weights.
import Base
import CKernels

public final class HalfMatrix {
    public let rows: Int, cols: Int
    let storage: [UInt16]

    /// Rounds a 2-D tensor (rows, cols) to half precision.
    public init(_ t: Tensor) {
        precondition(t.rank == 2, "HalfMatrix: a matrix is 2-D, got shape \(t.shape)")
        rows = t.shape[0]; cols = t.shape[1]
        var h = [UInt16](repeating: 0, count: t.count)
        t.withValues { s in h.withUnsafeMutableBufferPointer { d in
            gk_f32_to_f16(s.baseAddress!, d.baseAddress!, t.count)
        } }
        storage = h
    }

    /// Rows of x up to which a product reads the half-precision copy: a product of a few rows reads
    /// every weight once per row block and is bound by reading them; a larger one is arithmetic,
    /// where OpenBLAS's F32 kernel on the F32 weights is faster.
    public static let maxRows = 8

    /// Whether a product of x (..., cols) is small enough to read this copy (see `maxRows`).
    public func serves(_ x: Tensor) -> Bool { x.count <= HalfMatrix.maxRows * cols }

    /// The stored values, back in single precision.
    public var values: [Float] {
        var out = [Float](repeating: 0, count: storage.count)
        storage.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { d in
            gk_f16_to_f32(s.baseAddress!, d.baseAddress!, storage.count)
        } }
        return out
    }

    /// x (..., cols) · selfᵀ (+ bias (rows)) → (..., rows), as `linear(x, weight:, bias:)` with this
    /// matrix as the weight. No gradient: x must not need one.
    public func linear(_ x: Tensor, bias: Tensor?) -> Tensor {
        precondition(x.rank >= 1 && x.shape[x.rank - 1] == cols, "HalfMatrix: input \(x.shape) against a (\(rows), \(cols)) weight")
        precondition(!(x.requiresGrad && GradMode.isEnabled), "HalfMatrix: no gradient flows through half-precision weights")
        precondition(bias.map { $0.count == rows } ?? true, "HalfMatrix: bias of \(bias?.count ?? 0) for \(rows) outputs")
        let m = x.count / cols, n = rows, k = cols
        var out = [Float](repeating: 0, count: m * n)
        let b = bias?.data ?? []
        storage.withUnsafeBufferPointer { w in x.withValues { xp in b.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { yp in
                // Output rows split between the workers; each reads its share of the weights once.
                parallelFor(n, minChunk: max(16, 65_536 / max(1, k))) { r in
                    gk_matmul_f16(w.baseAddress!, b.isEmpty ? nil : bp.baseAddress, xp.baseAddress!, yp.baseAddress!,
                                  m, k, r.lowerBound, r.upperBound, n)
                }
            }
        } } }
        var shape = x.shape; shape[shape.count - 1] = n
        return Tensor(shape: shape, data: out)
    }
}
