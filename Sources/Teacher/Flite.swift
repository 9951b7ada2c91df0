// Flite.swift — the CMU flite teacher voices (slt, rms, awb), called in-process through CFlite.
//
// flite gives both the audio (16 kHz) and the utterance's Segment relation: each phone's name and
// its end time in seconds. FastSpeech learns durations from exactly this kind of teacher.
// flite keeps global state (voice registry, lexicon), so every call goes through one lock.
//
// The pipeline is flite's own `utt_synth` module list, run stage by stage so that (a) the text
// frontend can stop before the waveform when it only needs phones, and (b) tokens can be given
// explicit pronunciations (flite's Token "phones" feature) between tokenization and text analysis.
import CFlite
import Foundation

public struct FliteSegment: Equatable {
    public var phone: String
    /// End time in seconds from the start of the utterance; 0 when the utterance was not synthesized.
    public var end: Double
    /// Lexical stress of the segment's syllable (flite's lexicon gives 0 or 1); nil for segments
    /// outside any syllable (the inserted "pau" silences).
    public var stress: Int? = nil
    /// flite's word this segment belongs to, after normalisation ("forty" for part of "$42"); nil for "pau".
    public var word: String? = nil
    /// True for the last segment of a word.
    public var isWordEnd: Bool = false
    /// On a word's last segment, the punctuation after its token when the word is the token's
    /// last word ("," for "Hello,"); "" otherwise.
    public var punctuation: String = ""
}

public struct FliteUtterance {
    /// Mono samples in [-1, 1]; empty when the utterance was not synthesized.
    public var samples: [Float]
    public var sampleRate: Int
    public var segments: [FliteSegment]
}

public enum FliteError: Error, CustomStringConvertible {
    case unknownVoice(String)
    case emptyText
    case synthesisFailed(String)
    /// A voice's library could not be opened or lacks its registration function (name, dlerror).
    case voiceUnavailable(String, String)

    public var description: String {
        switch self {
        case .unknownVoice(let v):
            return "unknown voice '\(v)'. Valid voices: \(Flite.voiceNames.joined(separator: ", "))."
        case .emptyText:
            return "the text is empty: give some words to speak."
        case .synthesisFailed(let text):
            return "flite produced no audio for \"\(text.prefix(60))\"; check that the text contains speakable words."
        case .voiceUnavailable(let name, let reason):
            return "the flite voice '\(name)' could not be loaded (\(reason)). Install Debian's libflite1 (`make deps` does)."
        }
    }
}

public enum Flite {
    public static let voiceNames = ["slt", "rms", "awb"]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var voices: [String: UnsafeMutablePointer<cst_voice>] = [:]
    nonisolated(unsafe) private static var initialized = false

    // flite stores feature names by pointer without copying (it expects C literals), so a name we
    // set must outlive the utterance: one static copy, never freed.
    nonisolated(unsafe) private static let phonesKey = UnsafePointer(strdup("phones")!)

    private static func voice(_ name: String) throws -> UnsafeMutablePointer<cst_voice> {
        if !initialized { flite_init(); initialized = true }
        if let v = voices[name] { return v }
        guard voiceNames.contains(name) else { throw FliteError.unknownVoice(name) }
        guard let v = try register(name) else { throw FliteError.synthesisFailed("voice \(name) failed to load") }
        voices[name] = v
        return v
    }

    /// Opens a voice's own library (Debian's libflite1: libflite_cmu_us_NAME.so.1) and registers the
    /// voice. The voices are opened when first asked for instead of linked: linked, all three were
    /// relocated at every start of gen (about 3 ms, more than half of flite's share of a start-up,
    /// measured with an empty C program linked to them), for voices most commands never use and a
    /// sentence uses one of. Their dependencies (flite, the lexicon, the US English front end) are
    /// linked as before, so the voice resolves them in this process.
    private static func register(_ name: String) throws -> UnsafeMutablePointer<cst_voice>? {
        typealias Register = @convention(c) (UnsafePointer<CChar>?) -> UnsafeMutablePointer<cst_voice>?
        let library = "libflite_cmu_us_\(name).so.1", symbol = "register_cmu_us_\(name)"
        guard let handle = dlopen(library, RTLD_NOW) else {
            throw FliteError.voiceUnavailable(name, dlerror().map { String(cString: $0) } ?? "cannot open \(library)")
        }
        guard let function = dlsym(handle, symbol) else {
            throw FliteError.voiceUnavailable(name, "\(library) has no \(symbol)")
        }
        return unsafeBitCast(function, to: Register.self)(nil)
    }

    // flite's utt_synth, split where we need to stop or step in. A voice may override any hook
    // through its features; the function here is flite's default when it does not.
    private typealias Stage = (hook: String, fallback: cst_uttfunc?)
    private static func textStages() -> [Stage] {
        [("textanalysis_func", default_textanalysis), ("pos_tagger_func", default_pos_tagger),
         ("phrasing_func", default_phrasing), ("lexical_insertion_func", default_lexical_insertion),
         ("pause_insertion_func", default_pause_insertion), ("intonation_func", cart_intonation),
         ("postlex_func", nil)]
    }
    private static func waveStages() -> [Stage] {
        [("duration_model_func", cart_duration), ("f0_model_func", nil),
         ("wave_synth_func", nil), ("post_synth_hook_func", nil)]
    }

    private static func run(_ stages: [Stage], _ utt: UnsafeMutablePointer<cst_utterance>) -> Bool {
        for stage in stages {
            let ok = stage.hook.withCString { name -> Bool in
                var module = cst_synth_module(hookname: name, defhook: stage.fallback)
                return apply_synth_module(utt, &module) != nil
            }
            if !ok { return false }
        }
        return true
    }

    /// Runs flite on `text` with a teacher voice.
    /// - synthesize: false stops after flite's text analysis (phones, stress, words, pauses; no
    ///   timings, no audio), which is ~100x cheaper than synthesis and gives the same segments.
    /// - placeholder, phones: the i-th token named `placeholder` is spoken with `phones[i]` (flite's
    ///   lexicon form: ["hh", "ax0", "l", "ow1"]) instead of the lexicon's pronunciation. The
    ///   placeholder must be a word flite keeps whole (a lexicon word); the caller validates phones.
    public static func utterance(text: String, voice name: String, synthesize: Bool = true,
                                 placeholder: String = "", phones: [[String]] = []) throws -> FliteUtterance {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw FliteError.emptyText }
        lock.lock(); defer { lock.unlock() }
        let v = try voice(name)
        guard let utt = new_utterance() else { throw FliteError.synthesisFailed(text) }
        defer { delete_utterance(utt) }
        utt_set_input_text(utt, text)
        utt_init(utt, v)
        guard run([("tokenizer_func", default_tokenization)], utt) else { throw FliteError.synthesisFailed(text) }
        if !phones.isEmpty {
            // A list-valued "phones" is used as is by every word of the token; a string-valued one
            // would be skipped when it equals the previous word's (flite takes that for one token).
            var token = relation_head(utt_relation(utt, "Token"))
            var next = 0
            while let t = token, next < phones.count {
                if String(cString: item_feat_string(t, "name")) == placeholder {
                    var list: UnsafeMutablePointer<cst_val>? = nil
                    for p in phones[next].reversed() { list = cons_val(string_val(p), list) }
                    item_set(t, phonesKey, list)
                    next += 1
                }
                token = item_next(t)
            }
        }
        guard run(textStages(), utt) else { throw FliteError.synthesisFailed(text) }

        var samples: [Float] = []
        var sampleRate = 16000
        if synthesize {
            guard run(waveStages(), utt), let wave = utt_wave(utt), wave.pointee.num_samples > 0 else {
                throw FliteError.synthesisFailed(text)
            }
            let w = wave.pointee
            let channels = Int(max(w.num_channels, 1))
            samples = [Float](repeating: 0, count: Int(w.num_samples))
            for i in 0..<samples.count { samples[i] = Float(w.samples[i * channels]) / 32768 }
            sampleRate = Int(w.sample_rate)
        }
        return FliteUtterance(samples: samples, sampleRate: sampleRate, segments: segments(of: utt, timed: synthesize))
    }

    /// The Segment relation with the linguistic features the text frontend needs, read through the
    /// SylStructure (word → syllable → segment) and Token (token → word) relations.
    private static func segments(of utt: UnsafeMutablePointer<cst_utterance>, timed: Bool) -> [FliteSegment] {
        var out: [FliteSegment] = []
        var item = relation_head(utt_relation(utt, "Segment"))
        while let seg = item {
            var s = FliteSegment(phone: String(cString: item_feat_string(seg, "name")),
                                 end: timed ? Double(item_feat_float(seg, "end")) : 0)
            if let inSyllable = item_as(seg, "SylStructure"), let syllable = item_parent(inSyllable),
               let word = item_parent(syllable) {
                if item_feat_present(syllable, "stress") != 0 {
                    s.stress = Int(ffeature_int(seg, "R:SylStructure.parent.stress"))
                }
                s.word = String(cString: item_feat_string(word, "name"))
                s.isWordEnd = item_next(inSyllable) == nil && item_next(syllable) == nil
                if s.isWordEnd, let inToken = item_as(word, "Token"), item_next(inToken) == nil,
                   let token = item_parent(inToken), item_feat_present(token, "punc") != 0 {
                    s.punctuation = String(cString: item_feat_string(token, "punc"))
                }
            }
            out.append(s)
            item = item_next(seg)
        }
        return out
    }

    /// The voice's phone inventory as flite defines it (its `us` phoneset): each phone's name and
    /// whether flite classes it as a vowel (phone feature vc = "+"). PhoneSet is checked against it.
    public static func phoneset(voice name: String) throws -> [(name: String, isVowel: Bool)] {
        lock.lock(); defer { lock.unlock() }
        let v = try voice(name)
        guard let ps = val_phoneset(feat_val(v.pointee.features, "phoneset")) else {
            throw FliteError.synthesisFailed("voice \(name) has no phoneset")
        }
        return (0..<Int(ps.pointee.num_phones)).map { i in
            let phone = ps.pointee.phonenames[i]!
            let vc = String(cString: phone_feature_string(ps, phone, "vc"))
            return (String(cString: phone), vc == "+")
        }
    }

    /// Audio only.
    public static func synthesize(text: String, voice: String) throws -> (samples: [Float], sampleRate: Int) {
        let u = try utterance(text: text, voice: voice)
        return (u.samples, u.sampleRate)
    }
}
