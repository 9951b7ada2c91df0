// Vocoder.swift — mel → waveform behind a small protocol, so a neural vocoder can replace
// Griffin-Lim later without touching the acoustic model.
import DSP

public protocol Vocoder {
    /// log-mel (T, M) in the project's standard framing → 22050 Hz waveform.
    func waveform(logMel: [Float], frames: Int) -> [Float]
    /// The same, `length` samples long (the length of the audio the mel was analysed from).
    func waveform(logMel: [Float], frames: Int, length: Int) -> [Float]
    /// Does ahead what the first waveform would otherwise do first (packing weights, setting up
    /// kernels), for a caller with a thread to spare before its first sentence; nothing by default.
    func prepare()
}

extension Vocoder {
    public func prepare() {}

    /// Default: the natural length, cut or zero-padded to `length`.
    public func waveform(logMel: [Float], frames: Int, length: Int) -> [Float] {
        let y = waveform(logMel: logMel, frames: frames)
        return y.count >= length ? Array(y.prefix(length)) : y + [Float](repeating: 0, count: length - y.count)
    }
}

/// Fast Griffin-Lim (Perraudin et al. 2013) from the mel's non-negative pseudo-inverse.
/// 16 iterations by default: with momentum 0.99 they reach the same word error rate as 60 on the
/// evaluation sentences (models/speech/MODEL_CARD.md) at a quarter of the cost.
public struct GriffinLimVocoder: Vocoder {
    public var iterations: Int
    /// Seed of the random initial phase: the same seed gives the same waveform.
    public var seed: UInt64
    /// Built on first use and shared (`MelFilterbank.standard`): `SpeechSynthesizer` creates a
    /// Griffin-Lim vocoder as its default even when the neural one replaces it.
    static var filterbank: MelFilterbank { .standard }

    public init(iterations: Int = 16, seed: UInt64 = 0) { self.iterations = iterations; self.seed = seed }

    public func waveform(logMel: [Float], frames: Int) -> [Float] {
        let gl = GriffinLim(stft: MelConfig.standard.stft, iterations: iterations, initialPhase: .random(seed: seed))
        let length = (frames - 1) * MelConfig.standard.hop
        return gl.reconstruct(logMel: logMel, filterbank: Self.filterbank, length: max(length, 1))
    }
}

/// Which vocoder turns mels into audio: the trained network (default) or Griffin-Lim (the reference).
public enum VocoderKind: String, CaseIterable, Codable, Sendable {
    case neural
    case griffinLim = "griffin-lim"

    /// "neural, griffin-lim", for messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension VocoderKind {
    /// The vocoder of this kind: the neural one from MODELS/vocoder, Griffin-Lim with `iterations` and `seed`.
    public func make(modelsDir: String, iterations: Int = 16, seed: UInt64 = 0) throws -> Vocoder {
        switch self {
        case .neural: return try NeuralVocoder(modelDir: modelsDir + "/vocoder")
        case .griffinLim: return GriffinLimVocoder(iterations: iterations, seed: seed)
        }
    }
}
