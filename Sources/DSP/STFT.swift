// STFT.swift: short-time Fourier transform and its inverse by weighted overlap-add.
// Follows librosa's stft/istft (centre framing with reflect padding, periodic Hann window, and
// the window-square-sum normalisation of Griffin & Lim 1984, the least-squares
// inverse of a modified STFT), so that
// istft(stft(x)) == x up to rounding wherever at least one window sample is non-zero.
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
        for k in 0..<re.count { out[k] = (re[k] * re[k] + im[k] * im[k]).squareRoot() }
        return out
    }
}

/// An STFT engine for one configuration. Immutable after init, so it may be shared across threads.
public final class STFT: Sendable {
    public let config: STFTConfig
    public let plan: FFTPlan
    /// Periodic Hann window of length winLength, zero-padded on both sides to nFFT (as librosa does).
    public let window: [Float]   // (N)

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
        self.plan = FFTPlan(n: config.nFFT)
        // Periodic Hann: w[j] = 0.5 - 0.5·cos(2πj/W), j < W (scipy.signal.get_window('hann', W, fftbins=True)).
        var w = [Float](repeating: 0, count: config.nFFT)
        let offset = (config.nFFT - config.winLength) / 2
        for j in 0..<config.winLength {
            w[offset + j] = Float(0.5 - 0.5 * cos(2 * Double.pi * Double(j) / Double(config.winLength)))
        }
        self.window = w
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
        let n = config.nFFT, hop = config.hop, nb = bins
        let padded = config.center ? reflectPad(x, pad: n / 2) : x   // (L + N)
        let frames = frameCount(length: x.count)
        var spec = Spectrogram(frames: frames, bins: nb)
        if frames == 0 { return spec }

        padded.withUnsafeBufferPointer { xp in
            window.withUnsafeBufferPointer { wp in
                spec.re.withUnsafeMutableBufferPointer { rp in
                    spec.im.withUnsafeMutableBufferPointer { ip in
                        let re = rp.baseAddress!, im = ip.baseAddress!
                        forEachChunk(frames: frames) { range in
                            let frame = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)   // (N) scratch
                            defer { frame.deallocate() }
                            for t in range {
                                let src = xp.baseAddress! + t * hop
                                for j in 0..<n { frame[j] = src[j] * wp[j] }
                                plan.rfft(UnsafeBufferPointer(frame),
                                          re: UnsafeMutableBufferPointer(start: re + t * nb, count: nb),
                                          im: UnsafeMutableBufferPointer(start: im + t * nb, count: nb))
                            }
                        }
                    }
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

    // MARK: inverse

    /// Inverse STFT by overlap-add: y = Σ_t w·irfft(S_t) / Σ_t w², trimmed to `length` samples
    /// (zero-filled beyond what the frames cover). Perfect reconstruction of `forward`'s input.
    public func inverse(_ s: Spectrogram, length: Int) -> [Float] {
        precondition(s.bins == bins, "STFT.inverse: spectrogram has \(s.bins) bins, this STFT (nFFT=\(config.nFFT)) expects \(bins)")
        let n = config.nFFT, hop = config.hop, nb = bins, frames = s.frames
        var out = [Float](repeating: 0, count: max(length, 0))
        if frames == 0 || length <= 0 { return out }

        // 1. Each frame back to time and windowed, in parallel: (T, N).
        var segments = [Float](repeating: 0, count: frames * n)   // (T, N)
        s.re.withUnsafeBufferPointer { rp in
            s.im.withUnsafeBufferPointer { ip in
                window.withUnsafeBufferPointer { wp in
                    segments.withUnsafeMutableBufferPointer { sp in
                        let seg = sp.baseAddress!
                        forEachChunk(frames: frames) { range in
                            let zr = UnsafeMutableBufferPointer<Float>.allocate(capacity: nb)   // (F) scratch
                            let zi = UnsafeMutableBufferPointer<Float>.allocate(capacity: nb)   // (F) scratch
                            defer { zr.deallocate(); zi.deallocate() }
                            for t in range {
                                for f in 0..<nb { zr[f] = rp[t * nb + f]; zi[f] = ip[t * nb + f] }
                                let y = UnsafeMutableBufferPointer(start: seg + t * n, count: n)
                                plan.irfft(re: zr, im: zi, output: y)
                                for j in 0..<n { y[j] *= wp[j] }
                            }
                        }
                    }
                }
            }
        }

        // 2. Overlap-add, serial: neighbouring frames write the same samples.
        let full = (frames - 1) * hop + n
        var acc = [Float](repeating: 0, count: full)   // (L + N)
        var wss = [Float](repeating: 0, count: full)   // (L + N), Σ_t w²(· - t·hop)
        segments.withUnsafeBufferPointer { sp in
            window.withUnsafeBufferPointer { wp in
                acc.withUnsafeMutableBufferPointer { ap in
                    wss.withUnsafeMutableBufferPointer { qp in
                        for t in 0..<frames {
                            let a = ap.baseAddress! + t * hop, q = qp.baseAddress! + t * hop
                            let src = sp.baseAddress! + t * n
                            for j in 0..<n { a[j] += src[j]; q[j] += wp[j] * wp[j] }
                        }
                    }
                }
            }
        }

        // 3. Normalise where the windows overlap at all (librosa's tiny-threshold rule) and trim the centre pad.
        let start = config.center ? n / 2 : 0
        let tiny = Float.leastNormalMagnitude
        let count = min(length, max(full - start, 0))
        for i in 0..<count {
            let q = wss[start + i]
            out[i] = q > tiny ? acc[start + i] / q : 0
        }
        return out
    }

    // MARK: helpers

    /// Runs `body` over ranges of frames: on this thread for short inputs, otherwise spread over
    /// the cores with one range (and so one scratch buffer) per work item.
    func forEachChunk(frames: Int, _ body: (Range<Int>) -> Void) {
        if frames < STFT.parallelThreshold {
            body(0..<frames)
            return
        }
        let chunk = STFT.framesPerChunk
        let chunks = (frames + chunk - 1) / chunk
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            body((c * chunk)..<min(frames, (c + 1) * chunk))
        }
    }
}

/// Pads `x` by `pad` samples on each side, mirroring about the end samples without repeating
/// them (numpy.pad mode "reflect": [a b c d] → [c b | a b c d | c b]). Pads longer than the
/// signal keep reflecting back and forth, as numpy does; a one-sample signal is repeated.
public func reflectPad(_ x: [Float], pad: Int) -> [Float] {
    let len = x.count
    if pad == 0 { return x }
    var out = [Float](repeating: 0, count: len + 2 * pad)   // (L + 2·pad)
    if len == 0 { return out }
    if len == 1 { return [Float](repeating: x[0], count: len + 2 * pad) }
    let period = 2 * (len - 1)
    for i in 0..<out.count {
        var k = (i - pad) % period
        if k < 0 { k += period }
        out[i] = x[k < len ? k : period - k]
    }
    return out
}
