// TrainingRun.swift — what the trainers (speech, vocoder, codec, prior, tagger) share about a run:
// the loop settings every `gen train` command takes, with each model's defaults; the files of the
// output folder, resuming from it, and the optimizer state that travels beside the weights.
import Base
import Foundation

/// The loop settings of a training run, declared once: each trainer's options hold one (`run`),
/// starting from that trainer's `defaultRun`, and the command line fills it the same way for all.
public struct TrainingRun {
    /// Total optimizer steps: the length of the warm-up + cosine schedule.
    public var steps: Int
    /// Stop (with a checkpoint) after this many minutes.
    public var maxMinutes: Double? = nil
    /// Peak learning rate, reached after `warmup` steps.
    public var learningRate: Float
    public var warmup: Int
    public var seed: UInt64 = 1
    /// Steps between log lines, held-out evaluations and checkpoints.
    public var logEvery = 20
    public var evalEvery: Int
    public var saveEvery: Int
    /// Continue from the checkpoint in the output folder.
    public var resume = false
    /// Progress lines (standard error unless replaced; `--quiet` silences them).
    public var log: (String) -> Void = { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }

    public init(steps: Int = 20000, learningRate: Float, warmup: Int, evalEvery: Int, saveEvery: Int) {
        self.steps = steps; self.learningRate = learningRate; self.warmup = warmup
        self.evalEvery = evalEvery; self.saveEvery = saveEvery
    }

    /// Every problem with these settings, each named by the `gen train` flag that sets it.
    public func problems() -> [String] {
        var p: [String] = []
        if steps < 1 { p.append("--steps must be positive, got \(steps)") }
        if let m = maxMinutes, !(m > 0) { p.append("--minutes must be positive, got \(m)") }
        if !(learningRate > 0 && learningRate < 1) { p.append("--lr must be between 0 and 1, got \(learningRate)") }
        if warmup < 0 { p.append("--warmup cannot be negative, got \(warmup)") }
        if saveEvery < 1 || evalEvery < 1 { p.append("--save-every and --eval-every must be at least 1") }
        if logEvery < 1 { p.append("log lines every \(logEvery) steps: must be at least 1") }
        return p
    }
}

/// `value` within `range`, or the problem "`flag` must be in lo...hi, got value" (whole numbers
/// written without ".0": "--phase-weight must be in 0...100, got -1").
public func rangeProblem<T: Comparable>(_ flag: String, _ value: T, _ range: ClosedRange<T>) -> [String] {
    func text(_ x: T) -> String {
        let s = "\(x)"
        return s.hasSuffix(".0") ? String(s.dropLast(2)) : s
    }
    return range.contains(value) ? [] : ["\(flag) must be in \(text(range.lowerBound))...\(text(range.upperBound)), got \(text(value))"]
}

/// A trainer's options: its run settings, and its defaults (which `gen train`'s flags show).
public protocol TrainingRunSettings {
    static var defaultRun: TrainingRun { get }
    var run: TrainingRun { get set }
    /// The run's folder (weights, checkpoint, log).
    var outDir: String { get }
    /// Every problem with these options (the run's included), each named by the `gen train` flag
    /// that sets it: the one check of every limit, which the command line reports as a usage error.
    func problems() -> [String]
}

/// Options a trainer refuses (`problems()`), for callers of the library that skip the command line.
public struct TrainingOptionsError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "; ") + "." }
}

public extension TrainingRunSettings {
    /// Throws `TrainingOptionsError` when `problems()` finds any: the first thing each trainer does.
    func check() throws {
        let p = problems()
        if !p.isEmpty { throw TrainingOptionsError(problems: p) }
    }

    var steps: Int { get { run.steps } set { run.steps = newValue } }
    var maxMinutes: Double? { get { run.maxMinutes } set { run.maxMinutes = newValue } }
    var learningRate: Float { get { run.learningRate } set { run.learningRate = newValue } }
    var warmup: Int { get { run.warmup } set { run.warmup = newValue } }
    var seed: UInt64 { get { run.seed } set { run.seed = newValue } }
    var logEvery: Int { get { run.logEvery } set { run.logEvery = newValue } }
    var evalEvery: Int { get { run.evalEvery } set { run.evalEvery = newValue } }
    var saveEvery: Int { get { run.saveEvery } set { run.saveEvery = newValue } }
    var resume: Bool { get { run.resume } set { run.resume = newValue } }
    var log: (String) -> Void { get { run.log } set { run.log = newValue } }
}

/// Ctrl-C (SIGINT), SIGTERM (Slurm and Kubernetes send it before they kill a job) or SIGHUP during
/// a training run: the step under way finishes, the checkpoint is written and the run ends without
/// its final evaluation, so `--resume` continues it. A second signal ends the process at once.
public enum TrainingInterrupt {
    private static let lock = NSLock()
    private static var received: Int32? = nil

    /// The signal that asked the run to stop, or nil.
    public static var signal: Int32? { lock.lock(); defer { lock.unlock() }; return received }

