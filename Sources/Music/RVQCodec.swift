// RVQCodec.swift — the music codec v2 (issue 13): a frame-rate codec after SoundStream / EnCodec
// with Vocos's iSTFT decoder, in place of Jukebox's separate VQ-VAE levels.
//
//   audio ─▶ |STFT| 1024/256, log (+ the phase advance: EncoderInput) ─▶ ConvNeXt stack ─▶ linear to D ─▶ residual VQ, K codebooks of 1024
//   ─▶ Σ codewords ─▶ ConvNeXt stack ─▶ linear to 513 log|X| + the phase (per frame, or per-frame
//   advances integrated over the frames: PhaseHead) ─▶ iSTFT ─▶ audio
//
// Every layer runs at the frame rate (86 frames/s at hop 256): the encoder reads STFT frames, so
// the two cores go into width rather than into convolutions at the sample rate. The first k
// codebooks decode on their own (quantizer dropout in training), one model for a ladder of
// bitrates: k × 86.13 frames/s × 10 bits = 0.86 kbps per codebook, 6.9 kbps for all 8.
//
// Framing: a signal of L samples has S = 1 + ⌊L / hop⌋ frames, frame s centred on sample s·hop
// (the centred STFT, zero outside the signal); decoding gives (S − 1)·hop samples, padded or cut
// to the L stored with the codes.
import Base
import DSP
import Engine
import Foundation
import NN
import Requests

/// What the codec's encoder reads of each STFT frame.
public enum EncoderInput: String, Codable, CaseIterable {
    /// ln |X|: F channels per frame.
    case magnitude
    /// ln |X|, then the cosine and sine of each bin's phase advance since the previous frame less
    /// the bin's own (2π·k·hop / N), weighed by the bin's level within 60 dB of the frame's peak:
    /// 3F channels. A 1024-point frame's bins are 21.5 Hz apart, coarser than a semitone below
    /// about 370 Hz; the advance is what places a partial between them (the instantaneous
    /// frequency), which the magnitudes alone pin down only where a partial stands alone.
    case frequency = "magnitude+frequency"
}

/// The low bins of a long window centred on each frame, read by the encoder beside the 1024-point
/// frame: 4096 points resolve 5.4 Hz, where a 1024-point frame's 21.5 Hz bins cannot tell a bass
/// note from its neighbour (a semitone at 55 Hz is 3.3 Hz).
public struct LongWindowInput: Codable, Equatable {
    public var nFFT = 4096
    /// Bins 0..<bins of it, as ln |X|: 129 is 0–689 Hz at 4096 points, the bass and its first harmonics.
    public var bins = 129

    public init(nFFT: Int = 4096, bins: Int = 129) { self.nFFT = nFFT; self.bins = bins }

    enum CodingKeys: String, CodingKey { case nFFT = "n_fft", bins }

    func problems(frameNFFT: Int) -> [String] {
        var p: [String] = []
        if !(frameNFFT...32_768).contains(nFFT) || nFFT & (nFFT - 1) != 0 || nFFT <= frameNFFT {
            p.append("long_window.n_fft must be a power of two above n_fft (\(frameNFFT)) and at most 32768, got \(nFFT)")
        } else if !(1...(nFFT / 2 + 1)).contains(bins) {
            p.append("long_window.bins must be in 1...\(nFFT / 2 + 1), got \(bins)")
        }
        return p
    }
}

public struct RVQCodecConfig: Codable, Equatable, ValidatedConfig {
    public var sampleRate = 22050
    public var nFFT = 1024
    public var hop = 256
    public var encoderWidth = 256
    public var encoderBlocks = 4
    public var decoderWidth = 256
    public var decoderBlocks = 6
    /// MLP size of each ConvNeXt block, as a multiple of its width.
    public var mlpRatio = 3
    public var kernel = 7
    public var activation = "relu"
    /// Latent (and codeword) dimension.
    public var codeDim = 128
    public var codebooks = 8
    public var codebookSize = 1024
    public var emaDecay: Float = 0.99
    /// Codes whose EMA usage falls below this many rows per batch are restarted on random residuals.
    public var restartThreshold: Float = 0.1
    /// Probability that a training batch uses a random number of codebooks (1…K) instead of all K.
    public var quantizerDropout: Float = 0.5
    /// The codebook counts training batches draw from, uniformly, in place of quantizer dropout
    /// (absent: the dropout's "all, or 1…K at random"). A count given twice is drawn twice as
    /// often: a decoder fine-tune can aim at the counts a ladder uses (the shipped ladder's main
    /// rungs use 1 to 5 of the 8; `gen music` 4).
    public var trainingCodebooks: [Int]? = nil
    public var commitment: Float = 0.1
    /// Weight of the multi-scale mel L1 (n_fft 512/1024/2048, 64/80/128 bands up to 11025 Hz).
    public var melWeight: Float = 1
    /// n_fft of each multi-resolution STFT loss term (hop n_fft / 4): long windows resolve harmonics.
    public var stftSizes = [512, 1024, 2048, 4096]
    /// The decoder's log-magnitude clamp, as a magnitude (music at full scale exceeds Vocos's 100).
    public var maxMagnitude: Float = 2000
    /// Weight of APNet's phase losses (instantaneous phase, group delay, instantaneous frequency) on
    /// the decoder's phases against the input's (absent: 0). A frame of n_fft 1024 has 21.5 Hz bins,
    /// coarser than a semitone below about 370 Hz; the phase advance from frame to frame is what
    /// places a low note between them, and no magnitude loss asks for it directly. With an
    /// integrated head only the last two apply (its phase starts from 0 in each window), weighted
    /// by magnitude (`phaseTargets(byMagnitude:)`).
    public var phaseWeight: Float? = nil
    /// What the decoder's iSTFT head predicts of the phase (absent: absolute, Vocos's).
    public var phaseHead: PhaseHead? = nil
    /// A frequency-local head beside the decoder's linear one (absent: none; `BinHeadLayout` says why).
    public var binHead: BinHeadLayout? = nil
    /// What the encoder reads of each frame (absent: magnitude).
    public var encoderInput: EncoderInput? = nil
    /// The id of the codec whose weights this one started from when its encoder and codebooks were
    /// trained further (`gen train codec --init-from` without --decoder-only, an --encoder-input or
    /// --long-window widening among them): it started out making that codec's codes, so a prior of
    /// those codes is a fine start for its own (`gen train prior --init-from`).
    public var seededFrom: String? = nil
    /// A waveform decoder for the band below 11025 / down Hz, which replaces that band of the
    /// iSTFT decoder's output (absent: none; BassDecoder.swift says why).
    public var bassDecoder: BassDecoderLayout? = nil
    /// The low bins of a longer window beside each frame, for the encoder (absent: none).
    public var longWindow: LongWindowInput? = nil
    /// The bass line coded as a waveform, a second stream of codes beside the main ones, and the
    /// ladder that mixes the two (absent: none; BassStream.swift says why).
    public var bassStream: BassStreamLayout? = nil

