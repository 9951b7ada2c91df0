// CLITests.swift — runs the real `gen` executable on real audio (speech from the flite CLI, the
// Debian package `flite` that `make test` installs) and checks outputs, exit codes and that failed
// runs leave no file behind. Expected numbers come from the inputs: flite writes 16 kHz mono, so
// a conversion to 22050 Hz must give round(n · 22050/16000) frames.
import Audio
import Foundation
import XCTest

/// Shared plumbing: a scratch folder per test and a runner for the built `gen`.
class CLITestCase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gen-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// The gen binary built beside this test bundle (same configuration).
    var genPath: String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products.appendingPathComponent("gen").path,
                          products.deletingLastPathComponent().appendingPathComponent("gen").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    struct Run { var code: Int32; var stdout: Data; var stderr: String }

    /// The checkout: its models, prompts and examples.
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// The `gen …` (and `echo …`) examples of a --help text as the shell reads them: a line that
    /// ends in `\` continues on the next.
    func examples(_ help: String) -> [String] {
        var out: [String] = [], open: [String] = []
        for raw in help.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !open.isEmpty || (line.hasPrefix("gen ") || line.hasPrefix("echo ")) else { continue }
            open.append(line)
            if !line.hasSuffix("\\") { out.append(open.joined(separator: "\n")); open = [] }
        }
        return out
    }

    func help(_ command: [String], columns: Int) throws -> String {
        let r = try run(genPath, command + ["--help"], env: ["COLUMNS": String(columns)])
        XCTAssertEqual(r.code, 0, r.stderr)
        return String(decoding: r.stdout, as: UTF8.self)
    }

    /// Runs `executable` with `stdin`, in `cwd`, with extra environment; a hung run is killed.
    func run(_ executable: String, _ args: [String], stdin: Data? = nil, cwd: String? = nil,
             env: [String: String] = [:], timeout: Double = 120) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let input = Pipe(), out = Pipe(), err = Pipe()
        p.standardInput = input; p.standardOutput = out; p.standardError = err
        try p.run()
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if p.isRunning { p.terminate() } }
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(code: p.terminationStatus, stdout: o, stderr: String(decoding: e, as: UTF8.self))
    }

    /// Bash with gen first on PATH, the shipped models, and a stand-in for aplay (no sound card here).
    func shell(_ command: String, timeout: Double = 300) throws -> Run {
        try run("/bin/bash", ["-o", "pipefail", "-c", command], cwd: dir.path,
                env: ["PATH": try shellPath(), "GEN_MODELS": root.appendingPathComponent("models").path], timeout: timeout)
    }

    /// The PATH an example runs with: the test folder's bin/ first, holding gen (the build's) and
    /// an aplay that swallows its input (made on first use).
    func shellPath() throws -> String {
        let bin = path("bin")
        if !FileManager.default.fileExists(atPath: bin + "/gen") {
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: bin + "/gen", withDestinationPath: genPath)
            FileManager.default.createFile(atPath: bin + "/aplay", contents: Data("#!/bin/sh\ncat > /dev/null\n".utf8),
                                           attributes: [.posixPermissions: 0o755])
        }
        return bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    }

    /// flite's slt voice saying `text` into `name` (16 kHz WAV), converted by extension.
    func speechFile(_ name: String, _ text: String) throws {
        let wav = path("flite-\(UUID().uuidString).wav")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/flite")
        p.arguments = ["-voice", "slt", "-t", text, "-o", wav]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "install the Debian package flite")
        XCTAssertEqual(try gen(["convert", wav, path(name), "--loudness", "off"]).code, 0)
    }

    @discardableResult
    func gen(_ args: [String]) throws -> Run {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: genPath), "build gen first: swift build --product gen (\(genPath))")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: genPath)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(code: p.terminationStatus, stdout: o, stderr: String(decoding: e, as: UTF8.self))
    }

    /// Runs gen under GNU time (Debian's `time`, which `make test` installs) and returns the run
    /// with the process's own peak resident memory in MB.
    func genMeasuringMemory(_ args: [String]) throws -> (run: Run, peakMB: Double) {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/time"), "install the Debian package time")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = ["-f", "GEN_PEAK_KB=%M", genPath] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let kb = e.components(separatedBy: "GEN_PEAK_KB=").last.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? .infinity
        return (Run(code: p.terminationStatus, stdout: o, stderr: e), kb / 1024)
    }
}

