// Spectral.swift — differentiable spectral ops, each forward beside its backward: the STFT
// magnitude (as a conv, the tested reference, and by FFT), the complex STFT and its inverse (the
// iSTFT head of the vocoder and the codec decoder), a polar-to-complex head, the multi-resolution
// STFT loss and the anti-wrapping phase losses (APNet, Ai & Ling 2023).
import DSP
import Foundation

// MARK: - differentiable STFT magnitude

/// Fixed analysis kernels: rows f < F hold w[n]·cos(2πfn/N), rows F + f hold −w[n]·sin(2πfn/N),
/// so a stride-hop conv1d of a signal with them gives the real and imaginary STFT (DSP.STFT's
/// rfft convention and periodic Hann window, without centring).
public final class STFTBasis {
    public let nFFT: Int, hop: Int
    public var bins: Int { nFFT / 2 + 1 }
    /// The conv kernels, built on first use (the FFT path does not need them).
    public private(set) lazy var kernels: Tensor = Self.kernels(nFFT: nFFT)   // (2F, 1, N), constant
    public let plan: FFTPlan
    public let window: [Float]   // (N) periodic Hann

    public init(nFFT: Int, hop: Int? = nil) {
        self.nFFT = nFFT
        self.hop = hop ?? nFFT / 4
        plan = FFTPlan.shared(n: nFFT)
        window = (0..<nFFT).map { Float(0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double($0) / Double(nFFT))) }
    }

    public static func kernels(nFFT: Int) -> Tensor {
        let f = nFFT / 2 + 1
        var k = [Float](repeating: 0, count: 2 * f * nFFT)  // (2F, N)
        for n in 0..<nFFT {
            let w = 0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double(n) / Double(nFFT))
            for b in 0..<f {
                // Reduce the phase index mod N first: exact angles for large b·n.
                let angle = 2 * Double.pi * Double((b * n) % nFFT) / Double(nFFT)
                k[b * nFFT + n] = Float(w * Foundation.cos(angle))
                k[(f + b) * nFFT + n] = Float(-w * Foundation.sin(angle))
            }
        }
        return Tensor(shape: [2 * f, 1, nFFT], data: k)
    }
}

/// |STFT(x)| of x (B, 1, T) → (B, F, S): frame s covers x[s·hop − padding ..< s·hop − padding + N]
/// (zeros outside). Gradients flow to x; the kernels are constants.
public func stftMagnitude(_ x: Tensor, basis: STFTBasis, padding: Int = 0, eps: Float = 1e-7) -> Tensor {
    let spec = conv1d(x, weight: basis.kernels, bias: nil, stride: basis.hop, padding: padding)  // (B, 2F, S)
    return complexMagnitude(spec, eps: eps)
}

/// x (B, 2F, S) holding the real parts in channels 0..<F and the imaginary parts in F..<2F →
/// sqrt(re² + im² + eps), (B, F, S). d/dre = re / |z|, d/dim = im / |z|.
public func complexMagnitude(_ x: Tensor, eps: Float) -> Tensor {
    precondition(x.rank == 3 && x.shape[1] % 2 == 0, "complexMagnitude: expects (B, 2F, S), got \(x.shape)")
    let b = x.shape[0], f = x.shape[1] / 2, s = x.shape[2]
    var out = [Float](repeating: 0, count: b * f * s)  // (B, F, S)
    for bi in 0..<b {
        for i in 0..<(f * s) {
            let re = x.data[bi * 2 * f * s + i], im = x.data[bi * 2 * f * s + f * s + i]
            out[bi * f * s + i] = (re * re + im * im + eps).squareRoot()
        }
    }
    return Tensor.result(shape: [b, f, s], data: out, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in
            for bi in 0..<b {
                for i in 0..<(f * s) {
                    let reIdx = bi * 2 * f * s + i, imIdx = reIdx + f * s
                    let k = g[bi * f * s + i] / out[bi * f * s + i]
                    gx[reIdx] += k * x.data[reIdx]
                    gx[imIdx] += k * x.data[imIdx]
                }
            }
        }
    }
}

