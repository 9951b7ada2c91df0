// FFT.swift: fast Fourier transforms written in Swift, with no C library behind it.
// Complex transforms are iterative decimation-in-time Cooley–Tukey (Cooley & Tukey 1965) on
// split real/imaginary arrays. Real transforms of length n run as one complex transform of
// length n/2 on the even/odd samples packed as re/im, then one split pass (the "two for one"
// trick in Numerical Recipes §12.3 / Sorensen et al. 1987), so rfft costs about half a complex FFT.
//
// Two kernels compute the same transform:
//   • the reference: plain radix-2 (a bit-reversal pass, then log2(n) butterfly passes), kept
//     as the definition the fast kernel is tested and timed against (`reference*` below);
//   • the fast kernel, for complex lengths n ≥ 16, vectorised with SIMD4<Float>. Lane i of
//     vector element u holds z[4u + i], so the 4 lanes run 4 interleaved FFTs of length n/4
//     (the decimated sequences z[4u + i]) with identical twiddles and no shuffles: radix-4
//     decimation-in-time passes, the first fused with the bit reversal (it gathers its inputs),
//     and one closing radix-2 pass when log2(n/4) is odd. A last radix-4 pass combines the 4 lane
//     FFTs, X[k + p·n/4] = Σ_i W_n^{ik} (−i)^{ip} Y_i[k], reading each 4×4 block transposed so it
//     can write X in natural order. Twiddles are stored in the order the passes read them.
//     (Transposes are done right after loads: Swift's lane shuffles applied to arithmetic results
//     lead LLVM to scalarise the arithmetic.) rfft fuses its packing and an optional window into
//     the first pass; irfft fuses its unpacking, scaling and, for STFT, the window and the
//     overlap-add into the combining pass.
// Where the CPU has AVX, the butterfly passes between the first and the combining pass run in C
// (CKernels' fft.c), two of these four-lane butterflies per eight-lane instruction, with the same
// operations per lane and so the same bits (`gk_fft_force_portable` compares the two in the tests).
// The inverse complex transform is the forward one on swapped re/im: swap(z) = i·conj(z), so
// swap(FFT(swap(z))) = conj(FFT(conj z)) = n·IFFT(z), and one set of twiddles serves both.
//
// Conventions (the same as numpy.fft):
//   forward:  X[k] = Σ_j x[j] · exp(-2πi·jk/n)
//   inverse:  x[j] = (1/n) Σ_k X[k] · exp(+2πi·jk/n)   so inverse(forward(x)) == x
//   rfft gives bins 0...n/2 (n/2 + 1 of them); irfft ignores the imaginary part of bins 0 and n/2.

import Base
import CKernels
import Foundation

/// A precomputed plan for transforms of one power-of-two length.
/// Everything is computed in `init` and never changes, so one plan may be shared by any number
/// of threads at once; the transforms only touch the buffers passed to them.
public final class FFTPlan: Sendable {
    /// Complex transform length.
    public let n: Int
    public let log2n: Int

    // Reference kernel. Twiddles for every butterfly stage, stored stage after stage so each
    // stage reads a contiguous run: the stage with half-size h uses entries [h-1, 2h-1), entry
    // h-1+k being exp(-2πi·k/(2h)). n-1 entries in all.
    private let stageCos: [Float]   // (n - 1)
    private let stageSin: [Float]   // (n - 1), holds -sin so the forward transform adds it
    // Swap pairs (i, j) with i < j of the bit-reversal permutation, flattened.
    private let swaps: [Int32]      // (2 · number of pairs)

    // Fast kernel (empty below `fastMinimum`), in vector elements of 4 complex values, M = n/4.
    // The first pass's block b reads elements r, r + M/4, r + M/2, r + 3M/4 with
    // r = firstPassSources[b] = bitreverse_{log2 M - 2}(b).
    private let firstPassSources: [Int]          // (M/4)
    // Radix-4 passes with quarter sizes 4, 16, ... elements, then the closing radix-2 pass if
    // log2 M is odd. Per butterfly k a radix-4 pass reads 6 vectors, (cos, sin) of W^2k, W^k,
    // W^3k with W = exp(-2πi/4q), each broadcast to all lanes; the radix-2 pass reads 2.
    private let passTwiddles: [SIMD4<Float>]
    private let radix4Passes: Int
    private let closingRadix2: Bool
    // The combining pass: per 4 bins k..k+3, (cos, sin) of W_n^k, W_n^2k, W_n^3k.
    private let combineTwiddles: [SIMD4<Float>]  // (6 · M/4)

