// TrainingCLITests.swift — the examples of `gen dataset` and `gen train` (issue 15, row 10: every
// example in --help runs as printed). A corpus build or a training run as printed takes minutes to
// hours, so each runs exactly as printed (through bash, gen on PATH) in a folder laid out as its
// paths expect, and is stopped with Ctrl-C (SIGINT) once it is under way: its first progress line
// for a corpus build, its "N parameters" line (data read, model built, loop entered) for a
// training run. Imports of a few files run to the end. What is checked comes from the commands'
// contract: a training run stops at the end of its step with a complete checkpoint (config.json,
// model.safetensors, train_state.safetensors, no temporary file) and exits 130 (128 + SIGINT);
// the `--resume` examples then continue from it, and the `--init-from` ones start from the
// shipped models.
import Audio
import Foundation
import XCTest

final class TrainingCLITests: CLITestCase {
    /// A reader thread's text, shared with the test thread.
    final class TextBox: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        func append(_ d: Data) { lock.lock(); text += String(decoding: d, as: UTF8.self); lock.unlock() }
        var value: String { lock.lock(); defer { lock.unlock() }; return text }
    }

    /// Runs `command` through bash (gen on PATH) until it exits or its stderr shows `marker`, then
    /// sends SIGINT to it, as Ctrl-C would, and waits for it to end. No marker: runs to the end.
    func runInterrupting(_ command: String, at marker: String?, cwd: String, timeout: Double = 600) throws -> (run: Run, interrupted: Bool) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "exec " + command]   // exec: the signal goes to gen itself
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        // TMPDIR: the test's own, so that a scratch folder left behind is seen (below).
        try FileManager.default.createDirectory(atPath: path("tmp"), withIntermediateDirectories: true)
        p.environment = ProcessInfo.processInfo.environment.merging(
            ["PATH": try shellPath(), "HOME": dir.path, "TMPDIR": path("tmp")]) { _, new in new }
        let err = Pipe(), box = TextBox()
        p.standardError = err; p.standardOutput = FileHandle.nullDevice; p.standardInput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { h in box.append(h.availableData) }
        try p.run()
        let start = Date()
        var interrupted = false
        while p.isRunning && Date().timeIntervalSince(start) < timeout {
            if let marker, box.value.contains(marker) { kill(p.processIdentifier, SIGINT); interrupted = true; break }
            usleep(50_000)
        }
        while p.isRunning && Date().timeIntervalSince(start) < timeout { usleep(50_000) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        err.fileHandleForReading.readabilityHandler = nil
        box.append(err.fileHandleForReading.readDataToEndOfFile())
        return (Run(code: p.terminationStatus, stdout: Data(), stderr: box.value), interrupted)
    }

    /// A 21 s recording-like file (a chord with vibrato and a pulse), longer than --audio-dir's 20 s minimum.
    func writeTrack(_ name: String, root f0: Double) throws {
        let sr = 22050, n = 21 * sr
        let samples = (0..<n).map { i -> Float in
            let t = Double(i) / Double(sr), pulse = 0.6 + 0.4 * cos(2 * Double.pi * 2 * t)
            let chord = [1.0, 1.26, 1.5, 2.0].reduce(0.0) { $0 + sin(2 * Double.pi * f0 * $1 * t + 0.3 * sin(2 * Double.pi * 5 * t)) }
            return Float(0.08 * pulse * chord)
        }
        try FileManager.default.createDirectory(atPath: (path(name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try AudioFile.write(AudioBuffer(samples: samples, sampleRate: sr), to: path(name))
    }

    // Row 10: every example of `gen dataset speech|music` and `gen train
    // speech|vocoder|codec|prior|tagger` --help runs as printed.
    func testDatasetAndTrainHelpExamplesRunAsPrinted() throws {
        let commands = [["dataset", "speech"], ["dataset", "music"], ["train", "speech"], ["train", "postfilter"], ["train", "vocoder"],
                        ["train", "codec"], ["train", "prior"], ["train", "tagger"]]
        var all: [(command: [String], example: String)] = []
        for c in commands {
            let found = examples(try help(c, columns: 80))
            XCTAssertFalse(found.isEmpty, "\(c) --help has examples")
            all += found.map { (c, $0) }
        }
        XCTAssertGreaterThanOrEqual(all.count, 21)

        // The folder the examples' paths expect: small corpora under data/, the shipped models
        // read from models/ (models/speech is what `gen train speech --out models/speech` writes).
        let fm = FileManager.default
        for m in ["codec", "prior", "vocoder", "tagger"] {
            try fm.createDirectory(atPath: path("models"), withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: path("models/\(m)"), withDestinationPath: root.appendingPathComponent("models/\(m)").path)
        }
        var r = try gen(["dataset", "speech", "--out", path("data/speech"), "--sentences", "4", "--quiet"])
        XCTAssertEqual(r.code, 0, r.stderr)
        r = try gen(["dataset", "music", "--out", path("data/music"), "--hours", "0.12", "--seed", "1", "--quiet"])
        XCTAssertEqual(r.code, 0, r.stderr)
        // A second corpus for the examples that train on several (the same clips, elsewhere).
        try fm.copyItem(atPath: path("data/music"), toPath: path("data/music2"))
        // An LJSpeech-style folder in ~ (HOME is the test folder): three flite recordings.
        try fm.createDirectory(atPath: path("LJSpeech-1.1/wavs"), withIntermediateDirectories: true)
        let lines = ["Printing, in the only sense with which we are at present concerned.", "The quick brown fox jumps over the lazy dog.",
                     "She sells sea shells by the sea shore."]
        for (i, text) in lines.enumerated() { try speechFile("LJSpeech-1.1/wavs/LJ001-000\(i + 1).wav", text) }
        try lines.enumerated().map { "LJ001-000\($0.offset + 1)|\($0.element)|\($0.element)" }.joined(separator: "\n")
            .write(toFile: path("LJSpeech-1.1/metadata.csv"), atomically: true, encoding: .utf8)
        // `--from songs`: two clips of the small corpus, labelled as a user would.
        let clips = try fm.contentsOfDirectory(atPath: path("data/music/audio")).sorted().prefix(2)
        try fm.createDirectory(atPath: path("songs"), withIntermediateDirectories: true)
        var meta = ""
        for (i, clip) in clips.enumerated() {
            try fm.copyItem(atPath: path("data/music/audio/\(clip)"), toPath: path("songs/song\(i).wav"))
            meta += "{\"file\": \"song\(i).wav\", \"artist\": \"My Band\", \"genre\": \"rock\", \"lyrics\": \"la la la\"}\n"
        }
        try meta.write(toFile: path("songs/meta.jsonl"), atomically: true, encoding: .utf8)
        // `--audio-dir data/debs/music`: two packages' tracks.
        try writeTrack("data/debs/music/pkg-a/theme.wav", root: 220)
        try writeTrack("data/debs/music/pkg-b/battle.wav", root: 196)
        // The corpus builds that render hours run in a folder of their own, so that their
        // interrupted output does not replace the small corpora the training examples read.
        try fm.createDirectory(atPath: path("renders"), withIntermediateDirectories: true)

        for (command, example) in all {
            let importing = ["--ljspeech", "--from ", "--audio-dir"].contains { example.contains($0) }
            let scoring = example.contains("--eval-only")
            // A bass stream's fit is one pass with no checkpoint: interrupted once its last corpus is read, it leaves no model.
            let fitting = example.contains("--bass-stream ")
            // The mel postfilter's fit is statistics, no steps: it runs to its end (on the speech
            // model the `gen train speech` example above left at its first checkpoint).
            let postfilter = example.hasPrefix("gen train postfilter")
            let training = example.hasPrefix("gen train ") && !scoring && !fitting && !postfilter
            let cwd = !training && !importing && !scoring && !fitting && !postfilter ? path("renders") : dir.path
            let marker = fitting ? "training clips of data/realmusic" : training ? " parameters" : importing || scoring || postfilter ? nil : " ETA "
            let (run, interrupted) = try runInterrupting(example, at: marker, cwd: cwd)
            let name = "\(command.joined(separator: " ")): \(example)"
            if fitting {
                XCTAssertTrue(interrupted, "\(name) never got under way\n\(run.stderr)")
                XCTAssertEqual(run.code, 128 + SIGINT, "\(name)\n\(run.stderr)")
                XCTAssertTrue(run.stderr.contains("left no model"), "\(name)\n\(run.stderr)")
                let words = example.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
                let out = try XCTUnwrap(words.firstIndex(of: "--out").map { words[$0 + 1] }, name)
                XCTAssertFalse(fm.fileExists(atPath: path(out + "/model.safetensors")), name)
                continue
            }
            // Scoring a trained prior runs to its end, logs the held-out bits and writes no weights.
            if scoring {
                XCTAssertEqual(run.code, 0, "\(name)\n\(run.stderr)")
                XCTAssertTrue((run.stderr + String(decoding: run.stdout, as: UTF8.self)).contains("\"final\":true"), "\(name)\n\(run.stderr)")
                let words = example.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
                let out = try XCTUnwrap(words.firstIndex(of: "--out").map { words[$0 + 1] }, name)
                XCTAssertFalse(fm.fileExists(atPath: path(out + "/model.safetensors")), name)
                continue
            }
            if postfilter {
                XCTAssertEqual(run.code, 0, "\(name)\n\(run.stderr)")
                let words = example.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
                let out = try XCTUnwrap(words.firstIndex(of: "--out").map { words[$0 + 1] }, name)
                let config = try String(contentsOfFile: path(out + "/config.json"), encoding: .utf8)
                XCTAssertTrue(config.contains("\"spectral_gain\"") && config.contains("\"temporal_gain\""), name)
                XCTAssertTrue(fm.fileExists(atPath: path(out + "/model.safetensors")), name)
                continue
            }
            if importing && !training {
                XCTAssertEqual(run.code, 0, "\(name)\n\(run.stderr)")
                continue
            }
            XCTAssertTrue(interrupted, "\(name) never got under way\n\(run.stderr)")
            XCTAssertEqual(run.code, 128 + SIGINT, "\(name)\n\(run.stderr)")
            XCTAssertTrue(run.stderr.contains("interrupted"), "\(name)\n\(run.stderr)")
            // An interrupted corpus build removes its scratch folder (mma and fluidsynth files) too.
            // (fluidsynth's PulseAudio client keeps a pulse-* folder of its own there.)
            XCTAssertEqual(try fm.contentsOfDirectory(atPath: path("tmp")).filter { $0.hasPrefix("gen-") }, [], name)
            guard training else { continue }
            // The run stopped at a checkpoint a later --resume continues from.
            let words = example.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            let out = try XCTUnwrap(words.firstIndex(of: "--out").map { words[$0 + 1] }, name)
            let folder = URL(fileURLWithPath: cwd).appendingPathComponent(out).path
            for file in ["config.json", "model.safetensors", "train_state.safetensors"] {
                XCTAssertTrue(fm.fileExists(atPath: folder + "/" + file), "\(name): no \(file) in \(out)\n\(run.stderr)")
            }
            let hidden = ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix(".") }
            XCTAssertEqual(hidden, [], name)
            XCTAssertTrue(run.stderr.contains("--resume"), "\(name): says how to continue\n\(run.stderr)")
        }
        for corpus in ["data/lj", "data/mine", "data/realmusic"] {
            XCTAssertTrue(fm.fileExists(atPath: path(corpus + "/metadata.jsonl")), corpus)
        }
    }
}