/// The same |STFT(x)| as `stftMagnitude` (the reference), by FFT: O(N log N) per frame instead
/// of the conv's O(N²), which made the loss's n_fft 2048 resolution cost more than the model.
/// Backward: dL/dx[n] of a frame = w[n] · Re Σ_f G_f e^{2πifn/N} with G_f = g_f (re_f + i·im_f) / |X_f|,
/// an inverse real FFT of G (bins 0 and N/2 once, the others twice, hence the scaling below).
/// x (B, 1, T) → (B, F, S).
public func stftMagnitudeFFT(_ x: Tensor, basis: STFTBasis, padding: Int = 0, eps: Float = 1e-7) -> Tensor {
    precondition(x.rank == 3 && x.shape[1] == 1, "stftMagnitudeFFT: expects (B, 1, T), got \(x.shape)")
    let b = x.shape[0], length = x.shape[2], n = basis.nFFT, hop = basis.hop, f = basis.bins
    let frames = conv1dOutputLength(length, kernel: n, stride: hop, padding: padding)
    precondition(frames >= 1, "stftMagnitudeFFT: \(length) samples (padding \(padding)) are shorter than n_fft \(n)")
    let plan = basis.plan, window = basis.window
    var re = [Float](repeating: 0, count: b * f * frames)   // (B, F, S), kept for the backward
    var im = re, mag = re
    let xs = x.data
    re.withUnsafeMutableBufferPointer { rp in im.withUnsafeMutableBufferPointer { ip in mag.withUnsafeMutableBufferPointer { mp in
        let rp = rp.baseAddress!, ip = ip.baseAddress!, mp = mp.baseAddress!
        parallelFor(b * frames, minChunk: 8) { range in
            var frame = [Float](repeating: 0, count: n)   // (N)
            for item in range {
                let bi = item / frames, s = item % frames
                let origin = s * hop - padding
                for j in 0..<n {
                    let t = origin + j
                    frame[j] = t >= 0 && t < length ? xs[bi * length + t] * window[j] : 0
                }
                let spec = plan.rfft(frame)
                for k in 0..<f {
                    let o = (bi * f + k) * frames + s
                    rp[o] = spec.re[k]; ip[o] = spec.im[k]
                    mp[o] = (spec.re[k] * spec.re[k] + spec.im[k] * spec.im[k] + eps).squareRoot()
                }
            }
        }
    } } }
    return Tensor.result(shape: [b, f, frames], data: mag, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in
            // One batch item per task: its frames overlap, so they add into gx in turn.
            parallelFor(b, minChunk: 1) { range in
                for bi in range {
                    for s in 0..<frames {
                        var gr = [Float](repeating: 0, count: f), gi = gr
                        for k in 0..<f {
                            let idx = (bi * f + k) * frames + s
                            let scale = g[idx] / mag[idx] * (k == 0 || k == f - 1 ? Float(n) : Float(n) / 2)
                            gr[k] = scale * re[idx]; gi[k] = scale * im[idx]
                        }
                        gi[0] = 0; gi[f - 1] = 0
                        let d = plan.irfft(re: gr, im: gi)
                        let origin = s * hop - padding
                        for j in 0..<n {
                            let t = origin + j
                            if t >= 0 && t < length { gx[bi * length + t] += window[j] * d[j] }
                        }
                    }
                }
            }
        }
    }
}

/// √x elementwise (x > 0), for norms inside losses.
public func sqrtTensor(_ x: Tensor) -> Tensor {
    let y = x.data.map { $0.squareRoot() }
    return Tensor.result(shape: x.shape, data: y, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in for i in 0..<y.count { gx[i] += g[i] * 0.5 / max(y[i], 1e-12) } }
    }
}

public struct SpectralLoss {
    /// Mean over resolutions of ‖|Ŝ| − |S|‖_F / ‖|S|‖_F (carries gradient).
    public var convergence: Tensor
    /// Mean over resolutions of mean |log |Ŝ| − log |S|| (carries gradient).
    public var logMagnitude: Tensor
}

