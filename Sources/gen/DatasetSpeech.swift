// DatasetSpeech.swift — `gen dataset speech`: thin wrapper over SpeechCorpusBuilder.
import ArgumentParser
import Engine
import Foundation
import Speech

struct DatasetSpeech: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "speech",
        abstract: "Build the flite-teacher speech corpus for `gen train speech`.",
        discussion: """
        Generates varied English sentences (templates, word lists, numbers, dates, questions),
        speaks each with the flite voices, and stores per utterance: phone ids, frames per phone
        (from flite's segment times), the 80-bin log-mel, and per-phone pitch and energy.
        Every 50th utterance of each voice is held out for validation. Deterministic from --seed;
        rerunning after an interruption reuses the files already written.

        Example:
          gen dataset speech --out data/speech --sentences 3000
        """)

    @Option(name: .long, help: "Output folder.") var out: String
    @Option(name: .long, help: "Sentences per voice.") var sentences = 3000
    @Option(name: .long, help: "Comma-separated teacher voices.") var voices = "slt,rms,awb"
    @Option(name: .long, help: "Random seed for the sentence generator.") var seed: UInt64 = 1
    @Option(name: .long, help: ArgumentHelp("An LJSpeech-style folder (metadata.csv + wavs/) to import (not supported yet).", valueName: "dir"))
    var ljspeech: String?
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if sentences < 1 { throw ValidationError("--sentences must be at least 1.") }
        for v in voiceList where !Flite.voiceNames.contains(v) {
            throw ValidationError("unknown voice '\(v)'. Valid voices: \(Flite.voiceNames.joined(separator: ", ")).")
        }
    }

    var voiceList: [String] { voices.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    func run() throws {
        if let ljspeech {
            // Recorded speech has no teacher timing: its phone durations need an aligner (monotonic
            // alignment search over a small alignment model), which is not built yet.
            throw GenError.usage("importing '\(ljspeech)' is not supported yet: recorded speech needs a phone aligner "
                                 + "for its durations, which gen does not have yet. Use the flite teacher corpus (omit --ljspeech).")
        }
        let quiet = globals.quiet
        let start = Date()
        do {
            let info = try SpeechCorpusBuilder.build(out: out, voices: voiceList, sentencesPerVoice: sentences, seed: seed) { done, total, secs in
                if !quiet && (done % 100 == 0 || done == total) {
                    let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-3)
                    let eta = Double(total - done) / max(rate, 1e-9)
                    FileHandle.standardError.write(String(format: "\r%6d/%d utterances, %.1f min of audio, ETA %.0f s ",
                                                          done, total, secs / 60, eta).data(using: .utf8)!)
                }
            }
            if !quiet { FileHandle.standardError.write("\n".data(using: .utf8)!) }
            print(String(format: "%@: %d utterances (%d held out), %.2f hours", out, info.utterances, info.validation, info.seconds / 3600))
        } catch let e as CheckpointError {
            throw GenError.io(e.description)
        } catch let e as FliteError {
            throw GenError.usage(e.description)
        }
    }
}
