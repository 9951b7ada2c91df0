// SpeechSynthesizer.swift — text → waveform with a trained FastSpeech model: frontend per
// sentence (so memory stays bounded for any length of text), acoustic model, vocoder.
import Base
import DSP
import Engine
import Foundation
import Requests

public enum SpeechModelError: Error, CustomStringConvertible {
    case missingModel(String)
    case unknownVoice(String, valid: [String])

    public var description: String {
        switch self {
        case .missingModel(let dir):
            return "no speech model in '\(dir)' (it needs config.json and model.safetensors). "
                + "Pass --models-dir, set GEN_MODELS, or train one with `gen train speech`."
        case .unknownVoice(let v, let valid):
            return LabelName.unknown("voice", v, valid: valid)
        }
    }
}

public final class SpeechSynthesizer {
    public let model: FastSpeech
    public var vocoder: Vocoder
    /// A vocoder still loading (`gen speech` loads it on a thread of its own): the first sentence's
    /// mel is made before it is waited for, so the acoustic model runs while the vocoder's weights
    /// are read and prepared. When set, it replaces `vocoder` at the first waveform, and what it
    /// throws is thrown there.
    public var pendingVocoder: (() throws -> Vocoder)?

    /// Waits for `pendingVocoder`, if any, and makes it `vocoder` (what it threw is thrown).
    public func resolveVocoder() throws {
        guard let pending = pendingVocoder else { return }
        vocoder = try pending()
        pendingVocoder = nil
    }
    /// Silence between sentences, in seconds.
    public var sentenceGap = 0.25
    /// Whether the model's mel postfilter (if its config has one) restores the predicted mel's
    /// fine detail before the vocoder (`gen speech --no-postfilter` turns it off).
    public var usePostfilter = true

    public init(model: FastSpeech, vocoder: Vocoder = GriffinLimVocoder()) {
        self.model = model
        self.vocoder = vocoder
    }

    /// Loads DIR/config.json and DIR/model.safetensors (strictly; the large weights read in place
    /// from the mapped file, `ModelFolder.load(borrow:)`). Its products stay in float: in
    /// bfloat16 (as the vocoder's run, `BF16Products`) rms's dev WER rose from 0.058 to 0.079 in one
    /// run, past its teacher's 0.042 + 0.02, and 2 of its 30 sentences changed length; with the
    /// decoder alone in bfloat16, rms's paired WER on 74 fresh sentences rose by 0.017 (vocoder card).
    public convenience init(modelDir: String) throws {
        self.init(model: try ModelFolder.load(modelDir, config: FastSpeechConfig.self, missing: SpeechModelError.missingModel(modelDir), borrow: true,
                                              validate: { $0.validate() }, build: { FastSpeech(config: $0, randomInit: false) }, params: \.params))
    }

    public var voices: [String] { model.config.speakers }

    /// The model's spelling of `voice`, matched without regard to case ("RMS" → "rms").
    public func canonicalVoice(_ voice: String) -> String {
        let speakers = model.config.speakers
        return speakers.contains(voice) ? voice : speakers.first { $0.lowercased() == voice.lowercased() } ?? voice
    }

    /// The speaker id of `voice` (any case).
    public func speaker(_ voice: String) throws -> Int {
        guard let i = model.config.speakers.firstIndex(of: canonicalVoice(voice)) else {
            throw SpeechModelError.unknownVoice(voice, valid: model.config.speakers)
        }
        return i
    }

    /// Checks, without synthesizing, that `text` can be spoken in `voice`: the voice exists; SSML
    /// parses and names only known voices; plain text has at least one sentence with phones.
    public func checkSpeakable(_ text: String, voice: String) throws {
        _ = try speaker(voice)
        if SSML.looksLikeSSML(text) {
            for case .text(_, let v?, _, _, _) in try SSML.parse(text) { _ = try speaker(v) }
            return
        }
        let flite = Flite.voiceNames.contains(canonicalVoice(voice)) ? canonicalVoice(voice) : "slt"
        var speakable = 0
        for sentence in TextFrontend.sentences(text) {
            do { _ = try TextFrontend.phonemes(sentence, voice: flite); speakable += 1 } catch TextFrontendError.nothingToSay {}
        }
        if speakable == 0 { throw TextFrontendError.nothingToSay(text) }
    }