    public init() {}

    public var frameRate: Double { Double(sampleRate) / Double(hop) }
    /// Bits per second with the first `k` codebooks.
    public func bitrate(codebooks k: Int) -> Double { bitrate(CodecRung(main: k)) }

    /// Bits per second of a rung: its main codebooks and its bass stream's.
    public func bitrate(_ r: CodecRung) -> Double {
        let bass = (bassStream?.stageSizes ?? []).prefix(r.bass).reduce(0) { $0 + Foundation.log2(Double($1)) }
        return frameRate * (Double(r.main) * Foundation.log2(Double(codebookSize)) + bass)
    }

    /// A rung's bitrate in hundredths of a kbps, as the ladder prints it (6.89 kbps: 689).
    func centiKbps(_ r: CodecRung) -> Int { Int((bitrate(r) / 10).rounded()) }

    /// The bitrate ladder: the bass stream's rungs, or (without one, or with `bassStream` false)
    /// the first 1, 2, … of the main codebooks.
    public func rungs(bassStream useStream: Bool = true) -> [CodecRung] {
        if useStream, let l = bassStream { return l.rungs }
        return (1...codebooks).map { CodecRung(main: $0) }
    }

    /// The highest rung whose bitrate, as the ladder prints it (kbps to 2 decimals), is at most
    /// `kbps` (so a printed rung, 6.89, selects that rung); nil below the lowest.
    public func rung(fitting kbps: Double, in ladder: [CodecRung]) -> CodecRung? {
        guard kbps.isFinite else { return kbps > 0 ? ladder.last : nil }
        let limit = (kbps * 100).rounded(.down)
        return ladder.last { Double(centiKbps($0)) <= limit }
    }

    /// What a bitrate request (`--bandwidth KBPS` or `--codebooks K`) may ask for, before any codec
    /// is read: each problem named by its flag.
    public static func bitrateProblems(bandwidth: Double?, codebooks: Int?) -> [String] {
        var p: [String] = []
        if bandwidth != nil && codebooks != nil { p.append("give --bandwidth or --codebooks, not both") }
        if let bandwidth, !(bandwidth > 0 && bandwidth <= 1000) { p.append("--bandwidth must be a number of kbps in (0, 1000], got \(bandwidth)") }
        if let codebooks, !(1...32).contains(codebooks) { p.append("--codebooks must be in 1...32, got \(codebooks)") }
        return p
    }

    /// The rung a bitrate request gets from `ladder` (the rungs the codes at hand can give): rung
    /// `codebooks` (k codebooks in all), the highest that fits in `bandwidth` kbps, or (neither) the
    /// top one. A request the ladder cannot meet is a `RequestError.usage` that shows the ladder.
    public func rung(bandwidth: Double?, codebooks requested: Int?, in ladder: [CodecRung]) throws -> CodecRung {
        if let problem = Self.bitrateProblems(bandwidth: bandwidth, codebooks: requested).first { throw RequestError.usage(problem + ".") }
        guard let top = ladder.last else { throw RequestError.usage("there are no codebooks to decode (the codes hold none).") }
        if let requested {
            guard let r = ladder.first(where: { $0.total == requested }) else {
                throw RequestError.usage("--codebooks \(requested) is not a rung of the \(top.total) available; the ladder (codebooks: kbps) is \(describe(ladder)).")
            }
            return r
        }
        if let bandwidth {
            guard let fit = rung(fitting: bandwidth, in: ladder) else {
                throw RequestError.usage(String(format: "--bandwidth %g kbps is below the lowest rung's %@ kbps; the ladder (codebooks: kbps) is %@.",
                                                bandwidth, kbpsText(ladder[0]), describe(ladder)))
            }
            return fit
        }
        return top
    }

    /// "1: 0.86, 2: 1.89 (1 + 1 bass), …": codebooks and kbps of every rung, for messages.
    public func describe(_ ladder: [CodecRung]) -> String {
        ladder.map { "\($0.total): " + kbpsText($0) + ($0.bass > 0 ? " (\($0))" : "") }.joined(separator: ", ")
    }

