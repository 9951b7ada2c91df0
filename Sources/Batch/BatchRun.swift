// BatchRun.swift — the batch runtime: a shared work index, workers, progress and ETA, the tally,
// and the file lock that an interrupt takes for good before the process exits. What an item
// sounds like comes from the caller's render closure, so this module needs no model.
import Audio
import Base
import DSP
import Foundation

/// The rendering of one batch: a shared work index, workers, progress, and the file lock that an
/// interrupt takes for good before the process exits.
public final class BatchRun: @unchecked Sendable {
    public let items: [BatchItem]
    public let outDir: String
    /// Renders one item's audio at `sampleRate` (the models live with the caller).
    let render: (BatchItem) throws -> [Float]
    /// Outputs found complete before the models loaded (--skip-existing): output → seconds of audio.
    let existing: [String: Double]
    let report: Bool
    let quiet: Bool
    let sampleRate: Int

    private let lock = NSLock()        // next, tally, entries, the console
    private let fileLock = NSLock()    // held while a file is written; an interrupt keeps it
    private var next = 0
    private var done = 0
    public private(set) var tally = BatchTally()
    public private(set) var entries: [ReportEntry?]
    private let started = Date()
    private let bar = isatty(2) != 0

    public init(items: [BatchItem], outDir: String, existing: [String: Double], report: Bool, quiet: Bool,
                sampleRate: Int, render: @escaping (BatchItem) throws -> [Float]) {
        self.items = items; self.outDir = outDir; self.render = render; self.sampleRate = sampleRate
        self.existing = existing; self.report = report; self.quiet = quiet
        entries = Array(repeating: nil, count: items.count)
    }

    public func path(_ relative: String) -> String { PathName.join(outDir, relative) }

    /// Runs `body` while holding the file lock: no interrupt can land halfway through a write.
    public func whileWriting<T>(_ body: () throws -> T) rethrows -> T {
        fileLock.lock(); defer { fileLock.unlock() }
        return try body()
    }

    /// SIGINT (Ctrl-C), SIGTERM (Slurm, Kubernetes) and SIGHUP (a closed terminal) wait for the file
    /// being written, then exit 128 + signal without starting another; temporary files never outlive a write.
    public func installInterruptHandlers() {
        TemporaryFiles.onInterrupt { [unowned self] sig in
            self.fileLock.lock()
            self.lock.lock()
            let message = "\n\(TemporaryFiles.signalName(sig)): \(self.tally.rendered) rendered, "
                + "\(self.items.count - self.done) not finished. Every file under its final name is complete; "
                + "rerun the same command with --skip-existing to finish.\n"
            FileHandle.standardError.write(message.data(using: .utf8)!)
            fflush(stdout)
            _exit(128 + sig)
        }
    }

    public func render(workers: Int) {
        guard !items.isEmpty else { return }
        if workers == 1 { work() } else { DispatchQueue.concurrentPerform(iterations: workers) { _ in work() } }
        if bar && !quiet { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
    }

    private func claim() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < items.count else { return nil }
        next += 1
        return next - 1
    }

    private func work() {
        while let i = claim() {
            let item = items[i]
            let t0 = Date()
            let entry: ReportEntry
            do { entry = try renderOne(item) } catch {
                let reason = "\(error)"
                entry = ReportEntry(item: item, status: .failed(reason))
            }
            finish(i, entry, seconds: Date().timeIntervalSince(t0))
        }
    }

