// Planned.swift — subcommands from DESIGN.md whose models are not built yet. Each declares its
// final options, so `--help` already teaches the interface, and says clearly that it is not built
// (exit code 2) instead of pretending to work. Later issues replace these one by one.
import ArgumentParser

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
