// BatchRenderer.swift — what `gen batch` renders with: the models its lines need, each loaded once
// (and only when some line needs it) through the loaders the command line gives, the check of each
// line against those models (labels, lyrics files, speakable text), and one item's audio. The
// worker pool, signals, progress and report are the Batch module's (BatchRun), which calls
// `render` and knows nothing of models; the command line only parses, calls and prints.
import Batch
import DSP
import Foundation
import Music
import Requests
import Speech

public final class BatchRenderer: @unchecked Sendable {
    public private(set) var speech: FastSpeech?
    public private(set) var speechError: String?
    /// The neural vocoder, loaded when some speech line asks for it (stateless: workers share it).
    public private(set) var vocoder: NeuralVocoder?
    public private(set) var music: MusicModels?
    public private(set) var musicError: String?
    /// The output stage (loudness, volume) applied to every item: samples, sample rate → samples.
    let level: ([Float], Int) throws -> [Float]

    /// Loads what `items` need: the speech model (and the neural vocoder when a speech line asks
    /// for it) if any line is speech, the music models if any is music. A loader's error is kept
    /// as the reason those lines cannot render; the other lines still do.
    public init(_ items: [BatchItem], speech loadSpeech: () throws -> FastSpeech, vocoder loadVocoder: () throws -> NeuralVocoder?,
                music loadMusic: () throws -> MusicModels, level: @escaping ([Float], Int) throws -> [Float]) {
        self.level = level
        if items.contains(where: { $0.job.speech != nil }) {
            do { speech = try loadSpeech() } catch { speechError = "\(error)" }
            if speechError == nil, items.contains(where: { $0.job.speech?.vocoder == VocoderKind.neural.rawValue }) {
                do { vocoder = try loadVocoder() } catch { speechError = "\(error)"; speech = nil }
            }
        }
        if items.contains(where: { $0.job.isMusic }) {
            do { music = try loadMusic() } catch { musicError = "\(error)" }
        }
    }

    /// Why a model some lines need did not load, or nil.
    public var failure: String? {
        let reasons = [speechError.map { "the speech model did not load: \($0)" },
                       musicError.map { "the music models did not load: \($0)" }].compactMap { $0 }
        return reasons.isEmpty ? nil : reasons.joined(separator: " ")
    }

    /// Moves lines that cannot render with these models (unknown labels, unreadable lyrics,
    /// unspeakable text, a model that did not load) from items to problems.
    public func check(_ plan: PromptSet) -> PromptSet {
        let vocabulary = PromptVocabulary(voices: speech?.config.speakers,
                                          genres: music?.prior.config.genres ?? MusicCatalog.genreNames,
                                          artists: music?.prior.config.artists ?? MusicCatalog.artistNames,
                                          chordsProblem: { c in
                                              do { _ = try ChordTrack(parsing: c); return nil } catch let e as PriorError { return e.message } catch { return "\(error)" }
                                          })
        var out = plan
        out.items = []
        for original in plan.items {
            var item = vocabulary.canonical(original)
            var reason = vocabulary.problem(item)
            if reason == nil {
                do { try prepare(&item) } catch { reason = "\(error)" }
            }
            if let reason {
                out.problems.append(PromptProblem(file: item.file, line: item.line, ordinal: item.ordinal, reason: reason))
            } else {
                out.items.append(item)
            }
        }
        out.problems.sort { $0.ordinal < $1.ordinal }
        return out
    }

    /// Checks what can be checked without rendering; reads a lyrics file into the prompt.
    private func prepare(_ item: inout BatchItem) throws {
        switch item.job {
        case .speech(let s):
            guard let speech else { throw RequestError.io("not rendered: no speech model (see the error above).") }
            try SpeechSynthesizer(model: speech).checkSpeakable(s.text, voice: s.voice)
        case .music(var m):
            if let file = m.lyricsFile {
                m.lyrics = try MusicRequest.readLyricsFile(file, option: "\"lyrics_file\"")
                m.lyricsFile = nil
                item.job = .music(m)
            }
            guard music != nil else { throw RequestError.io("not rendered: no music model (see the error above).") }
        }
    }

    /// One item's audio at 22050 Hz.
    public func render(_ item: BatchItem) throws -> [Float] {
        switch item.job {
        case .speech(let s):
            guard let speech else { throw RequestError.io(speechError ?? "no speech model") }
            let voc: Vocoder
            if s.vocoder == VocoderKind.neural.rawValue {
                guard let vocoder else { throw RequestError.io(speechError ?? "no vocoder model") }
                if let n = s.refineIterations {   // its own projection: workers share the loaded vocoder
                    let own = NeuralVocoder(model: vocoder.model)
                    own.refine(iterations: n)
                    voc = own
                } else {
                    voc = vocoder
                }
            } else {
                voc = GriffinLimVocoder(iterations: s.vocoderIterations, seed: item.seed)
            }
            let synth = SpeechSynthesizer(model: speech, vocoder: voc)
            synth.usePostfilter = s.postfilter
            synth.sentenceGap = s.sentenceSilence
            let audio = try synth.speak(s.text, voice: s.voice, speed: s.speed, pitch: s.pitch)
            return try level(audio, MelConfig.standard.sampleRate)
        case .music(let m):
            guard let music else { throw RequestError.io(musicError ?? "no music model") }
            let labels = try musicLabels(music.prior.config, genre: m.genre, artist: m.artist, lyrics: m.lyrics, seconds: m.duration,
                                     bpm: m.bpm, timeSignature: m.timeSignature, chords: m.chords,
                                     onsetDensity: m.onsetDensity)
            let audio = try renderMusic(music, labels: labels, seconds: m.duration, temperature: m.temperature, topK: m.topK,
                                        topP: m.topP, cfg: m.cfg, instrumentalCFG: m.instrumentalCFG,
                                        cfgPlausibility: m.cfgPlausibility, seed: item.seed)
            return try level(audio, music.codec.sampleRate)
        }
    }
}
