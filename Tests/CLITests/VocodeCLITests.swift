// VocodeCLITests.swift — `gen vocode` and `gen speech --vocoder` end to end with the shipped
// models, on real speech from the flite CLI. Expected lengths come from the inputs: the output of
// copy synthesis has the input's duration at 22050 Hz (round(n · 22050 / rate) samples, as
// libsamplerate gives). Bad inputs must give a clear message, the documented exit code and no
// file under the output name.
import Audio
import DSP
import Foundation
import XCTest

final class VocodeCLITests: CLITestCase {

    func flite(_ text: String, voice: String = "rms", to name: String) throws -> String {
        let out = path(name)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/flite")
        p.arguments = ["-voice", voice, "-t", text, "-o", out]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "flite failed; install the Debian package flite")
        return out
    }

    func write(_ samples: [Float], rate: Int, channels: Int = 1, to name: String) throws -> String {
        try AudioFile.write(AudioBuffer(samples: samples, sampleRate: rate, channels: channels), to: path(name))
        return path(name)
    }

    func testVocodeKeepsDurationAndSpeech() throws {
        let input = try flite("Copy synthesis keeps every word.", to: "in.wav")
        let n = try AudioFile.read(input).samples.count
        let r = try gen(["vocode", input, "-o", path("out.wav")])
        XCTAssertEqual(r.code, 0, r.stderr)
        let out = try AudioFile.read(path("out.wav"))
        XCTAssertEqual(out.sampleRate, 22050)
        XCTAssertEqual(Double(out.samples.count), (Double(n) * 22050 / 16000).rounded(), accuracy: 2)
        let rms = (out.samples.map { $0 * $0 }.reduce(0, +) / Float(out.samples.count)).squareRoot()
        XCTAssertGreaterThan(rms, 0.01, "the vocoded speech is near silent")
    }

    func testSeveralInputsGoToAFolderAndGriffinLimStillWorks() throws {
        let a = try flite("First.", to: "a.wav"), b = try flite("Second.", voice: "slt", to: "b.flac")
        let r = try gen(["vocode", a, b, "-o", path("outdir"), "--vocoder", "griffin-lim"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("outdir/a.wav")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("outdir/b.wav")))
        let s = try gen(["speech", "Griffin-Lim is still here.", "--vocoder", "griffin-lim", "-o", path("gl.wav")])
        XCTAssertEqual(s.code, 0, s.stderr)
        XCTAssertGreaterThan(try AudioFile.read(path("gl.wav")).duration, 0.5)
        let bad = try gen(["speech", "hello", "--vocoder", "wavenet", "-o", path("x.wav")])
        XCTAssertEqual(bad.code, 2)
        XCTAssertTrue(bad.stderr.contains("griffin-lim"), bad.stderr)
    }

    // Expected: the mel projection's steps are the user's to choose. 0 gives the network's output, which
    // is farther from the input's mel than the default (the config's copy_iterations: on the 120 held-out
    // utterances of the vocoder card, log-mel 1.83 dB without, 0.70 dB with), and out-of-range values or
    // the flag with Griffin-Lim are usage errors (exit 2) that say what to do.
    func testRefineIterationsAreTheUsersToChoose() throws {
        let input = try flite("Refined or not, every word stays.", to: "in.wav")
        var r = try gen(["vocode", input, "-o", path("refined.wav"), "--loudness", "off"])
        XCTAssertEqual(r.code, 0, r.stderr)
        r = try gen(["vocode", input, "-o", path("network.wav"), "--refine-iterations", "0", "--loudness", "off"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let reference = try AudioFile.read(input).samples
        let fb = MelFilterbank(config: .standard)
        let target = fb.logMel(audio: try Resampler.resample(reference, from: 16000, to: 22050))
        func distance(_ name: String) throws -> Float {
            let y = fb.logMel(audio: try AudioFile.read(path(name)).samples)
            return zip(y, target).reduce(Float(0)) { $0 + Swift.abs($1.0 - $1.1) } / Float(min(y.count, target.count))
        }
        XCTAssertLessThan(try distance("refined.wav"), 0.75 * (try distance("network.wav")))
        for bad in [["vocode", input, "-o", path("x.wav"), "--refine-iterations", "65"],
                    ["speech", "hello", "-o", path("x.wav"), "--refine-iterations=-1"]] {
            r = try gen(bad)
            XCTAssertEqual(r.code, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("--refine-iterations must be between 0 and 64"), r.stderr)
        }
        r = try gen(["speech", "hello", "-o", path("x.wav"), "--refine-iterations", "2", "--vocoder", "griffin-lim"])
        XCTAssertEqual(r.code, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--vocoder-iterations"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.wav")))
        r = try gen(["speech", "hello", "-o", path("plain.wav"), "--refine-iterations", "0"])
        XCTAssertEqual(r.code, 0, r.stderr)
    }

    func testStereo48kSilenceAndATinyFile() throws {
        // Stereo 48 kHz: mixed to mono, resampled to 22050 Hz, same duration (1 s).
        let tone = (0..<48000).flatMap { i -> [Float] in let v = 0.3 * Float(sin(Double(i) * 2 * .pi * 220 / 48000)); return [v, v] }
        let stereo = try write(tone, rate: 48000, channels: 2, to: "stereo.wav")
        var r = try gen(["vocode", stereo, "-o", path("stereo-out.wav")])
        XCTAssertEqual(r.code, 0, r.stderr)
        var out = try AudioFile.read(path("stereo-out.wav"))
        XCTAssertEqual(out.channels, 1)
        XCTAssertEqual(out.samples.count, 22050, accuracy: 2)
        // Silence stays (near) silent and finite.
        let silence = try write([Float](repeating: 0, count: 22050), rate: 22050, to: "silence.wav")
        r = try gen(["vocode", silence, "-o", path("silence-out.wav")])
        XCTAssertEqual(r.code, 0, r.stderr)
        out = try AudioFile.read(path("silence-out.wav"))
        XCTAssertTrue(out.samples.allSatisfy { $0.isFinite && Swift.abs($0) < 0.05 }, "silence came back loud")
        // 0.01 s: shorter than one FFT window, still an output of the same length.
        let tiny = try write((0..<220).map { Float(sin(Double($0) * 0.3)) * 0.2 }, rate: 22050, to: "tiny.wav")
        r = try gen(["vocode", tiny, "-o", path("tiny-out.wav")])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try AudioFile.read(path("tiny-out.wav")).samples.count, 220)
    }

    func testBadInputsGiveClearErrorsAndNoFile() throws {
        var r = try gen(["vocode", path("missing.wav"), "-o", path("o1.wav")])
        XCTAssertEqual(r.code, 3); XCTAssertTrue(r.stderr.contains("missing.wav"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o1.wav")))
        try "this is not audio".write(toFile: path("text.wav"), atomically: true, encoding: .utf8)
        r = try gen(["vocode", path("text.wav"), "-o", path("o2.wav")])
        XCTAssertEqual(r.code, 3); XCTAssertFalse(r.stderr.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o2.wav")))
        let input = try flite("Unwritable.", to: "u.wav")
        r = try gen(["vocode", input, "-o", "/proc/gen-cannot-write-here.wav"])
        XCTAssertEqual(r.code, 3, r.stderr); XCTAssertFalse(r.stderr.isEmpty)
        r = try gen(["vocode", input, "-o", path("out.mp9")])
        XCTAssertEqual(r.code, 2, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.mp9")))
    }

    /// Ten minutes of audio at 48 kHz stereo: the output is complete and the process's peak memory
    /// stays far below what holding every intermediate at once would take (the bound: 1.5 GB,
    /// against ~0.6 GB measured; unbounded growth would be several GB).
    func testTenMinutesInBoundedMemory() throws {
        let seconds = 600, rate = 48000
        var samples = [Float](repeating: 0, count: seconds * rate * 2)
        for i in 0..<(seconds * rate) { let v = 0.2 * Float(sin(Double(i) * 2 * .pi * 330 / Double(rate))); samples[2 * i] = v; samples[2 * i + 1] = v }
        let long = try write(samples, rate: rate, channels: 2, to: "long.wav")
        samples = []
        let (r, peakMB) = try genMeasuringMemory(["vocode", long, "-o", path("long-out.flac")])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertLessThan(peakMB, 1500, "gen vocode on 10 minutes peaked at \(peakMB) MB")
        XCTAssertEqual(try AudioFile.read(path("long-out.flac")).duration, Double(seconds), accuracy: 0.01)
    }
}
