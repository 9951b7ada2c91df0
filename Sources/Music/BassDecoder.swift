// BassDecoder.swift — a waveform decoder for the codec's bass (issue 13), after its PyTorch
// prototype (bench/lowband_decoder.py, whose exported weights this loads under the same names).
//
// Why: the iSTFT decoder keeps the notes' envelope and loses their pitch at the bottom: a
// 1024-point frame's bins are 21.5 Hz apart, coarser than a semitone below about 370 Hz, and the
// decoder does not learn where a partial lies between them. Putting back the original's band below
// 345 Hz lifts held-out chroma from 0.931 to 0.995 (the codec card's oracle), so nearly all the
// lost chroma is the bass line. This network writes that band as a waveform, which has no bins to
// fall between, at 22050 / 32 = 689 Hz, where it is cheap:
//
//   Σ codewords (B, D, S), 86 Hz ─▶ conv k3 ─▶ ConvT ×4 ─▶ 2 Snake res layers ─▶ ConvT ×2  (689 Hz)
//   ─▶ concat the codec's own decoded band ×10 ─▶ conv k7 ─▶ 2 dilated Snake res stacks (1, 3, 9)
//   ─▶ Snake ─▶ conv k7 ─▶ ÷10  =  the band below 345 Hz
//
// and the decoded audio's band is replaced by it (`apply`): y + ↑(bass − ↓y), ↑ and ↓ BandSplit's
// Kaiser resamplers. It reads the codes (the latent) and not the audio's spectrum, so codes files
// and the codec id stay as they were: only the decoder's output changes.
import DSP
import Engine
import Foundation
import NN

/// The bass decoder's shape and training loss, `bass_decoder` in a codec's config.json.
public struct BassDecoderLayout: Codable, Equatable {
    /// The band's rate is sample_rate / down (32: 689 Hz, the band below 345 Hz); hop / down must be
    /// 8, the ×4, ×2 upsampling from the frame rate.
    public var down = 32
    /// Width at the band's rate, and at half of it (after the ×4 stage).
    public var channels = 48
    public var upChannels = 96
    /// Multi-resolution STFT loss at the band's rate (hop n / 4): spectral convergence + this weight
    /// × log-magnitude L1. The log term counts quiet bins as much as loud ones; convergence counts the
    /// loud partials a chroma hears (the prototype: 1 for 8,000 steps, then 0.1).
    public var logWeight: Float = 0.1
    public var stftSizes = [32, 64, 128, 256]
    /// Decodes with fewer codebooks than this leave the bass decoder out (absent: every rung uses
    /// it). The shipped codec's is 3: at 2 codebooks it made held-out real music flatter (noisier)
    /// by more than its chroma gain was worth (models/codec/MODEL_CARD.md).
    public var minCodebooks: Int? = nil

    public init() {}

    enum CodingKeys: String, CodingKey {
        case down, channels, upChannels = "up_channels", logWeight = "log_weight", stftSizes = "stft_sizes"
        case minCodebooks = "min_codebooks"
    }

    public func problems(hop: Int) -> [String] {
        var p: [String] = []
        if !(2...256).contains(down) || hop % down != 0 || hop / down != 8 {
            p.append("bass_decoder.down must divide the hop into 8 (hop \(hop): down \(hop / 8)), got \(down)")
        }
        if !(4...512).contains(channels) { p.append("bass_decoder.channels must be in 4...512, got \(channels)") }
        if !(4...512).contains(upChannels) { p.append("bass_decoder.up_channels must be in 4...512, got \(upChannels)") }
        if let m = minCodebooks, !(1...32).contains(m) { p.append("bass_decoder.min_codebooks must be in 1...32, got \(m)") }
        if !(logWeight >= 0 && logWeight <= 100) { p.append("bass_decoder.log_weight must be in 0...100, got \(logWeight)") }
        if stftSizes.isEmpty || stftSizes.count > 8 || stftSizes.contains(where: { $0 < 8 || $0 > 4096 || $0 & ($0 - 1) != 0 }) {
            p.append("bass_decoder.stft_sizes must be 1 to 8 powers of two in 8...4096, got \(stftSizes)")
        }
        return p
    }
}