/// Multi-resolution STFT loss of prediction y against target x, both (B, 1, T). Frames are
/// zero-padded by n_fft/2 on each side so short windows still give several frames. Uses the FFT
/// path (`stftMagnitudeFFT`); the conv formulation `stftMagnitude` is its tested reference.
public func multiResolutionSTFTLoss(_ y: Tensor, _ x: Tensor, bases: [STFTBasis], eps: Float = 1e-7) -> SpectralLoss {
    var sc: Tensor? = nil, lm: Tensor? = nil
    for basis in bases {
        let pad = basis.nFFT / 2
        let target = GradMode.withoutGrad { stftMagnitudeFFT(x.detached(), basis: basis, padding: pad, eps: eps) }
        let pred = stftMagnitudeFFT(y, basis: basis, padding: pad, eps: eps)
        let targetNorm = target.data.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        let c = sqrtTensor(addScalar(sum(square(pred - target)), 1e-12)) * (1 / max(targetNorm, 1e-6))
        let l = l1Loss(log(pred), log(target))
        sc = sc.map { $0 + c } ?? c
        lm = lm.map { $0 + l } ?? l
    }
    let k = 1 / Float(max(bases.count, 1))
    return SpectralLoss(convergence: (sc ?? Tensor(scalar: 0)) * k, logMagnitude: (lm ?? Tensor(scalar: 0)) * k)
}


// MARK: - complex STFT and its inverse (frame-major)
//
// Layout (B, S, 2F): frame s holds its F real parts, then its F imaginary parts. Frame-major keeps
// each frame's spectrum contiguous for the FFT, and is what a Linear head over (B, S, C) produces.

/// Complex STFT of x (B, 1, T) → (B, S, 2F), periodic Hann window; frame s covers
/// x[s·hop − padding ..< s·hop − padding + N] (zeros outside), DSP.STFT's rfft convention.
/// Backward: dL/dx[n] of a frame = w[n]·Re Σ_f (g_re,f + i·g_im,f) e^{2πifn/N}, one inverse real
/// FFT per frame (bins 0 and N/2 counted once, the others twice, hence the scaling).
public func stftComplex(_ x: Tensor, basis: STFTBasis, padding: Int = 0) -> Tensor {
    precondition(x.rank == 3 && x.shape[1] == 1, "stftComplex: expects (B, 1, T), got \(x.shape)")
    let b = x.shape[0], length = x.shape[2], n = basis.nFFT, hop = basis.hop, f = basis.bins
    let frames = conv1dOutputLength(length, kernel: n, stride: hop, padding: padding)
    precondition(frames >= 1, "stftComplex: \(length) samples (padding \(padding)) are shorter than n_fft \(n)")
    let plan = basis.plan, window = basis.window, xs = x.data
    var out = [Float](repeating: 0, count: b * frames * 2 * f)   // (B, S, 2F)
    out.withUnsafeMutableBufferPointer { op in
        let op = op.baseAddress!
        parallelFor(b * frames, minChunk: 8) { range in
            var frame = [Float](repeating: 0, count: n)          // (N)
            for item in range {
                let bi = item / frames, origin = (item % frames) * hop - padding
                for j in 0..<n {
                    let t = origin + j
                    frame[j] = t >= 0 && t < length ? xs[bi * length + t] * window[j] : 0
                }
                frame.withUnsafeBufferPointer { fp in
                    plan.rfft(fp, re: UnsafeMutableBufferPointer(start: op + item * 2 * f, count: f),
                              im: UnsafeMutableBufferPointer(start: op + item * 2 * f + f, count: f))
                }
            }
        }
    }
    return Tensor.result(shape: [b, frames, 2 * f], data: out, parents: [x]) { o in
        let g = o.grad!
        x.accumulateGrad { gx in
            // One batch item per task: its frames overlap, so they add into gx in turn.
            parallelFor(b, minChunk: 1) { range in
                var gr = [Float](repeating: 0, count: f), gi = gr, d = [Float](repeating: 0, count: n)
                for bi in range {
                    for s in 0..<frames {
                        let base = (bi * frames + s) * 2 * f
                        for k in 0..<f {
                            let c: Float = k == 0 || k == f - 1 ? Float(n) : Float(n) / 2
                            gr[k] = g[base + k] * c; gi[k] = g[base + f + k] * c
                        }
                        gi[0] = 0; gi[f - 1] = 0
                        gr.withUnsafeMutableBufferPointer { rp in gi.withUnsafeMutableBufferPointer { ip in
                            d.withUnsafeMutableBufferPointer { dp in plan.irfft(re: rp, im: ip, output: dp) } } }
                        let origin = s * hop - padding
                        for j in 0..<n {
                            let t = origin + j
                            if t >= 0 && t < length { gx[bi * length + t] += window[j] * d[j] }
                        }
                    }
                }
            }
        }
    }
}

