// Vocode.swift — `gen vocode`: thin wrapper over CopySynthesis.
import Base
import ArgumentParser
import Audio
import DSP
import Foundation
import Requests
import Speech

extension VocoderKind: ExpressibleByArgument {}

struct Vocode: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "vocode",
        abstract: "Copy synthesis: audio → 80-bin mel → vocoder → audio.",
        discussion: """
        Reads any audio libsndfile reads (any rate, mono or stereo), mixes it to mono
        at 22050 Hz, computes the mel spectrogram gen's speech model predicts, and
        turns it back into sound with the neural vocoder (or Griffin-Lim). The output
        has the input's length. Use it to hear what the vocoder alone does to a
        voice, and to score it against the original (PESQ, STOI; --loudness off keeps
        the level the vocoder made instead of -16 LUFS).

        With one input, -o names the output file (.wav, .flac or .ogg; default
        IN-vocoded.wav). With several, -o names a folder, created if needed, that
        receives one NAME.wav per input.

        Examples:
          gen vocode speech.wav -o speech-neural.wav
          gen vocode speech.wav --vocoder griffin-lim -o speech-gl.wav
          gen vocode corpus/*.wav -o resynth/
        """)

    @Argument(help: "Input audio files.") var inputs: [String] = []
    @Option(name: .shortAndLong, help: "Output file (one input) or folder (several).") var output: String?
    @Option(name: .long, help: "Vocoder: \(VocoderKind.names).") var vocoder: VocoderKind = .neural
    @Option(name: .long, help: "Griffin-Lim iterations (with --vocoder griffin-lim).") var vocoderIterations = 32
    @Option(name: .long, help: ArgumentHelp(
        "Steps that bring the neural vocoder's output to the input's mel (fast Griffin-Lim from the network's own phase), 0 to 64: more is slower and closer to the input; 0 keeps the network's output (default: the vocoder's copy_iterations, 32 for the shipped one).",
        valueName: "n")) var refineIterations: Int?
    @Option(name: .long, help: "Output sample rate in Hz (default 22050).") var rate: Int?
    @OptionGroup(title: "Level") var level: LevelOptions
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input audio file.") }
        if let problem = SpeechRequest.vocodingProblems(rate: rate, vocoderIterations: vocoderIterations).first {
            throw ValidationError(problem + ".")
        }
        if let problem = SpeechRequest.refineProblems(refineIterations, vocoder: vocoder.rawValue).first { throw ValidationError(problem + ".") }
    }

    func run() throws {
        let several = inputs.count > 1
        if several, let output, output == "-" { throw GenError.usage("-o - writes one WAV to stdout; with several inputs give -o a folder.") }
        // Where each input goes, decided (and checked) before any work.
        var targets: [String] = []
        if several {
            let dir = output ?? "vocoded"
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
                throw GenError.usage("-o '\(dir)' is a file; with several inputs -o names a folder.")
            }
            var seen = Set<String>()
            for input in inputs {
                let name = PathName.stem(input) + ".wav"
                guard seen.insert(name).inserted else {
                    throw GenError.usage("two inputs would both be written as '\(name)' in '\(dir)'; vocode them separately.")
                }
                targets.append(dir + "/" + name)
            }
            try ioErrors { try Folders.create(dir) }   // only once the names are known not to clash
        } else {
            targets = [output ?? (PathName.deletingExtension(inputs[0]) + "-vocoded.wav")]
            _ = try usageErrors { try AudioFileFormat(path: targets[0] == "-" ? "x.wav" : targets[0]) }
        }
        for t in targets where t != "-" { try ioErrors { try AudioFile.checkWritable(t) } }
        guard let modelsDir = ModelsDirectory.resolve(globals.modelsDir) ?? (vocoder == .griffinLim ? "." : nil) else {
            throw GenError.io("no models folder found. Pass --models-dir DIR, set GEN_MODELS, or use --vocoder griffin-lim.")
        }
        let voc = try ioErrors { try vocoder.make(modelsDir: modelsDir, iterations: vocoderIterations) }
        if let neural = voc as? NeuralVocoder {
            neural.useForCopySynthesis()
            if let refineIterations { neural.refine(iterations: refineIterations) }
        }
        let sampleRate = MelConfig.standard.sampleRate
        var failures = 0
        for (input, target) in zip(inputs, targets) {
            do {
                let audio = try ioErrors { try CopySynthesis.load(input) }
                var y = CopySynthesis.resynthesize(audio, vocoder: voc)
                if let rate, rate != sampleRate { y = try ioErrors { try Resampler.resample(y, from: sampleRate, to: rate) } }
                y = try level.apply(y, sampleRate: rate ?? sampleRate)
                try ioErrors { try AudioFile.write(AudioBuffer(samples: y, sampleRate: rate ?? sampleRate), to: target) }
                if target != "-" { print(target) }
            } catch let e as GenError where several {
                GenMain.printError("\(input): \(e.message)")
                failures += 1
            }
        }
        if failures > 0 {
            throw GenError(message: "\(failures) of \(inputs.count) inputs failed; the others were written.", code: 1)
        }
    }
}
