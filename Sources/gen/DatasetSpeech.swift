// DatasetSpeech.swift — `gen dataset speech`: thin wrapper over SpeechCorpusBuilder.
import ArgumentParser
import Base
import Engine
import Foundation
import Speech

struct DatasetSpeech: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "speech",
        abstract: "Build the speech corpus: flite's teacher voices, or your recordings.",
        discussion: """
        Default (flite teacher corpus): generates varied English sentences (templates,
        word lists, numbers, dates, questions), speaks each with the flite voices, and
        stores per utterance: phone ids, frames per phone (from flite's segment times),
        the 80-bin log-mel, and per-phone pitch and energy. Every 50th utterance of
        each voice is held out for validation. Deterministic from --seed; rerunning
        after an interruption reuses the files already written.

        With --ljspeech DIR (your own recordings): DIR holds metadata.csv (lines
        'id|text|normalized text'; the normalized column is used when present) and
        wavs/<id>.wav (any rate or channel count). Each text goes through the same
        flite frontend (same phone ids); the --align-voice flite voice speaks it, which
        gives exact phone spans, and dynamic time warping of broad-band energies
        between that teacher audio and the recording carries the spans over (15.6 ms
        mean boundary error when aligning slt to flite's awb voice). The corpus stores
        the recording's own mel, pitch and energy under the speaker name --speaker
        (default: the folder's name). Bad lines and missing or unreadable wavs are
        reported as metadata.csv:LINE and skipped; every 50th utterance is held out.
        Use an --out folder of its own.

        Examples:
          gen dataset speech --out data/speech --sentences 3000
          gen dataset speech --ljspeech ~/LJSpeech-1.1 --out data/lj --speaker lj
          gen train speech --data data/lj --out runs/lj/speech
        """)

    @Option(name: .long, help: "Output folder.") var out: String
    @Option(name: .long, help: "Sentences per voice.") var sentences = 3000
    @Option(name: .long, help: "Comma-separated teacher voices.") var voices = "slt,rms,awb"
    @Option(name: .long, parsing: .unconditional, help: "Random seed for the sentence generator.") var seed: UInt64 = 1
    @Option(name: .long, help: ArgumentHelp("Import an LJSpeech-style folder (metadata.csv + wavs/<id>.wav) instead of synthesizing.", valueName: "dir"))
    var ljspeech: String?
    @Option(name: .long, help: ArgumentHelp("Speaker name for --ljspeech (default: the folder's name).", valueName: "name"))
    var speaker: String?
    @Option(name: .long, help: ArgumentHelp("flite voice whose synthesis is aligned to the recordings (--ljspeech).", valueName: "voice"))
    var alignVoice = "slt"
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if ljspeech == nil && speaker != nil { throw ValidationError("--speaker goes with --ljspeech.") }
        if !Flite.voiceNames.contains(alignVoice) {
            throw ValidationError("unknown --align-voice '\(alignVoice)'. Valid voices: \(Flite.voiceNames.joined(separator: ", ")).")
        }
        // At most 1,000,000 a voice: the sentences are made before any is spoken.
        if !(1...1_000_000).contains(sentences) { throw ValidationError("--sentences must be in 1...1000000 a voice, got \(sentences).") }
        for v in voiceList where !Flite.voiceNames.contains(v) {
            throw ValidationError("unknown voice '\(v)'. Valid voices: \(Flite.voiceNames.joined(separator: ", ")).")
        }
    }

    var voiceList: [String] { voices.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func run() throws {
        if let ljspeech { return try importFolder(ljspeech) }
        let quiet = globals.quiet
        let line = ProgressLine(enabled: !quiet)
        do {
            let info = try SpeechCorpusBuilder.build(out: out, voices: voiceList, sentencesPerVoice: sentences, seed: seed) { done, total, secs in
                line.update(done: done, total: total, String(format: "%6d/%d utterances, %.1f min of audio", done, total, secs / 60))
            }
            line.end()
            print(String(format: "%@: %d utterances (%d held out), %.2f hours", out, info.utterances, info.validation, info.seconds / 3600))
        } catch let e as CheckpointError {
            throw GenError.io(e.description)
        } catch let e as FliteError {
            throw GenError.usage(e.description)
        }
    }

    /// `--ljspeech DIR`: aligns the recordings and writes them in the corpus format.
    func importFolder(_ folder: String) throws {
        let quiet = globals.quiet
        let name = speaker ?? URL(fileURLWithPath: folder).standardizedFileURL.lastPathComponent
        let line = ProgressLine(enabled: !quiet)
        do {
            let info = try SpeechImporter.run(folder: folder, out: out, speaker: name, alignVoice: alignVoice,
                                              problem: { line.end(); FileHandle.standardError.write("warning: \($0)\n".data(using: .utf8)!) },
                                              progress: { done, total, secs in
                line.update(done: done, total: total, String(format: "%6d/%d utterances aligned, %.1f min of audio", done, total, secs / 60))
            })
            line.end()
            print(String(format: "%@: %d utterances of speaker '%@' (%d held out), %.2f hours", out, info.utterances,
                         name, info.validation, info.seconds / 3600))
        } catch let e as SpeechImportError {
            line.end()
            switch e {
            case .badSpeaker, .outIsTeacherCorpus: throw GenError.usage(e.description)
            default: break
            }
            throw GenError.io(e.description)
        } catch let e as SafeTensorsError {
            throw GenError.io(e.description)
        } catch let e as CheckpointError {
            throw GenError.io(e.description)
        }
    }
}