    /// "6.89": a rung's kbps to 2 decimals, rounded as `rung(fitting:in:)` compares.
    public func kbpsText(_ r: CodecRung) -> String {
        let c = centiKbps(r)
        return "\(c / 100)." + (c % 100 < 10 ? "0" : "") + "\(c % 100)"
    }

    /// Frames before the first that the encoder's input reads (the phase advance needs the one before).
    public var leadFrames: Int { encoderInput == .frequency ? 1 : 0 }
    public var leadSamples: Int { leadFrames * hop }
    /// Samples of context each side beyond the frames' N/2 that the long window reads.
    public var sideSamples: Int { longWindow.map { ($0.nFFT - nFFT) / 2 } ?? 0 }
    /// Samples of the encoder's input beyond (S − 1)·hop: the frame, the lead and both sides.
    public var inputExtra: Int { nFFT + leadSamples + 2 * sideSamples }

    public var encoderLayout: ConvNeXtLayout {
        ConvNeXtLayout(inputs: (encoderInput == .frequency ? 3 : 1) * (nFFT / 2 + 1) + (longWindow?.bins ?? 0), width: encoderWidth, blocks: encoderBlocks, mlpDim: mlpRatio * encoderWidth,
                       kernel: kernel, activation: activation)
    }
    public var decoderLayout: ConvNeXtLayout {
        ConvNeXtLayout(inputs: codeDim, width: decoderWidth, blocks: decoderBlocks, mlpDim: mlpRatio * decoderWidth,
                       kernel: kernel, activation: activation)
    }

    /// Every value that sizes something, range-checked before anything is allocated.
    public func validate() -> [String] {
        var p: [String] = []
        if sampleRate != 22050 { p.append("sample_rate must be 22050 (the models' fixed rate), got \(sampleRate)") }
        if !(256...4096).contains(nFFT) || nFFT & (nFFT - 1) != 0 { p.append("n_fft must be a power of two in 256...4096, got \(nFFT)") }
        if !(32...2048).contains(hop) || hop & (hop - 1) != 0 || hop * 2 > nFFT {
            p.append("hop must be a power of two in 32...2048 and at most n_fft / 2, got \(hop)")
        }
        if !(1...16).contains(mlpRatio) { p.append("mlp_ratio must be in 1...16, got \(mlpRatio)") }
        if p.isEmpty {
            p += encoderLayout.problems(prefix: "encoder ")
            p += decoderLayout.problems(prefix: "decoder ")
            p += binHead?.problems() ?? []
            p += bassDecoder?.problems(hop: hop) ?? []
            p += longWindow?.problems(frameNFFT: nFFT) ?? []
            if (1...32).contains(codebooks) { p += bassStream?.problems(hop: hop, mainCodebooks: codebooks) ?? [] }
        }
        if !(1...1024).contains(codeDim) { p.append("code_dim must be in 1...1024, got \(codeDim)") }
        if !(1...32).contains(codebooks) { p.append("codebooks must be in 1...32, got \(codebooks)") }
        if !(2...65_536).contains(codebookSize) { p.append("codebook_size must be in 2...65536, got \(codebookSize)") }
        if !(0..<1).contains(emaDecay) { p.append("ema_decay must be in [0, 1), got \(emaDecay)") }
        if !(restartThreshold >= 0 && restartThreshold <= 1e6) { p.append("restart_threshold must be in 0...1e6") }
        if !(0...1).contains(quantizerDropout) { p.append("quantizer_dropout must be in [0, 1], got \(quantizerDropout)") }
        if let t = trainingCodebooks, (1...32).contains(codebooks), !(1...64).contains(t.count) || t.contains(where: { $0 < 0 || $0 > codebooks }) {
            p.append("training_codebooks must list 1 to 64 codebook counts, each in 0...\(codebooks) (0: unquantized), got \(t.map(String.init).joined(separator: ","))")
        }
        if !(commitment >= 0 && commitment <= 1e6) || !(melWeight >= 0 && melWeight <= 1e6) { p.append("loss weights must be in 0...1e6") }
        if stftSizes.count > 8 || stftSizes.contains(where: { $0 < 64 || $0 > 16_384 || $0 & ($0 - 1) != 0 }) {
            p.append("stft_sizes must be at most 8 powers of two in 64...16384, got \(stftSizes)")
        }
        if !(maxMagnitude >= 1 && maxMagnitude <= 1e6) { p.append("max_magnitude must be in 1...1e6, got \(maxMagnitude)") }
        if let w = phaseWeight, !(w >= 0 && w <= 1e6) { p.append("phase_weight must be in 0...1e6, got \(w)") }
        return p
    }

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate", nFFT = "n_fft", hop, encoderWidth = "encoder_width", encoderBlocks = "encoder_blocks"
        case decoderWidth = "decoder_width", decoderBlocks = "decoder_blocks", mlpRatio = "mlp_ratio", kernel, activation
        case codeDim = "code_dim", codebooks, codebookSize = "codebook_size", emaDecay = "ema_decay"
        case restartThreshold = "restart_threshold", quantizerDropout = "quantizer_dropout", trainingCodebooks = "training_codebooks", commitment
        case melWeight = "mel_weight", stftSizes = "stft_sizes", maxMagnitude = "max_magnitude", phaseWeight = "phase_weight"
        case phaseHead = "phase_head", encoderInput = "encoder_input", seededFrom = "seeded_from", binHead = "bin_head"
        case bassDecoder = "bass_decoder", longWindow = "long_window", bassStream = "bass_stream"
    }

    /// The fields that decide what the codes mean (the framing, the encoder and the codebooks);
    /// the decoder's and the losses' are not among them.
    struct CodeSpace: Encodable {
        var sampleRate: Int, nFFT: Int, hop: Int, encoderWidth: Int, encoderBlocks: Int, mlpRatio: Int, kernel: Int
        var activation: String, codeDim: Int, codebooks: Int, codebookSize: Int
        /// nil for magnitude, so the ids of codecs made before the field existed stay as they were.
        var encoderInput: EncoderInput?
        /// nil without one, likewise.
        var longWindow: LongWindowInput?
    }
    var codeSpace: CodeSpace {
        CodeSpace(sampleRate: sampleRate, nFFT: nFFT, hop: hop, encoderWidth: encoderWidth, encoderBlocks: encoderBlocks,
                  mlpRatio: mlpRatio, kernel: kernel, activation: activation, codeDim: codeDim, codebooks: codebooks,
                  codebookSize: codebookSize, encoderInput: encoderInput == .frequency ? .frequency : nil,
                  longWindow: longWindow)
    }
}

