// NeuralVocoder.swift — a Vocos-style vocoder (Siuzdak 2023): every layer runs at the mel frame
// rate (86 frames/s), and the last one predicts each frame's STFT log-magnitude and phase, which an
// inverse STFT (n_fft 1024, hop 256) turns into samples. No layer runs at the sample rate, which is
// why it is fast on a CPU.
//
//   log-mel (B, S, 80) ─▶ conv k7 ─▶ LN ─▶ N × ConvNeXt (depthwise k7, MLP) ─▶ LN
//   ─▶ linear to 2·513 (log|X|, arg X) ─▶ polar ─▶ iSTFT ─▶ (B, 1, (S − 1)·256)
import DSP
import Engine
import Foundation
import NN

public struct VocoderConfig: Codable, Equatable {
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
        if !(1...1024).contains(width) { problems.append("width must be in 1...1024, got \(width)") }
        if !(1...32).contains(blocks) { problems.append("blocks must be in 1...32, got \(blocks)") }
        if !(1...8192).contains(mlpDim) { problems.append("mlp_dim must be in 1...8192, got \(mlpDim)") }
        if !(1...31).contains(kernel) || kernel % 2 == 0 { problems.append("kernel must be odd, in 1...31, got \(kernel)") }
        if !["relu", "gelu"].contains(activation) { problems.append("activation must be relu or gelu, got '\(activation)'") }
        if problems.isEmpty && Double(blocks) * 2 * Double(width) * Double(mlpDim) > 2e8 {
            problems.append("width × mlp_dim × blocks make more than the 200 million parameters gen loads")
        }
        return problems
    }

    /// Frames of context each side that influence a frame's spectrum: the input conv (k7) and the blocks.
    public var receptiveFrames: Int { 3 + blocks * (kernel / 2) }

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate", nMels = "n_mels", nFFT = "n_fft", hop, width, blocks
        case mlpDim = "mlp_dim", kernel, activation
    }
}

/// The network. `head` gives the spectrum, `callAsFunction` the waveform (training and inference alike).
public final class VocoderModel {
    public let config: VocoderConfig
    public let params = ParameterStore()
    let inConv: Conv1d
    let inNorm: LayerNorm, outNorm: LayerNorm
    let blocks: [ConvNeXtBlock]
    let out: Linear
    public let basis: STFTBasis

    /// `randomInit` false: zeros, for weights about to be loaded.
    public init(config c: VocoderConfig, seed: UInt64 = 1, randomInit: Bool = true) {
        config = c
        var rng = RNG(seed: seed)
        let s = Scope(params, randomInit: randomInit)
        inConv = Conv1d(c.nMels, c.width, kernel: 7, scope: s.child("embed"), rng: &rng)
        inNorm = LayerNorm(c.width, scope: s.child("embed_norm"))
        blocks = (0..<c.blocks).map {
            ConvNeXtBlock(channels: c.width, mlpDim: c.mlpDim, kernel: c.kernel, layerScale: 1 / Float(c.blocks),
                          activation: c.activation == "gelu" ? gelu : relu, scope: s.child("blocks").child($0), rng: &rng)
        }
        outNorm = LayerNorm(c.width, scope: s.child("final_norm"))
        out = Linear(c.width, c.nFFT + 2, scope: s.child("head"), rng: &rng)
        basis = STFTBasis(nFFT: c.nFFT, hop: c.hop)
    }

    /// log-mel (B, S, M) → head output (B, S, 2F): F log-magnitudes, then F phases, per frame.
    public func head(_ mel: Tensor) -> Tensor {
        var h = transpose(inConv(transpose(mel, 1, 2)), 1, 2)   // (B, S, C)
        h = inNorm(h)
        for block in blocks { h = block(h) }
        return out(outNorm(h))
    }

    /// Head output (B, S, 2F) → waveform (B, 1, (S − 1)·hop), sample t lined up with frame t / hop.
    public func waveform(head h: Tensor) -> Tensor {
        istft(polarSpectrum(h), basis: basis, padding: config.nFFT / 2, length: (h.shape[1] - 1) * config.hop)
    }

    /// log-mel (B, S, M) → waveform (B, 1, (S − 1)·hop).
    public func callAsFunction(_ mel: Tensor) -> Tensor { waveform(head: head(mel)) }

    /// One utterance's log-mel (S, M) → `length` samples ((S − 1)·hop by default; a centred STFT of
    /// L samples has 1 + L / hop frames, so L itself is the natural choice when it is known). Runs in
    /// chunks of `chunk` frames that each see `receptiveFrames` + N / hop frames of context on both
    /// sides, so memory stays bounded for any length and the result equals the whole-utterance
    /// computation up to float rounding.
    public func synthesize(logMel: [Float], frames: Int, length requested: Int? = nil, chunk: Int = 512) -> [Float] {
        let m = config.nMels, hop = config.hop, half = config.nFFT / 2
        let length = requested ?? max(frames - 1, 0) * hop
        var output = [Float](repeating: 0, count: length)
        guard frames >= 1, length > 0 else { return output }
        precondition(logMel.count == frames * m, "synthesize: \(logMel.count) mel values for \(frames) frames of \(m)")
        // Samples past the last frame's centre + N/2 have no frame: they stay 0.
        let reach = min(length, (frames - 1) * hop + half)
        let context = config.receptiveFrames + config.nFFT / hop
        var a = 0
        while a * hop < reach {
            let b = a + chunk                                 // output samples [a·hop, min(b·hop, reach))
            let lo = max(0, a - context), hi = min(frames, b + context)
            let end = min(b * hop, reach)
            let piece = Tensor(shape: [1, hi - lo, m], data: Array(logMel[(lo * m)..<(hi * m)]))
            let y = GradMode.withoutGrad {                    // samples from lo·hop
                istft(polarSpectrum(head(piece)), basis: basis, padding: half, length: end - lo * hop)
            }
            for t in (a * hop)..<end { output[t] = y.data[t - lo * hop] }
            a = b
        }
        return output
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

    public init(model: VocoderModel) { self.model = model }

    /// Loads DIR/config.json and DIR/model.safetensors (strictly; F32 or F16 weights).
    public convenience init(modelDir: String) throws {
        self.init(model: try ModelFolder.load(modelDir, config: VocoderConfig.self, missing: VocoderModelError.missingModel(modelDir),
                                              validate: { $0.validate() }, build: { VocoderModel(config: $0, randomInit: false) }, params: \.params))
    }

    public func waveform(logMel: [Float], frames: Int) -> [Float] {
        model.synthesize(logMel: logMel, frames: frames)
    }

    public func waveform(logMel: [Float], frames: Int, length: Int) -> [Float] {
        model.synthesize(logMel: logMel, frames: frames, length: length)
    }
}