/// Σ_s w²[i − s·hop] over the (S − 1)·hop + N samples that S frames cover: the normaliser of
/// weighted overlap-add.
func windowEnvelope(_ window: [Float], frames: Int, hop: Int) -> [Float] {
    let n = window.count
    var env = [Float](repeating: 0, count: (frames - 1) * hop + n)
    for s in 0..<frames { for j in 0..<n { env[s * hop + j] += window[j] * window[j] } }
    return env
}

/// Inverse of `stftComplex` by weighted overlap-add: spec (B, S, 2F) → (B, 1, length) with
/// y[t] = Σ_s w[i − s·hop]·irfft(spec_s)[i − s·hop] / Σ_s w²[i − s·hop], i = t + padding (0 where
/// the frames do not reach or the envelope vanishes). With padding N/2 and length (S − 1)·hop it
/// inverts a centred STFT exactly; sample t then lines up with frame t / hop. The imaginary parts
/// of the DC and Nyquist bins are ignored, as a real signal has none (their gradient is 0).
/// Backward: the adjoint of each step: divide by the envelope, window, then a forward real FFT per
/// frame (dRe_f = c_f/N·Re FFT, dIm_f = c_f/N·Im FFT, c = 1 at DC and Nyquist, 2 between).
public func istft(_ spec: Tensor, basis: STFTBasis, padding: Int, length: Int) -> Tensor {
    let n = basis.nFFT, hop = basis.hop, f = basis.bins
    precondition(spec.rank == 3 && spec.shape[2] == 2 * f, "istft: expects (B, S, \(2 * f)), got \(spec.shape)")
    precondition(spec.shape[1] >= 1 && padding >= 0 && length >= 0, "istft: needs a frame, padding ≥ 0 and length ≥ 0")
    let b = spec.shape[0], frames = spec.shape[1], plan = basis.plan, window = basis.window
    let env = windowEnvelope(window, frames: frames, hop: hop)
    let full = env.count
    // 1 / envelope at each output sample (0 where nothing reaches it).
    let inv: [Float] = (0..<length).map { t in
        let i = t + padding
        return i < full && env[i] > 1e-8 ? 1 / env[i] : 0
    }
    var out = [Float](repeating: 0, count: b * length)   // (B, 1, L)
    let sp = spec.data
    out.withUnsafeMutableBufferPointer { op in
        let op = op.baseAddress!
        parallelFor(b, minChunk: 1) { range in
            var acc = [Float](repeating: 0, count: full)
            var re = [Float](repeating: 0, count: f), im = re, y = [Float](repeating: 0, count: n)
            for bi in range {
                for i in 0..<full { acc[i] = 0 }
                for s in 0..<frames {
                    let base = (bi * frames + s) * 2 * f
                    for k in 0..<f { re[k] = sp[base + k]; im[k] = sp[base + f + k] }
                    im[0] = 0; im[f - 1] = 0
                    re.withUnsafeMutableBufferPointer { rp in im.withUnsafeMutableBufferPointer { ip in
                        y.withUnsafeMutableBufferPointer { yp in plan.irfft(re: rp, im: ip, output: yp) } } }
                    for j in 0..<n { acc[s * hop + j] += window[j] * y[j] }
                }
                for t in 0..<length where inv[t] != 0 { op[bi * length + t] = acc[t + padding] * inv[t] }
            }
        }
    }
    return Tensor.result(shape: [b, 1, length], data: out, parents: [spec]) { o in
        let g = o.grad!
        spec.accumulateGrad { gs in
            parallelFor(b, minChunk: 1) { range in
                var gfull = [Float](repeating: 0, count: full), frame = [Float](repeating: 0, count: n)
                var re = [Float](repeating: 0, count: f), im = re
                for bi in range {
                    for i in 0..<full { gfull[i] = 0 }
                    for t in 0..<length where inv[t] != 0 { gfull[t + padding] = g[bi * length + t] * inv[t] }
                    for s in 0..<frames {
                        for j in 0..<n { frame[j] = window[j] * gfull[s * hop + j] }
                        frame.withUnsafeBufferPointer { fp in re.withUnsafeMutableBufferPointer { rp in
                            im.withUnsafeMutableBufferPointer { ip in plan.rfft(fp, re: rp, im: ip) } } }
                        let base = (bi * frames + s) * 2 * f
                        for k in 0..<f {
                            let c: Float = (k == 0 || k == f - 1 ? 1 : 2) / Float(n)
                            gs[base + k] += c * re[k]
                            if k != 0 && k != f - 1 { gs[base + f + k] += c * im[k] }
                        }
                    }
                }
            }
        }
    }
}

