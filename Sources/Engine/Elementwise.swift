// Elementwise.swift — broadcasting binary ops, unary activations and dropout, each forward beside
// its backward. Broadcasting follows NumPy: shapes align on the right; a dimension of 1 stretches.
import CKernels
import Foundation

// MARK: broadcasting

/// The NumPy broadcast of two shapes, or nil when they are incompatible.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.count ? 1 : a[i - (r - a.count)]
        let db = i < r - b.count ? 1 : b[i - (r - b.count)]
        if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
    }
    return out
}

/// Strides of `shape` seen through a broadcast to `outShape` (0 along stretched dimensions).
func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
    let r = outShape.count, off = r - shape.count
    var strides = [Int](repeating: 0, count: r)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i + off] = shape[i] == 1 ? 0 : s
        s *= shape[i]
    }
    return strides
}

/// Calls `body(outIndex, aOffset, bOffset)` for every element of the broadcast output,
/// walking the innermost dimension in a tight loop.
@inline(__always)
func forEachBroadcast(_ outShape: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int) -> Void) {
    let r = outShape.count
    if r == 0 { body(0, 0, 0); return }
    let inner = outShape[r - 1], ia = sa[r - 1], ib = sb[r - 1]
    let outer = shapeCount(outShape) / max(inner, 1)
    if inner == 0 { return }
    var idx = [Int](repeating: 0, count: r)
    var offA = 0, offB = 0, o = 0
    for _ in 0..<outer {
        var a = offA, b = offB
        for _ in 0..<inner { body(o, a, b); o += 1; a += ia; b += ib }
        // odometer over the outer dimensions
        var d = r - 2
        while d >= 0 {
            idx[d] += 1; offA += sa[d]; offB += sb[d]
            if idx[d] < outShape[d] { break }
            offA -= sa[d] * idx[d]; offB -= sb[d] * idx[d]; idx[d] = 0
            d -= 1
        }
    }
}

/// Sums a gradient of the broadcast shape back down to `shape` (the adjoint of broadcasting).
public func reduceBroadcast(_ g: [Float], from outShape: [Int], to shape: [Int]) -> [Float] {
    if outShape == shape { return g }
    var out = [Float](repeating: 0, count: shapeCount(shape))
    let s = broadcastStrides(shape, to: outShape)
    g.withUnsafeBufferPointer { gp in
        out.withUnsafeMutableBufferPointer { op in
            forEachBroadcast(outShape, s, s) { o, a, _ in op[a] += gp[o] }
        }
    }
    return out
}

// MARK: binary ops

