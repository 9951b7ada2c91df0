// SpeechCommand.swift — `gen speech` and `gen voices`: thin wrappers over SpeechSynthesizer.
import ArgumentParser
import Audio
import DSP
import Engine
import Foundation
import Requests
import Speech

struct SpeechCommand: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "speech",
        abstract: "Speak text with the FastSpeech 2 model.",
        discussion: """
        Text goes through flite's front end (numbers, dates, currency, abbreviations,
        the CMU lexicon), then the FastSpeech model predicts durations, pitch, energy
        and an 80-bin mel, and the neural vocoder (models/vocoder) turns it into a
        22050 Hz waveform; --vocoder griffin-lim uses the classic phase
        reconstruction instead. Long text is spoken sentence by sentence. Custom pronunciations go inline:
        "say [[ hh ax0 l ow1 ]] to them".

        Examples:
          gen speech "hello there"                       # writes speech.wav
          gen speech "It costs $42." --voice rms -o price.flac
          gen speech "Slower, and higher." --speed 0.8 --pitch 3
          echo "From standard input." | gen speech -o - | aplay
          gen speech --file lines.txt -o out/line.wav  # out/line-001.wav, -002, ...
        """)

    @Argument(help: "Text to speak (read from stdin when omitted and no --file is given).") var text: String?
    @Option(name: .shortAndLong, help: "Output .wav/.flac/.ogg, or - for a WAV on stdout.") var output = "speech.wav"
    @Option(name: .long, help: "Voice: slt, rms or awb (see `gen voices`).") var voice = "slt"
    @Option(name: .long, help: "Speaking rate; 1.25 is 25% faster.") var speed: Float = 1.0
    @Option(name: .long, help: "Pitch shift in semitones.") var pitch: Float = 0
    @Option(name: .long, help: "Speak each line of this file into its own numbered output.") var file: String?
    @Option(name: .long, help: "Vocoder: \(VocoderKind.names).") var vocoder: VocoderKind = .neural
    @Option(name: .long, help: "Seed of Griffin-Lim's initial phase (the neural vocoder is deterministic).") var seed: UInt64 = 0
    @Option(name: .long, help: "Output sample rate in Hz (resampled with libsamplerate).") var rate: Int?
    @Option(name: .long, help: "Griffin-Lim iterations: more is slower and slightly cleaner.") var vocoderIterations = 16
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        var request = SpeechRequest(text: text ?? "-")   // the text itself is checked when it is read
        request.speed = speed; request.pitch = pitch; request.voice = voice; request.vocoder = vocoder.rawValue
        if let problem = request.validate(checkText: false).first { throw ValidationError(problem + ".") }
        if text != nil && file != nil { throw ValidationError("give either TEXT or --file, not both.") }
        if let rate, !(8000...192_000).contains(rate) { throw ValidationError("--rate must be between 8000 and 192000 Hz.") }
        if !(1...500).contains(vocoderIterations) { throw ValidationError("--vocoder-iterations must be between 1 and 500.") }
    }

    func run() throws {
        let lines: [String]
        if let file {
            guard let content = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw GenError.io("cannot read --file '\(file)'. Check the path.")
            }
            lines = content.split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            if lines.isEmpty { throw GenError.usage("'\(file)' has no text lines to speak.") }
        } else if let text {
            lines = [text]
        } else {
            if isatty(0) != 0 { throw GenError.usage("no text given. Pass TEXT, --file F, or pipe text on stdin.") }
            let data = FileHandle.standardInput.readDataToEndOfFile()
            lines = [String(decoding: data, as: UTF8.self)]
        }
        if lines.count == 1 && lines[0].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw GenError.usage("the text is empty: give some words to speak.")
        }
        if file != nil && output == "-" { throw GenError.usage("--file writes numbered files; give -o a file name, not -.") }
        _ = try ioErrors { try AudioFileFormat(path: output == "-" ? "x.wav" : output) }
        // A folder that is missing or read-only fails every line the same way: say it once, before any work.
        if output != "-" { try ioErrors { try AudioFile.checkWritable(output) } }

        let synth = try loadSynthesizer(globals)
        _ = try usageErrors { try synth.speaker(voice) }
        synth.vocoder = try loadVocoder(vocoder, globals, iterations: vocoderIterations, seed: seed)
        let sampleRate = MelConfig.standard.sampleRate
        var failures = 0
        for (i, line) in lines.enumerated() {
            let path = file == nil ? output : numbered(output, i + 1)
            func convert(_ samples: [Float]) throws -> [Float] {
                guard let rate, rate != sampleRate else { return samples }
                return try ioErrors { try Resampler.resample(samples, from: sampleRate, to: rate) }
            }
            if path == "-" {
                // Streamed sentence by sentence: a player on the other end of the pipe starts at once.
                let stream = try ioErrors { try WAVStream(sampleRate: rate ?? sampleRate) }
                try usageErrors {
                    try synth.speak(line, voice: voice, speed: speed, pitch: pitch) { chunk in
                        try ioErrors { try stream.append(try convert(chunk)) }
                    }
                }
                try ioErrors { try stream.finish() }
                continue
            }
            // Sentence by sentence into a temporary file, renamed only when everything succeeded.
            do {
                let writer = try ioErrors { try AudioFileWriter(path: path, sampleRate: rate ?? sampleRate) }
                // A progress line on stderr for long texts, only when a person is watching.
                let showProgress = !globals.quiet && isatty(2) != 0
                try usageErrors {
                    try synth.speak(line, voice: voice, speed: speed, pitch: pitch, progress: { done, total in
                        guard showProgress && total > 3 else { return }
                        FileHandle.standardError.write("\r\(path): sentence \(done)/\(total) \(done == total ? "\n" : "")".data(using: .utf8)!)
                    }) { chunk in
                        try ioErrors { try writer.append(try convert(chunk)) }
                    }
                }
                try ioErrors { try writer.finish() }
                print(path)
            } catch let e as GenError where file != nil {
                // With --file, one bad line does not stop the rest (exit 1: some items failed).
                GenMain.printError("line \(i + 1): \(e.message)")
                failures += 1
            }
        }
        if failures > 0 {
            throw GenError(message: "\(failures) of \(lines.count) lines failed; the others were written.", code: 1)
        }
    }

    /// out.wav → out-001.wav
    func numbered(_ path: String, _ n: Int) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let stem = url.deletingPathExtension().path
        return String(format: "%@-%03d.%@", stem, n, ext)
    }
}