/// The loss terms of one batch.
public struct RVQCodecLosses {
    public var total: Tensor
    public var mel: Float, convergence: Float, logMagnitude: Float, commit: Float
    /// Instantaneous phase + group delay + instantaneous frequency (0 without phase_weight).
    public var phase: Float = 0
    /// The instantaneous-frequency part of `phase` (the phase advance between frames).
    public var phaseFrequency: Float = 0
    /// Codebooks used in this batch (quantizer dropout), their usage counts and perplexities.
    public var active: Int
    public var usage: [Int], perplexity: [Float]
    /// The decoded window (B, 1, L), with its graph, and the audio it should be (for an adversary).
    public var waveform: Tensor, target: Tensor
    /// The bass decoder's spectral convergence on the band, when `bassWeight` put its loss in.
    public var bassConvergence: Float? = nil
}

public final class RVQCodec {
    public let config: RVQCodecConfig
    public let params = ParameterStore()
    let encoder: ConvNeXtStack
    let toLatent: Linear
    public let quantizer: ResidualVectorQuantizer
    public let decoder: ISTFTDecoder
    public let analysis: STFTBasis
    /// The long window's STFT (hop as the frames'), when the config has one.
    let longAnalysis: STFTBasis?
    /// The bass decoder, when the config has one (its weights under "bass.").
    public let bass: BassDecoder?
    /// The bass line as a second stream of codes (BassStream.swift), if the codec has one.
    public let bassStream: BassStream?
    private lazy var bassLossBases: [STFTBasis] = (config.bassDecoder?.stftSizes ?? []).map { STFTBasis(nFFT: $0) }
    private lazy var lossBases: [STFTBasis] = config.stftSizes.map { STFTBasis(nFFT: $0) }
    private lazy var melScales: [DifferentiableLogMel] = [(512, 64), (1024, 80), (2048, 128)].map { n, m in
        DifferentiableLogMel(config: MelConfig(sampleRate: config.sampleRate, nFFT: n, winLength: n, hop: n / 4, nMels: m,
                                               fMin: 0, fMax: Double(config.sampleRate) / 2))
    }

    /// `randomInit` false: unfilled, for weights about to be loaded (`ModelFolder.load`).
    public init(config c: RVQCodecConfig, seed: UInt64 = 1, randomInit: Bool = true) {
        c.requireValid("codec")
        config = c
        var rng = RNG(seed: seed)
        let s = Scope(params, randomInit: randomInit)
        encoder = ConvNeXtStack(c.encoderLayout, scope: s.child("encoder"), rng: &rng)
        toLatent = Linear(c.encoderWidth, c.codeDim, scope: s.child("encoder").child("to_latent"), rng: &rng)
        quantizer = ResidualVectorQuantizer(stages: c.codebooks, codebookSize: c.codebookSize, dim: c.codeDim,
                                            decay: c.emaDecay, restartThreshold: c.restartThreshold, randomInit: randomInit, rng: &rng)
        decoder = ISTFTDecoder(c.decoderLayout, nFFT: c.nFFT, hop: c.hop, phaseHead: c.phaseHead ?? .absolute, binHead: c.binHead,
                               maxLogMagnitude: Foundation.log(c.maxMagnitude),
                               scope: s.child("decoder"), rng: &rng)
        analysis = STFTBasis(nFFT: c.nFFT, hop: c.hop)
        longAnalysis = c.longWindow.map { STFTBasis(nFFT: $0.nFFT, hop: c.hop) }
        bass = c.bassDecoder.map { BassDecoder($0, latentDim: c.codeDim, hop: c.hop, scope: s.child("bass"), rng: &rng) }
        bassStream = c.bassStream.map { BassStream(layout: $0, hop: c.hop, seed: seed) }
    }

    public var sampleRate: Int { config.sampleRate }
    public var hop: Int { config.hop }

    /// Frames of a signal of `length` samples: 1 + ⌊length / hop⌋.
    public func frameCount(length: Int) -> Int { 1 + max(length, 0) / config.hop }

    // MARK: network pieces