/// Vocos's head: h (B, S, 2F) holding F log-magnitudes m then F phases p per frame → the complex
/// spectrum (B, S, 2F), real parts then imaginary parts: |z| = exp(min(m, maxLogMagnitude)),
/// arg z = p. The clamp (Vocos clips |z| at 100) keeps an early step from overflowing; it passes
/// no gradient to m. exp, cos and sin run eight bins at a time (`FastMath.polar`: within 2·10⁻⁷ of
/// libm's, at a fraction of its cost).
public func polarSpectrum(_ h: Tensor, maxLogMagnitude: Float = Foundation.log(100)) -> Tensor {
    precondition(h.rank == 3 && h.shape[2] % 2 == 0, "polarSpectrum: expects (B, S, 2F), got \(h.shape)")
    let f = h.shape[2] / 2, rows = h.count / (2 * f)
    var out = [Float](repeating: 0, count: h.count)
    let hd = h.data
    hd.withUnsafeBufferPointer { hp in
        out.withUnsafeMutableBufferPointer { op in
            for r in 0..<rows {
                let base = r * 2 * f
                FastMath.polar(logMagnitude: hp.baseAddress! + base, phase: hp.baseAddress! + base + f, maxLog: maxLogMagnitude,
                               re: op.baseAddress! + base, im: op.baseAddress! + base + f, count: f)
            }
        }
    }
    return Tensor.result(shape: h.shape, data: out, parents: [h]) { o in
        let g = o.grad!
        h.accumulateGrad { gh in
            for r in 0..<rows {
                let base = r * 2 * f
                for k in 0..<f {
                    let re = out[base + k], im = out[base + f + k], gre = g[base + k], gim = g[base + f + k]
                    if hd[base + k] < maxLogMagnitude { gh[base + k] += gre * re + gim * im }
                    gh[base + f + k] += gim * re - gre * im
                }
            }
        }
    }
}

// MARK: - integrated phase (a phase-vocoder head)