func loadSynthesizer(_ globals: GlobalOptions) throws -> SpeechSynthesizer {
    guard let dir = ModelsDirectory.resolve(globals.modelsDir) else {
        throw GenError.io("no models folder found. Pass --models-dir DIR or set GEN_MODELS.")
    }
    do { return try SpeechSynthesizer(modelDir: dir + "/speech") } catch {
        throw GenError.io("\(error)")
    }
}

func loadVocoder(_ kind: VocoderKind, _ globals: GlobalOptions, iterations: Int = 16, seed: UInt64 = 0) throws -> Vocoder {
    guard let dir = ModelsDirectory.resolve(globals.modelsDir) else {
        throw GenError.io("no models folder found. Pass --models-dir DIR or set GEN_MODELS.")
    }
    return try ioErrors { try kind.make(modelsDir: dir, iterations: iterations, seed: seed) }
}

/// Runs `body`, reporting library errors as model/I-O failures (exit 3).
@discardableResult
func ioErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as GenError { throw e } catch { throw GenError.io("\(error)") }
}

/// Runs `body`, reporting library errors as usage errors (exit 2): bad text, unknown voice.
@discardableResult
func usageErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as GenError { throw e } catch { throw GenError.usage("\(error)") }
}

struct Voices: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(abstract: "List the speech voices.")
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let about = ["slt": "US English female (CMU Arctic slt, flite teacher)",
                     "rms": "US English male (CMU Arctic rms, flite teacher)",
                     "awb": "Scottish English male (CMU Arctic awb, flite teacher)"]
        let names = (try? loadSynthesizer(globals).voices) ?? Flite.voiceNames
        for v in names { print("\(v)  \(about[v] ?? "")") }
    }
}