/// An elementwise function of one or two floats as a type: `unary` and `binary` are generic over
/// it, so each op's loop is specialised with the arithmetic inlined (and vectorised). Passed as
/// closures, the function was called once per element from the loop's own closure: relu alone
/// was 5% of a `gen speech --file` run, all of it call overhead.
protocol FloatMap { func callAsFunction(_ x: Float) -> Float }
protocol FloatZip { static func apply(_ a: Float, _ b: Float) -> Float }
enum Plus: FloatZip { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
enum Minus: FloatZip { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
enum Times: FloatZip { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
enum Over: FloatZip { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b } }

/// The length of the block that `shape` repeats within `outShape` when it broadcasts only along
/// leading dimensions (its own shape, less leading 1s, is `outShape`'s tail), else nil.
func trailingBlock(_ shape: [Int], of outShape: [Int]) -> Int? {
    let own = shape.drop(while: { $0 == 1 })
    guard own.count <= outShape.count, own.elementsEqual(outShape.suffix(own.count)) else { return nil }
    return own.reduce(1, *)
}

@inline(__always)
private func binary<F: FloatZip>(_ a: Tensor, _ b: Tensor, _ opName: String, _: F.Type,
                                 backward: @escaping (_ a: Tensor, _ b: Tensor, _ out: Tensor) -> Void) -> Tensor {
    guard let outShape = broadcastShape(a.shape, b.shape) else {
        preconditionFailure("\(opName): shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    let n = shapeCount(outShape)
    let out = uninitializedFloats(n) { op in
    a.withValues { ap in
        b.withValues { bp in
                if a.shape == b.shape {
                    parallelFor(n) { r in for i in r { op[i] = F.apply(ap[i], bp[i]) } }
                } else if b.count == 1 {
                    let s = bp[0]
                    parallelFor(n) { r in for i in r { op[i] = F.apply(ap[i], s) } }
                } else if a.count == 1 {
                    let s = ap[0]
                    parallelFor(n) { r in for i in r { op[i] = F.apply(s, bp[i]) } }
                } else if let m = trailingBlock(a.count == n ? b.shape : a.shape, of: outShape), m > 0, a.count == n || b.count == n {
                    // One side repeats along the other's leading dimensions (a bias, a layer
                    // scale): row by row, the repeated block read from its start each row.
                    let bRepeats = a.count == n
                    let x = ap.baseAddress!, y = bp.baseAddress!, z = op.baseAddress!
                    parallelFor(n / m, minChunk: max(1, 16_384 / m)) { rows in
                        for row in rows {
                            let o = row &* m
                            if bRepeats { for j in 0..<m { z[o &+ j] = F.apply(x[o &+ j], y[j]) } }
                            else { for j in 0..<m { z[o &+ j] = F.apply(x[j], y[o &+ j]) } }
                        }
                    }
                } else {
                    let sa = broadcastStrides(a.shape, to: outShape), sb = broadcastStrides(b.shape, to: outShape)
                    forEachBroadcast(outShape, sa, sb) { o, i, j in op[o] = F.apply(ap[i], bp[j]) }
                }
        }
    }
    }
    return Tensor.result(shape: outShape, data: out, parents: [a, b]) { o in backward(a, b, o) }
}

/// a + b, broadcasting.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    binary(a, b, "add", Plus.self) { a, b, o in
        let g = o.grad!
        if a.requiresGrad { a.accumulateGrad(reduceBroadcast(g, from: o.shape, to: a.shape)) }
        if b.requiresGrad { b.accumulateGrad(reduceBroadcast(g, from: o.shape, to: b.shape)) }
    }
}

/// a - b, broadcasting.
public func sub(_ a: Tensor, _ b: Tensor) -> Tensor {
    binary(a, b, "sub", Minus.self) { a, b, o in
        let g = o.grad!
        if a.requiresGrad { a.accumulateGrad(reduceBroadcast(g, from: o.shape, to: a.shape)) }
        if b.requiresGrad { b.accumulateGrad(reduceBroadcast(g.map { -$0 }, from: o.shape, to: b.shape)) }
    }
}

/// a * b elementwise, broadcasting.
public func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
    binary(a, b, "mul", Times.self) { a, b, o in
        let g = o.grad!
        let sa = broadcastStrides(a.shape, to: o.shape), sb = broadcastStrides(b.shape, to: o.shape)
        // d(a*b)/da = b and d/db = a, each read through the broadcast, then summed back.
        if a.requiresGrad {
            var ga = [Float](repeating: 0, count: o.count)
            forEachBroadcast(o.shape, sa, sb) { i, _, j in ga[i] = g[i] * b.data[j] }
            a.accumulateGrad(reduceBroadcast(ga, from: o.shape, to: a.shape))
        }
        if b.requiresGrad {
            var gb = [Float](repeating: 0, count: o.count)
            forEachBroadcast(o.shape, sa, sb) { i, j, _ in gb[i] = g[i] * a.data[j] }
            b.accumulateGrad(reduceBroadcast(gb, from: o.shape, to: b.shape))
        }
    }
}

/// a / b elementwise, broadcasting.
public func div(_ a: Tensor, _ b: Tensor) -> Tensor {
    binary(a, b, "div", Over.self) { a, b, o in
        let g = o.grad!
        let sa = broadcastStrides(a.shape, to: o.shape), sb = broadcastStrides(b.shape, to: o.shape)
        if a.requiresGrad {
            var ga = [Float](repeating: 0, count: o.count)
            forEachBroadcast(o.shape, sa, sb) { i, _, j in ga[i] = g[i] / b.data[j] }
            a.accumulateGrad(reduceBroadcast(ga, from: o.shape, to: a.shape))
        }
        if b.requiresGrad {
            var gb = [Float](repeating: 0, count: o.count)
            forEachBroadcast(o.shape, sa, sb) { i, ia, ib in
                let bv = b.data[ib]; gb[i] = -g[i] * a.data[ia] / (bv * bv)
            }
            b.accumulateGrad(reduceBroadcast(gb, from: o.shape, to: b.shape))
        }
    }
}

public func + (a: Tensor, b: Tensor) -> Tensor { add(a, b) }
public func - (a: Tensor, b: Tensor) -> Tensor { sub(a, b) }
public func * (a: Tensor, b: Tensor) -> Tensor { mul(a, b) }
public func / (a: Tensor, b: Tensor) -> Tensor { div(a, b) }
public func * (a: Tensor, s: Float) -> Tensor { scale(a, s) }
public func + (a: Tensor, s: Float) -> Tensor { addScalar(a, s) }

// MARK: unary ops

/// Applies `f` elementwise; the backward multiplies the incoming gradient by `df(x, y)`.
@inline(__always)
private func unary<F: FloatMap>(_ x: Tensor, _ f: F,
                                _ df: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
    let n = x.count
    let out = uninitializedFloats(n) { op in
        x.withValues { xp in
            parallelFor(n) { r in for i in r { op[i] = f(xp[i]) } }
        }
    }
    return Tensor.result(shape: x.shape, data: out, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in
            x.withValues { xp in
                o.withValues { yp in
                    let gxp = gx
                    parallelFor(n) { r in for i in r { gxp[i] += g[i] * df(xp[i], yp[i]) } }
                }
            }
        }
    }
}