    // Real-transform support: a complex plan of length n/2 and the split-pass twiddles
    // exp(-2πi·k/n) for k in 0..<n/2. Nil when n < 2.
    private let halfPlan: FFTPlan?
    private let realCos: [Float]    // (n/2)
    private let realSin: [Float]    // (n/2), holds -sin

    /// Complex lengths from which the fast kernel runs; shorter ones use the reference kernel.
    static let fastMinimum = 16
    var isFast: Bool { n >= FFTPlan.fastMinimum }

    /// The process's one plan of length `n` (a power of two), built on first use and kept: a plan's
    /// twiddles cost n sines and cosines, and the pitch tracker and each STFT built one per call
    /// (about 0.4 ms of a one-sentence `gen speech`, measured). Plans are immutable, so one serves
    /// every thread; a shared plan computes exactly what a new one would.
    public static func shared(n: Int) -> FFTPlan { plans.value(n) { FFTPlan(n: n) } }

    private static let plans = Memo<Int, FFTPlan>()

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
            let r = FFTPlan.bitReverse(i, bits: bits)
            if i < r { pairs.append(Int32(i)); pairs.append(Int32(r)) }
        }
        self.swaps = pairs

        if n >= FFTPlan.fastMinimum {
            let m = n / 4, mBits = bits - 2
            self.firstPassSources = (0..<(m / 4)).map { FFTPlan.bitReverse($0, bits: mBits - 2) }
            // (cos, sin) of exp(-2πi·j·k/period) for k = k0..<k0+4, or for k0 alone broadcast.
            func lanes(_ k0: Int, _ j: Int, _ period: Int) -> [SIMD4<Float>] {
                let angles = (0..<4).map { -2 * Double.pi * Double(j * (k0 + $0)) / Double(period) }
                return [SIMD4(angles.map { Float(cos($0)) }), SIMD4(angles.map { Float(sin($0)) })]
            }
            func broadcast(_ k: Int, _ j: Int, _ period: Int) -> [SIMD4<Float>] {
                let angle = -2 * Double.pi * Double(j * k) / Double(period)
                return [SIMD4(repeating: Float(cos(angle))), SIMD4(repeating: Float(sin(angle)))]
            }
            var tw: [SIMD4<Float>] = []
            let passes = (mBits - 2) / 2
            var q = 4
            for _ in 0..<passes {
                for k in 0..<q { for j in [2, 1, 3] { tw += broadcast(k, j, 4 * q) } }
                q *= 4
            }
            let closing = mBits % 2 == 1
            if closing {
                for k in 0..<(m / 2) { tw += broadcast(k, 1, m) }
            }
            self.radix4Passes = passes
            self.closingRadix2 = closing
            self.passTwiddles = tw
            self.combineTwiddles = stride(from: 0, to: m, by: 4).flatMap { k0 in
                [1, 2, 3].flatMap { lanes(k0, $0, n) }
            }
        } else {
            self.firstPassSources = []
            self.passTwiddles = []
            self.radix4Passes = 0
            self.closingRadix2 = false
            self.combineTwiddles = []
        }

        if n >= 2 {
            self.halfPlan = FFTPlan.shared(n: n / 2)
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

    private static func bitReverse(_ i: Int, bits: Int) -> Int {
        var r = 0, v = i
        for _ in 0..<bits { r = (r << 1) | (v & 1); v >>= 1 }
        return r
    }

    /// Number of bins `rfft` returns: n/2 + 1.
    public var realBins: Int { n / 2 + 1 }

    // MARK: complex transforms on pointers

    /// In-place forward complex FFT. `re` and `im` must each hold at least n values.
    public func forward(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(re.count >= n && im.count >= n, "FFTPlan.forward: buffers hold \(re.count)/\(im.count) values, plan needs \(n)")
        let r = re.baseAddress!, i = im.baseAddress!
        if isFast {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { temp in
                fastForward(re: r, im: i, toRe: r, toIm: i, temp: temp.baseAddress!)
            }
        } else {
            transform(r, i, inverse: false)
        }
    }

    /// In-place inverse complex FFT, scaled by 1/n so that it undoes `forward`.
    public func inverse(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(re.count >= n && im.count >= n, "FFTPlan.inverse: buffers hold \(re.count)/\(im.count) values, plan needs \(n)")
        let r = re.baseAddress!, i = im.baseAddress!
        if isFast {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { temp in
                fastForward(re: i, im: r, toRe: i, toIm: r, temp: temp.baseAddress!)   // swapped: see the file header
            }
        } else {
            transform(r, i, inverse: true)
        }
        scale(r, i, by: 1 / Float(n))
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

    /// Real forward FFT: `input` holds n samples; `re` and `im` receive n/2 + 1 bins each (they
    /// must hold at least that many). The fast kernel needs n values of scratch, taken from
    /// withUnsafeTemporaryAllocation (the heap, above 1 KiB, on Linux); STFT passes its own.
    public func rfft(_ input: UnsafeBufferPointer<Float>,
                     re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(n >= 2, "FFTPlan.rfft needs n >= 2 (plan has n=\(n))")
        precondition(input.count >= n && re.count >= n / 2 + 1 && im.count >= n / 2 + 1,
                     "FFTPlan.rfft: buffers too small for n=\(n)")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { temp in
            rfft(input.baseAddress!, window: nil, re: re.baseAddress!, im: im.baseAddress!, temp: temp.baseAddress!)
        }
    }

    /// Allocation-free real inverse FFT: `re` and `im` hold n/2 + 1 bins and are overwritten
    /// (used as scratch, as is `output` before it receives the n samples).
    public func irfft(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>,
                      output: UnsafeMutableBufferPointer<Float>) {
        precondition(n >= 2, "FFTPlan.irfft needs n >= 2 (plan has n=\(n))")
        precondition(output.count >= n && re.count >= n / 2 + 1 && im.count >= n / 2 + 1,
                     "FFTPlan.irfft: buffers too small for n=\(n)")
        // The output doubles as the temporary: the last pass reads only the work buffers.
        irfft(re: re.baseAddress!, im: im.baseAddress!, temp: output.baseAddress!,
              workRe: re.baseAddress!, workIm: im.baseAddress!, output: output.baseAddress!, addWindowed: nil)
    }

    // MARK: real transforms for STFT (unchecked, internal)

    /// rfft of x[j]·window[j] (or of x when `window` is nil): n samples in, n/2 + 1 bins out.
    /// `temp` holds n values of scratch.
    func rfft(_ x: UnsafePointer<Float>, window: UnsafePointer<Float>?,
              re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, temp: UnsafeMutablePointer<Float>) {
        guard let h = halfPlan, h.isFast else {
            for j in 0..<n { temp[j] = window.map { x[j] * $0[j] } ?? x[j] }
            referenceRFFT(UnsafeBufferPointer(start: temp, count: n),
                          re: UnsafeMutableBufferPointer(start: re, count: n / 2 + 1),
                          im: UnsafeMutableBufferPointer(start: im, count: n / 2 + 1))
            return
        }
        let half = n / 2
        if let w = window {
            h.firstPass(WindowedRealSource(x: x, window: w), into: temp, temp + half)
        } else {
            h.firstPass(RealSource(x: x), into: temp, temp + half)
        }
        h.butterflyPasses(temp, temp + half)
        h.combinePass(temp, temp + half, into: SplitSink(re: re, im: im))
        splitPass(re, im)
    }

    /// irfft of the n/2 + 1 bins in (re, im), which are only read. The transform runs in `temp`
    /// (n values; may be the output itself when `addWindowed` is nil) and `work` (n/2 + n/2
    /// values; may be re and im themselves).
    /// With `addWindowed` nil, output[j] = y[j]; otherwise output[j] += y[j]·n/2·addWindowed[j],
    /// that is, the window passed must already carry irfft's 1/(n/2).
    func irfft(re: UnsafePointer<Float>, im: UnsafePointer<Float>, temp: UnsafeMutablePointer<Float>,
               workRe: UnsafeMutablePointer<Float>, workIm: UnsafeMutablePointer<Float>,
               output y: UnsafeMutablePointer<Float>, addWindowed window: UnsafePointer<Float>?) {
        let half = n / 2
        guard let h = halfPlan, h.isFast else {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * (half + 1)) { bins in   // short plans only
                let br = bins.baseAddress!, bi = br + half + 1
                br.update(from: re, count: half + 1)
                bi.update(from: im, count: half + 1)
                referenceIRFFT(re: UnsafeMutableBufferPointer(start: br, count: half + 1),
                               im: UnsafeMutableBufferPointer(start: bi, count: half + 1),
                               output: UnsafeMutableBufferPointer(start: temp, count: n))
            }
            if let w = window {
                for j in 0..<n { y[j] += temp[j] * Float(half) * w[j] }
            } else if temp != y {
                y.update(from: temp, count: n)
            }
            return
        }
        let zr = temp, zi = temp + half
        inverseSplitPass(re, im, toRe: zr, toIm: zi)
        // The inverse complex transform is the forward one on swapped re/im (file header); its
        // last pass writes the samples, y[2k] = z[k].re and y[2k+1] = z[k].im, scaled.
        h.firstPass(ComplexSource(re: zi, im: zr), into: workIm, workRe)
        h.butterflyPasses(workIm, workRe)
        if let w = window {
            h.combinePass(workIm, workRe, into: SwappedSink(InterleavedAddSink(y: y, window: w)))
        } else {
            h.combinePass(workIm, workRe, into: SwappedSink(InterleavedSink(y: y, scale: 1 / Float(half))))
        }
    }

    // MARK: fast kernel

    /// Forward complex transform (unscaled), natural order in and out: (re, im) → (toRe, toIm),
    /// which may be the same buffers; `temp` (2n values) must not overlap them.
    private func fastForward(re: UnsafePointer<Float>, im: UnsafePointer<Float>,
                             toRe: UnsafeMutablePointer<Float>, toIm: UnsafeMutablePointer<Float>,
                             temp: UnsafeMutablePointer<Float>) {
        firstPass(ComplexSource(re: re, im: im), into: temp, temp + n)
        butterflyPasses(temp, temp + n)
        combinePass(temp, temp + n, into: SplitSink(re: toRe, im: toIm))
    }

    /// The first radix-4 pass of the lane FFTs (length M = n/4, twiddles all 1), gathering its
    /// inputs so that it also does the bit reversal: block b's butterfly reads elements
    /// r + {0, M/2, M/4, 3M/4}, r = bitreverse(b), and writes elements 4b..<4b+4 of (tr, ti).
    @inline(__always)
    private func firstPass<Source: VectorSource>(_ source: Source, into tr: UnsafeMutablePointer<Float>,
                                                 _ ti: UnsafeMutablePointer<Float>) {
        let m = n / 4
        firstPassSources.withUnsafeBufferPointer { sources in
            for b in 0..<sources.count {
                let r = sources[b]
                let (a0r, a0i) = source.element(r), (a1r, a1i) = source.element(r + m / 2)
                let (a2r, a2i) = source.element(r + m / 4), (a3r, a3i) = source.element(r + 3 * m / 4)
                let sr = a0r + a1r, si = a0i + a1i, dr = a0r - a1r, di = a0i - a1i
                let ur = a2r + a3r, ui = a2i + a3i, vr = a2r - a3r, vi = a2i - a3i
                let o = 16 * b
                store4(sr + ur, tr + o); store4(si + ui, ti + o)
                store4(dr + vi, tr + o + 4); store4(di - vr, ti + o + 4)
                store4(sr - ur, tr + o + 8); store4(si - ui, ti + o + 8)
                store4(dr - vi, tr + o + 12); store4(di + vr, ti + o + 12)
            }
        }
    }

    /// The remaining passes of the lane FFTs, in place: eight lanes wide in C where the CPU has AVX
    /// (CKernels' fft.c: two of these butterflies per instruction, the same operations per lane, so
    /// the same bits), these four-lane ones elsewhere.
    private func butterflyPasses(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>) {
        let wide = gk_fft_wide() != 0
        passTwiddles.withUnsafeBufferPointer { tb in
            var tw = tb.baseAddress!
            var q = 4
            for _ in 0..<radix4Passes {
                if wide {   // q is a power of 4: even
                    gk_fft_radix4_pass(re, im, n / 4, q, UnsafeRawPointer(tw).assumingMemoryBound(to: Float.self))
                } else {
                    radix4Pass(re, im, quarter: q, tw)
                }
                tw += 6 * q
                q *= 4
            }
            if closingRadix2 {   // n ≥ 16 here, so the half size n/8 is even
                if wide { gk_fft_radix2_pass(re, im, n / 8, UnsafeRawPointer(tw).assumingMemoryBound(to: Float.self)) } else { radix2Pass(re, im, half: n / 8, tw) }
            }
        }
    }

    /// Two radix-2 stages (half-sizes q and 2q, in elements) at once. For block offset b and
    /// k < q, with a_j = element b + k + j·q and W = exp(-2πi/4q): t1 = W^2k a1, t2 = W^k a2,
    /// t3 = W^3k a3; element b+k ← a0 + t1 + (t2 + t3), b+k+2q ← a0 + t1 − (t2 + t3),
    /// b+k+q ← a0 − t1 − i(t2 − t3), b+k+3q ← a0 − t1 + i(t2 − t3).
    @inline(__always)
    private func radix4Pass(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>,
                            quarter q: Int, _ twiddles: UnsafePointer<SIMD4<Float>>) {
        let m = n / 4, stride = 4 * q   // floats between a_j and a_j+1
        var base = 0
        while base < m {
            var xr = re + 4 * base, xi = im + 4 * base, w = twiddles
            for _ in 0..<q {
                let a0r = load4(xr), a0i = load4(xi)
                let a1r = load4(xr + stride), a1i = load4(xi + stride)
                let a2r = load4(xr + 2 * stride), a2i = load4(xi + 2 * stride)
                let a3r = load4(xr + 3 * stride), a3i = load4(xi + 3 * stride)
                let c1 = w[0], s1 = w[1], c2 = w[2], s2 = w[3], c3 = w[4], s3 = w[5]
                let t1r = a1r * c1 - a1i * s1, t1i = a1r * s1 + a1i * c1
                let t2r = a2r * c2 - a2i * s2, t2i = a2r * s2 + a2i * c2
                let t3r = a3r * c3 - a3i * s3, t3i = a3r * s3 + a3i * c3
                let sr = a0r + t1r, si = a0i + t1i, dr = a0r - t1r, di = a0i - t1i
                let ur = t2r + t3r, ui = t2i + t3i, vr = t2r - t3r, vi = t2i - t3i
                store4(sr + ur, xr); store4(si + ui, xi)
                store4(dr + vi, xr + stride); store4(di - vr, xi + stride)
                store4(sr - ur, xr + 2 * stride); store4(si - ui, xi + 2 * stride)
                store4(dr - vi, xr + 3 * stride); store4(di + vr, xi + 3 * stride)
                xr += 4; xi += 4; w += 6
            }
            base += 4 * q
        }
    }

    /// One radix-2 stage over all M elements, half-size h = M/2: element k, k+h ← a ± W^k b.
    @inline(__always)
    private func radix2Pass(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>,
                            half h: Int, _ twiddles: UnsafePointer<SIMD4<Float>>) {
        let stride = 4 * h
        var xr = re, xi = im, w = twiddles
        for _ in 0..<h {
            let ar = load4(xr), ai = load4(xi)
            let br = load4(xr + stride), bi = load4(xi + stride)
            let c = w[0], s = w[1]
            let tr = br * c - bi * s, ti = br * s + bi * c
            store4(ar + tr, xr); store4(ai + ti, xi)
            store4(ar - tr, xr + stride); store4(ai - ti, xi + stride)
            xr += 4; xi += 4; w += 2
        }
    }

    /// Combines the 4 lane FFTs Y_i (lane i of element k is Y_i[k]) into X, natural order, out of
    /// place: X[k + p·M] = Σ_i b_i (−i)^{ip} with b_i = W_n^{ik} Y_i[k]. Each 4×4 block of
    /// elements k..k+3 is transposed as it is loaded, giving vectors over k; `sink` stores them.
    @inline(__always)
    private func combinePass<Sink: VectorSink>(_ yr: UnsafePointer<Float>, _ yi: UnsafePointer<Float>, into sink: Sink) {
        let m = n / 4
        combineTwiddles.withUnsafeBufferPointer { tb in
            var w = tb.baseAddress!
            var k = 0
            while k < m {
                let p = 4 * k
                let (b0r, y1r, y2r, y3r) = transpose(load4(yr + p), load4(yr + p + 4), load4(yr + p + 8), load4(yr + p + 12))
                let (b0i, y1i, y2i, y3i) = transpose(load4(yi + p), load4(yi + p + 4), load4(yi + p + 8), load4(yi + p + 12))
                let c1 = w[0], s1 = w[1], c2 = w[2], s2 = w[3], c3 = w[4], s3 = w[5]
                let b1r = y1r * c1 - y1i * s1, b1i = y1r * s1 + y1i * c1
                let b2r = y2r * c2 - y2i * s2, b2i = y2r * s2 + y2i * c2
                let b3r = y3r * c3 - y3i * s3, b3i = y3r * s3 + y3i * c3
                let sr = b0r + b2r, si = b0i + b2i, dr = b0r - b2r, di = b0i - b2i
                let ur = b1r + b3r, ui = b1i + b3i, vr = b1r - b3r, vi = b1i - b3i
                sink.store(sr + ur, si + ui, at: k)
                sink.store(dr + vi, di - vr, at: k + m)
                sink.store(sr - ur, si - ui, at: k + 2 * m)
                sink.store(dr - vi, di + vr, at: k + 3 * m)
                k += 4
                w += 6
            }
        }
    }

    /// rfft's split pass, in place, vectorised: Z = FFT_{n/2}(z) in bins 0..<n/2 becomes X in 0...n/2.
    /// The formulas are those of `referenceRFFT`; lanes k..k+3 pair with the reversed lanes
    /// n/2-k-3...n/2-k.
    private func splitPass(_ zr: UnsafeMutablePointer<Float>, _ zi: UnsafeMutablePointer<Float>) {
        let half = n / 2
        let z0r = zr[0], z0i = zi[0]
        zr[0] = z0r + z0i; zi[0] = 0
        zr[half] = z0r - z0i; zi[half] = 0
        realCos.withUnsafeBufferPointer { cb in
            realSin.withUnsafeBufferPointer { sb in
                let wc = cb.baseAddress!, ws = sb.baseAddress!
                var k = 1
                while k + 3 < half / 2 {
                    let m = half - k - 3
                    let ar = load4(zr + k), ai = load4(zi + k)
                    let br = reversed(load4(zr + m)), bi = reversed(load4(zi + m))
                    let er = 0.5 * (ar + br), ei = 0.5 * (ai - bi)
                    let or = 0.5 * (ai + bi), oi = -0.5 * (ar - br)
                    let c = load4(wc + k), s = load4(ws + k)
                    let tr = c * or - s * oi
                    let ti = c * oi + s * or
                    store4(er + tr, zr + k); store4(ei + ti, zi + k)
                    store4(reversed(er - tr), zr + m); store4(reversed(ti - ei), zi + m)
                    k += 4
                }
                while k <= half / 2 {
                    let m = half - k
                    let ar = zr[k], ai = zi[k], br = zr[m], bi = zi[m]
                    let er = 0.5 * (ar + br), ei = 0.5 * (ai - bi)
                    let or = 0.5 * (ai + bi), oi = -0.5 * (ar - br)
                    let tr = wc[k] * or - ws[k] * oi
                    let ti = wc[k] * oi + ws[k] * or
                    zr[k] = er + tr; zi[k] = ei + ti
                    zr[m] = er - tr; zi[m] = ti - ei
                    k += 1
                }
            }
        }
    }

    /// irfft's split pass undone, out of place: n/2 + 1 bins X → Z in 0..<n/2 (see `referenceIRFFT`).
    private func inverseSplitPass(_ xr: UnsafePointer<Float>, _ xi: UnsafePointer<Float>,
                                  toRe zr: UnsafeMutablePointer<Float>, toIm zi: UnsafeMutablePointer<Float>) {
        let half = n / 2
        let x0 = xr[0], xh = xr[half]
        zr[0] = 0.5 * (x0 + xh); zi[0] = 0.5 * (x0 - xh)
        realCos.withUnsafeBufferPointer { cb in
            realSin.withUnsafeBufferPointer { sb in
                let wc = cb.baseAddress!, ws = sb.baseAddress!
                var k = 1
                while k + 3 < half / 2 {
                    let m = half - k - 3
                    let ar = load4(xr + k), ai = load4(xi + k)
                    let br = reversed(load4(xr + m)), bi = reversed(load4(xi + m))
                    let er = 0.5 * (ar + br), ei = 0.5 * (ai - bi)
                    let dr = 0.5 * (ar - br), di = 0.5 * (ai + bi)
                    let c = load4(wc + k), s = load4(ws + k)
                    let or = dr * c + di * s
                    let oi = di * c - dr * s
                    store4(er - oi, zr + k); store4(ei + or, zi + k)
                    store4(reversed(er + oi), zr + m); store4(reversed(or - ei), zi + m)
                    k += 4
                }
                while k <= half / 2 {
                    let m = half - k
                    let ar = xr[k], ai = xi[k], br = xr[m], bi = xi[m]
                    let er = 0.5 * (ar + br), ei = 0.5 * (ai - bi)
                    let dr = 0.5 * (ar - br), di = 0.5 * (ai + bi)
                    let or = dr * wc[k] + di * ws[k]
                    let oi = di * wc[k] - dr * ws[k]
                    zr[k] = er - oi; zi[k] = ei + or
                    zr[m] = er + oi; zi[m] = or - ei
                    k += 1
                }
            }
        }
    }

    private func scale(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, by s: Float) {
        for k in 0..<n { re[k] *= s; im[k] *= s }
    }

    private func permute(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>) {
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
    }

    // MARK: reference kernel

    /// The plain radix-2 forward complex FFT in place (unscaled), the definition the fast kernel
    /// is tested and timed against. Same contract as `forward(re:im:)`.
    public func referenceForward(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(re.count >= n && im.count >= n, "FFTPlan.referenceForward: buffers hold \(re.count)/\(im.count) values, plan needs \(n)")
        transform(re.baseAddress!, im.baseAddress!, inverse: false)
    }

    /// The plain radix-2 inverse complex FFT in place, scaled by 1/n. Same contract as `inverse(re:im:)`.
    public func referenceInverse(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(re.count >= n && im.count >= n, "FFTPlan.referenceInverse: buffers hold \(re.count)/\(im.count) values, plan needs \(n)")
        transform(re.baseAddress!, im.baseAddress!, inverse: true)
        scale(re.baseAddress!, im.baseAddress!, by: 1 / Float(n))
    }

    /// The real forward FFT on the reference kernel. Same contract as `rfft(_:re:im:)`.
    public func referenceRFFT(_ input: UnsafeBufferPointer<Float>,
                              re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>) {
        precondition(n >= 2, "FFTPlan.referenceRFFT needs n >= 2 (plan has n=\(n))")
        precondition(input.count >= n && re.count >= n / 2 + 1 && im.count >= n / 2 + 1,
                     "FFTPlan.referenceRFFT: buffers too small for n=\(n)")
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

    /// The real inverse FFT on the reference kernel. Same contract as `irfft(re:im:output:)`.
    public func referenceIRFFT(re: UnsafeMutableBufferPointer<Float>, im: UnsafeMutableBufferPointer<Float>,
                               output: UnsafeMutableBufferPointer<Float>) {
        precondition(n >= 2, "FFTPlan.referenceIRFFT needs n >= 2 (plan has n=\(n))")
        precondition(output.count >= n && re.count >= n / 2 + 1 && im.count >= n / 2 + 1,
                     "FFTPlan.referenceIRFFT: buffers too small for n=\(n)")
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

    /// Reference kernel: unscaled in-place transform on n complex values.
    /// `inverse` flips the sign of the twiddle angles; the caller applies 1/n.
    func transform(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, inverse: Bool) {
        if n == 1 { return }
        permute(re, im)
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

// MARK: first-pass sources

/// Where the fast kernel's first pass reads vector element u (lanes z[4u ..< 4u + 4]) from.
protocol VectorSource {
    func element(_ u: Int) -> (re: SIMD4<Float>, im: SIMD4<Float>)
}

/// A complex signal in split re/im arrays.
struct ComplexSource: VectorSource {
    let re: UnsafePointer<Float>, im: UnsafePointer<Float>
    @inline(__always) func element(_ u: Int) -> (re: SIMD4<Float>, im: SIMD4<Float>) {
        (load4(re + 4 * u), load4(im + 4 * u))
    }
}

/// A real signal read as z[k] = x[2k] + i·x[2k+1] (rfft's packing).
struct RealSource: VectorSource {
    let x: UnsafePointer<Float>
    @inline(__always) func element(_ u: Int) -> (re: SIMD4<Float>, im: SIMD4<Float>) {
        let v = load8(x + 8 * u)
        return (v.evenHalf, v.oddHalf)
    }
}

/// A real signal times a window, packed as in `RealSource`.
struct WindowedRealSource: VectorSource {
    let x: UnsafePointer<Float>, window: UnsafePointer<Float>
    @inline(__always) func element(_ u: Int) -> (re: SIMD4<Float>, im: SIMD4<Float>) {
        let v = load8(x + 8 * u) * load8(window + 8 * u)
        return (v.evenHalf, v.oddHalf)
    }
}

// MARK: last-pass sinks

/// Where the fast kernel's combining pass puts X[k ..< k + 4].
protocol VectorSink {
    func store(_ re: SIMD4<Float>, _ im: SIMD4<Float>, at k: Int)
}

/// Split re/im arrays.
struct SplitSink: VectorSink {
    let re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>
    @inline(__always) func store(_ r: SIMD4<Float>, _ i: SIMD4<Float>, at k: Int) {
        store4(r, re + k); store4(i, im + k)
    }
}

/// irfft's unpacking: y[2k] = scale·re, y[2k+1] = scale·im.
struct InterleavedSink: VectorSink {
    let y: UnsafeMutablePointer<Float>, scale: Float
    @inline(__always) func store(_ r: SIMD4<Float>, _ i: SIMD4<Float>, at k: Int) {
        store8(interleaved(r, i) * scale, y + 2 * k)
    }
}

/// irfft's unpacking for overlap-add: y[j] += value·window[j] (the window carries the scale).
struct InterleavedAddSink: VectorSink {
    let y: UnsafeMutablePointer<Float>, window: UnsafePointer<Float>
    @inline(__always) func store(_ r: SIMD4<Float>, _ i: SIMD4<Float>, at k: Int) {
        store8(load8(y + 2 * k) + interleaved(r, i) * load8(window + 2 * k), y + 2 * k)
    }
}

/// For a transform run on swapped re/im: passes (im, re) on.
struct SwappedSink<Inner: VectorSink>: VectorSink {
    let inner: Inner
    init(_ inner: Inner) { self.inner = inner }
    @inline(__always) func store(_ r: SIMD4<Float>, _ i: SIMD4<Float>, at k: Int) { inner.store(i, r, at: k) }
}

// MARK: SIMD helpers

@inline(__always) func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
}

@inline(__always) private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) func store4(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
}

@inline(__always) private func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// (r0, i0, r1, i1, r2, i2, r3, i3).
@inline(__always) private func interleaved(_ r: SIMD4<Float>, _ i: SIMD4<Float>) -> SIMD8<Float> {
    SIMD8(lowHalf: SIMD4(r[0], i[0], r[1], i[1]), highHalf: SIMD4(r[2], i[2], r[3], i[3]))
}

@inline(__always) private func reversed(_ v: SIMD4<Float>) -> SIMD4<Float> { SIMD4(v[3], v[2], v[1], v[0]) }

/// Rows a, b, c, d → columns: the i-th result is (a[i], b[i], c[i], d[i]).
/// Give it freshly loaded vectors (see the file header).
@inline(__always)
private func transpose(_ a: SIMD4<Float>, _ b: SIMD4<Float>, _ c: SIMD4<Float>, _ d: SIMD4<Float>)
    -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
    let abLo = SIMD4(a[0], b[0], a[1], b[1]), abHi = SIMD4(a[2], b[2], a[3], b[3])
    let cdLo = SIMD4(c[0], d[0], c[1], d[1]), cdHi = SIMD4(c[2], d[2], c[3], d[3])
    return (SIMD4(abLo[0], abLo[1], cdLo[0], cdLo[1]), SIMD4(abLo[2], abLo[3], cdLo[2], cdLo[3]),
            SIMD4(abHi[0], abHi[1], cdHi[0], cdHi[1]), SIMD4(abHi[2], abHi[3], cdHi[2], cdHi[3]))
}
