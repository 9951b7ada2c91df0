// Batch.swift — `gen batch`: renders every line of JSON Lines / .txt prompt files (parsing, seeds,
// shards, the worker pool and the report live in the Batch module, checking and rendering a line
// in Render's BatchRenderer; this file parses the flags, names the models and prints).
//
// Order of work: read and parse every file, keep this shard's lines, set aside (with
// --skip-existing) the lines whose output is already there, load the models the remaining lines
// need (speech and music each once, only if some line needs them), check those lines against the
// models' labels and the text frontend, report bad lines as `file:line: reason`, then render the
// rest on --jobs workers. Each output is written whole to a hidden temporary file and renamed, under
// a lock that SIGINT/SIGTERM take before exiting, so an interrupted batch leaves complete files and
// no temporary ones, and `--skip-existing` resumes it (a rerun with every output there loads no
// model). Exit 0 when every line rendered (or was skipped), 1 when some failed, 2 for bad flags or
// prompt files, 3 when a model the lines need is missing or broken (the lines that do not need it
// still render) or the output folder is unusable.
import Base
import ArgumentParser
import Audio
import Batch
import DSP
import Engine
import Foundation
import Music
import Render
import Speech

struct BatchCommand: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Render every job in JSON Lines or .txt prompt files.",
        discussion: """
        A .jsonl file holds one job per line, music or speech (every key:
        prompts/README.md):
          {"kind":"music","genre":"jazz","lyrics_file":"words.txt","duration":20}
          {"kind":"speech","text":"Hello.","voice":"rms","seed":7,"out":"hi.wav"}
        A .txt file holds one line of speech per line; - reads JSON Lines from stdin
        (echo '{"kind":"speech","text":"Hi."}' | gen batch -). Paths inside a prompt
        file are relative to it; "out" is relative to --out-dir (default:
        <file name>-<line>.wav). Every line is checked before anything renders: bad
        lines are reported as file:line: reason and the rest still render (exit 1). A
        line without "seed" gets one derived from --seed, its file name and line
        number, so reruns and shards give the same audio (files with the same name in
        different folders go by folder/name, e.g. a-set-001.wav). Models load once per
        run, only for lines still to render. A missing or broken model fails the lines
        that need it, the others still render, and the exit code is 3. Ctrl-C leaves
        only complete files.

        Examples:
          gen batch prompts/demo.jsonl --out-dir out/demo --report
          gen batch prompts/voiceover.txt --out-dir out/vo --jobs 2
          gen batch prompts/*.jsonl --out-dir out/shared --shard 2/3
          gen batch prompts/jazz-set.jsonl --out-dir out/jazz --skip-existing
        The first writes out/demo/index.html; the third is machine 2 of 3 (a Slurm
        array or a Kubernetes Indexed Job, each writing to one shared folder); the last
        resumes an interrupted batch.
        """)

    @Argument(help: "Prompt files: .jsonl (one JSON job per line) or .txt (one line of speech per line); - reads JSON Lines from stdin.",
              completion: .file(extensions: ["jsonl", "txt"]))
    var files: [String] = []
    @Option(name: .long, help: ArgumentHelp("Output folder (created if missing).", valueName: "dir")) var outDir = "out"
    @Option(name: .long, parsing: .unconditional, help: "Items rendered at once; BLAS threads per item = cores / jobs.") var jobs = 1
    @Option(name: .long, help: ArgumentHelp("Render only shard i of n, 1-based (e.g. 2/3); the n shards together render every line once.", valueName: "i/n"))
    var shard: String?
    @Flag(name: .long, help: "Skip items whose output file already exists (resume an interrupted batch).") var skipExisting = false
    @Flag(name: .long, help: "Write DIR/index.html: a player, spectrogram, prompt, seed and render time per item.") var report = false
    @Option(name: .long, parsing: .unconditional, help: "Batch seed: lines without their own \"seed\" derive theirs from it.") var seed: UInt64 = 1
    @OptionGroup(title: "Level") var level: LevelOptions
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one prompt file, e.g. `gen batch prompts/demo.jsonl`.") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs).") }
        if let shard { do { _ = try Shard(parsing: shard) } catch { throw ValidationError("\(error)") } }
    }

    func run() throws {
        let started = Date()
        let all: PromptSet
        do { all = try PromptSet.load(files, batchSeed: seed) } catch let e as PromptFileError {
            throw e.kind == .io ? GenError.io(e.message) : GenError.usage(e.message)
        }
        if all.items.isEmpty && all.problems.isEmpty && !globals.quiet {
            printLine("gen batch: no prompt lines in \(files.map { $0 == "-" ? "stdin" : $0 }.joined(separator: ", ")): nothing to render.")
        }
        var plan = all.shard(try shard.map { try Shard(parsing: $0) })
        // Outputs already there need no model: set them aside before loading or checking any.
        let existing = skipExisting ? BatchRun.existingOutputs(plan.items, outDir: outDir, sampleRate: MelConfig.standard.sampleRate) : [:]
        var pending = plan
        pending.items = plan.items.filter { existing[$0.out] == nil }
        let models = BatchRenderer(pending.items, speech: { try loadSynthesizer(globals).model },
                                   vocoder: { try loadVocoder(.neural, globals) as? NeuralVocoder },
                                   music: { try loadPrior(globals) }, level: { [level] in try level.apply($0, sampleRate: $1) })
        if let e = models.speechError { printLine("error: cannot render speech lines: \(e)") }
        if let e = models.musicError { printLine("error: cannot render music lines: \(e)") }
        pending = models.check(pending)
        plan.problems = pending.problems
        plan.items = (pending.items + plan.items.filter { existing[$0.out] != nil }).sorted { $0.ordinal < $1.ordinal }
        for line in Self.problemLines(plan.problems) { printLine(line) }

        try ioErrors {
            try Folders.create(outDir)
            guard access(outDir, W_OK) == 0 else { throw GenError.io("cannot write to --out-dir '\(outDir)': permission denied. Choose another folder.") }
            // The report's path, checked with the outputs' own check before anything renders.
            if report { try AudioFile.checkWritable(PathName.join(outDir, "index.html")) }
        }
        let budget = globals.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
        let (workers, threadsPerJob) = BatchRun.workers(jobs: jobs, cores: budget, items: plan.items.count)
        if jobs > budget && !globals.quiet {
            printLine("note: --jobs \(jobs) is more than the \(budget) core\(budget == 1 ? "" : "s") to use; rendering \(workers) at a time.")
        }
        Threads.set(threadsPerJob)

        let run = BatchRun(items: plan.items, outDir: outDir, existing: existing, report: report, quiet: globals.quiet,
                           sampleRate: MelConfig.standard.sampleRate, render: models.render)
        run.installInterruptHandlers()
        run.render(workers: workers)

        var tally = run.tally
        tally.failed += plan.problems.count
        tally.wallSeconds = Date().timeIntervalSince(started)
        if report {
            let title = "gen batch: " + files.map { PathName.last($0) }.joined(separator: ", ")
                + (shard.map { " (shard \($0))" } ?? "")
            let html = BatchReport.html(run.entries.compactMap { $0 }, problems: plan.problems, tally: tally, title: title,
                                        command: (["gen"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
            let path = PathName.join(outDir, "index.html")
            try run.whileWriting { try ioErrors { try Data(html.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } }
            if !globals.quiet { printLine("report: \(path)  (open it in a browser: xdg-open \(path))") }
        }
        if !globals.quiet { printLine(BatchReport.summary(tally, jobs: workers, threadsPerJob: threadsPerJob)) }
        if let failure = models.failure {
            throw GenError.io(failure + " \(tally.failed) of \(tally.items) items failed (see the lines above); the others were written. "
                              + "Fix the models, then rerun with --skip-existing to render only what is missing.")
        }
        if tally.failed > 0 {
            throw GenError(message: "\(tally.failed) of \(tally.items) items failed (see the lines above); the others were written. "
                           + "Fix those lines and rerun with --skip-existing to render only what is missing.", code: 1)
        }
    }
}

extension BatchCommand {
    /// The lines that will not render, one each, except that a reason shared by more than `shown`
    /// lines (a model that did not load fails every line that needs it) is given for the first
    /// `shown` and then counted: a thousand-line file with no model says so in a few lines. The
    /// report (--report) still lists every line.
    static func problemLines(_ problems: [PromptProblem], shown: Int = 3) -> [String] {
        var seen: [String: Int] = [:], out: [String] = []
        for p in problems {
            seen[p.reason, default: 0] += 1
            if seen[p.reason]! <= shown { out.append(p.description) }
        }
        var counted = Set<String>()
        for p in problems where seen[p.reason]! > shown && counted.insert(p.reason).inserted {
            let more = seen[p.reason]! - shown
            out.append("… and \(more) more line\(more == 1 ? "" : "s") with the same problem: \(p.reason)")
        }
        return out
    }
}

func printLine(_ s: String) { FileHandle.standardError.write((s + "\n").data(using: .utf8)!) }
