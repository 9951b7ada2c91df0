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
        and an 80-bin mel, a postfilter gives the mel back the fine detail of the
        teacher voices (--no-postfilter skips it), and the neural vocoder
        (models/vocoder) turns it into a 22050 Hz waveform; --vocoder griffin-lim uses
        the classic phase reconstruction instead. Long text is spoken sentence by
        sentence. Custom pronunciations go inline: "say [[ hh ax0 l ow1 ]] to them".

        Examples:
          gen speech "hello there"                       # writes speech.wav
          gen speech 'It costs $42.' --voice rms -o price.flac
          gen speech "Slower, and lower." --speed 0.8 --pitch -2
          echo "From standard input." | gen speech -o - | aplay
          gen speech "Raw samples." --output-raw | aplay -r 22050 -f S16_LE -t raw -
          gen speech --file lines.txt -o out/line.wav  # out/line-001.wav, -002, ...
          gen speech '<speak>Wait <break time="1s"/> now.</speak>' -o pause.wav

        SSML (text starting with <speak>, or any text with --ssml): <break time
        strength>, <prosody rate pitch volume>, <say-as interpret-as="characters|
        cardinal|date">, <phoneme alphabet="arpabet" ph="HH AH0 L OW1">, <voice name>,
        <s>, <p>, <sub alias>, <emphasis>. An unknown tag is an error, never spoken.

        Reading stdin while writing to -o - or --output-raw, each line is spoken as
        soon as it arrives (a live feed: `tail -f log | gen speech -o - | aplay`).
        NOTE: --file is not the text source of espeak-ng's and flite's -f: it speaks
        EACH LINE of the file into its OWN numbered output. To speak a whole file as
        one text, redirect it: gen speech -o story.wav < story.txt

        Every output is normalized to -16 LUFS (EBU R128, true peak under -1 dBTP);
        --loudness off keeps the model's own level.
        """)

    @Argument(help: "Text to speak (read from stdin when omitted and no --file is given).") var text: String?
    @Option(name: .shortAndLong, help: "Output .wav/.flac/.ogg/.raw, or - for a WAV on stdout.") var output = "speech.wav"
    @Flag(name: .long, help: "Write headerless 16-bit little-endian PCM to stdout (Piper's --output-raw).") var outputRaw = false
    @Option(name: .long, help: ArgumentHelp("Voice: slt, rms or awb, any case (see `gen voices`).", valueName: "voice"),
            completion: .list(Flite.voiceNames)) var voice = "slt"
    @Option(name: .long, parsing: .unconditional, help: "Speaking rate; 1.25 is 25% faster.") var speed: Float = 1.0
    @Option(name: .long, parsing: .unconditional, help: "Pitch shift in semitones (-12 to 12).") var pitch: Float = 0
    @Option(name: .long, parsing: .unconditional, help: "Seconds of silence between sentences.") var sentenceSilence: Double = 0.25
    @Option(name: .long, help: ArgumentHelp("Speak EACH LINE of this file into its OWN numbered output (not one text: for that, use < file).", valueName: "lines.txt"),
            completion: .file()) var file: String?
    @Flag(name: .long, help: "Read the text as SSML (automatic when it starts with <speak>).") var ssml = false
    @Option(name: .long, help: "Vocoder: \(VocoderKind.names).") var vocoder: VocoderKind = .neural
    @Option(name: .long, help: "Seed of Griffin-Lim's initial phase (the neural vocoder is deterministic).") var seed: UInt64 = 0
    @Option(name: .long, help: "Output sample rate in Hz (resampled with libsamplerate).") var rate: Int?
    @Option(name: .long, help: "Griffin-Lim iterations: more is slower and slightly cleaner.") var vocoderIterations = 16
    @Option(name: .long, help: ArgumentHelp(
        "Steps that bring the neural vocoder's output to the model's mel (fast Griffin-Lim from the network's own phase), 0 to 64: more is slower, closer to the mel and a little cleaner; 0 keeps the network's output (default: the vocoder's config, 8 for the shipped one).",
        valueName: "n")) var refineIterations: Int?
    @Flag(name: .long, inversion: .prefixedNo, help: ArgumentHelp(
        "Restore the fine detail that the model's mel averages away (its config's postfilter, fitted by `gen train postfilter`); --no-postfilter speaks the model's mel as predicted.")) var postfilter = true
    @OptionGroup(title: "Level") var level: LevelOptions
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        var request = SpeechRequest(text: text ?? "-")   // the text itself is checked when it is read
        request.speed = speed; request.pitch = pitch; request.voice = voice; request.vocoder = vocoder.rawValue
        request.sentenceSilence = sentenceSilence; request.vocoderIterations = vocoderIterations; request.rate = rate
        request.refineIterations = refineIterations
        if let problem = request.validate(checkText: false).first { throw ValidationError(problem + ".") }
        if text != nil && file != nil { throw ValidationError("give either TEXT or --file, not both.") }
        if outputRaw && output != "speech.wav" && output != "-" {
            throw ValidationError("--output-raw writes to stdout; drop -o (or write a headerless file with -o NAME.raw).")
        }
        if file != nil && (output == "-" || outputRaw) { throw ValidationError("--file writes numbered files; give -o a file name, not - or --output-raw.") }
    }

    func run() throws {
        let toStdout = output == "-" || outputRaw
        var lines: [String] = []
        var live = false
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
            if toStdout {
                live = true   // each line is spoken as it arrives
            } else {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                lines = [String(decoding: data, as: UTF8.self)]
            }
        }
        if !live && lines.count == 1 && lines[0].trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw GenError.usage("the text is empty: give some words to speak.")
        }
        if !toStdout {
            _ = try ioErrors { try AudioFileFormat(path: output) }
            // A folder that is missing or read-only fails every line the same way: say it once, before any work.
            try ioErrors { try AudioFile.checkWritable(output) }
        }

        // The two models load side by side, the vocoder on a second thread: reading and checking
        // weights is most of a one-sentence command's fixed cost (`make bench` times it against flite).
        // The first sentence's mel is made before the vocoder is waited for (`pendingVocoder`).
        let loading = Background { () throws -> Vocoder in
            let v = try loadVocoder(vocoder, globals, iterations: vocoderIterations, seed: seed)
            if let refineIterations { (v as? NeuralVocoder)?.refine(iterations: refineIterations) }
            v.prepare()   // what its first sentence would do first, done here beside the main thread's work
            return v
        }
        let synth = try loadSynthesizer(globals)
        synth.prepareFrontend(voice: voice)
        _ = try usageErrors { try synth.speaker(voice) }
        synth.pendingVocoder = { try loading.result() }
        synth.usePostfilter = postfilter
        synth.sentenceGap = sentenceSilence
        let sampleRate = MelConfig.standard.sampleRate
        let outRate = rate ?? sampleRate
        /// A chunk at the output rate and level.
        func finished(_ samples: [Float]) throws -> [Float] {
            var x = samples
            if outRate != sampleRate { x = try ioErrors { try Resampler.resample(x, from: sampleRate, to: outRate) } }
            return try level.apply(x, sampleRate: outRate)
        }

        /// The text as the synthesizer takes it: --ssml wraps plain text in <speak>.
        func prepared(_ line: String) -> String {
            ssml && !SSML.looksLikeSSML(line) ? "<speak>" + line + "</speak>" : line
        }

        if toStdout {
            // Streamed sentence by sentence, each at the target loudness: a player on the other
            // end of the pipe starts at once.
            try synth.resolveVocoder()   // a vocoder that fails to load writes nothing to the pipe
            let stream = try ioErrors { try WAVStream(sampleRate: outRate, raw: outputRaw) }
            func speak(_ line: String) throws {
                try usageErrors {
                    try synth.speak(prepared(line), voice: voice, speed: speed, pitch: pitch) { chunk in
                        try ioErrors { try stream.append(try finished(chunk)) }
                    }
                }
            }
            var failures = 0, number = 0
            if live {
                while let line = readLine() {
                    number += 1
                    guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                    do { try speak(line) } catch let e as GenError where e.code == 2 {
                        GenMain.printError("stdin line \(number): \(e.message)")
                        failures += 1
                    }
                }
            } else {
                try speak(lines[0])
            }
            try ioErrors { try stream.finish() }
            if failures > 0 { throw GenError(message: "\(failures) of \(number) lines could not be spoken (see above); the others were.", code: 1) }
            return
        }

        // With --file a line's failure is reported and the rest go on; a vocoder that fails to load
        // is no line's failure, so it is waited for first (one sentence's text goes ahead of it).
        if file != nil { try synth.resolveVocoder() }
        var failures = 0
        for (i, line) in lines.enumerated() {
            let path = file == nil ? output : numbered(output, i + 1)
            do {
                // A progress line on stderr for long texts, only when a person is watching.
                let showProgress = !globals.quiet && isatty(2) != 0
                // The whole utterance is measured, so the level does not pump between sentences; past
                // ten minutes it waits in a temporary file instead of memory (LevelledOutput).
                let audio = try ioErrors {
                    try LevelledOutput(sampleRate: outRate, target: level.target, volume: level.volume, inputRate: sampleRate) { x in
                        outRate == sampleRate ? x : try Resampler.resample(x, from: sampleRate, to: outRate)
                    }
                }
                try usageErrors {
                    try synth.speak(prepared(line), voice: voice, speed: speed, pitch: pitch, progress: { done, total in
                        guard showProgress && total > 3 else { return }
                        FileHandle.standardError.write("\r\(path): sentence \(done)/\(total) \(done == total ? "\n" : "")".data(using: .utf8)!)
                    }) { chunk in
                        do { try audio.append(chunk) } catch let e as LevelledOutput.TooLong {
                            throw GenError.usage("\(e) (\(path)); nothing was written. Split the text: --file writes a file per line, "
                                                 + "and -o - streams any length to a pipe.")
                        } catch { try ioErrors { throw error } }
                    }
                }
                // Written to a temporary file and renamed, so an interrupted run leaves nothing.
                try ioErrors { try writeLevelled(audio, to: path) }
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

    /// The output at its level: as one buffer when it was held in memory, else block by block.
    func writeLevelled(_ audio: LevelledOutput, to path: String) throws {
        guard audio.spilled else {
            try audio.finish { try AudioFile.write(AudioBuffer(samples: $0, sampleRate: audio.sampleRate), to: path) }
            return
        }
        let writer = try AudioFileWriter(path: path, sampleRate: audio.sampleRate)
        try audio.finish { try writer.append($0) }
        try writer.finish()
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
    let dir = try globals.modelsFolder()
    do { return try SpeechSynthesizer(modelDir: dir + "/speech") } catch {
        throw GenError.io("\(error)")
    }
}

/// What is wrong with a --refine-iterations value: out of range, or given with Griffin-Lim (which has no network output to refine).
func loadVocoder(_ kind: VocoderKind, _ globals: GlobalOptions, iterations: Int = 16, seed: UInt64 = 0) throws -> Vocoder {
    let dir = try globals.modelsFolder()
    return try ioErrors { try kind.make(modelsDir: dir, iterations: iterations, seed: seed) }
}

/// Runs `body`, reporting library errors as model/I-O failures (exit 3).
@discardableResult
func ioErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as GenError { throw e } catch AudioError.brokenPipe { throw AudioError.brokenPipe }
    catch let e as RequestError { throw GenError(e) } catch { throw GenError.io("\(error)") }
}

/// Runs `body`, reporting library errors as usage errors (exit 2): bad text, unknown voice.
@discardableResult
func usageErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as GenError { throw e } catch AudioError.brokenPipe { throw AudioError.brokenPipe }
    catch let e as RequestError { throw GenError(e) } catch { throw GenError.usage("\(error)") }
}

struct Voices: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(commandName: "voices", abstract: "List the speech voices.")
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let about = ["slt": "US English female (CMU Arctic slt, flite teacher)",
                     "rms": "US English male (CMU Arctic rms, flite teacher)",
                     "awb": "Scottish English male (CMU Arctic awb, flite teacher)"]
        // The model's speakers from its config.json alone: listing them needs no weights.
        let config = (try? globals.modelsFolder()).flatMap { try? ConfigFile.read(FastSpeechConfig.self, from: $0 + "/speech/config.json") }
        let names = config.flatMap { $0.validate().isEmpty ? $0.speakers : nil } ?? Flite.voiceNames
        for v in names { print("\(v)  \(about[v] ?? "")") }
    }
}

/// A value made on a thread of its own, started at once; `result()` waits for it and rethrows
/// what making it threw.
final class Background<T>: @unchecked Sendable {
    private var outcome: Result<T, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ make: @escaping () throws -> T) {
        Thread.detachNewThread { [self] in
            outcome = Result { try make() }
            done.signal()
        }
    }

    func result() throws -> T {
        done.wait()
        done.signal()   // a second call returns the same outcome
        return try outcome!.get()
    }
}

extension SpeechCommand {
    /// `gen speech` as it is usually called, parsed without ArgumentParser: TEXT and the options
    /// below, each at most once, every value well formed and valid. ArgumentParser's parse reflects
    /// over each of the command's options and casts it to its protocols, and the first cast of each
    /// type scans all of the program's protocol conformances: 2.6–4.2 ms of a one-sentence command
    /// that takes 50–75 ms in all (measured in models/vocoder/MODEL_CARD.md, section "Speed"), and
    /// `make bench` times that command against flite. Anything else (another option, a repeat,
    /// `--`, --help, a value that does not parse or does not validate) gives nil, and ArgumentParser
    /// parses the line as before, with its own messages. The values are read by the same
    /// `init(argument:)` as ArgumentParser's and checked by the same `validate()`s.
    /// `CLITests.testQuickParseIsTheFullParse` runs lines both ways (`GEN_PARSE`, `GenMain`).
    static func quick(_ arguments: [String]) -> SpeechCommand? {
        guard arguments.first == "speech" else { return nil }
        var command = SpeechCommand()
        var text: String?, output = "speech.wav", voice = "slt", vocoder = VocoderKind.neural, rate: Int?
        var speed: Float = 1, pitch: Float = 0, volume: Float = 1, sentenceSilence = 0.25, loudness = "-16"
        var modelsDir: String?, outputRaw = false, ssml = false, postfilter = true, quiet = false, float32 = false
        var seen: [String] = []
        var i = 1
        while i < arguments.count {
            let token = arguments[i]
            i += 1
            guard token.hasPrefix("-") && token != "-" else {
                guard text == nil else { return nil }     // a second TEXT: ArgumentParser says what is wrong
                text = token
                continue
            }
            // --name=value, or --name value; a value for an option that takes the next word only
            // when that word is not itself an option (what ArgumentParser's default parsing does).
            var name = token, attached: String?
            if token.hasPrefix("--"), let eq = token.firstIndex(of: "=") {
                name = String(token[..<eq]); attached = String(token[token.index(after: eq)...])
            }
            let canonical = name == "-o" ? "--output" : name == "-q" ? "--quiet" : name
            guard !seen.contains(canonical) else { return nil }
            seen.append(canonical)
            func value(unconditional: Bool = false) -> String? {
                if let attached { return attached }
                guard i < arguments.count else { return nil }
                let v = arguments[i]
                guard unconditional || !v.hasPrefix("-") || v == "-" else { return nil }
                i += 1
                return v
            }
            func flag() -> Bool { attached == nil }
            switch canonical {
            case "--output": guard let v = value() else { return nil }; output = v
            case "--voice": guard let v = value(), !v.hasPrefix("-") else { return nil }; voice = v
            case "--speed": guard let v = value(unconditional: true).flatMap(Float.init(argument:)) else { return nil }; speed = v
            case "--pitch": guard let v = value(unconditional: true).flatMap(Float.init(argument:)) else { return nil }; pitch = v
            case "--volume": guard let v = value(unconditional: true).flatMap(Float.init(argument:)) else { return nil }; volume = v
            case "--sentence-silence":
                guard let v = value(unconditional: true).flatMap(Double.init(argument:)) else { return nil }; sentenceSilence = v
            case "--loudness": guard let v = value(unconditional: true) else { return nil }; loudness = v
            case "--vocoder": guard let v = value().flatMap(VocoderKind.init(argument:)) else { return nil }; vocoder = v
            case "--rate": guard let v = value().flatMap(Int.init(argument:)) else { return nil }; rate = v
            case "--models-dir": guard let v = value(), !v.hasPrefix("-") else { return nil }; modelsDir = v
            case "--output-raw": guard flag() else { return nil }; outputRaw = true
            case "--ssml": guard flag() else { return nil }; ssml = true
            case "--no-postfilter": guard flag(), !seen.contains("--postfilter") else { return nil }; postfilter = false
            case "--postfilter": guard flag(), !seen.contains("--no-postfilter") else { return nil }; postfilter = true
            case "--quiet": guard flag() else { return nil }; quiet = true
            case "--float32": guard flag() else { return nil }; float32 = true
            default: return nil
            }
        }
        // Every stored option is set (an option group's too): one left as ArgumentParser's
        // definition would stop the program when read.
        command.text = text; command.output = output; command.outputRaw = outputRaw; command.voice = voice
        command.speed = speed; command.pitch = pitch; command.sentenceSilence = sentenceSilence; command.file = nil
        command.ssml = ssml; command.vocoder = vocoder; command.seed = 0; command.rate = rate
        command.vocoderIterations = 16; command.refineIterations = nil; command.postfilter = postfilter
        var level = LevelOptions()
        level.loudness = loudness; level.volume = volume
        command.level = level
        var globals = GlobalOptions()
        globals.modelsDir = modelsDir; globals.threads = nil; globals.quiet = quiet; globals.float32 = float32
        command.globals = globals
        do {
            try level.validate(); try globals.validate(); try command.validate()
        } catch {
            return nil
        }
        return command
    }
}
