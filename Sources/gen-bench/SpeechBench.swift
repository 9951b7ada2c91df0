// SpeechBench.swift — synthesis real-time factor of the shipped speech model: seconds of compute
// per second of audio, text to waveform (frontend + FastSpeech + Griffin-Lim), model loaded once,
// over the 30 evaluation sentences (../shared/eval/sentences_dev.txt; examples/sentences.txt when
// that file is absent).
import Foundation
import Speech

func benchSpeech() {
    let modelDir = "models/speech"
    guard let synth = try? SpeechSynthesizer(modelDir: modelDir) else {
        print("speech: no model in \(modelDir); skipped")
        return
    }
    let candidates = ["../shared/eval/sentences_dev.txt", "examples/sentences.txt"]
    guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
          let text = try? String(contentsOfFile: file, encoding: .utf8) else { return }
    let sentences = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    for iterations in [60, 32, 16] {
        synth.vocoder = GriffinLimVocoder(iterations: iterations)
        var compute = 0.0, audio = 0.0, vocoderTime = 0.0
        for voice in synth.voices {
            for s in sentences {
                let t0 = now()
                guard let m = try? synth.mel(sentence: s, voice: voice) else { print("  skipped: \(s)"); continue }
                let t1 = now()
                let wave = synth.vocoder.waveform(logMel: m.mel, frames: m.frames)
                let t2 = now()
                compute += t2 - t0; vocoderTime += t2 - t1
                audio += Double(wave.count) / 22050
            }
        }
        print("speech, \(sentences.count) sentences × \(synth.voices.count) voices, Griffin-Lim \(iterations) it: "
              + "\(fmt(audio)) s of audio in \(fmt(compute, 2)) s, RTF \(fmt(compute / audio, 4)) "
              + "(vocoder \(fmt(vocoderTime / audio, 4)), target ≤ 0.01)")
    }
    // Whole process, as a user runs it: start-up, model load, text to WAV on disk.
    let gen = ".build/release/gen", out = NSTemporaryDirectory() + "gen-bench-speech.wav"
    guard FileManager.default.isExecutableFile(atPath: gen) else { return }
    var best = Double.infinity
    for _ in 0..<3 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gen)
        p.arguments = ["speech", sentences[0], "-o", out]
        p.standardOutput = FileHandle.nullDevice
        let t0 = now()
        guard (try? p.run()) != nil else { return }
        p.waitUntilExit()
        best = min(best, now() - t0)
    }
    print("gen speech \"\(sentences[0])\" whole process: \(fmt(best, 3)) s (best of 3)")
    try? FileManager.default.removeItem(atPath: out)
}