/// A frame-rate network fed a stationary input gives a constant output, so a head that predicts
/// each frame's *absolute* phase gives a held note the same phase in every frame: the overlap-add
/// then repeats every hop, and the note lands on a multiple of sample_rate / hop (86 Hz at hop
/// 256), too coarse for a low note's pitch. An integrated head predicts what a constant output can
/// stand for, the phase *advance* per frame, and integrates it as a phase vocoder does.
///
/// h (B, S, 3F) holds per frame F log-magnitudes m, F advances δ and F offsets θ; the result
/// (B, S, 2F) holds m and the phase p_t = θ_t + A_t, where A_t = A_{−1} + Σ_{s ≤ t} (ω_k + δ_s)
/// and ω_k = 2π·k·hop / n_fft is bin k's own advance over a hop (so δ = 0 is a bin-centred
/// sinusoid). A is accumulated in Double and wrapped to (−π, π], which changes no gradient:
/// ∂p_t/∂θ_t = 1, ∂p_t/∂δ_s = 1 for s ≤ t (the gradient of δ is a reverse cumulative sum).
/// A_{−1} = 0 here; a chunked synthesis carries it between chunks with `integratePhaseFrames`.
public func integratePhase(_ h: Tensor, nFFT: Int, hop: Int) -> Tensor {
    precondition(h.rank == 3 && h.shape[2] % 3 == 0, "integratePhase: expects (B, S, 3F), got \(h.shape)")
    let b = h.shape[0], s = h.shape[1], f = h.shape[2] / 3
    let hd = h.data
    var out = [Float](repeating: 0, count: b * s * 2 * f)
    var acc = [Double](repeating: 0, count: b * f)
    integratePhaseFrames(hd, into: &out, batch: b, frames: s, bins: f, nFFT: nFFT, hop: hop, accumulators: &acc)
    return Tensor.result(shape: [b, s, 2 * f], data: out, parents: [h]) { o in
        let g = o.grad!
        h.accumulateGrad { gh in
            for bi in 0..<b {
                var later = [Float](repeating: 0, count: f)   // Σ_{t ≥ s} ∂L/∂p_t
                for si in stride(from: s - 1, through: 0, by: -1) {
                    let go = (bi * s + si) * 2 * f, gi = (bi * s + si) * 3 * f
                    for k in 0..<f {
                        let gp = g[go + f + k]
                        gh[gi + k] += g[go + k]
                        later[k] += gp
                        gh[gi + f + k] += later[k]
                        gh[gi + 2 * f + k] += gp
                    }
                }
            }
        }
    }
}

/// The forward of `integratePhase` on raw values: `h` (B, S, 3F) → `out` (B, S, 2F); `accumulators`
/// (B·F) enter as A_{−1} and leave as A_{S−1}.
public func integratePhaseFrames(_ h: [Float], into out: inout [Float], batch b: Int, frames s: Int, bins f: Int,
                                 nFFT: Int, hop: Int, accumulators acc: inout [Double]) {
    let twoPi = 2 * Double.pi
    let omega = (0..<f).map { Double(($0 * hop) % nFFT) * twoPi / Double(nFFT) }
    for bi in 0..<b {
        for si in 0..<s {
            let hi = (bi * s + si) * 3 * f, oi = (bi * s + si) * 2 * f
            for k in 0..<f {
                var a = acc[bi * f + k] + omega[k] + Double(h[hi + f + k])
                a -= twoPi * (a / twoPi).rounded()
                acc[bi * f + k] = a
                out[oi + k] = h[hi + k]
                out[oi + f + k] = h[hi + 2 * f + k] + Float(a)
            }
        }
    }
}

// MARK: - anti-wrapping phase losses

/// x − 2π·round(x / 2π): the phase difference x brought into [−π, π].
@inline(__always) public func antiWrap(_ x: Float) -> Float {
    x - 2 * Float.pi * (x / (2 * Float.pi)).rounded()
}

public struct PhaseLosses {
    /// Weighted mean |aw(φ̂ − φ)| (instantaneous phase), carries gradient.
    public var instantaneous: Tensor
    /// Weighted mean |aw(Δ_f φ̂ − Δ_f φ)| between neighbouring bins (group delay), carries gradient.
    public var groupDelay: Tensor
    /// Weighted mean |aw(Δ_t φ̂ − Δ_t φ)| between neighbouring frames (instantaneous frequency), carries gradient.
    public var frequency: Tensor
}

/// Phase targets for `phaseLosses` from a complex spectrum (B, S, 2F) (`stftComplex`'s layout):
/// each bin's angle, and weight 1 where its power is within `rangeDB` of the loudest bin of the
/// batch (0 elsewhere: bins far below carry no phase worth learning). `byMagnitude` weighs each
/// such bin by the square root of its magnitude relative to the loudest instead (a pair of bins
/// then weighs about their relative magnitude), so the partials, whose phase advance says where a
/// note lies between the bins, count for more than the noise around them.
public func phaseTargets(_ spec: Tensor, rangeDB: Float = 60, byMagnitude: Bool = false) -> (angle: [Float], weight: [Float]) {
    let f = spec.shape[2] / 2, rows = spec.count / (2 * f), d = spec.data
    var angle = [Float](repeating: 0, count: rows * f), weight = angle
    var peak: Float = 0
    for r in 0..<rows { for k in 0..<f {
        let re = d[r * 2 * f + k], im = d[r * 2 * f + f + k]
        peak = max(peak, re * re + im * im)
    } }
    let floor = peak * Foundation.pow(10, -rangeDB / 10)
    for r in 0..<rows { for k in 0..<f {
        let re = d[r * 2 * f + k], im = d[r * 2 * f + f + k]
        angle[r * f + k] = Foundation.atan2(im, re)
        let power = re * re + im * im
        weight[r * f + k] = power > floor ? (byMagnitude ? Foundation.pow(power / max(peak, 1e-30), 0.25) : 1) : 0
    } }
    return (angle, weight)
}

