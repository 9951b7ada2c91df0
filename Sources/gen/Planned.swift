// Planned.swift — subcommands from DESIGN.md whose models are not built yet. Each declares its
// final options, so `--help` already teaches the interface, and says clearly that it is not built
// (exit code 2) instead of pretending to work. Later issues replace these one by one.
import ArgumentParser

struct Music: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        abstract: "Generate music with the VQ-VAE codec and transformer prior (not built yet).",
        discussion: "Example: gen music --genre jazz --lyrics lyrics.txt --duration 20 -o jazz.wav")
    @Option(name: .long, help: "Genre, see `gen genres`.") var genre: String?
    @Option(name: .long, help: "Artist, see `gen artists`.") var artist: String?
    @Option(name: .long, help: "Lyrics file.") var lyrics: String?
    @Option(name: .long, help: "Lyrics given inline.") var lyricsText: String?
    @Option(name: .long, help: "Length in seconds.") var duration: Double = 20
    @Option(name: .long, help: "Sampling temperature.") var temperature: Float = 0.95
    @Option(name: .long, help: "Sample only among the k most likely codes (0 = off).") var topK: Int = 64
    @Option(name: .long, help: "Nucleus sampling mass (0 = off).") var topP: Float = 0
    @Option(name: .long, help: "Random seed.") var seed: UInt64?
    @Option(name: .long, help: "Number of samples to draw.") var samples: Int = 1
    @Option(name: .long, help: "Audio to continue from.") var prime: String?
    @Option(name: .long, help: "Seconds of --prime to use.") var primeSeconds: Double = 4
    @Option(name: .shortAndLong, help: "Output file.") var output = "music.wav"
    @OptionGroup var globals: GlobalOptions
    func run() throws { throw GenError.notBuilt("music", issue: "the codec is issue 4, the prior issue 5") }
}

struct Batch: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        abstract: "Render every job in JSON Lines or .txt prompt files (not built yet).",
        discussion: "Example: gen batch prompts/demo.jsonl --out-dir out --jobs 2")
    @Argument(help: "Prompt files (.jsonl or .txt).") var files: [String] = []
    @Option(name: .long, help: "Output folder.") var outDir = "out"
    @Option(name: .long, help: "Jobs rendered at once.") var jobs = 1
    @Option(name: .long, help: "Render shard i of n (e.g. 0/4).") var shard: String?
    @Flag(name: .long, help: "Skip jobs whose output exists.") var skipExisting = false
    @Flag(name: .long, help: "Write an HTML report.") var report = false
    @OptionGroup var globals: GlobalOptions
    func run() throws { throw GenError.notBuilt("batch", issue: "batch rendering is issue 6") }
}

struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build training corpora: flite speech, or MMA/fluidsynth music.",
        subcommands: [DatasetSpeech.self, DatasetMusic.self])
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the speech, codec or prior models.",
        subcommands: [TrainSpeech.self, TrainCodec.self, TrainPrior.self])
}

struct TrainPrior: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(commandName: "prior", abstract: "Train the music prior (not built yet).")
    @Option(name: .long, help: "Dataset folder.") var data: String
    @Option(name: .long, help: "Model output folder.") var out: String
    @Flag(name: .long, help: "Continue from the checkpoint in --out.") var resume = false
    @OptionGroup var globals: GlobalOptions
    func run() throws { throw GenError.notBuilt("train prior", issue: "issue 5") }
}