    /// Sets up flite's front end for `voice` (its first sentence in a process does that first: about
    /// 1 ms), for a caller with a moment to spare before its first sentence. Unknown voices are left
    /// for `speak` to report.
    public func prepareFrontend(voice: String) {
        let v = canonicalVoice(voice)
        _ = try? TextFrontend.phonemes("a", voice: Flite.voiceNames.contains(v) ? v : "slt")
    }

    /// Log-mel (T, 80) for one sentence.
    public func mel(sentence: String, voice: String, speed: Float = 1, pitch: Float = 0) throws -> (mel: [Float], frames: Int) {
        let spk = try speaker(voice)
        let voice = canonicalVoice(voice)
        // A speaker imported from recordings (`--ljspeech`) has no flite voice of its own: its phones
        // came from the slt frontend (the default --align-voice).
        let ids = try TextFrontend.phonemes(sentence, voice: Flite.voiceNames.contains(voice) ? voice : "slt").map(\.id)
        // Attention memory grows with the square of the length: a "sentence" that is one huge
        // token (a 10,000-digit number) is cut at word boundaries into pieces of at most
        // maxTokens, spoken one after another.
        var mel: [Float] = [], frames = 0
        for piece in Self.pieces(ids, maxTokens: maxTokens) {
            let out = model.synthesize(tokens: piece, speaker: spk, speed: speed, pitchShift: pitch)
            mel += out.mel; frames += out.frames
        }
        if usePostfilter, let postfilter = model.config.postfilter {
            postfilter.apply(&mel, frames: frames, nMels: model.config.nMels, voice: voice)
        }
        return (mel, frames)
    }

    /// Longest token sequence given to the model at once.
    public var maxTokens = 400

    static func pieces(_ ids: [Int], maxTokens: Int) -> [[Int]] {
        guard ids.count > maxTokens, let wb = PhoneSet.standard.id(PhoneSet.wordBoundary) else { return [ids] }
        var out: [[Int]] = [], start = 0
        while start < ids.count {
            var end = min(start + maxTokens, ids.count)
            if end < ids.count, let cut = ids[start..<end].lastIndex(of: wb), cut > start { end = cut + 1 }
            out.append(Array(ids[start..<end]))
            start = end
        }
        return out
    }

    /// Speaks any length of text sentence by sentence, handing each sentence's 22050 Hz audio
    /// (preceded by a short gap after the first) to `sink`, so memory stays bounded. Text that
    /// starts with `<speak` is SSML (SSML.swift): its pauses, prosody, voices, say-as and
    /// phonemes are honoured and its tags never spoken.
    public func speak(_ text: String, voice: String, speed: Float = 1, pitch: Float = 0,
                      progress: ((_ done: Int, _ total: Int) -> Void)? = nil,
                      sink: ([Float]) throws -> Void) throws {
        if SSML.looksLikeSSML(text) {
            try speak(ssml: text, voice: voice, speed: speed, pitch: pitch, progress: progress, sink: sink)
        } else {
            try speakPlain(text, voice: voice, speed: speed, pitch: pitch, progress: progress, sink: sink)
        }
    }

