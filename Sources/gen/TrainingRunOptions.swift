// TrainingRunOptions.swift — the options every `gen train` command shares (schedule, time budget,
// checkpoint cadence, seed, --resume), with each model's own defaults.
import ArgumentParser
import Base
import Engine
import Foundation

/// The shared flags, with the defaults of the trainer `Settings` (its `defaultRun`, declared once
/// in the library beside the trainer).
struct TrainingRunOptions<Settings: TrainingRunSettings>: ParsableArguments {
    @Option(name: .long, help: "Total optimizer steps (the schedule's length).") var steps = Settings.defaultRun.steps
    @Option(name: .long, help: "Stop after this many minutes (a checkpoint is written).") var minutes: Double?
    @Option(name: .long, help: "Peak learning rate.") var lr: Float = Settings.defaultRun.learningRate
    @Option(name: .long, help: "Warm-up steps.") var warmup = Settings.defaultRun.warmup
    @Option(name: .long, help: "Steps between checkpoints.") var saveEvery = Settings.defaultRun.saveEvery
    @Option(name: .long, help: "Steps between held-out evaluations.") var evalEvery = Settings.defaultRun.evalEvery
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 1
    @Flag(name: .long, help: "Continue from the checkpoint in --out.") var resume = false

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be positive.") }
        if let minutes, minutes <= 0 { throw ValidationError("--minutes must be positive.") }
        if !(lr > 0 && lr < 1) { throw ValidationError("--lr must be between 0 and 1, got \(lr).") }
        if warmup < 0 { throw ValidationError("--warmup cannot be negative.") }
        if saveEvery < 1 || evalEvery < 1 { throw ValidationError("--save-every and --eval-every must be at least 1.") }
    }

    /// Runs a trainer writing to `out`. Ctrl-C (or SIGTERM, SIGHUP) stops it at the end of the
    /// step under way with its checkpoint written (`TrainingInterrupt`); gen then says how to go
    /// on and exits 128 + the signal, as an interrupted command does.
    func interruptible(out: String, _ body: () throws -> Void) throws {
        try TrainingInterrupt.during(body)
        if let sig = TrainingInterrupt.signal {
            printLine("gen: \(TemporaryFiles.signalName(sig)); the checkpoint in \(out) is complete: the same command "
                      + "with --resume (without --init-from) continues the run.")
            Foundation.exit(128 + sig)
        }
    }

    /// Copies these settings into a trainer's options.
    func apply(to s: inout Settings) {
        s.steps = steps; s.maxMinutes = minutes; s.learningRate = lr; s.warmup = warmup
        s.saveEvery = saveEvery; s.evalEvery = evalEvery; s.seed = seed; s.resume = resume
    }
}
