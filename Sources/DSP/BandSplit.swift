// BandSplit.swift — integer-factor resampling by a Kaiser-windowed sinc, the filter and alignment of
// SciPy's `resample_poly(x, 1, r)` / `resample_poly(x, r, 1)` (window ('kaiser', 5.0), 20·r + 1
// taps, cut-off at the lower Nyquist, output sample m at input time m·r or m / r, zeros outside
// the signal). The codec's bass decoder (Music/BassDecoder.swift) reads and writes the band below
// 11025 / r Hz at 22050 / r Hz with it; its prototype was trained on exactly this split
// (bench/lowband_decoder.py), so the port reads what the prototype read.
import Foundation

public struct BandSplit {
    /// The rate factor r: the low band lives at 1/r of the sample rate.
    public let factor: Int
    /// The filter's taps, centred (index `half` is lag 0), unit gain at DC.
    public let taps: [Float]
    public var half: Int { taps.count / 2 }

    public init(factor r: Int) {
        precondition(r >= 1 && r <= 4096, "BandSplit: factor \(r) outside 1...4096")
        factor = r
        taps = Self.kaiserLowpass(half: 10 * r, cutoff: 1 / Double(r), beta: 5)
    }

    /// SciPy's `firwin(2·half + 1, cutoff, window=('kaiser', beta))`: a windowed sinc whose cut-off
    /// is `cutoff` times the Nyquist frequency, scaled to unit gain at DC.
    public static func kaiserLowpass(half: Int, cutoff: Double, beta: Double) -> [Float] {
        let n = 2 * half + 1
        var h = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let m = Double(i - half), x = cutoff * m
            let sinc = x == 0 ? 1 : Foundation.sin(Double.pi * x) / (Double.pi * x)
            let r = 2 * Double(i) / Double(n - 1) - 1
            h[i] = cutoff * sinc * besselI0(beta * (1 - r * r).squareRoot()) / besselI0(beta)
        }
        let sum = h.reduce(0, +)
        return h.map { Float($0 / sum) }
    }

    /// The modified Bessel function I₀ by its power series (converges for every argument used here).
    static func besselI0(_ x: Double) -> Double {
        var term = 1.0, sum = 1.0, k = 1.0
        let q = x * x / 4
        while term > 1e-17 * sum {
            term *= q / (k * k); sum += term; k += 1
        }
        return sum
    }

    /// The low band of x at 1/r of its rate: ⌈n / r⌉ samples, y[m] = Σ_j h[j]·x[m·r − j]. Each
    /// output is one contiguous dot product of the taps with x around m·r (zeros padded each side).
    public func decimate(_ x: [Float]) -> [Float] {
        let r = factor, hl = half, n = x.count, len = taps.count
        let out = (n + r - 1) / r
        guard out > 0 else { return [] }
        // x with hl zeros each side: output m reads padded[m·r ..< m·r + len], tap u the reversed taps' u-th.
        var padded = [Float](repeating: 0, count: n + 2 * hl)
        padded.replaceSubrange(hl..<(hl + n), with: x)
        let reversed = Array(taps.reversed())
        var y = [Float](repeating: 0, count: out)
        reversed.withUnsafeBufferPointer { h in
            padded.withUnsafeBufferPointer { xp in
                for m in 0..<out { y[m] = FastMath.dot(h.baseAddress!, xp.baseAddress! + m * r, len) }
            }
        }
        return y
    }


    /// x at r times its rate, cut or zero-padded to `length` samples: y[k] = r·Σ_j h[j]·x↑[k − j],
    /// where x↑ holds x[i] at i·r and zeros between. Polyphase: output k = q·r + p reads the taps
    /// h[hl + j·r + p] against x[q − j], so each phase p is a short convolution of x, computed one
    /// tap at a time over every q (a loop that vectorises) and written to its every r-th output.
    public func interpolate(_ x: [Float], length: Int) -> [Float] {
        let r = factor, hl = half, n = x.count
        var y = [Float](repeating: 0, count: max(length, 0))
        guard length > 0, n > 0 else { return y }
        let gain = Float(r)
        // Taps of phase p: j in ⌈(−hl − p)/r⌉ ... ⌊(hl − p)/r⌋; x is read at q − j, so it is padded
        // with `front` zeros before it and enough after it for the last q.
        func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
        let front = hl / r + 1, lastQ = (length - 1) / r, back = hl / r + 2
        var padded = [Float](repeating: 0, count: front + max(n, lastQ + 1) + back)
        padded.replaceSubrange(front..<(front + n), with: x)
        var acc = [Float](repeating: 0, count: lastQ + 1)
        taps.withUnsafeBufferPointer { h in padded.withUnsafeBufferPointer { xp in acc.withUnsafeMutableBufferPointer { ap in
            y.withUnsafeMutableBufferPointer { yp in
                for p in 0..<min(r, length) {
                    let count = (length - 1 - p) / r + 1                 // outputs q·r + p < length
                    let a = ap.baseAddress!
                    a.update(repeating: 0, count: count)
                    for j in -floorDiv(hl + p, r)...floorDiv(hl - p, r) {
                        let g = h[hl + j * r + p], src = xp.baseAddress! + front - j
                        for q in 0..<count { a[q] += g * src[q] }
                    }
                    for q in 0..<count { yp[q * r + p] = gain * a[q] }
                }
            }
        } } }
        return y
    }
}