/// Snake with one α per channel, PyTorch's (1, C, 1) parameter; α starts at 1.
final class Snake {
    let alpha: Tensor
    init(_ channels: Int, scope: Scope) { alpha = scope.param("alpha", Tensor(shape: [1, channels, 1], data: [Float](repeating: 1, count: channels))) }
    func callAsFunction(_ x: Tensor) -> Tensor { snake(x, alpha: alpha) }
}

/// x + Σ layers, each Snake → conv k7 (dilation d) → Snake → conv k1, residual after each.
final class SnakeResidualStack {
    let layers: [(Snake, Conv1d, Snake, Conv1d)]
    init(_ c: Int, dilations: [Int], scope: Scope, rng: inout RNG) {
        layers = dilations.enumerated().map { i, d in
            let s = scope.child("layers").child(i)
            return (Snake(c, scope: s.child(0)), Conv1d(c, c, kernel: 7, padding: 3 * d, dilation: d, scope: s.child(1), rng: &rng),
                    Snake(c, scope: s.child(2)), Conv1d(c, c, kernel: 1, scope: s.child(3), rng: &rng))
        }
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce(x) { h, l in h + l.3(l.2(l.1(l.0(h)))) }
    }
    /// Samples each side that one output reads.
    static func reach(_ dilations: [Int]) -> Int { dilations.reduce(0) { $0 + 3 * $1 } }
}

public final class BassDecoder {
    public var layout: BassDecoderLayout
    let input: Conv1d
    let up1: ConvTranspose1d, upRes: SnakeResidualStack, up2: ConvTranspose1d
    let mix: Conv1d
    let body: [SnakeResidualStack]
    let outSnake: Snake, outConv: Conv1d
    public let split: BandSplit
    /// Band samples per frame (hop / down = 8).
    public let perFrame: Int
    /// Scale of the band inside the network (the prototype's ×10 in, ÷10 out: music's bass is quiet).
    static let gain: Float = 10

    public init(_ l: BassDecoderLayout, latentDim d: Int, hop: Int, scope s: Scope, rng: inout RNG) {
        layout = l
        perFrame = hop / l.down
        input = Conv1d(d, 128, kernel: 3, padding: 1, scope: s.child("inp"), rng: &rng)
        up1 = ConvTranspose1d(128, l.upChannels, kernel: 8, stride: 4, padding: 2, scope: s.child("up").child(0), rng: &rng)
        upRes = SnakeResidualStack(l.upChannels, dilations: [1, 3], scope: s.child("up").child(1), rng: &rng)
        up2 = ConvTranspose1d(l.upChannels, l.channels, kernel: 4, stride: 2, padding: 1, scope: s.child("up").child(2), rng: &rng)
        mix = Conv1d(l.channels + 1, l.channels, kernel: 7, padding: 3, scope: s.child("mix"), rng: &rng)
        body = (0..<2).map { SnakeResidualStack(l.channels, dilations: [1, 3, 9], scope: s.child("body").child($0), rng: &rng) }
        outSnake = Snake(l.channels, scope: s.child("out").child(0))
        outConv = Conv1d(l.channels, 1, kernel: 7, padding: 3, scope: s.child("out").child(1), rng: &rng)
        split = BandSplit(factor: l.down)
    }

    /// Latents z (B, D, S) and the codec's decoded band (B, 1, 8S) → the band (B, 1, 8S).
    public func callAsFunction(_ z: Tensor, band: Tensor) -> Tensor {
        let h = up2(upRes(up1(input(z))))
        var x = mix(concat([h, band * Self.gain], axis: 1))
        for stack in body { x = stack(x) }
        return outConv(outSnake(x)) * (1 / Self.gain)
    }

    /// Whether a decode from `codebooks` codebooks uses this decoder (`min_codebooks` and up; every
    /// rung when the layout names none). Decoding, training and the benchmark all ask this.
    public func applies(toCodebooks codebooks: Int) -> Bool { codebooks >= (layout.minCodebooks ?? 1) }