    /// Runs `body` (a trainer) with interrupts routed to its loop instead of ending the process.
    public static func during<T>(_ body: () throws -> T) rethrows -> T {
        TemporaryFiles.onInterrupt { sig in
            lock.lock()
            let first = received == nil
            if first { received = sig }
            lock.unlock()
            guard first else { TemporaryFiles.exit(onSignal: sig) }
            FileHandle.standardError.write(("\ngen: \(TemporaryFiles.signalName(sig)): finishing this step and writing the checkpoint "
                                            + "(once more to stop at once, without it).\n").data(using: .utf8)!)
        }
        defer { TemporaryFiles.onInterrupt(nil) }
        return try body()
    }

    /// Why a training loop that began at `start` should stop before its last step: its time budget
    /// is spent, or an interrupt asked it to; nil to go on. Checked at the top of every step.
    public static func stopReason(started start: Date, maxMinutes: Double?) -> String? {
        if let sig = signal { return TemporaryFiles.signalName(sig) }
        if let limit = maxMinutes, Date().timeIntervalSince(start) > limit * 60 { return "time budget reached" }
        return nil
    }
}

/// The output folder of a training run.
public struct TrainingFolder {
    public let path: String
    public var config: String { path + "/config.json" }
    /// The weights, with the step they were saved at in the metadata (`step`).
    public var weights: String { path + "/model.safetensors" }
    /// Optimizer moments (and any trainer state, such as codebook EMA sums) at the same step.
    public var state: String { path + "/train_state.safetensors" }
    public var log: String { path + "/train_log.jsonl" }

    /// Creates the folder when it is missing.
    public init(_ path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Where `--resume` starts: the saved weights and their step, and the saved state when there is one.
    public struct ResumePoint {
        public var weights: SafeTensorsFile
        public var step: Int
        /// nil when the folder carries weights alone (a shipped model): the optimizer's moments restart.
        public var state: SafeTensorsFile?
    }

    /// Reads the checkpoint for `--resume`. A state file saved at another step than the weights is
    /// refused: the two would not belong together.
    public func resumePoint() throws -> ResumePoint {
        let fm = FileManager.default
        guard fm.fileExists(atPath: weights) else {
            throw CheckpointError(path: weights, message: "--resume found no checkpoint; start without --resume.")
        }
        let w = try SafeTensorsFile.read(weights)
        let step = Int(w.metadata["step"] ?? "0") ?? 0
        guard fm.fileExists(atPath: state) else { return ResumePoint(weights: w, step: step, state: nil) }
        let s = try SafeTensorsFile.read(state)
        guard s.metadata["step"] == String(step) else {
            throw CheckpointError(path: state, message: "optimizer state is from step \(s.metadata["step"] ?? "?"), the weights from step \(step); "
                                  + "delete it to resume from the weights alone.")
        }
        return ResumePoint(weights: w, step: step, state: s)
    }

    /// `--resume` for a trainer whose weights are one parameter store: loads the checkpoint's
    /// weights into `params` and its moments into `optimizer`, logs how it resumed, and returns the
    /// point (its step, and its state file for trainers that keep more state).
    @discardableResult
    public func resume(_ params: ParameterStore, _ optimizer: AdamW, log: (String) -> Void) throws -> ResumePoint {
        let point = try resumePoint()
        try params.load(point.weights, path: weights)
        if let state = point.state { try optimizer.restore(from: state, path: self.state) }
        log(resumedMessage(point))
        return point
    }

    /// The log line that says how a run resumed.
    public func resumedMessage(_ point: ResumePoint) -> String {
        point.state == nil
            ? "resumed weights at step \(point.step) from \(path) (no optimizer state: moments restart)"
            : "resumed at step \(point.step) from \(path)"
    }
}

extension AdamW {
    /// The state file for `TrainingFolder.state`: the moments as `adam.m` / `adam.v`, and the
    /// trainer's step (the one its weights are saved with, which `resumePoint` checks) in the
    /// metadata. After a resume from weights alone the optimizer's own count restarts from 0, so it
    /// is not the step to write. Trainers add their own tensors before writing the file.
    public func stateFile(step trainerStep: Int) -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: ["step": String(trainerStep)])
        file.tensors["adam.m"] = SafeTensor(floats: m, shape: [m.count])
        file.tensors["adam.v"] = SafeTensor(floats: v, shape: [v.count])
        return file
    }

    /// Restores the moments from a file written by `stateFile(step:)`; the optimizer's step becomes that step.
    public func restore(from file: SafeTensorsFile, path: String) throws {
        guard let sm = file.tensors["adam.m"], let sv = file.tensors["adam.v"], sm.elementCount == m.count, sv.elementCount == v.count else {
            throw CheckpointError(path: path, message: "optimizer state does not match the model; delete it to resume from the weights alone.")
        }
        m = try sm.floats(); v = try sv.floats()
        step = Int(file.metadata["step"] ?? "0") ?? 0
    }
}
