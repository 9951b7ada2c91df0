// FastMath.swift — exp, sin and cos eight lanes at a time, for the loops that turn a spectrum's
// log-magnitude and phase into (re, im) once per bin (the vocoder's and the codec's iSTFT heads, the
// mel projection's band gains). libm's scalar calls cost about as much there as the inverse FFT that
// follows. Both follow Cephes (Moshier 1989): a Cody & Waite range reduction, then a short polynomial.
//   exp: n = round(x·log₂e), r = x − n·ln 2 (two parts), e^r by its Taylor polynomial to r⁶
//        (|r| ≤ ln2/2: relative error below 3·10⁻⁷), times 2ⁿ put into the exponent bits;
//        x must lie in [−87, 88] (callers clamp).
//   sin, cos: j = round(x·2/π), y = x − j·π/2 (three parts, exact enough for |x| ≤ `sinCosLimit`),
//        |y| ≤ π/4, Cephes' sinf/cosf polynomials on y, and the quadrant j mod 4 picks and signs them
//        (absolute error below 2·10⁻⁷ there; lanes beyond the limit take libm's value).
import Foundation

public enum FastMath {
    /// |x| up to which `sinCos8`'s reduction is accurate; larger lanes fall back to libm.
    public static let sinCosLimit: Float = 8192