    /// The encoder's input of x (B, 1, (S − 1)·hop + inputExtra) framed without padding → (B, S, C):
    /// the caller supplies the N/2 samples of context (or zeros) each side, `leadSamples` more
    /// before them, and with a long window `sideSamples` more each side of all that (the layout is
    /// side, lead, N/2, the frames' samples, N/2, side). Constant (the audio has no gradient).
    func features(_ x: Tensor) -> Tensor {
        GradMode.withoutGrad {
            let side = config.sideSamples
            let inner = side > 0 ? slice(x, axis: 2, side..<(x.shape[2] - side)) : x
            let frames = frameFeatures(inner)
            guard let longAnalysis, let long = config.longWindow else { return frames }
            // Centred on the same frames: the long window of frame s starts at lead + s·hop.
            let mag = stftMagnitudeFFT(slice(x, axis: 2, config.leadSamples..<x.shape[2]), basis: longAnalysis, padding: 0)   // (B, F', S)
            let low = transpose(log(clampMin(slice(mag, axis: 1, 0..<long.bins), MelFilterbank.logFloor)), 1, 2)
            return concat([frames, low], axis: 2)
        }
    }

    /// The 1024-point frames' part of the encoder's input, of x (B, 1, lead + (S − 1)·hop + N).
    private func frameFeatures(_ x: Tensor) -> Tensor {
        guard config.encoderInput == .frequency else {
            let mag = stftMagnitudeFFT(x, basis: analysis, padding: 0)   // (B, F, S)
            return transpose(log(clampMin(mag, MelFilterbank.logFloor)), 1, 2)
        }
        let spec = stftComplex(x, basis: analysis)                        // (B, S + 1, 2F)
        let b = spec.shape[0], s = spec.shape[1] - 1, f = analysis.bins
        return Tensor(shape: [b, s, 3 * f],
                      data: Self.frequencyFeatures(spec.data, batch: b, frames: s + 1, bins: f, hop: config.hop, nFFT: config.nFFT))
    }

    /// Complex frames (B, S + 1, 2F: real parts, then imaginary) → (B, S, 3F) for frames 1…S:
    /// ln max(|X|, floor), then w·cos d and w·sin d, where d is the bin's phase advance from the
    /// frame before less 2π·k·hop / N, wrapped to (−π, π], and w = clamp(1 + ln(|X| / peak) / ln 1000,
    /// 0, 1) weighs the bin by its level within 60 dB of the frame's peak (below, d is noise).
    static func frequencyFeatures(_ spec: [Float], batch b: Int, frames: Int, bins f: Int, hop: Int, nFFT: Int) -> [Float] {
        let s = frames - 1
        var out = [Float](repeating: 0, count: b * s * 3 * f)
        let floor = MelFilterbank.logFloor, range = Foundation.log(Float(1000))
        var magnitude = [Float](repeating: 0, count: f)   // one frame's |X|
        for bi in 0..<b {
            for t in 0..<s {
                let cur = (bi * frames + t + 1) * 2 * f, prev = cur - 2 * f, o = (bi * s + t) * 3 * f
                // |X| as the magnitude input computes it (`stftMagnitudeFFT`'s eps), so a widened
                // encoder's first channels see exactly what the magnitude encoder saw.
                for k in 0..<f { magnitude[k] = (spec[cur + k] * spec[cur + k] + spec[cur + f + k] * spec[cur + f + k] + 1e-7).squareRoot() }
                let logPeak = Foundation.log(Swift.max(magnitude.max() ?? floor, floor))
                for k in 0..<f {
                    let re = spec[cur + k], im = spec[cur + f + k], pr = spec[prev + k], pi = spec[prev + f + k]
                    let logMag = Foundation.log(Swift.max(magnitude[k], floor))
                    // arg(X_t · conj X_{t−1}) is the advance; less the bin's own, wrapped.
                    let advance = Foundation.atan2(im * pr - re * pi, re * pr + im * pi)
                    let own = Float(2 * Double.pi * Double((k * hop) % nFFT) / Double(nFFT))
                    let d = antiWrap(advance - own)
                    let w = Swift.min(1, Swift.max(0, 1 + (logMag - logPeak) / range))
                    out[o + k] = logMag
                    out[o + f + k] = w * Foundation.cos(d)
                    out[o + 2 * f + k] = w * Foundation.sin(d)
                }
            }
        }
        return out
    }

    /// STFT features (B, S, F) → latents (B, S, D).
    func latents(_ feats: Tensor) -> Tensor { toLatent(encoder(feats)) }

    // MARK: training

    /// The decoded length L of training windows x (B, 1, lead + L + N), checked, and the codebooks a
    /// batch uses: `requested`, or a draw from the config's training counts, or its quantizer
    /// dropout's pick.
    func trainingWindow(_ x: Tensor, active requested: Int?, caller: String, rng: inout RNG) -> (length: Int, active: Int) {
        let c = config, length = x.shape[2] - c.inputExtra
        precondition(x.rank == 3 && x.shape[1] == 1 && length > 0 && length % c.hop == 0,
                     "RVQCodec.\(caller): x must be (B, 1, k·hop + n_fft + lead + 2·side), got \(x.shape)")
        if let requested { return (length, requested) }
        if let counts = c.trainingCodebooks, !counts.isEmpty { return (length, counts[rng.int(below: counts.count)]) }
        return (length, rng.uniform() < c.quantizerDropout ? 1 + rng.int(below: c.codebooks) : c.codebooks)
    }

