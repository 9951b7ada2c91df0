// Tensor.swift — Float32 tensors with reverse-mode automatic differentiation.
//
// A Tensor owns a contiguous row-major buffer. When an op runs with gradients enabled and any
// input requires a gradient, the output remembers its inputs and a backward closure (the tape is
// the graph itself, as in tinygrad/micrograd). `backward()` walks that graph in reverse
// topological order; each op's backward *adds* into its inputs' `grad` buffers (llm.c style).
// Under `Tensor.withoutGrad { }` ops record nothing, so inference allocates no tape.
import CKernels
import Foundation

/// `n` floats that `fill` writes every one of, without zeroing them first: the zero fill of each
/// op's output was 4% of a codec round trip's samples in `perf` (the write that follows does the
/// work). Only for outputs written in full. `fill` is not called when n is 0 (nothing to write).
@inline(__always)
func uninitializedFloats(_ n: Int, _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
    guard n > 0 else { return [] }
    return [Float](unsafeUninitializedCapacity: n) { buffer, count in
        fill(buffer)
        count = n
    }
}

/// Float values in memory that `owner` keeps alive (a model file mapped read-only: `FileMapping`),
/// which a loaded weight reads in place (`Tensor.withValues`).
@usableFromInline struct BorrowedFloats {
    @usableFromInline let values: UnsafeBufferPointer<Float>
    @usableFromInline let owner: AnyObject
}

public final class Tensor {
    /// Dimensions, outermost first. `[]` is a scalar.
    public private(set) var shape: [Int]
    /// Row-major values, `shape.product` of them. A loaded weight may *borrow* its values from the
    /// model file mapped read-only (`borrow`) instead of holding a copy: reading `data` from such a
    /// tensor copies them each time (counted by `Tensor.borrowedCopies`), so the products that read
    /// weights do it through `withValues`, in place; writing `data` gives the tensor values of its own.
    @inlinable public var data: [Float] {
        get {
            if _slowPath(borrowed != nil || unallocated) { return valuesCopy() }
            return storage
        }
        set { borrowed = nil; unallocated = false; storage = newValue }
        _modify {
            if _slowPath(borrowed != nil || unallocated) { own() }
            yield &storage
        }
    }
    /// The values this tensor owns (empty while it borrows, or before an unfilled tensor is used).
    @usableFromInline var storage: [Float]
    /// Values in memory that someone else owns (a mapped model file), read in place.
    @usableFromInline var borrowed: BorrowedFloats?
    /// A tensor made `unfilled` whose memory is not allocated yet: a weight about to be loaded,
    /// which may borrow its values and then never needs memory of its own.
    @usableFromInline var unallocated = false
    /// d(loss)/d(self), allocated on first accumulation during `backward()`.
    public var grad: [Float]?
    /// Whether gradients flow into this tensor.
    public var requiresGrad: Bool
    /// Optional label for error messages and debugging.
    public var name: String?
    /// Made by `freezeForInference()`, before the model is shared: where products of this weight
    /// with gradients off keep their packed bfloat16 copy (`BF16Products`), made on first use.
    private(set) var bf16Panels: BF16Panels?
    /// Whether `freezeForInference()` was called.
    public var frozenForInference: Bool { bf16Panels != nil }

    /// Promises that this tensor's values will not change again (a loaded model's weights), so its
    /// products with gradients off may read a packed bfloat16 copy where the CPU has AVX512-BF16.
    public func freezeForInference() { if bf16Panels == nil { bf16Panels = BF16Panels() } }

    // Tape: the inputs of the op that made this tensor, and how to push self.grad into them.
    var parents: [Tensor] = []
    var backwardFn: ((Tensor) -> Void)?

