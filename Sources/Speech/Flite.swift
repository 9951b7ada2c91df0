// Flite.swift — the CMU flite teacher voices (slt, rms, awb), called in-process through CFlite.
//
// flite gives both the audio (16 kHz) and the utterance's Segment relation: each phone's name and
// its end time in seconds. FastSpeech learns durations from exactly this kind of teacher.
// flite keeps global state (voice registry, lexicon), so every call goes through one lock.
import CFlite
import Foundation

public struct FliteSegment: Equatable {
    public var phone: String
    /// End time in seconds from the start of the utterance.
    public var end: Double
}

public struct FliteUtterance {
    /// Mono samples in [-1, 1].
    public var samples: [Float]
    public var sampleRate: Int
    public var segments: [FliteSegment]
}

public enum FliteError: Error, CustomStringConvertible {
    case unknownVoice(String)
    case emptyText
    case synthesisFailed(String)

    public var description: String {
        switch self {
        case .unknownVoice(let v):
            return "unknown voice '\(v)'. Valid voices: \(Flite.voiceNames.joined(separator: ", "))."
        case .emptyText:
            return "the text is empty: give some words to speak."
        case .synthesisFailed(let text):
            return "flite produced no audio for \"\(text.prefix(60))\"; check that the text contains speakable words."
        }
    }
}

public enum Flite {
    public static let voiceNames = ["slt", "rms", "awb"]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var voices: [String: UnsafeMutablePointer<cst_voice>] = [:]
    nonisolated(unsafe) private static var initialized = false

    private static func voice(_ name: String) throws -> UnsafeMutablePointer<cst_voice> {
        if !initialized { flite_init(); initialized = true }
        if let v = voices[name] { return v }
        let v: UnsafeMutablePointer<cst_voice>?
        switch name {
        case "slt": v = register_cmu_us_slt(nil)
        case "rms": v = register_cmu_us_rms(nil)
        case "awb": v = register_cmu_us_awb(nil)
        default: throw FliteError.unknownVoice(name)
        }
        guard let v else { throw FliteError.synthesisFailed("voice \(name) failed to load") }
        voices[name] = v
        return v
    }

    /// Synthesizes `text` with a teacher voice: audio plus phone segments (including flite's "pau").
    public static func utterance(text: String, voice name: String) throws -> FliteUtterance {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw FliteError.emptyText }
        lock.lock(); defer { lock.unlock() }
        let v = try voice(name)
        guard let utt = flite_synth_text(text, v) else { throw FliteError.synthesisFailed(text) }
        defer { delete_utterance(utt) }
        guard let wave = utt_wave(utt), wave.pointee.num_samples > 0 else { throw FliteError.synthesisFailed(text) }
        let w = wave.pointee
        let channels = Int(max(w.num_channels, 1))
        var samples = [Float](repeating: 0, count: Int(w.num_samples))
        for i in 0..<samples.count { samples[i] = Float(w.samples[i * channels]) / 32768 }
        var segments: [FliteSegment] = []
        var item = relation_head(utt_relation(utt, "Segment"))
        while let it = item {
            let phone = String(cString: item_feat_string(it, "name"))
            segments.append(FliteSegment(phone: phone, end: Double(item_feat_float(it, "end"))))
            item = item_next(it)
        }
        return FliteUtterance(samples: samples, sampleRate: Int(w.sample_rate), segments: segments)
    }

    /// Audio only.
    public static func synthesize(text: String, voice: String) throws -> (samples: [Float], sampleRate: Int) {
        let u = try utterance(text: text, voice: voice)
        return (u.samples, u.sampleRate)
    }
}