    /// The training forward pass `losses` and `bassLosses` share, on windows x (B, 1, lead + L + N):
    /// the quantized latents q and z (B, S, D), the decoder's magnitude/phase (B, S, 2F) and waveform
    /// y (B, 1, L), the frames decoded (x without its lead) and the middle L samples y should be.
    /// `holdCodes` quantizes without gradients or EMA step (the encoder and codebooks held).
    private func roundTrip(_ x: Tensor, active: Int, length: Int, training: Bool, holdCodes: Bool, rng: inout RNG)
        -> (q: RVQOutput, z: Tensor, mp: Tensor, y: Tensor, body: Tensor, target: Tensor) {
        let c = config, half = c.nFFT / 2, lead = c.leadSamples, side = c.sideSamples
        let b = x.shape[0]
        let feats = features(x)
        let body = lead + side > 0 ? GradMode.withoutGrad { slice(x, axis: 2, (side + lead)..<(x.shape[2] - side)) } : x   // the frames decoded
        let s = feats.shape[1]
        let flat = reshape(holdCodes ? GradMode.withoutGrad { latents(feats) } : latents(feats), [b * s, c.codeDim])
        // 0 codebooks: the encoder's latents as they are, unquantized (a ceiling run, `--train-codebooks 0`).
        let q = active == 0 ? RVQOutput.unquantized(flat)
            : holdCodes ? GradMode.withoutGrad { quantizer(flat, active: active, training: false, rng: &rng) }
            : quantizer(flat, active: active, training: training, rng: &rng)
        let z = reshape(q.quantized, [b, s, c.codeDim])
        let mp = decoder.magnitudePhase(head: decoder.head(z))   // head (B, S, 2F or 3F) → (B, S, 2F)
        let y = decoder.waveform(magnitudePhase: mp)
        let target = GradMode.withoutGrad { slice(body, axis: 2, half..<(half + length)) }
        return (q, z, mp, y, body, target)
    }

    /// Losses on x (B, 1, L + N): windows of L = (S − 1)·hop samples with N/2 samples of real context
    /// each side; the decoder reconstructs the middle L. `active` codebooks quantize (nil: the
    /// config's quantizer dropout picks). With `training`, the codebooks take their EMA step, unless
    /// `decoderOnly`: then the encoder and the codebooks are held (no gradient reaches them, no EMA
    /// step), so the codes keep their meaning and only the decoder learns.
    /// With `bassWeight` above 0 and a bass decoder (from its `min_codebooks` up), the bass decoder's
    /// loss joins at that weight, reading the quantized latents with their graph: the encoder and
    /// codebooks learn from it too (straight through), unless `decoderOnly`.
    public func losses(_ x: Tensor, active requested: Int? = nil, training: Bool, decoderOnly: Bool = false,
                       bassWeight: Float = 0, rng: inout RNG) -> RVQCodecLosses {
        let c = config
        let (length, active) = trainingWindow(x, active: requested, caller: "losses", rng: &rng)
        let (q, z, mp, y, x, target) = roundTrip(x, active: active, length: length, training: training, holdCodes: decoderOnly, rng: &rng)
        var mel: Tensor? = nil
        for scale in melScales {
            let m = l1Loss(scale(y), GradMode.withoutGrad { scale(target) })
            mel = mel.map { $0 + m } ?? m
        }
        let melLoss = mel! * (1 / Float(melScales.count))
        let stft = multiResolutionSTFTLoss(y, target, bases: lossBases)
        var total = melLoss * c.melWeight + stft.convergence + stft.logMagnitude
        if !decoderOnly { total = total + q.commitLoss * c.commitment }
        var bassConvergence: Float? = nil
        if bassWeight > 0, let bass, bass.applies(toCodebooks: active) {
            let l = bass.loss(latents: transpose(z, 1, 2), decoded: y, target: target, bases: bassLossBases)
            total = total + l.total * bassWeight
            bassConvergence = l.convergence
        }
        var phase: Float = 0, phaseFrequency: Float = 0
        if let w = c.phaseWeight, w > 0 {
            let spec = GradMode.withoutGrad { stftComplex(x, basis: analysis) }   // frames of the features
            let (sum, parts) = decoder.phaseLoss(magnitudePhase: mp, target: spec)
            total = total + sum * w
            phase = sum.item; phaseFrequency = parts.frequency.item
        }
        return RVQCodecLosses(total: total, mel: melLoss.item, convergence: stft.convergence.item, logMagnitude: stft.logMagnitude.item,
                              commit: q.commitLoss.item, phase: phase, phaseFrequency: phaseFrequency, active: active, usage: q.usage, perplexity: q.perplexity,
                              waveform: y, target: target, bassConvergence: bassConvergence)
    }

    /// The bass decoder's loss on x (B, 1, L + N) as `losses` frames it, everything else held: the
    /// codes of `active` codebooks (nil: quantizer dropout picks) and the iSTFT decoder's output are
    /// computed without gradients, and the bass decoder learns the band of the middle L samples.
    public func bassLosses(_ x: Tensor, active requested: Int? = nil, rng: inout RNG)
        -> (total: Tensor, convergence: Float, logMagnitude: Float, codecConvergence: Float, active: Int) {
        guard let bass else { preconditionFailure("RVQCodec.bassLosses: this codec has no bass decoder") }
        let (length, active) = trainingWindow(x, active: requested, caller: "bassLosses", rng: &rng)
        let (z, y, target) = GradMode.withoutGrad { () -> (Tensor, Tensor, Tensor) in
            let r = roundTrip(x, active: active, length: length, training: false, holdCodes: true, rng: &rng)
            return (transpose(r.z, 1, 2), r.y, r.target)
        }
        let l = bass.loss(latents: z, decoded: y, target: target, bases: bassLossBases)
        return (l.total, l.convergence, l.logMagnitude, l.codecConvergence, active)
    }

    // MARK: encode / decode

