// SpeechBench.swift — synthesis real-time factor of the shipped speech model: seconds of compute
// per second of audio, text to waveform (frontend + FastSpeech + Griffin-Lim), model loaded once,
// over the 30 evaluation sentences (../shared/eval/sentences_dev.txt; examples/sentences.txt when
// that file is absent).
import Foundation
import Engine
import Speech

func benchSpeech(modelDir: String = "models/speech") {
    guard let synth = try? SpeechSynthesizer(modelDir: modelDir) else {
        print("speech: no model in \(modelDir); skipped")
        return
    }
    let candidates = ["../shared/eval/sentences_dev.txt", "examples/sentences.txt"]
    guard let file = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
          let text = try? String(contentsOfFile: file, encoding: .utf8) else { return }
    let sentences = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    // As `gen speech` runs (a short command): OpenBLAS's products in the caller's thread, the
    // large ones split over gen's workers (`sgemmForward`), the pool started again afterwards.
    let threads = Threads.count
    let callerThread = Runtime.blasInCallerThread()
    defer { if callerThread { Threads.set(threads) } }
    // The neural path twice where the CPU has AVX512-BF16: as `gen speech` runs it (products in
    // bfloat16) and as `gen speech --float32` does, in this run.
    // Where the products run on AMX tiles, a third time on AVX512-BF16 alone.
    var vocoders: [(String, Vocoder, Bool, Bool)] = [("Griffin-Lim 16 it", GriffinLimVocoder(iterations: 16), true, true)]
    if let neural = try? NeuralVocoder(modelDir: "models/vocoder") {
        vocoders.insert(("neural vocoder" + (BF16Products.tileUnit ? " (AMX tiles)" : ""), neural, true, true), at: 0)
        if BF16Products.tileUnit { vocoders.insert(("neural vocoder, AVX512-BF16 without tiles", neural, true, false), at: 1) }
        if BF16Products.available { vocoders.insert(("neural vocoder, --float32", neural, false, true), at: 1) }
    }
    for (name, vocoder, bf16, tiles) in vocoders {
        BF16Products.setEnabled(bf16)
        BF16Products.setTileUnitEnabled(tiles)
        defer { BF16Products.setEnabled(true); BF16Products.setTileUnitEnabled(true) }
        synth.vocoder = vocoder
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
        print("speech, \(sentences.count) sentences × \(synth.voices.count) voices, \(name): "
              + "\(fmt(audio)) s of audio in \(fmt(compute, 2)) s, RTF \(fmt(compute / audio, 4)) "
              + "(vocoder \(fmt(vocoderTime / audio, 4)), target ≤ 0.005)")
        if let neural = vocoder as? NeuralVocoder { benchVocoderStages(synth: synth, neural: neural, sentences: sentences) }
    }
    // The same sentences as one text per voice, as `gen speech` speaks a text: sentences made side
    // by side, one per core (`madeInOrder`). No silence between them, so the audio counted is the
    // sentences' own, as above.
    if let neural = vocoders.first(where: { $0.1 is NeuralVocoder })?.1 {
        synth.vocoder = neural
        synth.sentenceGap = 0
        defer { synth.sentenceGap = 0.25 }
        let text = sentences.map { ".!?".contains($0.last!) ? $0 : $0 + "." }.joined(separator: " ")
        var compute = 0.0, audio = 0.0
        for voice in synth.voices {
            let t0 = now()
            guard let wave = try? synth.speak(text, voice: voice) else { print("  skipped: \(voice)"); continue }
            compute += now() - t0
            audio += Double(wave.count) / 22050
        }
        print("speech, the \(sentences.count) sentences as one text per voice (sentences side by side, \(Threads.count) at once), "
              + "neural vocoder: \(fmt(audio)) s of audio in \(fmt(compute, 2)) s, RTF \(fmt(compute / audio, 4)) (target ≤ 0.005)")
    }
    // Whole process, as a user runs it: start-up, model load, text to WAV on disk; flite the same way,
    // the two alternating for 25 rounds so that a machine whose speed drifts (these 2-core machines'
    // does by a third within minutes) slows both alike. Medians are compared; the best of each too.
    let gen = ".build/release/gen", out = NSTemporaryDirectory() + "gen-bench-speech.wav"
    guard FileManager.default.isExecutableFile(atPath: gen) else { return }
    let flite = "/usr/bin/flite", withFlite = FileManager.default.isExecutableFile(atPath: flite)
    var genTimes: [Double] = [], fliteTimes: [Double] = []
    for _ in 0..<25 {
        guard let g = runTimed(gen, ["speech", sentences[0], "-o", out]) else { return }
        genTimes.append(g)
        if withFlite, let f = runTimed(flite, ["-voice", "slt", "-t", sentences[0], "-o", out]) { fliteTimes.append(f) }
    }
    func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
    let g = median(genTimes)
    print("gen speech \"\(sentences[0])\" whole process: median \(fmt(g * 1000)) ms, best \(fmt(genTimes.min()! * 1000)) ms (25 runs)")
    if fliteTimes.count == genTimes.count {
        let f = median(fliteTimes)
        print("flite, same sentence, whole process, alternating with gen: median \(fmt(f * 1000)) ms, best \(fmt(fliteTimes.min()! * 1000)) ms; "
              + "gen / flite = \(fmt(g / f, 2)) by medians, \(fmt(genTimes.min()! / fliteTimes.min()!, 2)) by best (target ≤ 1)")
    }
    try? FileManager.default.removeItem(atPath: out)
    benchFirstAudioByte(gen, sentence: sentences[0], wholeProcess: g)
}