    /// e^x per lane (x in [−87, 88]).
    @inline(__always)
    public static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let log2e = SIMD8<Float>(repeating: 1.442695041), ln2hi = SIMD8<Float>(repeating: 0.693359375),
            ln2lo = SIMD8<Float>(repeating: -2.12194440e-4), magic = SIMD8<Float>(repeating: 12_582_912)
        let t = x * log2e + magic        // 1.5·2²³ keeps n = round(x·log₂e) in the low mantissa bits
        let n = t - magic
        let r = x - n * ln2hi - n * ln2lo
        var e = SIMD8<Float>(repeating: 1.0 / 720)
        e = e * r + 1.0 / 120; e = e * r + 1.0 / 24; e = e * r + 1.0 / 6; e = e * r + 0.5; e = e * r + 1; e = e * r + 1
        let exponent = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return e * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }

    /// (sin x, cos x) per lane.
    @inline(__always)
    public static func sinCos8(_ x: SIMD8<Float>) -> (sin: SIMD8<Float>, cos: SIMD8<Float>) {
        var (sinX, cosX) = reducedSinCos8(x)
        if any(beyondLimit(x) .!= 0) {   // far lanes, infinities and NaNs: libm's value
            for i in 0..<8 where !(Swift.abs(x[i]) <= sinCosLimit) { sinX[i] = Foundation.sin(x[i]); cosX[i] = Foundation.cos(x[i]) }
        }
        return (sinX, cosX)
    }

    /// Σ a[i]·b[i] over n values, in 8 running sums (so the loop vectorises).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            s += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var acc = s.sum()
        while i < n { acc += a[i] * b[i]; i += 1 }
        return acc
    }

    /// out = |(re, im)| = (re² + im²)^½ per element, eight at a time (the same operations on each
    /// lane as the scalar expression, so the same bits): `Spectrogram.magnitude`'s and the frame loops'.
    @inline(__always)
    static func magnitude(re: UnsafePointer<Float>, im: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        var f = 0
        while f + 8 <= count {
            let r = UnsafeRawPointer(re + f).loadUnaligned(as: SIMD8<Float>.self)
            let i = UnsafeRawPointer(im + f).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(out + f).storeBytes(of: (r * r + i * i).squareRoot(), as: SIMD8<Float>.self)
            f += 8
        }
        while f < count { out[f] = (re[f] * re[f] + im[f] * im[f]).squareRoot(); f += 1 }
    }

    /// sin and cos of each of `x`'s values (`sinCos8`, eight at a time; a count that is not a multiple
    /// of 8 has its last lanes padded). `sin` and `cos` hold at least x.count values.
    static func sinCos(_ x: [Float], sin: inout [Float], cos: inout [Float]) {
        precondition(sin.count >= x.count && cos.count >= x.count, "FastMath.sinCos: \(x.count) values, room for \(min(sin.count, cos.count))")
        var k = 0
        while k < x.count {
            var v = SIMD8<Float>()
            for j in 0..<min(8, x.count - k) { v[j] = x[k + j] }
            let (s, c) = sinCos8(v)
            for j in 0..<min(8, x.count - k) { sin[k + j] = s[j]; cos[k + j] = c[j] }
            k += 8
        }
    }

    /// −1 (all bits) in the lanes where |x| > `sinCosLimit` or x is NaN, 0 elsewhere.
    @inline(__always)
    static func beyondLimit(_ x: SIMD8<Float>) -> SIMD8<Int32> {
        let magnitude = unsafeBitCast(x, to: SIMD8<Int32>.self) & 0x7FFF_FFFF   // ordered as the floats are
        return (SIMD8<Int32>(repeating: Int32(bitPattern: sinCosLimit.bitPattern)) &- magnitude) &>> 31
    }

    /// `sinCos8` without the fallback, right where |x| ≤ `sinCosLimit`. Lanes are picked and signed
    /// with integer masks, not SIMD masks: those are lowered lane by lane through memory here.
    @inline(__always)
    static func reducedSinCos8(_ x: SIMD8<Float>) -> (sin: SIMD8<Float>, cos: SIMD8<Float>) {
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let t = x * SIMD8<Float>(repeating: 0.636619772367581) + magic
        let j = t - magic                                              // round(x·2/π)
        var y = x - j * SIMD8<Float>(repeating: 1.5703125)
        y = y - j * SIMD8<Float>(repeating: 4.837512969970703125e-4)
        y = y - j * SIMD8<Float>(repeating: 7.54978995489188216e-8)
        let z = y * y
        var s = SIMD8<Float>(repeating: -1.9515295891e-4)
        s = s * z + 8.3321608736e-3; s = s * z - 1.6666654611e-1
        s = s * z * y + y
        var c = SIMD8<Float>(repeating: 2.443315711809948e-5)
        c = c * z - 1.388731625493765e-3; c = c * z + 4.166664568298827e-2
        c = c * z * z - 0.5 * z + 1
        let q = unsafeBitCast(t, to: SIMD8<UInt32>.self) & 3             // j mod 4 (two's complement)
        let swap = 0 &- (q & 1)                                          // all bits in odd quadrants
        let sb = unsafeBitCast(s, to: SIMD8<UInt32>.self), cb = unsafeBitCast(c, to: SIMD8<UInt32>.self)
        let sinBits = ((sb & ~swap) | (cb & swap)) ^ ((q & 2) &<< 30)           // quadrants 2, 3: −
        let cosBits = ((cb & ~swap) | (sb & swap)) ^ (((q &+ 1) & 2) &<< 30)    // quadrants 1, 2: −
        return (unsafeBitCast(sinBits, to: SIMD8<Float>.self), unsafeBitCast(cosBits, to: SIMD8<Float>.self))
    }

    /// exp of each value in place (values in [−87, 88]).
    public static func expInPlace(_ p: UnsafeMutablePointer<Float>, count: Int) {
        var f = 0
        while f + 8 <= count {
            let x = UnsafeRawPointer(p + f).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(p + f).storeBytes(of: exp8(x), as: SIMD8<Float>.self)
            f += 8
        }
        while f < count { p[f] = Foundation.exp(p[f]); f += 1 }
    }

    /// re = e^min(logMag, maxLog) · cos(phase), im = e^min(logMag, maxLog) · sin(phase), for `count` bins.
    /// (A log-magnitude below −87 counts as −87: e^−87 ≈ 1.6·10⁻³⁸, where exp8's exponent would wrap.)
    public static func polar(logMagnitude m: UnsafePointer<Float>, phase p: UnsafePointer<Float>, maxLog: Float,
                             re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, count: Int) {
        var k = 0, far = SIMD8<Int32>(repeating: 0)
        let cap = SIMD8<Float>(repeating: maxLog), floor = SIMD8<Float>(repeating: -87)
        while k + 8 <= count {
            var lm = UnsafeRawPointer(m + k).loadUnaligned(as: SIMD8<Float>.self)
            lm = select(cap, over: lm, where: (unsafeBitCast(cap - lm, to: SIMD8<Int32>.self) &>> 31))   // lm > cap
            lm = select(floor, over: lm, where: (unsafeBitCast(lm - floor, to: SIMD8<Int32>.self) &>> 31)) // lm < −87
            let mag = exp8(lm)
            let x = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
            far |= beyondLimit(x)
            let (s, c) = reducedSinCos8(x)
            UnsafeMutableRawPointer(re + k).storeBytes(of: mag * c, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(im + k).storeBytes(of: mag * s, as: SIMD8<Float>.self)
            k += 8
        }
        // A phase past the reduction's range (or not a number) anywhere: those bins again, by libm.
        let first = far == SIMD8(repeating: 0) ? k : 0
        for i in first..<count where i >= k || !(Swift.abs(p[i]) <= sinCosLimit) {
            let mag = Foundation.exp(max(min(m[i], maxLog), -87))
            re[i] = mag * Foundation.cos(p[i]); im[i] = mag * Foundation.sin(p[i])
        }
    }

    /// `a` in the lanes where `mask` is all bits, `b` elsewhere.
    @inline(__always)
    static func select(_ a: SIMD8<Float>, over b: SIMD8<Float>, where mask: SIMD8<Int32>) -> SIMD8<Float> {
        let ab = unsafeBitCast(a, to: SIMD8<Int32>.self), bb = unsafeBitCast(b, to: SIMD8<Int32>.self)
        return unsafeBitCast((ab & mask) | (bb & ~mask), to: SIMD8<Float>.self)
    }
}