    /// Samples [lo·hop − N/2 − lead − side, (hi − 1)·hop + N/2 + side) of `samples`, zeros outside:
    /// what the encoder's input of frames lo..<hi sees.
    func frameSpan(_ samples: [Float], frames lo: Int, _ hi: Int) -> Tensor {
        let c = config, origin = lo * c.hop - c.nFFT / 2 - c.leadSamples - c.sideSamples
        let span = (hi - 1 - lo) * c.hop + c.inputExtra
        var out = [Float](repeating: 0, count: span)
        let a = max(0, origin), b = min(samples.count, origin + span)
        if a < b { out.replaceSubrange((a - origin)..<(b - origin), with: samples[a..<b]) }
        return Tensor(shape: [1, 1, span], data: out)
    }

    /// `samples` through the encoder and straight into the decoder, no codebook in between (the
    /// autoencoder's own ceiling; no bass stream or bass decoder).
    public func decodeUnquantized(_ samples: [Float]) -> [Float] {
        let z = latents(of: samples)
        return decoder.synthesize(features: z, frames: z.count / config.codeDim, length: samples.count)
    }

    /// Latents (S, D) of `samples`, computed in chunks of `chunk` frames with the encoder's receptive
    /// field of real context each side, so memory is bounded and they equal the whole-signal latents.
    public func latents(of samples: [Float], chunk: Int = 1024) -> [Float] {
        let total = frameCount(length: samples.count), d = config.codeDim
        let context = config.encoderLayout.receptiveFrames
        var out = [Float](repeating: 0, count: total * d)
        var a = 0
        while a < total {
            let b = min(total, a + chunk)
            let lo = max(0, a - context), hi = min(total, b + context)
            let z = GradMode.withoutGrad { latents(features(frameSpan(samples, frames: lo, hi))) }   // (1, hi − lo, D)
            out.replaceSubrange((a * d)..<(b * d), with: z.data[((a - lo) * d)..<((b - lo) * d)])
            a = b
        }
        return out
    }

    /// Codes (k, S) of `samples` (22050 Hz mono, any length ≥ 0) with the first `k` codebooks.
    public func encode(_ samples: [Float], codebooks k: Int? = nil) -> [[Int32]] {
        let k = k ?? config.codebooks
        precondition((1...config.codebooks).contains(k), "RVQCodec.encode: codebooks \(k) outside 1...\(config.codebooks)")
        let z = latents(of: samples)
        let codes = GradMode.withoutGrad { quantizer.encode(z, rows: z.count / config.codeDim, active: k) }
        return codes.map { $0.map(Int32.init) }
    }

    /// `length` samples from codes (k, S), any k ≥ 1 of the codebooks; decoded in bounded chunks.
    /// `bass` false leaves out the bass decoder (the iSTFT decoder's output as it is), and so do
    /// fewer codebooks than its `min_codebooks`.
    public func decode(_ codes: [[Int32]], length: Int, bass useBass: Bool = true) -> [Float] {
        precondition(!codes.isEmpty && codes.count <= config.codebooks, "RVQCodec.decode: \(codes.count) codebooks of codes")
        var y = synthesize(codes, length: length, bass: useBass)
        silence(&y, where: codes, bassRows: 0)
        return y
    }

    /// Main codes (k, S) → `length` samples as the decoder (and, with `bass`, the bass decoder)
    /// writes them, before `silence`.
    func synthesize(_ codes: [[Int32]], length: Int, bass useBass: Bool) -> [Float] {
        let frames = codes[0].count
        let z = quantizer.decode(codes.map { $0.map(Int.init) })   // (S, D)
        var y = decoder.synthesize(features: z, frames: frames, length: length)
        if useBass, let bass, bass.applies(toCodebooks: codes.count) { bass.apply(latents: z, frames: frames, audio: &y) }
        return y
    }

    /// Digital silence in, digital silence out. Where the input was digital silence the encoder
    /// gives one tuple of codes (every frame alike), and the decoder renders it as a floor of noise
    /// some 80 dB down (a few steps of 16 bits) instead of zeros. Samples whose frames, and every
    /// frame of context the decoder reads for them, hold that tuple in every row (main, then bass
    /// stream) are set to 0, and only where the decoded audio there is already below −70 dBFS
    /// (with one codebook the tuple is coarse, so a quiet passage can share it; it keeps its sound).
    func silence(_ y: inout [Float], where rows: [[Int32]], bassRows: Int) {
        guard let frames = rows.first?.count, frames > 0, !y.isEmpty else { return }
        let reach = decoder.contextFrames, hop = config.hop
        var changes = [Int](repeating: 0, count: frames)   // changes[t]: frames in 1...t whose codes differ from the frame before
        for t in 1..<frames { changes[t] = changes[t - 1] + (rows.contains { $0[t] != $0[t - 1] } ? 1 : 0) }
        // The frames whose window of context holds one tuple throughout; music seldom has any, and
        // then the encode of silence below is skipped.
        let window = { (t: Int) in max(0, t - reach)..<min(frames, t + reach + 1) }
        let steady = (0..<frames).filter { changes[window($0).upperBound - 1] == changes[window($0).lowerBound] }
        guard !steady.isEmpty else { return }
        let quiet = silentCodes(rows: rows.count - bassRows, bassRows: bassRows)
        let ceiling: Float = 3.16e-4   // −70 dBFS
        for t in steady where rows.indices.allSatisfy({ rows[$0][t] == quiet[$0] }) {
            let a = max(0, t * hop - hop / 2), b = min(y.count, t * hop + (hop + 1) / 2)
            guard a < b else { continue }
            var power: Float = 0
            for i in a..<b { power += y[i] * y[i] }
            if power / Float(b - a) < ceiling * ceiling { for i in a..<b { y[i] = 0 } }
        }
    }