/// Where the neural vocoder's time goes inside `gen speech`, stage by stage over the same sentences:
/// text → mel (frontend, FastSpeech, postfilter), the network (ConvNeXt + iSTFT head), the mel
/// projection and the source-filter phase, each as RTF.
func benchVocoderStages(synth: SpeechSynthesizer, neural: NeuralVocoder, sentences: [String]) {
    var frontend = 0.0, postfilter = 0.0, mel = 0.0, network = 0.0, projection = 0.0, source = 0.0, audio = 0.0
    for voice in synth.voices {
        for s in sentences {
            let f0 = now()
            _ = try? TextFrontend.phonemes(s, voice: voice)
            let f1 = now()
            frontend += f1 - f0
            let t0 = now()
            guard let m = try? synth.mel(sentence: s, voice: voice) else { continue }
            let t1 = now()
            if let p = synth.model.config.postfilter {   // its share, timed again on a copy of the same size
                var copy = m.mel
                let p0 = now()
                p.apply(&copy, frames: m.frames, nMels: synth.model.config.nMels, voice: voice)
                postfilter += now() - p0
            }
            let y = neural.model.synthesize(logMel: m.mel, frames: m.frames)
            let t2 = now()
            let p = neural.projected(y, logMel: m.mel)
            let t3 = now()
            let w = neural.withSourcePhase(p)
            let t4 = now()
            mel += t1 - t0; network += t2 - t1; projection += t3 - t2; source += t4 - t3
            audio += Double(w.count) / 22050
        }
    }
    print("  stages, RTF: text → mel \(fmt(mel / audio, 4)) (frontend \(fmt(frontend / audio, 4)), postfilter "
          + "\(fmt(postfilter / audio, 4)), FastSpeech the rest), vocoder network \(fmt(network / audio, 4)), "
          + "mel projection \(fmt(projection / audio, 4)), source phase \(fmt(source / audio, 4))")
}

/// Time to first audio byte of `gen speech -o -` reading stdin that stays open (a live feed, as
/// Piper is used): from starting the process and writing one line (start-up and model load
/// included) to the first byte on stdout, while stdin is still open; best of 5, beside the
/// whole-process time of the same sentence to a file.
func benchFirstAudioByte(_ gen: String, sentence: String, wholeProcess: Double) {
    var best = Double.infinity
    for _ in 0..<5 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gen)
        p.arguments = ["speech", "-o", "-"]
        p.environment = userEnvironment
        let input = Pipe(), output = Pipe()
        p.standardInput = input; p.standardOutput = output; p.standardError = FileHandle.nullDevice
        let started = now()
        guard (try? p.run()) != nil else { return }
        input.fileHandleForWriting.write(Data((sentence + "\n").utf8))
        _ = output.fileHandleForReading.availableData   // stdin still open
        best = min(best, now() - started)
        try? input.fileHandleForWriting.close()
        _ = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
    }
    print("gen speech -o - with stdin kept open: first audio byte \(fmt(best, 3)) s after start (best of 5); "
          + "whole process to a file \(fmt(wholeProcess, 3)) s (ratio \(fmt(best / wholeProcess, 2)))")
}

/// The neural vocoder alone, shipped and at other sizes (random weights: the cost does not depend on
/// them): seconds of compute per second of audio for 10 s of mel, so a size can be chosen by speed.
func benchVocoderSizes() {
    let frames = 862   // 10 s at 86.13 frames/s
    var rng = RNG(seed: 1)
    let mel = (0..<(frames * 80)).map { _ in rng.normal() - 5 }
    for (width, blocks) in [(128, 6), (192, 6), (256, 8)] {
        var c = VocoderConfig(); c.width = width; c.blocks = blocks; c.mlpDim = 3 * width
        let model = VocoderModel(config: c)
        _ = model.synthesize(logMel: Array(mel[0..<(100 * 80)]), frames: 100)   // warm-up
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = now(); _ = model.synthesize(logMel: Array(mel), frames: frames); best = min(best, now() - t0)
        }
        let x = Tensor(shape: [1, frames, 80], data: mel)
        var head: Tensor? = nil
        let tHead = time(2) { head = GradMode.withoutGrad { model.head(x) } }
        let tPolar = time(2) { _ = polarSpectrum(head!) }
        let z = polarSpectrum(head!)
        let tISTFT = time(2) { _ = istft(z, basis: model.basis, padding: 512, length: (frames - 1) * 256) }
        print("vocoder width \(width) × \(blocks) blocks (\(model.params.parameterCount) parameters): RTF \(fmt(best / 10, 4)) "
              + "(network \(fmt(tHead / 10, 4)), polar \(fmt(tPolar / 10, 4)), iSTFT \(fmt(tISTFT / 10, 4)))")
    }
}
