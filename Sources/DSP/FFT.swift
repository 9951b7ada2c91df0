// FFT.swift: a radix-2 fast Fourier transform written in Swift, with no C library behind it.
// Complex transforms are iterative decimation-in-time Cooley–Tukey (Cooley & Tukey 1965) on
// split real/imaginary arrays. Real transforms of length n run as one complex transform of
// length n/2 on the even/odd samples packed as re/im, then one split pass (the "two for one"
// trick in Numerical Recipes §12.3 / Sorensen et al. 1987), so rfft costs about half a complex FFT.
//
// Conventions (the same as numpy.fft):
//   forward:  X[k] = Σ_j x[j] · exp(-2πi·jk/n)
//   inverse:  x[j] = (1/n) Σ_k X[k] · exp(+2πi·jk/n)   so inverse(forward(x)) == x
//   rfft gives bins 0...n/2 (n/2 + 1 of them); irfft ignores the imaginary part of bins 0 and n/2.

import Foundation

/// A precomputed plan for transforms of one power-of-two length.
/// Everything is computed in `init` and never changes, so one plan may be shared by any number
/// of threads at once; the transforms only touch the buffers passed to them.
public final class FFTPlan: Sendable {
    /// Complex transform length.
    public let n: Int
    public let log2n: Int

    // Twiddles for every butterfly stage, stored stage after stage so each stage reads a
    // contiguous run: the stage with half-size h uses entries [h-1, 2h-1), entry h-1+k being
    // exp(-2πi·k/(2h)). n-1 entries in all.
    private let stageCos: [Float]   // (n - 1)
    private let stageSin: [Float]   // (n - 1), holds -sin so the forward transform adds it
    // Swap pairs (i, j) with i < j of the bit-reversal permutation, flattened.
    private let swaps: [Int32]      // (2 · number of pairs)

    // Real-transform support: a complex plan of length n/2 and the split-pass twiddles
    // exp(-2πi·k/n) for k in 0..<n/2. Nil when n < 2.
    private let halfPlan: FFTPlan?
    private let realCos: [Float]    // (n/2)
    private let realSin: [Float]    // (n/2), holds -sin

    /// Builds a plan for length `n`, which must be a power of two (1, 2, 4, ...).
    public init(n: Int) {
        precondition(n >= 1 && (n & (n - 1)) == 0,
                     "FFTPlan(n: \(n)): n must be a power of two (1, 2, 4, ..., 1024, ...); pad the input to the next power of two")
        self.n = n
        var bits = 0
        while (1 << bits) < n { bits += 1 }
        self.log2n = bits

        // Twiddles in Double so that long transforms do not collect Float rounding in the angles.
        var c = [Float](repeating: 0, count: max(n - 1, 0))
        var s = [Float](repeating: 0, count: max(n - 1, 0))
        var half = 1
        while half < n {
            for k in 0..<half {
                let angle = -Double.pi * Double(k) / Double(half)
                c[half - 1 + k] = Float(cos(angle))
                s[half - 1 + k] = Float(sin(angle))
            }
            half *= 2
        }
        self.stageCos = c
        self.stageSin = s

        var pairs: [Int32] = []
        for i in 0..<n {
            var r = 0
            var v = i
            for _ in 0..<bits { r = (r << 1) | (v & 1); v >>= 1 }
            if i < r { pairs.append(Int32(i)); pairs.append(Int32(r)) }
        }
        self.swaps = pairs

        if n >= 2 {
            self.halfPlan = FFTPlan(n: n / 2)
            var rc = [Float](repeating: 0, count: n / 2)
            var rs = [Float](repeating: 0, count: n / 2)
            for k in 0..<(n / 2) {
                let angle = -2.0 * Double.pi * Double(k) / Double(n)
                rc[k] = Float(cos(angle))
                rs[k] = Float(sin(angle))
            }
            self.realCos = rc
            self.realSin = rs
        } else {
            self.halfPlan = nil
            self.realCos = []
            self.realSin = []
        }
    }

    /// Number of bins `rfft` returns: n/2 + 1.
    public var realBins: Int { n / 2 + 1 }

    // MARK: complex transforms on pointers

    /// In-place forward complex FFT. `re` and `im` must each hold at least n values.
    public func forward(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(re.count >= n && im.count >= n, "FFTPlan.forward: buffers hold \(re.count)/\(im.count) values, plan needs \(n)")
        transform(re.baseAddress!, im.baseAddress!, inverse: false)
    }

