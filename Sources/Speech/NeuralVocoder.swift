// NeuralVocoder.swift — a Vocos-style vocoder (Siuzdak 2023): every layer runs at the mel frame
// rate (86 frames/s), and the last one predicts each frame's STFT log-magnitude and phase, which an
// inverse STFT (n_fft 1024, hop 256) turns into samples. No layer runs at the sample rate, which is
// why it is fast on a CPU.
//
//   log-mel (B, S, 80) ─▶ conv k7 ─▶ LN ─▶ N × ConvNeXt (depthwise k7, MLP) ─▶ LN
//   ─▶ linear to 2·513 (log|X|, arg X) ─▶ polar ─▶ iSTFT ─▶ (B, 1, (S − 1)·256)
//   then, as the config asks: the mel projection (the output's mel brought to the input's, keeping the
//   network's phase) and the source-filter phase in voiced frames (`gen speech` only).
import DSP
import Engine
import Foundation
import NN

public struct VocoderConfig: Codable, Equatable, ValidatedConfig {
    public var sampleRate = 22050
    public var nMels = 80
    public var nFFT = 1024
    public var hop = 256
    /// Channels of the frame-rate backbone.
    public var width = 192
    public var blocks = 6
    /// Hidden size of each block's MLP.
    public var mlpDim = 576
    /// Depthwise kernel of each block (frames).
    public var kernel = 7
    /// The blocks' activation: "relu" (fast) or "gelu".
    public var activation = "relu"
    /// What the iSTFT head predicts of the phase (absent: absolute, Vocos's).
    public var phaseHead: PhaseHead? = nil
    /// The source-filter phase for voiced frames after synthesis (DSP/SourcePhase.swift; absent: the
    /// network's own phase everywhere).
    public var sourcePhase: SourcePhaseSettings? = nil
    /// After synthesis and before the source phase, the output's mel brought to the input mel by fast
    /// Griffin-Lim-style projections from the network's own spectrum (DSP/MelProjection.swift; absent:
    /// the network's output as it is). `iterations` for `gen speech`, `copy_iterations` for `gen vocode`.
    public var melProjection: MelProjectionSettings? = nil

    public init() {}

    /// Every value that sizes something, range-checked before anything is allocated.
    public func validate() -> [String] {
        var problems: [String] = []
        if sampleRate != MelConfig.standard.sampleRate || nMels != MelConfig.standard.nMels || hop != MelConfig.standard.hop {
            problems.append("sample_rate, n_mels and hop must be the mel's \(MelConfig.standard.sampleRate), \(MelConfig.standard.nMels) and \(MelConfig.standard.hop)")
        }
        if !(256...4096).contains(nFFT) || nFFT & (nFFT - 1) != 0 || nFFT < 2 * hop {
            problems.append("n_fft must be a power of two in 256...4096 and at least twice the hop, got \(nFFT)")
        }
        problems += layout.problems()
        problems += sourcePhase?.problems(nFFT: nFFT, sampleRate: sampleRate) ?? []
        problems += melProjection?.problems() ?? []
        return problems
    }

    /// The backbone's sizes.
    public var layout: ConvNeXtLayout {
        ConvNeXtLayout(inputs: nMels, width: width, blocks: blocks, mlpDim: mlpDim, kernel: kernel, activation: activation)
    }

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate", nMels = "n_mels", nFFT = "n_fft", hop, width, blocks
        case mlpDim = "mlp_dim", kernel, activation, phaseHead = "phase_head", sourcePhase = "source_phase"
        case melProjection = "mel_projection"
    }
}

/// The network: the shared frame-rate ConvNeXt stack and iSTFT head (NN/FrameNet.swift), fed log-mels.
/// `head` gives the spectrum, `callAsFunction` the waveform (training and inference alike).
public final class VocoderModel {
    public let config: VocoderConfig
    public let params = ParameterStore()
    public let net: ISTFTDecoder
    public var basis: STFTBasis { net.basis }

    /// `randomInit` false: unfilled, for weights about to be loaded (`ModelFolder.load`).
    public init(config c: VocoderConfig, seed: UInt64 = 1, randomInit: Bool = true) {
        config = c
        var rng = RNG(seed: seed)
        net = ISTFTDecoder(c.layout, nFFT: c.nFFT, hop: c.hop, phaseHead: c.phaseHead ?? .absolute, scope: Scope(params, randomInit: randomInit), rng: &rng)
    }

    /// log-mel (B, S, M) → head output (B, S, 2F or 3F, `ISTFTDecoder.head`).
    public func head(_ mel: Tensor) -> Tensor { net.head(mel) }

    /// Head output → waveform (B, 1, (S − 1)·hop), sample t lined up with frame t / hop.
    public func waveform(head h: Tensor) -> Tensor { net.waveform(head: h) }

    /// log-mel (B, S, M) → waveform (B, 1, (S − 1)·hop).
    public func callAsFunction(_ mel: Tensor) -> Tensor { net(mel) }