final class CLITests: CLITestCase {
    /// A real speech recording made by the flite CLI (16 kHz mono, 16-bit).
    func fliteRecording() throws -> String {
        let path = dir.appendingPathComponent("flite.wav").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/flite")
        p.arguments = ["-voice", "slt", "-t", "The quick brown fox jumps over the lazy dog.", "-o", path]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "flite failed; install the Debian package flite")
        return path
    }

    func testConvertResamplesRealSpeechToFlacAndOgg() throws {
        let src = try fliteRecording()
        let input = try AudioFile.read(src)
        XCTAssertEqual(input.sampleRate, 16000)
        let flac = dir.appendingPathComponent("speech.flac").path
        let r = try gen(["convert", src, flac, "--rate", "22050"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let out = try AudioFile.read(flac)
        XCTAssertEqual(out.sampleRate, 22050)
        let expected = Int((Double(input.frames) * 22050 / 16000).rounded())
        XCTAssertLessThanOrEqual(abs(out.frames - expected), 1)

        let ogg = dir.appendingPathComponent("speech.ogg").path
        XCTAssertEqual(try gen(["convert", flac, ogg]).code, 0)
        let back = try AudioFile.read(ogg)
        XCTAssertEqual(back.sampleRate, 22050)
        XCTAssertEqual(Double(back.frames), Double(out.frames), accuracy: 2048)  // Vorbis pads at most a block
        // The output may also be named with -o, as every other command names it: the same file.
        // Named both ways, or not at all, it is a usage error (exit 2) and nothing is written.
        let named = dir.appendingPathComponent("named.flac").path
        XCTAssertEqual(try gen(["convert", src, "-o", named, "--rate", "22050"]).code, 0)
        XCTAssertEqual(try AudioFile.read(named).samples, out.samples)
        let twice = try gen(["convert", src, dir.appendingPathComponent("x.wav").path, "-o", dir.appendingPathComponent("y.wav").path])
        XCTAssertEqual(twice.code, 2)
        XCTAssertTrue(twice.stderr.contains("named twice"), twice.stderr)
        let none = try gen(["convert", src])
        XCTAssertEqual(none.code, 2)
        XCTAssertTrue(none.stderr.contains("gen convert IN -o OUT"), none.stderr)
        for f in ["x.wav", "y.wav"] { XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path)) }
    }

    func testStdoutStreamsAWav() throws {
        let src = try fliteRecording()
        let r = try gen(["convert", src, "-"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(Array(r.stdout.prefix(4)), Array("RIFF".utf8))
        XCTAssertEqual(Array(r.stdout[8..<12]), Array("WAVE".utf8))
        let copy = dir.appendingPathComponent("copy.wav")
        try r.stdout.write(to: copy)
        XCTAssertEqual(try AudioFile.read(copy.path).frames, try AudioFile.read(src).frames)
    }

    func testBadInputExitsWith3AndLeavesNoFile() throws {
        let src = try fliteRecording()
        let text = dir.appendingPathComponent("notes.txt")
        try "not audio".write(to: text, atomically: true, encoding: .utf8)
        let cases: [(args: [String], output: String, mentions: String)] = [
            (["convert", dir.appendingPathComponent("missing.wav").path, dir.appendingPathComponent("a.wav").path],
             dir.appendingPathComponent("a.wav").path, "missing.wav"),
            (["convert", text.path, dir.appendingPathComponent("b.wav").path], dir.appendingPathComponent("b.wav").path, "notes.txt"),
            (["convert", src, dir.appendingPathComponent("no/such/dir/c.wav").path], dir.appendingPathComponent("no/such/dir/c.wav").path, "c.wav"),
            (["convert", src, dir.appendingPathComponent("d.mp9").path], dir.appendingPathComponent("d.mp9").path, "mp9"),
            // /proc/self is a directory nobody can create files in, root included.
            (["convert", src, "/proc/self/e.wav"], "/proc/self/e.wav", "not writable"),
        ]
        for c in cases {
            let r = try gen(c.args)
            XCTAssertEqual(r.code, 3, "\(c.args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(c.mentions), "message should name \(c.mentions): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: c.output), "partial output left at \(c.output)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "temporary files left behind")
    }

    // Found by probing the commands as a hostile user (the fifty-eighth session); each once crashed,
    // wrote a useless file with exit 0, or worked for seconds before failing. Expected: a usage error
    // (exit 2) or an I/O error (exit 3) that names the problem, before any work, nothing written; a
    // reader that closes the pipe ends gen quietly by SIGPIPE (status 141), as every command does.
    func testHostileInputsFoundByProbingAreRefusedUpFront() throws {
        let long = path("long.wav")   // 3 s of 48 kHz: more than a pipe holds, so the writer meets the closed end
        try AudioFile.write(AudioBuffer(samples: (0..<144_000).map { 0.3 * Float(sin(Double($0) * 0.05)) }, sampleRate: 48000, channels: 1), to: long)
        let piped = try shell("gen convert long.wav - | head -c 100 > /dev/null; echo \"${PIPESTATUS[0]}\"")
        XCTAssertEqual(String(decoding: piped.stdout, as: UTF8.self), "141\n", piped.stderr)
        XCTAssertEqual(piped.stderr, "")
        for (args, code, mentions) in [
            (["convert", long, path("n.wav"), "--normalize", "nan"], Int32(2), "--normalize takes a peak level"),
            (["convert", long, path("n.wav"), "--normalize=-inf"], 2, "--normalize takes a peak level"),
            (["train", "prior", "--data", path("none"), "--codec", "models/codec", "--out", long], 2, "is a file, not a folder"),
            (["train", "prior", "--data", path("none"), "--codec", "models/codec", "--out", path("run"), "--resume"], 2, "--resume found no checkpoint"),
            (["train", "prior", "--data", path("none"), "--codec", "models/codec", "--out", path("run"), "--batch-size", "1000000000"], 2, "--batch-size must be in 1...256"),
            (["train", "prior", "--data", path("none"), "--codec", "models/codec", "--out", path("run"), "--steps", "-1"], 2, "--steps must be positive, got -1"),
            (["dataset", "music", "--out", path("run"), "--hours", "1e9"], 2, "--hours must be a number of hours in (0, 1000]"),
            (["music", "--duration", "2", "-o", long + "/m.wav"], 3, "is a file, not a folder"),
            (["music", "--duration", "2", "--samples", "3", "-o", path("set/m.wav")], 3, "a folder already has that name"),
        ] {
            if args.contains(path("set/m.wav")) { try FileManager.default.createDirectory(atPath: path("set/m-2.wav"), withIntermediateDirectories: true) }
            let r = try gen(args)
            XCTAssertEqual(r.code, code, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(mentions), "\(args): \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("n.wav")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("run")), "the run's folder is not made before the checks")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("set/m-1.wav")), "no piece of a set is written before all outputs are checked")
        // A prior whose weights are NaN (a diverged run) is refused by name, as the speech models are,
        // where it once sampled a plausible WAV from them with exit 0.
        let models = path("nan-models")
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        for m in ["codec", "prior", "speech", "tagger", "vocoder"] {
            try FileManager.default.createSymbolicLink(atPath: models + "/" + m, withDestinationPath: root.appendingPathComponent("models/" + m).path)
        }
        try FileManager.default.removeItem(atPath: models + "/prior")
        try FileManager.default.createDirectory(atPath: models + "/prior", withIntermediateDirectories: true)
        let shipped = root.appendingPathComponent("models/prior").path
        try FileManager.default.copyItem(atPath: shipped + "/config.json", toPath: models + "/prior/config.json")
        var weights = try Data(contentsOf: URL(fileURLWithPath: shipped + "/model.safetensors"))
        let header = 8 + Int(weights.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        weights.replaceSubrange(header..., with: Data(repeating: 0xFF, count: weights.count - header))   // 0xFFFFFFFF: NaN
        try weights.write(to: URL(fileURLWithPath: models + "/prior/model.safetensors"))
        let nan = try gen(["music", "--duration", "2", "--models-dir", models, "-o", path("nan.wav")])
        XCTAssertEqual(nan.code, 3, nan.stderr)
        XCTAssertTrue(nan.stderr.contains("holds NaN or infinite values"), nan.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("nan.wav")))
    }

    func testUsageErrorsExitWith2() throws {
        let r = try gen(["convert", "a.wav", "b.wav", "--rate", "-5"])
        XCTAssertEqual(r.code, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--rate"))
        XCTAssertEqual(try gen(["convert", "--no-such-flag"]).code, 2)
        XCTAssertEqual(try gen(["frobnicate"]).code, 2)
    }

    func testVersionAndHelpTeach() throws {
        let v = try gen(["--version"])
        XCTAssertEqual(v.code, 0)
        XCTAssertTrue(String(decoding: v.stdout, as: UTF8.self).contains("0."))
        let h = try gen(["--help"])
        XCTAssertEqual(h.code, 0)
        let help = String(decoding: h.stdout, as: UTF8.self)
        for word in ["speech", "music", "batch", "convert", "Examples", "Exit codes"] {
            XCTAssertTrue(help.contains(word), "help lacks \(word)")
        }
        let ch = String(decoding: try gen(["convert", "--help"]).stdout, as: UTF8.self)
        XCTAssertTrue(ch.contains("--rate") && ch.contains("Examples"))
    }

    // Expected: `gen models` lists every shipped model with its card's key numbers, and for the codec
    // the bitrate ladder from its config: rung k's kbps = 22050 / 256 frames/s × its bits a frame,
    // 10 per main codebook and log2 of each bass codebook's size (models/codec/config.json:
    // 4096, 512, 512), so 1 main = 0.86, 1 + 1 bass = 86.13 × 22 = 1.89 and 5 + 3 = 86.13 × 80 = 6.89.
    func testModelsListsTheCodecLadder() throws {
        let r = try gen(["models", "--models-dir", root.appendingPathComponent("models").path])
        XCTAssertEqual(r.code, 0, r.stderr)
        let out = String(decoding: r.stdout, as: UTF8.self)
        for name in ["speech", "vocoder", "codec", "prior", "tagger"] {
            XCTAssertTrue(out.contains("\n\(name)  "), "gen models lacks \(name): \(out)")
        }
        XCTAssertEqual(out.components(separatedBy: "Key numbers:").count - 1, 5)
        let ladder = try XCTUnwrap(out.split(separator: "\n").first { $0.contains("bitrate ladder") })
        XCTAssertTrue(ladder.contains("1: 0.86, 2: 1.89 (1 + 1 bass)") && ladder.hasSuffix("8: 6.89 (5 + 3 bass)"), String(ladder))

        // A codec config whose ladder `gen codec` refuses (a rung that drops a bass codebook the one
        // before it had) is named as invalid by `gen models` too, not listed as a ladder.
        let models = dir.appendingPathComponent("models")
        let shipped = root.appendingPathComponent("models/codec")
        try FileManager.default.createDirectory(at: models.appendingPathComponent("codec"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: models.appendingPathComponent("codec/model.safetensors"),
                                                   withDestinationURL: shipped.appendingPathComponent("model.safetensors"))
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: shipped.appendingPathComponent("config.json"))) as? [String: Any])
        var stream = try XCTUnwrap(config["bass_stream"] as? [String: Any])
        stream["rungs"] = [[1, 0], [1, 1], [2, 1], [2, 2], [3, 2], [3, 3], [4, 3], [6, 2]]
        config["bass_stream"] = stream
        try JSONSerialization.data(withJSONObject: config).write(to: models.appendingPathComponent("codec/config.json"))
        let bad = String(decoding: try gen(["models", "--models-dir", models.path]).stdout, as: UTF8.self)
        XCTAssertFalse(bad.contains("bitrate ladder"), bad)
        XCTAssertTrue(bad.contains("invalid config (gen codec refuses it): bass_stream.rungs must grow rung by rung"), bad)
    }
}