    /// In-place inverse complex FFT, scaled by 1/n so that it undoes `forward`.
    public func inverse(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(re.count >= n && im.count >= n, "FFTPlan.inverse: buffers hold \(re.count)/\(im.count) values, plan needs \(n)")
        transform(re.baseAddress!, im.baseAddress!, inverse: true)
        let scale = 1 / Float(n)
        let r = re.baseAddress!, i = im.baseAddress!
        for k in 0..<n { r[k] *= scale; i[k] *= scale }
    }

    // MARK: complex transforms on arrays

    public func forward(re: inout [Float], im: inout [Float]) {
        re.withUnsafeMutableBufferPointer { r in
            im.withUnsafeMutableBufferPointer { i in forward(re: r, im: i) }
        }
    }

    public func inverse(re: inout [Float], im: inout [Float]) {
        re.withUnsafeMutableBufferPointer { r in
            im.withUnsafeMutableBufferPointer { i in inverse(re: r, im: i) }
        }
    }

    // MARK: real transforms

    /// Forward FFT of a real signal of length n: bins 0...n/2.
    public func rfft(_ x: [Float]) -> (re: [Float], im: [Float]) {
        precondition(x.count == n, "FFTPlan.rfft: input has \(x.count) samples, plan is for \(n)")
        var re = [Float](repeating: 0, count: n / 2 + 1)
        var im = [Float](repeating: 0, count: n / 2 + 1)
        x.withUnsafeBufferPointer { xp in
            re.withUnsafeMutableBufferPointer { r in
                im.withUnsafeMutableBufferPointer { i in rfft(xp, re: r, im: i) }
            }
        }
        return (re, im)
    }

    /// Inverse of `rfft`: n/2 + 1 bins back to n real samples.
    public func irfft(re: [Float], im: [Float]) -> [Float] {
        precondition(re.count == n / 2 + 1 && im.count == n / 2 + 1,
                     "FFTPlan.irfft: got \(re.count)/\(im.count) bins, plan for n=\(n) needs \(n / 2 + 1)")
        var r = re, i = im   // the pointer version works in place on its inputs
        var out = [Float](repeating: 0, count: n)
        r.withUnsafeMutableBufferPointer { rp in
            i.withUnsafeMutableBufferPointer { ip in
                out.withUnsafeMutableBufferPointer { op in irfft(re: rp, im: ip, output: op) }
            }
        }
        return out
    }

    /// Allocation-free real forward FFT: `input` holds n samples; `re` and `im` receive
    /// n/2 + 1 bins each (they must hold at least that many).
    public func rfft(_ input: UnsafeBufferPointer<Float>,
                     re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(n >= 2, "FFTPlan.rfft needs n >= 2 (plan has n=\(n))")
        precondition(input.count >= n && re.count >= n / 2 + 1 && im.count >= n / 2 + 1,
                     "FFTPlan.rfft: buffers too small for n=\(n)")
        let half = n / 2
        let x = input.baseAddress!, zr = re.baseAddress!, zi = im.baseAddress!
        // Pack even samples as real parts and odd samples as imaginary parts: z[k] = x[2k] + i·x[2k+1].
        for k in 0..<half { zr[k] = x[2 * k]; zi[k] = x[2 * k + 1] }
        halfPlan!.transform(zr, zi, inverse: false)

        // Split pass. With Z = FFT_{n/2}(z):
        //   E[k] = (Z[k] + conj Z[n/2-k]) / 2       (FFT of the even samples)
        //   O[k] = (Z[k] - conj Z[n/2-k]) / (2i)    (FFT of the odd samples)
        //   X[k] = E[k] + W^k O[k],   X[n/2-k] = conj(E[k] - W^k O[k]),   W = exp(-2πi/n)
        // Bins k and n/2-k are computed together, so the pass runs in place.
        let z0r = zr[0], z0i = zi[0]
        zr[0] = z0r + z0i; zi[0] = 0
        zr[half] = z0r - z0i; zi[half] = 0
        if half >= 2 {
            realCos.withUnsafeBufferPointer { cb in
                realSin.withUnsafeBufferPointer { sb in
                    let wc = cb.baseAddress!, ws = sb.baseAddress!
                    for k in 1...(half / 2) {
                        let m = half - k
                        let ar = zr[k], ai = zi[k], br = zr[m], bi = zi[m]
                        let er = 0.5 * (ar + br), ei = 0.5 * (ai - bi)
                        let or = 0.5 * (ai + bi), oi = -0.5 * (ar - br)
                        let tr = wc[k] * or - ws[k] * oi
                        let ti = wc[k] * oi + ws[k] * or
                        zr[k] = er + tr; zi[k] = ei + ti
                        zr[m] = er - tr; zi[m] = -(ei - ti)
                    }
                }
            }
        }
    }