    private func renderOne(_ item: BatchItem) throws -> ReportEntry {
        let out = path(item.out)
        if let seconds = existing[item.out] {
            let png = report ? try spectrogram(try AudioFile.readMono(out, sampleRate: sampleRate), for: item) : nil
            return ReportEntry(item: item, status: .skipped, audioSeconds: seconds, spectrogram: png)
        }
        let t0 = Date()
        let target: String
        target = try PromptParser.resolveOutput(item.out, in: outDir)
        let samples = try render(item)
        let seconds = Date().timeIntervalSince(t0)
        guard !samples.isEmpty else { throw BatchItemError("the model produced no audio for this line.") }
        try whileWriting {
            try Folders.create(PathName.parent(target))
            try AudioFile.write(AudioBuffer(samples: samples, sampleRate: sampleRate), to: target)
        }
        let png = report ? try spectrogram(samples, for: item) : nil
        return ReportEntry(item: item, status: .rendered, audioSeconds: Double(samples.count) / Double(sampleRate),
                           renderSeconds: seconds, spectrogram: png,
                           loudness: (try? Loudness.measure(samples, sampleRate: sampleRate))?.integrated)
    }

    /// Writes the item's log-mel spectrogram PNG; returns its path relative to the output folder.
    private func spectrogram(_ samples: [Float], for item: BatchItem) throws -> String {
        let relative = BatchReport.spectrogramPath(for: item.out)
        let fb = MelFilterbank(config: .standard)
        let mel = fb.logMel(audio: samples)
        let frames = mel.count / fb.nMels
        guard frames > 0 else { throw BatchItemError("the audio is too short for a spectrogram.") }
        try whileWriting {
            let png = path(relative)
            try Folders.create(PathName.parent(png))
            try SpectrogramImage.write(mel, frames: frames, bins: fb.nMels, to: png, pixelsPerBin: 2)
        }
        return relative
    }

    private func finish(_ i: Int, _ entry: ReportEntry, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        entries[i] = entry
        done += 1
        let item = entry.item
        var line: String
        switch entry.status {
        case .rendered:
            tally.rendered += 1; tally.renderedAudio += entry.audioSeconds ?? 0
            line = String(format: "rendered %@ (%.1f s of audio%@ in %.2f s)", item.out, entry.audioSeconds ?? 0,
                          entry.loudness.map { String(format: ", %.1f LUFS,", $0) } ?? "", seconds)
        case .skipped:
            tally.skipped += 1; tally.skippedAudio += entry.audioSeconds ?? 0
            line = "skipped \(item.out) (already there)"
        case .failed(let reason):
            tally.failed += 1
            line = "\(item.location): \(reason)"
        }
        if bar && !quiet { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
        if case .failed = entry.status { Self.printLine(line) }
        else if !quiet && !bar { Self.printLine("[\(done)/\(items.count)] \(line)") }
        if entry.status == .rendered { print(path(item.out)); fflush(stdout) }
        if bar && !quiet && done < items.count {
            let elapsed = Date().timeIntervalSince(started)
            let eta = elapsed / Double(done) * Double(items.count - done)
            FileHandle.standardError.write((BatchReport.bar(done: done, total: items.count) + String(format: "  ETA %.0f s", eta)).data(using: .utf8)!)
        }
    }

    static func printLine(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }
}

/// Why one item failed, in words for the batch's report.
public struct BatchItemError: Error, CustomStringConvertible {
    public var description: String
    public init(_ message: String) { description = message }
}

extension BatchRun {
    /// --skip-existing: the outputs already in `outDir` that read as audio, with their seconds of
    /// audio (a file that does not read, say one cut short by a crash, renders again).
    public static func existingOutputs(_ items: [BatchItem], outDir: String, sampleRate: Int) -> [String: Double] {
        var found: [String: Double] = [:]
        for item in items {
            let out = PathName.join(outDir, item.out)
            if FileManager.default.fileExists(atPath: out), let audio = try? AudioFile.readMono(out, sampleRate: sampleRate) {
                found[item.out] = Double(audio.count) / Double(sampleRate)
            }
        }
        return found
    }

    /// Items rendered at once and BLAS threads for each: at most `jobs`, the `cores` to use and
    /// the items, the cores shared evenly among the workers.
    public static func workers(jobs: Int, cores: Int, items: Int) -> (workers: Int, threadsPerJob: Int) {
        let workers = max(1, min(jobs, cores, max(items, 1)))
        return (workers, max(1, cores / workers))
    }
}