    public init(shape: [Int], data: [Float], requiresGrad: Bool = false, name: String? = nil) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(data.count == shape.reduce(1, *),
                     "tensor data has \(data.count) values but shape \(shape) needs \(shape.reduce(1, *))")
        self.shape = shape
        self.storage = data
        self.requiresGrad = requiresGrad
        self.name = name
    }

    /// A tensor with no memory yet (`init(unfilled:)`).
    private init(unallocated shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.storage = []
        self.unallocated = true
        self.requiresGrad = false
    }

    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A tensor whose values are undefined until written: parameters that a strict load
    /// (`ParameterStore.load`, which fills every registered tensor or throws) is about to fill, so
    /// their memory is first touched by the weights themselves and not by zeros nobody reads. Its
    /// memory is allocated when first used, so a weight that borrows its values never allocates any.
    public convenience init(unfilled shape: [Int]) {
        self.init(unallocated: shape)
    }

    /// Runs `body` with the values, in place: the tensor's own, or those it borrows (never copied).
    /// The products that read weights use this rather than `data`.
    @inlinable
    public func withValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        if let b = borrowed { return try withExtendedLifetime(b.owner) { try body(b.values) } }
        if _slowPath(unallocated) { own() }
        return try storage.withUnsafeBufferPointer(body)
    }

    /// Whether the values are borrowed from memory the tensor does not own (a mapped model file).
    public var isBorrowed: Bool { borrowed != nil }

    /// Takes `values` (as many as the shape holds) in place of values of its own: a loaded weight
    /// reading its mapped file (`ParameterStore.load(borrow:)`). Nothing is copied.
    func borrow(_ values: BorrowedFloats) {
        precondition(values.values.count == shape.reduce(1, *), "borrow: \(values.values.count) values for shape \(shape)")
        storage = []
        unallocated = false
        borrowed = values
    }

    /// The values as an array of this tensor's own, from the borrowed ones or new memory.
    @usableFromInline func own() {
        if let b = borrowed {
            Tensor.noteBorrowedCopy()
            storage = Array(b.values)
            borrowed = nil
        } else if unallocated {
            storage = uninitializedFloats(shape.reduce(1, *)) { _ in }
            unallocated = false
        }
    }

    /// `data` of a tensor that borrows (a copy, each time) or has no memory yet (allocated now).
    @usableFromInline func valuesCopy() -> [Float] {
        if let b = borrowed {
            Tensor.noteBorrowedCopy()
            return Array(b.values)
        }
        own()
        return storage
    }

    private static let copiesLock = NSLock()
    nonisolated(unsafe) private static var copies = 0
    /// How many times the values of a borrowing tensor were copied (read through `data`, or made its
    /// own), since the process started: a test that runs a model loaded with borrowed weights checks
    /// that its inference reads them in place.
    public static var borrowedCopies: Int { copiesLock.lock(); defer { copiesLock.unlock() }; return copies }
    @usableFromInline static func noteBorrowedCopy() { copiesLock.lock(); copies += 1; copiesLock.unlock() }

    public convenience init(filling value: Float, shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(shape: [], data: [scalar], requiresGrad: requiresGrad)
    }

    /// Normal(0, std²) values from a seeded generator.
    public convenience init(randn shape: [Int], std: Float = 1, rng: inout RNG, requiresGrad: Bool = false) {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = rng.normal() * std }
        self.init(shape: shape, data: values, requiresGrad: requiresGrad)
    }

    /// Uniform values in [low, high) from a seeded generator.
    public convenience init(uniform shape: [Int], low: Float, high: Float, rng: inout RNG, requiresGrad: Bool = false) {
        let n = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = low + (high - low) * rng.uniform() }
        self.init(shape: shape, data: values, requiresGrad: requiresGrad)
    }

    public var count: Int { borrowed?.values.count ?? (unallocated ? shape.reduce(1, *) : storage.count) }
    public var rank: Int { shape.count }
    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(data.count == 1, "item needs a one-element tensor, shape is \(shape)")
        return data[0]
    }

    /// Resolves a possibly negative axis (-1 is the last).
    public func axis(_ a: Int) -> Int {
        let r = a < 0 ? a + rank : a
        precondition(r >= 0 && r < rank, "axis \(a) out of range for shape \(shape)")
        return r
    }

    /// A tensor sharing no tape with self: same values, no gradient.
    public func detached() -> Tensor { Tensor(shape: shape, data: data) }

    /// Changes the shape in place without touching the values (for buffers that never enter a tape).
    public func setShape(_ newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "cannot set shape \(newShape) on \(count) values")
        shape = newShape
    }

    // MARK: tape

    /// Makes an op's output. When gradients are on and some input needs one, the output records
    /// its inputs and the closure that pushes `out.grad` back into them.
    public static func result(shape: [Int], data: [Float], parents: [Tensor],
                              backward: @escaping (Tensor) -> Void) -> Tensor {
        let out = Tensor(shape: shape, data: data)
        if GradMode.isEnabled && parents.contains(where: { $0.requiresGrad }) {
            out.requiresGrad = true
            out.parents = parents
            out.backwardFn = backward
        }
        return out
    }

    /// Runs `body` with a pointer to this tensor's gradient buffer, allocating it as zeros first.
    /// Backward closures use this to *add* their contribution.
    public func accumulateGrad(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        if grad == nil { grad = [Float](repeating: 0, count: data.count) }
        grad!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// Adds `g` (same element count) into the gradient.
    public func accumulateGrad(_ g: [Float]) {
        precondition(g.count == data.count, "gradient has \(g.count) values, tensor has \(data.count)")
        if grad == nil { grad = g; return }
        accumulateGrad { dst in g.withUnsafeBufferPointer { src in vAdd(dst, src.baseAddress!, g.count) } }
    }

    public func zeroGrad() { grad = nil }

    /// Reverse-mode pass from this tensor. A non-scalar root takes `seed` as its gradient
    /// (ones when nil). Intermediate tensors release their tape afterwards, so a graph is used once.
    public func backward(seed: [Float]? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require grad (is anything a parameter? is grad mode off?)")
        let order = topologicalOrder()
        accumulateGrad(seed ?? [Float](repeating: 1, count: data.count))
        for t in order.reversed() {
            guard let fn = t.backwardFn, t.grad != nil else { continue }
            fn(t)
        }
        for t in order where t.backwardFn != nil {
            t.backwardFn = nil
            t.parents = []
            if t !== self { t.grad = nil }
        }
    }

    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative DFS: deep graphs (long RNN-like chains) must not overflow the stack.
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            let id = ObjectIdentifier(t)
            if visited.contains(id) { continue }
            visited.insert(id)
            stack.append((t, true))
            for p in t.parents where p.requiresGrad && !visited.contains(ObjectIdentifier(p)) {
                stack.append((p, false))
            }
        }
        return order
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = data.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(data.count > 8 ? ", …" : "")])"
    }
}

/// Whether ops record a tape. Per thread, so inference on one thread cannot disturb training on another.
public enum GradMode {
    /// Per thread, in a C thread-local (CKernels): every op asks, and Foundation's thread
    /// dictionary, which this used to be, cost a bridged string hash per op (a few percent of a
    /// sampling step).
    public static var isEnabled: Bool { gk_grad_disabled_depth() == 0 }

    /// Runs `body` with gradients off: no tape is recorded and nothing is retained for backward.
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        let depth = gk_grad_disabled_depth()
        gk_set_grad_disabled_depth(depth + 1)
        defer { gk_set_grad_disabled_depth(depth) }
        return try body()
    }
}

@inline(__always) func shapeCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }
