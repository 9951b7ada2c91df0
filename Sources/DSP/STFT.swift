// STFT.swift: short-time Fourier transform and its inverse by weighted overlap-add.
// Follows librosa's stft/istft (centre framing with reflect padding, periodic Hann window, and
// the window-square-sum normalisation of Griffin & Lim 1984, the least-squares
// inverse of a modified STFT), so that
// istft(stft(x)) == x up to rounding wherever at least one window sample is non-zero.
// The window multiply rides in rfft's first pass; irfft's last pass adds window·frame straight
// into the overlap-add sum. The window-square sum is periodic in hop wherever every frame that
// could reach a sample exists, so each STFT keeps that period and sums only the two ends per call.
//
// Letters: T frames, F = nFFT/2 + 1 frequency bins, N = nFFT, L samples.

import Foundation

public struct STFTConfig: Sendable, Equatable {
    public var nFFT: Int
    public var winLength: Int
    public var hop: Int
    /// Pad nFFT/2 samples on both sides (by reflection) so frame t is centred on sample t·hop.
    public var center: Bool

    public init(nFFT: Int = 1024, winLength: Int = 1024, hop: Int = 256, center: Bool = true) {
        self.nFFT = nFFT
        self.winLength = winLength
        self.hop = hop
        self.center = center
    }

    public var bins: Int { nFFT / 2 + 1 }
}

/// A complex spectrogram, frame-major: element (t, f) sits at t · bins + f.
public struct Spectrogram: Sendable {
    public var frames: Int
    public var bins: Int
    public var re: [Float]   // (T, F)
    public var im: [Float]   // (T, F)

    public init(frames: Int, bins: Int, re: [Float], im: [Float]) {
        precondition(re.count == frames * bins && im.count == frames * bins,
                     "Spectrogram: re/im hold \(re.count)/\(im.count) values, expected frames·bins = \(frames)·\(bins)")
        self.frames = frames
        self.bins = bins
        self.re = re
        self.im = im
    }

    public init(frames: Int, bins: Int) {
        self.init(frames: frames, bins: bins,
                  re: [Float](repeating: 0, count: frames * bins),
                  im: [Float](repeating: 0, count: frames * bins))
    }

    /// |X(t, f)|, shape (T, F).
    public var magnitude: [Float] {
        var out = [Float](repeating: 0, count: re.count)   // (T, F)
        guard !re.isEmpty else { return out }
        re.withUnsafeBufferPointer { r in
            im.withUnsafeBufferPointer { i in
                out.withUnsafeMutableBufferPointer { o in
                    FastMath.magnitude(re: r.baseAddress!, im: i.baseAddress!, into: o.baseAddress!, count: r.count)
                }
            }
        }
        return out
    }
}

/// An STFT engine for one configuration. Immutable after init, so it may be shared across threads.
public final class STFT: Sendable {
    public let config: STFTConfig
    public let plan: FFTPlan
    /// Periodic Hann window of length winLength, zero-padded on both sides to nFFT (as librosa does).
    public let window: [Float]   // (N)
    /// window / (N/2): the synthesis window with irfft's 1/(N/2) folded in, for overlap-add.
    let synthesisWindow: [Float]   // (N)
    /// 1 / Σ_t w²(i − t·hop) for the samples every possible frame reaches, which depends only on
    /// i mod hop (0 where the sum is below Float's smallest normal, librosa's rule). Only the first
    /// and last N samples of an inverse need their envelope summed; see `normalise`.
    let interiorInverseEnvelope: [Float]   // (hop)

    /// Frames per parallel work item, and the frame count below which work stays on the caller's thread.
    static let framesPerChunk = 32
    static let parallelThreshold = 64

    public init(config: STFTConfig = STFTConfig()) {
        precondition(config.nFFT >= 2 && (config.nFFT & (config.nFFT - 1)) == 0,
                     "STFT: nFFT=\(config.nFFT) must be a power of two >= 2")
        precondition(config.winLength >= 1 && config.winLength <= config.nFFT,
                     "STFT: winLength=\(config.winLength) must be in 1...nFFT (\(config.nFFT))")
        precondition(config.hop >= 1, "STFT: hop=\(config.hop) must be at least 1")
        self.config = config
        self.plan = FFTPlan.shared(n: config.nFFT)
        // Periodic Hann: w[j] = 0.5 - 0.5·cos(2πj/W), j < W (scipy.signal.get_window('hann', W, fftbins=True)).
        var w = [Float](repeating: 0, count: config.nFFT)
        let offset = (config.nFFT - config.winLength) / 2
        for j in 0..<config.winLength {
            w[offset + j] = Float(0.5 - 0.5 * cos(2 * Double.pi * Double(j) / Double(config.winLength)))
        }
        self.window = w
        let half = Float(config.nFFT / 2)
        self.synthesisWindow = w.map { $0 / half }
        var envelope = [Float](repeating: 0, count: config.hop)
        for p in 0..<config.hop {
            var sum: Float = 0
            for j in stride(from: p, to: config.nFFT, by: config.hop) { sum += w[j] * w[j] }
            envelope[p] = sum > Float.leastNormalMagnitude ? 1 / sum : 0
        }
        self.interiorInverseEnvelope = envelope
    }

    public convenience init(nFFT: Int = 1024, winLength: Int = 1024, hop: Int = 256, center: Bool = true) {
        self.init(config: STFTConfig(nFFT: nFFT, winLength: winLength, hop: hop, center: center))
    }

    public var bins: Int { config.bins }

    /// Number of frames `forward` produces for a signal of `length` samples.
    public func frameCount(length: Int) -> Int {
        let padded = config.center ? length + 2 * (config.nFFT / 2) : length
        if padded < config.nFFT { return 0 }
        return 1 + (padded - config.nFFT) / config.hop
    }

    /// The signal length a (T, F) spectrogram most naturally inverts to: (T - 1) · hop when centred.
    public func naturalLength(frames: Int) -> Int {
        guard frames > 0 else { return 0 }
        return config.center ? (frames - 1) * config.hop : (frames - 1) * config.hop + config.nFFT
    }

    // MARK: forward

    /// Complex STFT, shape (T, F), T = frameCount(length: x.count). Centred, an empty signal gives one zero frame.
    public func forward(_ x: [Float]) -> Spectrogram {
        let n = config.nFFT
        let frames = frameCount(length: x.count)
        if frames == 0 { return Spectrogram(frames: 0, bins: bins) }
        // Unfilled: `analyse` writes every bin of every frame (zeroing them first was 9 MB of memset
        // in a one-sentence `gen speech`, whose mel projection takes nine STFTs).
        let count = frames * bins
        var spec = Spectrogram(frames: frames, bins: bins, re: [Float](unsafeUninitializedCapacity: count) { _, n in n = count },
                               im: [Float](unsafeUninitializedCapacity: count) { _, n in n = count })
        let padded = config.center ? reflectPad(x, pad: n / 2) : x   // (L + N)
        padded.withUnsafeBufferPointer { xp in
            spec.re.withUnsafeMutableBufferPointer { rp in
                spec.im.withUnsafeMutableBufferPointer { ip in
                    analyse(xp.baseAddress!, frames: frames, re: rp.baseAddress!, im: ip.baseAddress!)
                }
            }
        }
        return spec
    }

    /// |STFT(x)|, shape (T, F).
    public func magnitude(_ x: [Float]) -> [Float] {
        forward(x).magnitude
    }

    /// |S|, shape (T, F).
    public func magnitude(_ s: Spectrogram) -> [Float] {
        s.magnitude
    }

    /// Frame t of (T, F) `re`/`im` ← rfft(window · signal[t·hop ..< t·hop + N]), for t < frames.
    /// `signal` is already padded: it holds (frames − 1)·hop + N samples.
    func analyse(_ signal: UnsafePointer<Float>, frames: Int,
                 re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
        let hop = config.hop, nb = bins
        window.withUnsafeBufferPointer { wp in
            let w = wp.baseAddress!
            forEachChunk(frames: frames) { range in
                let temp = UnsafeMutablePointer<Float>.allocate(capacity: config.nFFT)   // (N) rfft scratch
                defer { temp.deallocate() }
                for t in range {
                    plan.rfft(signal + t * hop, window: w, re: re + t * nb, im: im + t * nb, temp: temp)
                }
            }
        }
    }

    // MARK: inverse

    /// Inverse STFT by overlap-add: y = Σ_t w·irfft(S_t) / Σ_t w², trimmed to `length` samples
    /// (zero-filled beyond what the frames cover). Perfect reconstruction of `forward`'s input.
    public func inverse(_ s: Spectrogram, length: Int) -> [Float] {
        precondition(s.bins == bins, "STFT.inverse: spectrogram has \(s.bins) bins, this STFT (nFFT=\(config.nFFT)) expects \(bins)")
        let n = config.nFFT, frames = s.frames
        var out = [Float](repeating: 0, count: max(length, 0))
        if frames == 0 || length <= 0 { return out }

        let full = (frames - 1) * config.hop + n
        var acc = [Float](repeating: 0, count: full)   // (L + N), Σ_t w·irfft(S_t) placed at t·hop
        let start = config.center ? n / 2 : 0
        let count = min(length, max(full - start, 0))
        s.re.withUnsafeBufferPointer { rp in
            s.im.withUnsafeBufferPointer { ip in
                acc.withUnsafeMutableBufferPointer { ap in
                    out.withUnsafeMutableBufferPointer { op in
                        overlapAdd(re: rp.baseAddress!, im: ip.baseAddress!, frames: frames, into: ap.baseAddress!)
                        normalise(ap.baseAddress!, frames: frames, start: start, count: count, into: op.baseAddress!)
                    }
                }
            }
        }
        return out
    }

    /// acc[t·hop + j] += w[j] · irfft(S_t)[j] for every frame t < frames; acc holds (frames − 1)·hop + N
    /// samples. `re`/`im` are (T, F) and only read. Frames run in chunks of at least N/hop frames,
    /// so chunks two apart never touch the same samples: the even chunks run in parallel, then the odd.
    func overlapAdd(re: UnsafePointer<Float>, im: UnsafePointer<Float>, frames: Int,
                    into acc: UnsafeMutablePointer<Float>) {
        let n = config.nFFT, hop = config.hop, nb = bins
        synthesisWindow.withUnsafeBufferPointer { wp in
            let w = wp.baseAddress!
            let run = { (range: Range<Int>) in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n)   // (2, N): irfft's temp and work
                defer { scratch.deallocate() }
                for t in range {
                    self.plan.irfft(re: re + t * nb, im: im + t * nb, temp: scratch,
                                    workRe: scratch + n, workIm: scratch + n + n / 2,
                                    output: acc + t * hop, addWindowed: w)
                }
            }
            if frames < STFT.parallelThreshold {
                run(0..<frames)
                return
            }
            let chunk = max(STFT.framesPerChunk, (n + hop - 1) / hop)
            let chunks = (frames + chunk - 1) / chunk
            for parity in 0..<2 {
                DSPParallelism.forEach((chunks + 1 - parity) / 2) { i in
                    let c = 2 * i + parity
                    run((c * chunk)..<min(frames, (c + 1) * chunk))
                }
            }
        }
    }

    /// out[i] = acc[start + i] / Σ_t w²(start + i − t·hop) over the frames t < frames that reach the
    /// sample, or 0 where that sum is below Float's smallest normal (librosa's tiny-threshold rule).
    /// Samples in [N − hop, frames·hop) are reached by every frame that could reach them, so their
    /// sum comes from `interiorInverseEnvelope`; only the samples before and after are summed here.
    func normalise(_ acc: UnsafePointer<Float>, frames: Int, start: Int, count: Int,
                   into out: UnsafeMutablePointer<Float>) {
        let n = config.nFFT, hop = config.hop, end = start + count
        let lo = min(max(n - hop, start), end)
        let hi = max(min(frames * hop, end), lo)
        window.withUnsafeBufferPointer { wp in
            interiorInverseEnvelope.withUnsafeBufferPointer { ep in
                let w = wp.baseAddress!, e = ep.baseAddress!
                func edge(_ i: Int) {
                    var sum: Float = 0
                    var t = min(frames - 1, i / hop)
                    while t >= 0 && i - t * hop < n { sum += w[i - t * hop] * w[i - t * hop]; t -= 1 }
                    out[i - start] = sum > Float.leastNormalMagnitude ? acc[i] / sum : 0
                }
                for i in start..<lo { edge(i) }
                var i = lo
                while i < hi && i % hop != 0 { out[i - start] = acc[i] * e[i % hop]; i += 1 }
                while i + hop <= hi {
                    let o = out + (i - start), a = acc + i
                    for p in 0..<hop { o[p] = a[p] * e[p] }
                    i += hop
                }
                while i < hi { out[i - start] = acc[i] * e[i % hop]; i += 1 }
                for i in hi..<end { edge(i) }
            }
        }
    }

    // MARK: helpers

    /// Runs `body` over ranges of frames: on this thread for short inputs, otherwise spread over
    /// at most `DSPParallelism.maxWidth` threads with one range (and so one scratch buffer) per work item.
    func forEachChunk(frames: Int, _ body: (Range<Int>) -> Void) {
        if frames < STFT.parallelThreshold {
            body(0..<frames)
            return
        }
        let chunk = STFT.framesPerChunk
        let chunks = (frames + chunk - 1) / chunk
        DSPParallelism.forEach(chunks) { c in
            body((c * chunk)..<min(frames, (c + 1) * chunk))
        }
    }
}

/// Pads `x` by `pad` samples on each side, mirroring about the end samples without repeating
/// them (numpy.pad mode "reflect": [a b c d] → [c b | a b c d | c b]). Pads longer than the
/// signal keep reflecting back and forth, as numpy does; a one-sample signal is repeated.
public func reflectPad(_ x: [Float], pad: Int) -> [Float] {
    if pad == 0 { return x }
    var out = [Float](repeating: 0, count: x.count + 2 * pad)   // (L + 2·pad)
    x.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { op in
            if xp.count > 0 { (op.baseAddress! + pad).update(from: xp.baseAddress!, count: xp.count) }
            fillReflectedEdges(op.baseAddress!, length: xp.count, pad: pad)
        }
    }
    return out
}

/// `buffer` holds a signal of `length` samples at [pad, pad + length); fills [0, pad) and
/// [pad + length, length + 2·pad) as `reflectPad` would (zeros for an empty signal).
func fillReflectedEdges(_ buffer: UnsafeMutablePointer<Float>, length len: Int, pad: Int) {
    let x = buffer + pad
    switch len {
    case 0:
        buffer.update(repeating: 0, count: 2 * pad)
    case 1:
        buffer.update(repeating: x[0], count: pad)
        (x + 1).update(repeating: x[0], count: pad)
    default:
        let period = 2 * (len - 1)
        func reflected(_ i: Int) -> Float {
            var k = (i - pad) % period
            if k < 0 { k += period }
            return x[k < len ? k : period - k]
        }
        for i in 0..<pad { buffer[i] = reflected(i) }
        for i in (pad + len)..<(len + 2 * pad) { buffer[i] = reflected(i) }
    }
}
