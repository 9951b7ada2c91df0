// SpeechSynthesizer.swift — text → waveform with a trained FastSpeech model: frontend per
// sentence (so memory stays bounded for any length of text), acoustic model, vocoder.
import DSP
import Engine
import Foundation

public enum SpeechModelError: Error, CustomStringConvertible {
    case missingModel(String)
    case unknownVoice(String, valid: [String])

    public var description: String {
        switch self {
        case .missingModel(let dir):
            return "no speech model in '\(dir)' (it needs config.json and model.safetensors). "
                + "Pass --models-dir, set GEN_MODELS, or train one with `gen train speech`."
        case .unknownVoice(let v, let valid):
            return "unknown voice '\(v)'. Valid voices: \(valid.joined(separator: ", "))."
        }
    }
}

public final class SpeechSynthesizer {
    public let model: FastSpeech
    public var vocoder: Vocoder
    /// Silence between sentences, in seconds.
    public var sentenceGap = 0.25

    public init(model: FastSpeech, vocoder: Vocoder = GriffinLimVocoder()) {
        self.model = model
        self.vocoder = vocoder
    }

    /// Loads DIR/config.json and DIR/model.safetensors (strictly).
    public convenience init(modelDir: String) throws {
        let configPath = modelDir + "/config.json", weights = modelDir + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: configPath), FileManager.default.fileExists(atPath: weights) else {
            throw SpeechModelError.missingModel(modelDir)
        }
        let config = try ConfigFile.read(FastSpeechConfig.self, from: configPath)
        let model = FastSpeech(config: config)
        try model.params.load(from: weights)
        self.init(model: model)
    }

    public var voices: [String] { model.config.speakers }

    public func speaker(_ voice: String) throws -> Int {
        guard let i = model.config.speakers.firstIndex(of: voice) else {
            throw SpeechModelError.unknownVoice(voice, valid: model.config.speakers)
        }
        return i
    }

    /// Log-mel (T, 80) for one sentence.
    public func mel(sentence: String, voice: String, speed: Float = 1, pitch: Float = 0) throws -> (mel: [Float], frames: Int) {
        let spk = try speaker(voice)
        let tokens = try TextFrontend.phonemes(sentence, voice: voice)
        let out = model.synthesize(tokens: tokens.map(\.id), speaker: spk, speed: speed, pitchShift: pitch)
        return (out.mel, out.frames)
    }

    /// 22050 Hz waveform for any length of text, sentence by sentence.
    public func speak(_ text: String, voice: String, speed: Float = 1, pitch: Float = 0) throws -> [Float] {
        _ = try speaker(voice)
        let sentences = TextFrontend.sentences(text)
        guard !sentences.isEmpty else { throw TextFrontendError.emptyText }
        var audio: [Float] = []
        let gap = [Float](repeating: 0, count: Int(sentenceGap * Double(MelConfig.standard.sampleRate)))
        for (i, s) in sentences.enumerated() {
            let m = try mel(sentence: s, voice: voice, speed: speed, pitch: pitch)
            if i > 0 { audio += gap }
            audio += vocoder.waveform(logMel: m.mel, frames: m.frames)
        }
        return audio
    }
}