    /// Allocation-free real inverse FFT: `re` and `im` hold n/2 + 1 bins and are overwritten
    /// (used as scratch); `output` receives n samples.
    public func irfft(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>,
                      output: UnsafeMutableBufferPointer<Float>) {
        precondition(n >= 2, "FFTPlan.irfft needs n >= 2 (plan has n=\(n))")
        precondition(output.count >= n && re.count >= n / 2 + 1 && im.count >= n / 2 + 1,
                     "FFTPlan.irfft: buffers too small for n=\(n)")
        let half = n / 2
        let zr = re.baseAddress!, zi = im.baseAddress!, y = output.baseAddress!
        // Undo the split pass: E[k] = (X[k] + conj X[n/2-k]) / 2, O[k] = (X[k] - conj X[n/2-k]) / 2 · conj(W^k),
        // Z[k] = E[k] + i·O[k] and Z[n/2-k] = conj E[k] + i·conj O[k]. DC and Nyquist are real.
        let x0 = zr[0], xh = zr[half]
        let e0 = 0.5 * (x0 + xh), o0 = 0.5 * (x0 - xh)
        zr[0] = e0; zi[0] = o0
        if half >= 2 {
            realCos.withUnsafeBufferPointer { cb in
                realSin.withUnsafeBufferPointer { sb in
                    let wc = cb.baseAddress!, ws = sb.baseAddress!
                    for k in 1...(half / 2) {
                        let m = half - k
                        let ar = zr[k], ai = zi[k], br = zr[m], bi = zi[m]
                        let er = 0.5 * (ar + br), ei = 0.5 * (ai - bi)
                        let dr = 0.5 * (ar - br), di = 0.5 * (ai + bi)
                        // O = D · conj(W^k), conj(W^k) = (wc, -ws)
                        let or = dr * wc[k] + di * ws[k]
                        let oi = di * wc[k] - dr * ws[k]
                        zr[k] = er - oi; zi[k] = ei + or
                        zr[m] = er + oi; zi[m] = or - ei
                    }
                }
            }
        }
        halfPlan!.transform(zr, zi, inverse: true)
        let scale = 1 / Float(half)
        for k in 0..<half { y[2 * k] = zr[k] * scale; y[2 * k + 1] = zi[k] * scale }
    }

    // MARK: kernel

    /// Unscaled in-place transform on n complex values.
    /// `inverse` flips the sign of the twiddle angles; the caller applies 1/n.
    func transform(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, inverse: Bool) {
        if n == 1 { return }
        swaps.withUnsafeBufferPointer { sp in
            let p = sp.baseAddress!
            var s = 0
            while s < sp.count {
                let a = Int(p[s]), b = Int(p[s + 1])
                let tr = re[a]; re[a] = re[b]; re[b] = tr
                let ti = im[a]; im[a] = im[b]; im[b] = ti
                s += 2
            }
        }
        // Stage with half-size 1: butterflies with twiddle 1, no multiplies.
        var i = 0
        while i < n {
            let ar = re[i], ai = im[i], br = re[i + 1], bi = im[i + 1]
            re[i] = ar + br; im[i] = ai + bi
            re[i + 1] = ar - br; im[i + 1] = ai - bi
            i += 2
        }
        let sign: Float = inverse ? -1 : 1
        stageCos.withUnsafeBufferPointer { cb in
            stageSin.withUnsafeBufferPointer { sb in
                var half = 2
                while half < n {
                    let wc = cb.baseAddress! + (half - 1)
                    let ws = sb.baseAddress! + (half - 1)
                    let size = 2 * half
                    var start = 0
                    while start < n {
                        let ur = re + start, ui = im + start
                        let vr = ur + half, vi = ui + half
                        for k in 0..<half {
                            let c = wc[k], s = sign * ws[k]
                            let tr = c * vr[k] - s * vi[k]
                            let ti = c * vi[k] + s * vr[k]
                            let xr = ur[k], xi = ui[k]
                            ur[k] = xr + tr; ui[k] = xi + ti
                            vr[k] = xr - tr; vi[k] = xi - ti
                        }
                        start += size
                    }
                    half = size
                }
            }
        }
    }
}
