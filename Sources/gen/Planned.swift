// Planned.swift — the command groups `gen dataset` and `gen train`. (It once held stubs of commands
// not built yet, each declaring its final options and exiting 2; all of them are built now.)
import ArgumentParser

struct Dataset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Build training corpora: flite speech, or MMA/fluidsynth music.",
        subcommands: [DatasetSpeech.self, DatasetMusic.self])
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the speech, vocoder, codec, prior or tagger models.",
        subcommands: [TrainSpeech.self, TrainPostfilter.self, TrainVocoder.self, TrainCodec.self, TrainPrior.self, TrainTagger.self])
}
