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

    /// The low band of x at 1/r of its rate: ⌈n / r⌉ samples, y[m] = Σ_j h[j]·x[m·r − j].
    public func decimate(_ x: [Float]) -> [Float] {
        let r = factor, hl = half, n = x.count
        let out = (n + r - 1) / r
        var y = [Float](repeating: 0, count: out)
        taps.withUnsafeBufferPointer { h in
            x.withUnsafeBufferPointer { xp in
                for m in 0..<out {
                    let centre = m * r
                    // x index i = centre − j for j in −hl...hl, kept inside 0..<n.
                    let lo = max(0, centre - hl), hi = min(n - 1, centre + hl)
                    var acc: Float = 0
                    if lo <= hi { for i in lo...hi { acc += h[hl + centre - i] * xp[i] } }
                    y[m] = acc
                }
            }
        }
        return y
    }

    /// x at r times its rate, cut or zero-padded to `length` samples: y[k] = r·Σ_j h[j]·x↑[k − j],
    /// where x↑ holds x[i] at i·r and zeros between (each output reads every r-th tap).
    public func interpolate(_ x: [Float], length: Int) -> [Float] {
        let r = factor, hl = half, n = x.count
        var y = [Float](repeating: 0, count: max(length, 0))
        let gain = Float(r)
        taps.withUnsafeBufferPointer { h in
            x.withUnsafeBufferPointer { xp in
                for k in 0..<y.count {
                    // Inputs i with |k − i·r| ≤ hl (a negative k − hl truncates towards 0, which the max keeps).
                    let lo = max(0, (k - hl + r - 1) / r), hi = min(n - 1, (k + hl) / r)
                    var acc: Float = 0
                    if lo <= hi { for i in lo...hi { acc += h[hl + k - i * r] * xp[i] } }
                    y[k] = gain * acc
                }
            }
        }
        return y
    }
}
