// TrainingRunOptions.swift — the options every `gen train` command shares (schedule, time budget,
// checkpoint cadence, seed, --resume), with each model's own defaults.
import ArgumentParser
import Base
import Engine
import Foundation
import NN

/// A `gen train` command: its flags make the trainer's options (`options`), which check
/// themselves; `train` runs the trainer, its errors mapped to gen's exit codes.
protocol TrainCommand: ParsableCommand, HasGlobalOptions {
    associatedtype Settings: TrainingRunSettings
    var training: TrainingRunOptions<Settings> { get }
    var options: Settings { get }
    static func train(_ options: Settings) throws
    /// False for a run that only scores a model (`gen train prior --eval-only`): Ctrl-C then stops
    /// it at once, with no checkpoint to finish or resume.
    var writesCheckpoints: Bool { get }
}

extension TrainCommand {
    func validate() throws { try training.check(options) }

    var writesCheckpoints: Bool { true }

    func run() throws {
        var o = options
        if globals.quiet { o.log = { _ in } }
        guard writesCheckpoints else { return try Self.train(o) }
        try training.checkFolder(o.outDir)
        if training.bf16 && !globals.quiet {
            printLine(BF16Products.available ? "gen: --bf16: the steps' products in bfloat16."
                      : "gen: --bf16 ignored: this CPU has no AVX512-BF16; the products stay float.")
        }
        try training.interruptible(out: o.outDir) {
            if training.bf16 { try BF16Products.training { try Self.train(o) } } else { try Self.train(o) }
        }
    }
}

/// The shared flags, with the defaults of the trainer `Settings` (its `defaultRun`, declared once
/// in the library beside the trainer).
struct TrainingRunOptions<Settings: TrainingRunSettings>: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Total optimizer steps (the schedule's length).") var steps = Settings.defaultRun.steps
    @Option(name: .long, parsing: .unconditional, help: "Stop after this many minutes (a checkpoint is written).") var minutes: Double?
    @Option(name: .long, parsing: .unconditional, help: "Peak learning rate.") var lr: Float = Settings.defaultRun.learningRate
    @Option(name: .long, parsing: .unconditional, help: "Warm-up steps.") var warmup = Settings.defaultRun.warmup
    @Option(name: .long, parsing: .unconditional, help: "Steps between checkpoints.") var saveEvery = Settings.defaultRun.saveEvery
    @Option(name: .long, parsing: .unconditional, help: "Steps between held-out evaluations.") var evalEvery = Settings.defaultRun.evalEvery
    @Option(name: .long, parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 1
    @Flag(name: .long, help: "Continue from the checkpoint in --out.") var resume = false
    @Flag(name: .long, help: ArgumentHelp(
        "Mixed precision: the steps' matrix products in bfloat16 (weights, gradients and the optimizer stay float; held-out evaluations too), on a CPU with AVX512-BF16; elsewhere ignored.")) var bf16 = false

    /// The trainer's own check of every limit (`TrainingRunSettings.problems`), its first problem as
    /// a usage error (exit 2).
    func check(_ options: Settings) throws {
        if let problem = options.problems().first { throw ValidationError(problem + ".") }
    }

    /// What can be told of the run's folder before any data is read: it must be a folder (or not
    /// exist yet), and hold a checkpoint when the run resumes.
    func checkFolder(_ out: String) throws {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: out, isDirectory: &isFolder)
        if exists && !isFolder.boolValue {
            throw GenError.usage("--out '\(out)' is a file, not a folder: name a folder for the run (it is created when missing).")
        }
        if resume && !FileManager.default.fileExists(atPath: out + "/model.safetensors") {
            throw GenError.usage("--resume found no checkpoint in '\(out)' (no model.safetensors): start without --resume, or name the run's folder with --out.")
        }
    }

    /// Runs a trainer writing to `out`. Ctrl-C (or SIGTERM, SIGHUP) stops it at the end of the
    /// step under way with its checkpoint written (`TrainingInterrupt`); gen then says how to go
    /// on and exits 128 + the signal, as an interrupted command does.
    func interruptible(out: String, _ body: () throws -> Void) throws {
        try TrainingInterrupt.during(body)
        if let sig = TrainingInterrupt.signal {
            printLine("gen: \(TemporaryFiles.signalName(sig)); the checkpoint in \(out) is complete: the same command "
                      + "with --resume (without --init-from) continues the run.")
            TemporaryFiles.removeAllPending()
            Foundation.exit(128 + sig)
        }
    }

    /// Copies these settings into a trainer's options.
    func apply(to s: inout Settings) {
        s.steps = steps; s.maxMinutes = minutes; s.learningRate = lr; s.warmup = warmup
        s.saveEvery = saveEvery; s.evalEvery = evalEvery; s.seed = seed; s.resume = resume
    }
}

/// The discriminator phase's flags, shared by `gen train vocoder` and `gen train codec`.
struct AdversarialOptions: ParsableArguments {
    @Option(name: .long, help: "Weight of the adversarial losses (0: no discriminators).") var adversarialWeight: Float = 0
    @Option(name: .customLong("discriminator-lr"), help: "Peak learning rate of the discriminators.") var discriminatorLR: Float = 2e-4
    @Option(name: .long, help: "Segments of each batch the discriminators read.") var discriminatorBatch = 4

    func apply(to s: inout AdversarialSettings) {
        s.weight = adversarialWeight; s.learningRate = discriminatorLR; s.batch = discriminatorBatch
    }
}