    /// Speaks an SSML document: each piece of text with its voice, rate, pitch and volume (on top
    /// of the given ones), each pause as silence.
    public func speak(ssml: String, voice: String, speed: Float = 1, pitch: Float = 0,
                      progress: ((_ done: Int, _ total: Int) -> Void)? = nil,
                      sink: ([Float]) throws -> Void) throws {
        _ = try speaker(voice)
        let pieces = try SSML.parse(ssml)
        for case .text(_, let v?, _, _, _) in pieces { _ = try speaker(v) }   // every voice checked before any audio
        let rate = Double(MelConfig.standard.sampleRate)
        var spoken = 0
        for (k, piece) in pieces.enumerated() {
            progress?(k, pieces.count)
            switch piece {
            case .pause(let seconds):
                try sink([Float](repeating: 0, count: Int(seconds * rate)))
            case .text(let text, let v, let r, let p, let db):
                let gain = Float(pow(10, Double(db) / 20))
                do {
                    try speakPlain(text, voice: v ?? voice, speed: min(max(speed * r, 0.25), 4), pitch: min(max(pitch + p, -12), 12),
                                   progress: nil) { chunk in try sink(gain == 1 ? chunk : chunk.map { $0 * gain }) }
                    spoken += 1
                } catch TextFrontendError.nothingToSay {
                    continue   // punctuation alone between tags
                }
            }
        }
        progress?(pieces.count, pieces.count)
        if spoken == 0 { throw TextFrontendError.nothingToSay(ssml) }
    }

    func speakPlain(_ text: String, voice: String, speed: Float, pitch: Float,
                    progress: ((_ done: Int, _ total: Int) -> Void)?, sink: ([Float]) throws -> Void) throws {
        _ = try speaker(voice)
        let sentences = TextFrontend.sentences(text)
        guard !sentences.isEmpty else {
            throw text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? TextFrontendError.emptyText
                : TextFrontendError.nothingToSay(text)
        }
        let gap = [Float](repeating: 0, count: Int(sentenceGap * Double(MelConfig.standard.sampleRate)))
        var spoken = 0
        // Two or more sentences are made side by side, one per core, and spoken in order: a sentence
        // is too small to keep two cores busy (30 sentences 1.4× faster on two cores than on one),
        // two sentences at once nearly are (1.9×; the vocoder card's "Sentences side by side"). The
        // samples are those of one sentence after another on one thread, bit for bit. Only where
        // BLAS runs in the caller's thread (`gen speech`; not under --threads, whose BLAS has
        // workers, nor in `gen batch`, whose items already share the cores). The first sentence's mel
        // goes ahead of a vocoder still loading only when it is made alone.
        let lanes = Self.lanes(sentences: sentences.count)
        if lanes > 1 { try resolveVocoder() }
        try madeInOrder(sentences.count, lanes: lanes, window: 2 * lanes, produce: { k -> [Float]? in
            let m: (mel: [Float], frames: Int)
            do { m = try mel(sentence: sentences[k], voice: voice, speed: speed, pitch: pitch) } catch TextFrontendError.nothingToSay {
                return nil  // a "sentence" of bare punctuation inside longer text is skipped, not fatal
            }
            try resolveVocoder()
            return vocoder.waveform(logMel: m.mel, frames: m.frames)
        }, consume: { k, audio in
            progress?(k, sentences.count)
            guard let audio else { return }
            if spoken > 0 { try sink(gap) }
            try sink(audio)
            spoken += 1
        })
        progress?(sentences.count, sentences.count)
        if spoken == 0 { throw TextFrontendError.nothingToSay(text) }
    }

    /// Sentences of a text that `speak` makes at once: one per core of the thread budget (at most 8)
    /// where BLAS runs in the caller's thread and there are two or more; else 1.
    static func lanes(sentences: Int) -> Int {
        sentences > 1 && Threads.blasInCallerThreads ? min(ThreadBudget.count, 8) : 1
    }

    /// The whole waveform in memory (short texts).
    public func speak(_ text: String, voice: String, speed: Float = 1, pitch: Float = 0) throws -> [Float] {
        var audio: [Float] = []
        try speak(text, voice: voice, speed: speed, pitch: pitch) { audio += $0 }
        return audio
    }
}