struct Scaled: FloatMap { let s: Float; @inline(__always) func callAsFunction(_ x: Float) -> Float { x * s } }
struct Shifted: FloatMap { let s: Float; @inline(__always) func callAsFunction(_ x: Float) -> Float { x + s } }
struct AtLeast: FloatMap { let lo: Float; @inline(__always) func callAsFunction(_ x: Float) -> Float { max(x, lo) } }
struct Leaky: FloatMap { let slope: Float; @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : slope * x } }
struct Squared: FloatMap { @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x } }
struct Magnitude: FloatMap { @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.abs(x) } }
struct TanhMap: FloatMap { @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.tanh(x) } }
struct SigmoidMap: FloatMap { @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) } }
struct ExpMap: FloatMap { @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.exp(x) } }
struct LogMap: FloatMap { @inline(__always) func callAsFunction(_ x: Float) -> Float { Foundation.log(x) } }

public func scale(_ x: Tensor, _ s: Float) -> Tensor { unary(x, Scaled(s: s), { _, _ in s }) }
public func addScalar(_ x: Tensor, _ s: Float) -> Tensor { unary(x, Shifted(s: s), { _, _ in 1 }) }
public func neg(_ x: Tensor) -> Tensor { scale(x, -1) }
public func relu(_ x: Tensor) -> Tensor { unary(x, AtLeast(lo: 0), { x, _ in x > 0 ? 1 : 0 }) }
public func tanh(_ x: Tensor) -> Tensor { unary(x, TanhMap(), { _, y in 1 - y * y }) }
public func sigmoid(_ x: Tensor) -> Tensor { unary(x, SigmoidMap(), { _, y in y * (1 - y) }) }
public func exp(_ x: Tensor) -> Tensor { unary(x, ExpMap(), { _, y in y }) }
/// Natural log; the caller keeps inputs positive.
public func log(_ x: Tensor) -> Tensor { unary(x, LogMap(), { x, _ in 1 / x }) }
/// max(x, lo); the gradient passes where x > lo.
public func clampMin(_ x: Tensor, _ lo: Float) -> Tensor { unary(x, AtLeast(lo: lo), { x, _ in x > lo ? 1 : 0 }) }
public func square(_ x: Tensor) -> Tensor { unary(x, Squared(), { x, _ in 2 * x }) }
public func abs(_ x: Tensor) -> Tensor { unary(x, Magnitude(), { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }
public func leakyRelu(_ x: Tensor, slope: Float = 0.01) -> Tensor {
    unary(x, Leaky(slope: slope), { x, _ in x > 0 ? 1 : slope })
}

/// GELU, tanh approximation (Hendrycks & Gimpel 2016, eq. used by GPT-2).
/// The forward values come from a vectorized kernel (CKernels; within 2·10⁻⁷·|x| of the formula with libm's tanh).
public func gelu(_ x: Tensor) -> Tensor {
    var out = [Float](repeating: 0, count: x.count)
    x.withValues { xp in out.withUnsafeMutableBufferPointer { op in
        parallelFor(x.count, minChunk: 65_536) { r in
            gk_gelu_tanh(xp.baseAddress! + r.lowerBound, op.baseAddress! + r.lowerBound, r.count)
        }
    } }
    return Tensor.result(shape: x.shape, data: out, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in
            x.withValues { xp in g.withUnsafeBufferPointer { gp in
                let gxp = gx
                parallelFor(x.count, minChunk: 65_536) { r in
                    gk_gelu_tanh_backward(xp.baseAddress! + r.lowerBound, gp.baseAddress! + r.lowerBound, gxp + r.lowerBound, r.count)
                }
            } }
        }
    }
}

/// Inverted dropout: zeroes each value with probability `p` and scales survivors by 1/(1-p).
/// Identity when not training or p == 0.
public func dropout(_ x: Tensor, p: Float, training: Bool, rng: inout RNG) -> Tensor {
    guard training && p > 0 else { return x }
    precondition(p < 1, "dropout probability must be below 1, got \(p)")
    let keep = 1 / (1 - p)
    var mask = [Float](repeating: 0, count: x.count)
    for i in 0..<mask.count { mask[i] = rng.uniform() >= p ? keep : 0 }
    var out = x.data
    for i in 0..<out.count { out[i] *= mask[i] }
    return Tensor.result(shape: x.shape, data: out, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in for i in 0..<mask.count { gx[i] += g[i] * mask[i] } }
    }
}