    /// The codes the encoder gives digital silence: the middle frame of a silent signal long
    /// enough that the encoder's receptive field there sees nothing but silence; main rows, then
    /// `bassRows` of the bass stream's.
    func silentCodes(rows main: Int, bassRows: Int) -> [Int32] {
        let frames = 4 * (config.encoderLayout.receptiveFrames + 8)
        let zeros = [Float](repeating: 0, count: (frames - 1) * config.hop)
        var codes = encode(zeros, codebooks: main).map { $0[frames / 2] }
        if bassRows > 0, let bassStream {
            codes += bassStream.encode(zeros, frames: frames, count: bassRows).map { $0[frames / 2] }
        }
        return codes
    }

    /// Codes of `samples` at a rung: its main codebooks' rows, then its bass stream's.
    public func encode(_ samples: [Float], rung r: CodecRung) -> [[Int32]] {
        let main = encode(samples, codebooks: r.main)
        guard r.bass > 0 else { return main }
        guard let bassStream else { preconditionFailure("RVQCodec.encode: rung \(r) needs a bass stream, and this codec has none") }
        return main + bassStream.encode(samples, frames: main[0].count, count: r.bass)
    }

    /// `length` samples from codes whose last `bassRows` rows are the bass stream's: the main rows
    /// decoded, then their band below 345 Hz replaced by the bass stream's (the bass decoder is for
    /// main codes alone); without bass rows, as `decode(_:length:bass:)`.
    public func decode(_ rows: [[Int32]], bassRows: Int, length: Int, bass useBass: Bool = true) -> [Float] {
        precondition(bassRows >= 0 && bassRows < rows.count, "RVQCodec.decode: \(bassRows) bass rows of \(rows.count)")
        guard bassRows > 0 else { return decode(rows, length: length, bass: useBass) }
        guard let bassStream else { preconditionFailure("RVQCodec.decode: bass rows, and this codec has no bass stream") }
        var y = synthesize(Array(rows.dropLast(bassRows)), length: length, bass: false)
        bassStream.apply(codes: Array(rows.suffix(bassRows)), audio: &y)
        silence(&y, where: rows, bassRows: bassRows)
        return y
    }

    /// A round trip at a rung.
    public func roundTrip(_ samples: [Float], rung r: CodecRung, bass useBass: Bool = true) -> [Float] {
        decode(encode(samples, rung: r), bassRows: r.bass, length: max(samples.count, 1), bass: useBass)
    }

    // MARK: files

    /// The codebook tensors saved beside the trained weights: "quantizer.k.codebook" (K, D).
    public func codebookName(_ k: Int) -> String { "quantizer.\(k).codebook" }

    public func weightsFile(metadata: [String: String] = [:]) -> SafeTensorsFile {
        var file = params.safetensors(metadata: metadata)
        for (k, stage) in quantizer.stages.enumerated() {
            file.tensors[codebookName(k)] = SafeTensor(floats: stage.codebook.data, shape: stage.codebook.shape)
        }
        for (k, stage) in (bassStream?.quantizer.stages ?? []).enumerated() {
            file.tensors[bassStream!.codebookName(k)] = SafeTensor(floats: stage.codebook.data, shape: stage.codebook.shape)
            file.tensors[bassStream!.distortionName(k)] = SafeTensor(floats: bassStream!.distortion[k].data, shape: bassStream!.distortion[k].shape)
        }
        return file
    }

    /// Loads weights and codebooks strictly: every tensor present with its shape, nothing else.
    public func loadWeights(_ file: SafeTensorsFile, path: String, includingBassStream: Bool = true) throws {
        let bassBuffers = bassStream.flatMap { includingBassStream ? $0 : nil }.map { b in
            b.quantizer.stages.indices.flatMap { [(b.codebookName($0), b.quantizer.stages[$0].codebook), (b.distortionName($0), b.distortion[$0])] }
        } ?? []
        try params.load(file, path: path, buffers: quantizer.stages.indices.map { (codebookName($0), quantizer.stages[$0].codebook) } + bassBuffers)
        for stage in quantizer.stages {
            stage.embedSum = stage.codebook.withValues { $0.enumerated().map { j, v in v * stage.clusterSize[j / stage.dim] } }
        }
    }

    /// DIR/config.json + DIR/model.safetensors, strictly.
    public static func load(directory dir: String) throws -> RVQCodec {
        let config = try ConfigFile.read(RVQCodecConfig.self, from: dir + "/config.json")
        let problems = config.validate()
        if !problems.isEmpty {
            throw CheckpointError(path: dir + "/config.json", message: "invalid codec config: " + problems.joined(separator: "; "))
        }
        let model = RVQCodec(config: config, randomInit: false)
        let path = dir + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CheckpointError(path: path, message: "no weights beside config.json; train with `gen train codec` or restore the file.")
        }
        try model.loadWeights(SafeTensorsFile.read(path), path: path)
        return model
    }

    /// Fingerprint (64-bit FNV-1a, hex) of what the codes mean: the code-space fields of the config,
    /// the encoder's weights and the codebooks. Codes are only meaningful to an encoder and
    /// codebooks that made them; a decoder trained further (`gen train codec --decoder-only`)
    /// keeps the id, so codes files and the prior made for the codec stay valid with it.
    public var modelID: String {
        "rvq-" + params.fingerprint(config: config.codeSpace, buffers: quantizer.stages.map(\.codebook),
                                    where: { $0.hasPrefix("encoder.") })
    }
}

public struct CodecError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