    /// Frames each side whose latents reach an output frame (rounded up, with a frame to spare).
    public var contextFrames: Int {
        let bandReach = 3 + 3 + 2 * SnakeResidualStack.reach([1, 3, 9]) + 2 + 2 * SnakeResidualStack.reach([1, 3]) + 4
        return 2 + (bandReach + perFrame - 1) / perFrame
    }

    /// Replaces the band below 11025 / down Hz of `audio` (the codec's decoding of `latents`, (S, D)
    /// frame-major) with the network's, in place, in chunks of `chunk` frames with `contextFrames`
    /// of real context each side: memory bounded, equal to one pass over the whole signal.
    public func apply(latents: [Float], frames s: Int, audio y: inout [Float], chunk: Int = 2048) {
        guard s >= 1, !y.isEmpty else { return }
        let d = latents.count / s, per = perFrame
        precondition(latents.count == s * d, "BassDecoder.apply: \(latents.count) latent values for \(s) frames")
        var band = split.decimate(y)                              // ⌈L / down⌉ samples
        let kept = band.count
        band += [Float](repeating: 0, count: max(0, s * per - kept))
        var out = [Float](repeating: 0, count: kept)
        var a = 0
        // Band samples past the last frame (a `length` beyond the frames' reach) keep the decoded band.
        while a < s && a * per < kept {
            let b = min(s, a + chunk)
            let lo = max(0, a - contextFrames), hi = min(s, b + contextFrames)
            var zt = [Float](repeating: 0, count: d * (hi - lo))   // (D, frames): the latents transposed
            for t in lo..<hi { for c in 0..<d { zt[c * (hi - lo) + t - lo] = latents[t * d + c] } }
            let piece = GradMode.withoutGrad {
                self(Tensor(shape: [1, d, hi - lo], data: zt), band: Tensor(shape: [1, 1, (hi - lo) * per], data: Array(band[(lo * per)..<(hi * per)])))
            }
            for i in (a * per)..<min(b * per, kept) { out[i] = piece.data[i - lo * per] - band[i] }
            a = b
        }
        let correction = split.interpolate(out, length: y.count)
        for i in y.indices { y[i] += correction[i] }
    }

    /// The training loss on windows: latents (B, D, S), the codec's decoding (B, 1, L) and the audio
    /// it should be (B, 1, L), L = (S − 1)·hop. Both are brought to the band's rate per window; the
    /// `margin` band samples at each end, where the window's edges ring through the resampler, are
    /// left out. Spectral convergence + log_weight × log-magnitude, averaged over `stft_sizes`.
    public func loss(latents z: Tensor, decoded y: Tensor, target x: Tensor, margin: Int = 16,
                     bases: [STFTBasis]) -> (total: Tensor, convergence: Float, logMagnitude: Float, codecConvergence: Float) {
        let b = z.shape[0], s = z.shape[2], per = perFrame
        let (band, truth) = GradMode.withoutGrad { () -> (Tensor, Tensor) in
            func down(_ t: Tensor) -> [Float] {
                let l = t.shape[2]
                return (0..<b).flatMap { i -> [Float] in
                    var v = split.decimate(Array(t.data[(i * l)..<((i + 1) * l)]))
                    v += [Float](repeating: 0, count: max(0, s * per - v.count))
                    return Array(v[0..<(s * per)])
                }
            }
            return (Tensor(shape: [b, 1, s * per], data: down(y)), Tensor(shape: [b, 1, s * per], data: down(x)))
        }
        let usable = (s - 1) * per - 2 * margin
        precondition(usable >= (bases.map(\.nFFT).max() ?? 0), "BassDecoder.loss: windows of \(s) frames are too short for the loss")
        let keep = margin..<(margin + usable)
        let p = slice(self(z, band: band), axis: 2, keep)
        let t = GradMode.withoutGrad { slice(truth, axis: 2, keep) }
        let l = multiResolutionSTFTLoss(p, t, bases: bases)
        let codec = GradMode.withoutGrad { multiResolutionSTFTLoss(slice(band, axis: 2, keep), t, bases: bases) }
        return (l.convergence + l.logMagnitude * layout.logWeight, l.convergence.item, l.logMagnitude.item, codec.convergence.item)
    }
}