/// Snake (Ziyin et al. 2020; BigVGAN's activation for waveforms): y = x + sin²(αx) / (α + 10⁻⁹) on
/// x (B, C, T), one α per channel (alpha holds C values, any shape: PyTorch's (1, C, 1)). Periodic
/// in x with a trend, so a network that writes a waveform gets oscillations for free. The sines come
/// from a vectorised kernel (`gk_sin_scaled`, within 3·10⁻⁷ of libm's).
/// Backward: ∂y/∂x = 1 + sin(2αx)·α/(α + 10⁻⁹), ∂y/∂α = x·sin(2αx)/(α + 10⁻⁹) − sin²(αx)/(α + 10⁻⁹)².
public func snake(_ x: Tensor, alpha: Tensor) -> Tensor {
    precondition(x.rank == 3 && alpha.count == x.shape[1], "snake: x (B, C, T) with C alphas, got \(x.shape) and \(alpha.shape)")
    let b = x.shape[0], c = x.shape[1], t = x.shape[2]
    let a = alpha.data, rowChunk = max(1, 16_384 / max(t, 1))
    var out = [Float](repeating: 0, count: x.count)
    x.withValues { xp in out.withUnsafeMutableBufferPointer { op in
        let xp = xp.baseAddress!, op = op.baseAddress!
        parallelFor(b * c, minChunk: rowChunk) { rows in
            for row in rows {
                let ai = a[row % c], inv = 1 / (ai + 1e-9), base = row * t
                gk_sin_scaled(xp + base, op + base, t, ai)
                for i in base..<(base + t) { op[i] = xp[i] + op[i] * op[i] * inv }
            }
        }
    } }
    return Tensor.result(shape: x.shape, data: out, parents: [x, alpha]) { o in
        let g = o.grad!
        // Per row: sin(2αx), and (for α) sin(αx).
        var ga = [Float](repeating: 0, count: b * c)
        func rows(into gx: UnsafeMutablePointer<Float>?) { x.withValues { xp in ga.withUnsafeMutableBufferPointer { gap in
            let xp = xp.baseAddress!, gap = gap.baseAddress!
            parallelFor(b * c, minChunk: rowChunk) { rows in
                var s2 = [Float](repeating: 0, count: t), s1 = [Float](repeating: 0, count: t)
                for row in rows {
                    let ai = a[row % c], inv = 1 / (ai + 1e-9), k = ai * inv, base = row * t
                    gk_sin_scaled(xp + base, &s2, t, 2 * ai)
                    if let gx { for i in 0..<t { gx[base + i] += g[base + i] * (1 + s2[i] * k) } }
                    if alpha.requiresGrad {
                        gk_sin_scaled(xp + base, &s1, t, ai)
                        var acc: Double = 0
                        for i in 0..<t { acc += Double(g[base + i] * (xp[base + i] * s2[i] * inv - s1[i] * s1[i] * inv * inv)) }
                        gap[row] = Float(acc)
                    }
                }
            }
        } } }
        if x.requiresGrad { x.accumulateGrad { rows(into: $0) } } else { rows(into: nil) }
        if alpha.requiresGrad {
            var perChannel = [Float](repeating: 0, count: c)
            for row in 0..<(b * c) { perChannel[row % c] += ga[row] }
            alpha.accumulateGrad(perChannel)
        }
    }
}
