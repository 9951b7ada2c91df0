// Gen.swift — the `gen` command tree. Subcommands parse, validate and call the library; nothing more.
//
// Exit codes (DESIGN.md): 0 ok · 1 some batch items failed · 2 usage error · 3 model or I/O error.
import Audio
import Base
import DSP
import Engine
import Requests
import ArgumentParser
import Foundation

public let genVersion = "0.1.0"

struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Generate music and speech on an ordinary CPU.",
        discussion: """
        Speech follows FastSpeech 2 (phonemes → durations → length regulator → mel →
        neural vocoder). Music follows Jukebox (codec codes sampled by a conditioned
        transformer prior); the music codec (gen encode/decode/codec) is a residual-VQ
        codec with a bitrate ladder. All models are small, trained here with gen's own
        engine, and ship in models/.

        Examples:
          gen speech "hello there" -o hello.wav
          gen music --genre jazz --lyrics lyrics.txt --duration 20 -o jazz.wav
          gen batch prompts/demo.jsonl --out-dir out/demo --report --jobs 2
          gen convert input.flac output.wav --rate 22050

        Exit codes: 0 ok, 1 some batch items failed, 2 usage error, 3 model or I/O
        error.
        """,
        version: genVersion,
        subcommands: [
            SpeechCommand.self, Music.self, BatchCommand.self,
            Vocode.self, Encode.self, Decode.self, Codec.self, Tag.self, Convert.self,
            Dataset.self, Train.self,
            Voices.self, Genres.self, Artists.self, Models.self,
        ]
    )
}

/// Options every subcommand accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder holding the models (overrides $GEN_MODELS and the bundled models/).", valueName: "dir"))
    var modelsDir: String?

    @Option(name: .long, help: "Worker threads for BLAS and parallel loops (default: all cores); `gen speech` makes a text's sentences that many at a time.")
    var threads: Int?

    @Flag(name: [.customShort("q"), .long], help: "Print nothing but errors and the output path.")
    var quiet = false

    @Flag(name: .long, help: ArgumentHelp(
        "Keep the neural vocoder's products in single precision on a CPU with bfloat16 instructions (AVX512-BF16), where they otherwise run in bfloat16: slower, and the same output as on CPUs without them."))
    var float32 = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads).") }
        if modelsDir?.isEmpty == true { throw ValidationError("--models-dir is empty: name the folder that holds the models, or leave it out.") }
    }
}

/// A failure with a message that says what went wrong and how to fix it, and its exit code.
struct GenError: Error, CustomStringConvertible {
    var message: String
    var code: Int32

    static func usage(_ m: String) -> GenError { GenError(message: m, code: 2) }
    static func io(_ m: String) -> GenError { GenError(message: m, code: 3) }
    var description: String { message }
}

extension GenError {
    /// A request's problem as the library classed it: usage (exit 2) or reading / models (exit 3).
    init(_ e: RequestError) { self.init(message: e.message, code: e.isUsage ? 2 : 3) }
}

enum GenMain {
    static func run() -> Never {
        do {
            if let problem = unknownSubcommand(Array(CommandLine.arguments.dropFirst())) {
                printError(problem)
                exit(2)
            }
            // `gen speech` as usually called skips ArgumentParser (`SpeechCommand.quick`). GEN_PARSE
            // (for the tests) picks a parser: "full" ArgumentParser's alone; "quick" the quick one or
            // a failure, so a test can tell that a line takes it.
            let parser = getenv("GEN_PARSE").map { String(cString: $0) }
            if parser != "full", let speech = SpeechCommand.quick(Array(CommandLine.arguments.dropFirst())) {
                apply(speech.globals)
                try speech.run()
                exit(0)
            }
            if parser == "quick" { throw GenError.usage("GEN_PARSE=quick: this command line is not one SpeechCommand.quick takes.") }
            var command = try Gen.parseAsRoot()
            if let g = (command as? HasGlobalOptions)?.globals { apply(g) }
            try command.run()
            exit(0)
        } catch let e as GenError {
            printError(e.message)
            exit(e.code)
        } catch let e as RequestError {
            printError(e.message)
            exit(GenError(e).code)
        } catch AudioError.brokenPipe {
            TemporaryFiles.endOnBrokenPipe()
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch {
            let code = Gen.exitCode(for: error)
            if code == .success { Gen.exit(withError: error) }  // --help, --version
            if code == .validationFailure || code.rawValue == 64 {
                var message = Gen.fullMessage(for: error)
                if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
                printError(message)
                exit(2)
            }
            // A library error that escaped a command: describe it as a model/I-O failure.
            printError("\(error)")
            exit(3)
        }
    }

    /// "unknown command 'speach'. Did you mean 'speech'?" for a first word that names no
    /// subcommand (ArgumentParser would say "2 unexpected arguments").
    static func unknownSubcommand(_ args: [String]) -> String? {
        guard let first = args.first, !first.hasPrefix("-"), first != "help" else { return nil }
        // Every subcommand names itself (commandName): deriving a name from the type's name costs a
        // scan of the program's protocol conformances per type, about 2 ms of every start-up.
        let names = Gen.configuration.subcommands.map { $0._commandName }
        guard !names.contains(first) else { return nil }
        if let match = LabelName.match(first, in: names) {
            return "unknown command '\(first)'. Did you mean '\(match)'? (commands are lower case)"
        }
        var message = "unknown command '\(first)'."
        if let s = LabelName.suggestion(for: first, in: names) { message += " Did you mean '\(s)'?" }
        return message + " Commands: \(names.joined(separator: ", ")); see `gen --help`."
    }

    /// The process-wide settings of the global options: worker threads, float32 products.
    static func apply(_ g: GlobalOptions) {
        // `gen speech` keeps OpenBLAS in the caller's thread (Runtime.configure): --threads sizes gen's
        // own loops, over which its products are split, and the sentences of a text made at once.
        if let n = g.threads { if Runtime.shortCommand { ThreadBudget.count = n } else { Threads.set(n) } }
        if g.float32 { BF16Products.setEnabled(false) }
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(("error: " + message + "\n").data(using: .utf8)!)
    }
}

protocol HasGlobalOptions { var globals: GlobalOptions { get } }