    /// One utterance's log-mel (S, M) → `length` samples ((S − 1)·hop by default), in bounded chunks
    /// equal to the whole-utterance computation up to float rounding (`ISTFTDecoder.synthesize`).
    public func synthesize(logMel: [Float], frames: Int, length: Int? = nil, chunk: Int = 512) -> [Float] {
        net.synthesize(features: logMel, frames: frames, length: length, chunk: chunk)
    }
}

public enum VocoderModelError: Error, CustomStringConvertible {
    case missingModel(String)

    public var description: String {
        switch self {
        case .missingModel(let dir):
            return "no vocoder model in '\(dir)' (it needs config.json and model.safetensors). "
                + "Pass --models-dir, set GEN_MODELS, train one with `gen train vocoder`, or use --vocoder griffin-lim."
        }
    }
}

/// The trained vocoder behind `Vocoder`, for `gen speech` and `gen vocode`.
public final class NeuralVocoder: Vocoder {
    public let model: VocoderModel
    /// The STFT of the source-filter phase, when the config asks for it in fixed frames (with
    /// `frame_periods` each utterance gets its own).
    let sourceSTFT: STFT?
    /// Whether the config's source-filter phase is applied: `gen speech` keeps it, `gen vocode`
    /// (copy synthesis, judged against the input's waveform) turns it off.
    public var useSourcePhase = true
    /// The mel projection after synthesis: the config's, or as a caller sets it (nil: none).
    public var melProjection: MelProjection?

    public init(model: VocoderModel) {
        self.model = model
        melProjection = model.config.melProjection.map { MelProjection(settings: $0) }
        sourceSTFT = model.config.sourcePhase.flatMap { s in
            guard s.framePeriods == nil else { return nil }
            let n = s.nFFT ?? model.config.nFFT
            return STFT(config: STFTConfig(nFFT: n, winLength: n, hop: s.nFFT == nil ? model.config.hop : n / 4))
        }
    }

    /// Loads DIR/config.json and DIR/model.safetensors (strictly; F32 or F16 weights, the large F32
    /// ones read in place from the mapped file), frozen: on a CPU with AVX512-BF16 its products run
    /// in bfloat16 (`BF16Products`; `gen --float32` keeps float).
    public convenience init(modelDir: String) throws {
        let model = try ModelFolder.load(modelDir, config: VocoderConfig.self, missing: VocoderModelError.missingModel(modelDir), borrow: true,
                                         validate: { $0.validate() }, build: { VocoderModel(config: $0, randomInit: false) }, params: \.params)
        model.params.freezeForInference()
        self.init(model: model)
    }

    public func waveform(logMel: [Float], frames: Int) -> [Float] {
        withSourcePhase(projected(model.synthesize(logMel: logMel, frames: frames), logMel: logMel))
    }

    public func waveform(logMel: [Float], frames: Int, length: Int) -> [Float] {
        withSourcePhase(projected(model.synthesize(logMel: logMel, frames: frames, length: length), logMel: logMel))
    }

    /// The network run once on a few frames of silence: its weights packed for the products (the
    /// bfloat16 panels, made on first use under a lock while the other worker waits) and the tile
    /// unit set up. In a one-sentence `gen speech` the first sentence's network stage took 2–3 ms
    /// longer than the same sentence's second time (models/vocoder/MODEL_CARD.md, section "Speed");
    /// `gen speech` calls this on the thread that loads the vocoder, beside the main thread's work.
    public func prepare() {
        let frames = 16
        _ = model.synthesize(logMel: [Float](repeating: Foundation.log(1e-5), count: frames * model.config.nMels), frames: frames)
    }

    /// Sets the mel projection's steps (0: none), keeping the config's other settings (and the
    /// projection's filterbank, which is not free to build).
    public func refine(iterations n: Int) {
        var s = model.config.melProjection ?? MelProjectionSettings()
        s.iterations = n
        melProjection = n > 0 ? melProjection?.with(settings: s) ?? MelProjection(settings: s) : nil
    }

    /// As `gen vocode` runs it: copy synthesis is judged against the input's own waveform, so it keeps
    /// the network's phase even where the config gives `gen speech` the source-filter phase (which costs
    /// PESQ-wb 2.86 → 2.37 there), and takes the config's `copy_iterations` of the mel projection.
    public func useForCopySynthesis() {
        useSourcePhase = false
        if let s = model.config.melProjection { refine(iterations: s.copyIterations ?? s.iterations) }
    }

    /// The waveform with its mel brought to the one it was made from, when asked.
    public func projected(_ y: [Float], logMel: [Float]) -> [Float] {
        guard let p = melProjection else { return y }
        return p.apply(y, logMel: logMel)
    }

    /// The waveform, its voiced frames given the source-filter phase when the config asks.
    public func withSourcePhase(_ y: [Float]) -> [Float] {
        guard useSourcePhase, let settings = model.config.sourcePhase else { return y }
        return SourcePhase.apply(y, sampleRate: model.config.sampleRate, hop: model.config.hop, fixed: sourceSTFT, settings: settings)
    }
}