/// APNet's three phase losses (Ai & Ling 2023) of predicted phases (B, S, F) against target phases
/// (B·S·F, constants), each a mean over the bins (or pairs of bins) whose `weight` is positive,
/// weighted by it (a pair takes the product of its two weights). |aw(d)| has derivative sign(aw(d)).
/// Absolute phase is not determined by a mel spectrogram; its differences along time and
/// frequency largely are, which is why the last two terms carry most of the signal.
public func phaseLosses(_ phase: Tensor, target: [Float], weight: [Float]) -> PhaseLosses {
    precondition(phase.rank == 3 && target.count == phase.count && weight.count == phase.count,
                 "phaseLosses: phase \(phase.shape), \(target.count) targets and \(weight.count) weights must agree")
    let b = phase.shape[0], s = phase.shape[1], f = phase.shape[2], p = phase.data
    /// One term: pairs (i, i + step) inside each run of `span` elements along the axis (span 1: single bins).
    func term(step: Int, along axisLength: Int, axisStride: Int) -> Tensor {
        var total: Float = 0, norm: Float = 0
        var signs = [Float](repeating: 0, count: phase.count)   // weighted sign at the first index of each pair
        for bi in 0..<b { for si in 0..<s { for k in 0..<f {
            let i = (bi * s + si) * f + k
            let position = axisStride == f ? si : k
            if step > 0 && position + 1 >= axisLength { continue }
            let j = i + step * axisStride
            let w = step == 0 ? weight[i] : weight[i] * weight[j]
            if w <= 0 { continue }
            let d = step == 0 ? antiWrap(p[i] - target[i]) : antiWrap((p[j] - p[i]) - (target[j] - target[i]))
            total += w * Swift.abs(d); norm += w
            signs[i] = w * (d > 0 ? 1 : (d < 0 ? -1 : 0))
        } } }
        let scale = 1 / max(norm, 1e-12)
        return Tensor.result(shape: [], data: [total * scale], parents: [phase]) { o in
            let g = o.grad![0] * scale
            phase.accumulateGrad { gp in
                for i in 0..<phase.count where signs[i] != 0 {
                    if step == 0 { gp[i] += g * signs[i] } else {
                        gp[i + step * axisStride] += g * signs[i]; gp[i] -= g * signs[i]
                    }
                }
            }
        }
    }
    return PhaseLosses(instantaneous: term(step: 0, along: f, axisStride: 1),
                       groupDelay: term(step: 1, along: f, axisStride: 1),
                       frequency: term(step: 1, along: s, axisStride: f))
}

// MARK: - differentiable log-mel

/// ln(max(mel, floor)) of x (B, 1, L) → (B, S, M), differentiable: |STFT| (zero-padded by N/2,
/// the FFT path) through the mel filterbank. The training losses of the vocoder and the codec.
public final class DifferentiableLogMel {
    public let basis: STFTBasis
    let filterbank: Tensor   // (M, F), constant

    public init(config: MelConfig = .standard) {
        basis = STFTBasis(nFFT: config.nFFT, hop: config.hop)
        let fb = MelFilterbank(config: config)
        filterbank = Tensor(shape: [fb.nMels, fb.bins], data: fb.weights)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let mag = stftMagnitudeFFT(x, basis: basis, padding: basis.nFFT / 2)            // (B, F, S)
        let mel = matmul(transpose(mag, 1, 2), filterbank, transposeB: true)          // (B, S, M)
        return log(clampMin(mel, MelFilterbank.logFloor))
    }
}
