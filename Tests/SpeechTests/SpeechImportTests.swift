// SpeechImportTests.swift — `gen dataset speech --ljspeech`: recordings aligned by teacher-synthesis
// DTW. The "recordings" are flite's awb voice (a different, male Scottish voice from the default slt
// teacher), so the true phone boundaries are known from awb's own segment times; silence is padded
// around them as in real recordings. The importer never sees those times.
import Audio
import DSP
import Engine
import Foundation
import Speech
import XCTest

final class SpeechImportTests: XCTestCase {
    static let sentences = [
        "The quick brown fox jumps over the lazy dog.",
        "Please call Stella and ask her to bring these things with her from the store.",
        "She sells sea shells by the sea shore, and the shells she sells are surely seashells.",
        "We will meet again at seven o'clock on Tuesday evening.",
        "How much wood would a woodchuck chuck if a woodchuck could chuck wood?",
        "Nothing is impossible when you work hard and never give up.",
    ]
    static let lead = 0.25, tail = 0.4   // seconds of low noise around each recording

    func tempDir(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "gen-import-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir + "/wavs", withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// awb speaks `text` at 16 kHz with padding; returns its token ids and true token end times (s).
    static func record(_ text: String, to path: String, seed: UInt64) throws -> (ids: [Int], ends: [Double]) {
        let a = try TextFrontend.analyse(text, voice: "awb", withAudio: true)
        var rng = RNG(seed: seed)
        func noise(_ seconds: Double) -> [Float] { (0..<Int(seconds * 16000)).map { _ in 0.001 * (rng.uniform() * 2 - 1) } }
        let samples = noise(lead) + a.audio! + noise(tail)
        try AudioFile.write(AudioBuffer(samples: samples, sampleRate: a.sampleRate), to: path)
        var ends: [Double] = [], acc = lead
        for d in a.durations { acc += d; ends.append(acc) }
        ends[ends.count - 1] += tail
        return (a.ids, ends)
    }

    func testAlignmentRecoversTheRecordingsPhoneBoundaries() throws {
        let dir = try tempDir("awb"), out = dir + "/corpus"
        var csv = "", truth: [String: (ids: [Int], ends: [Double])] = [:]
        for (i, s) in Self.sentences.enumerated() {
            let id = String(format: "AWB-%04d", i + 1)
            truth[id] = try Self.record(s, to: "\(dir)/wavs/\(id).wav", seed: UInt64(i))
            csv += "\(id)|\(s)|\(s)\n"
        }
        try csv.write(toFile: dir + "/metadata.csv", atomically: true, encoding: .utf8)
        var problems: [String] = []
        let info = try SpeechImporter.run(folder: dir, out: out, speaker: "myvoice", problem: { problems.append($0) })
        XCTAssertEqual(problems, [])
        XCTAssertEqual(info.utterances, Self.sentences.count)
        XCTAssertEqual(info.voices, ["myvoice"])

        // The trainer's own loader reads it back.
        let (train, val) = try SpeechCorpusIO.load(out)
        XCTAssertEqual(train.count + val.count, Self.sentences.count)
        let hop = 256.0 / 22050.0
        var errors: [Double] = [], linearErrors: [Double] = []
        for u in train + val {
            let t = try XCTUnwrap(truth[u.id])
            XCTAssertEqual(u.voice, "myvoice")
            XCTAssertEqual(u.tokens, t.ids, "slt's and awb's frontends give the same phones for \(u.id)")
            // The mel is the recording's: centred STFT frames of the 22050 Hz audio.
            let seconds = t.ends.last!
            XCTAssertEqual(Double(u.frames), (seconds * 22050 / 256).rounded(.down) + 1, accuracy: 2)
            XCTAssertEqual(u.mel.count, u.frames * 80)
            XCTAssertEqual(u.durations.reduce(0, +), u.frames)
            for (id, d) in zip(u.tokens, u.durations) {
                if PhoneSet.standard.isMarker(id) { XCTAssertEqual(d, 0) } else { XCTAssertGreaterThanOrEqual(d, 1) }
            }
            XCTAssertTrue(u.pitch.allSatisfy(\.isFinite) && u.energy.allSatisfy(\.isFinite))
            XCTAssertGreaterThan(u.pitch.filter { $0 > 0 }.count, u.tokens.count / 4, "voiced phones get a pitch")
            // Boundary error at each phone end except the last (which is the end of the file).
            let teacher = try SpeechFeatures.teacher(u.text, voice: "slt")
            let scale = Double(u.frames) / Double(teacher.durations.reduce(0, +))
            var acc = 0, teacherAcc = 0
            for k in 0..<(u.tokens.count - 1) where !PhoneSet.standard.isMarker(u.tokens[k]) {
                acc += u.durations[k]
                teacherAcc = teacher.durations[0...k].reduce(0, +)
                guard u.tokens[(k + 1)...].contains(where: { !PhoneSet.standard.isMarker($0) }) else { break }
                errors.append(abs(Double(acc) * hop - t.ends[k]))
                linearErrors.append(abs(Double(teacherAcc) * scale * hop - t.ends[k]))
            }
        }
        let mean = errors.reduce(0, +) / Double(errors.count) * 1000
        let linear = linearErrors.reduce(0, +) / Double(linearErrors.count) * 1000
        let within50 = Double(errors.filter { $0 < 0.05 }.count) / Double(errors.count)
        print(String(format: "DTW alignment (slt teacher → awb recordings): mean |boundary error| %.1f ms over %d boundaries, "
                     + "%.0f%% within 50 ms; linear stretch of the teacher timing: %.1f ms", mean, errors.count, within50 * 100, linear))
        XCTAssertGreaterThan(errors.count, 150)
        XCTAssertLessThan(mean, 25, "DTW boundary error")
        XCTAssertLessThan(mean, linear / 2, "DTW must beat stretching the teacher's timing")

        // A new speaker name trains a fresh model: a few steps on the imported corpus, losses finite.
        var o = SpeechTrainOptions(dataDir: out, outDir: dir + "/model")
        var arch = FastSpeechConfig(vocabSize: 0, speakers: [], pitchMean: [], pitchStd: [], energyMean: 0, energyStd: 1)
        arch.dModel = 32; arch.encoderLayers = 1; arch.decoderLayers = 1; arch.ffnDim = 64; arch.predictorChannels = 32
        o.model = arch; o.steps = 3; o.logEvery = 1; o.warmup = 1; o.log = { _ in }
        try SpeechTrainer.train(o)
        let config = try ConfigFile.read(FastSpeechConfig.self, from: dir + "/model/config.json")
        XCTAssertEqual(config.speakers, ["myvoice"])
        let log = try String(contentsOfFile: dir + "/model/train_log.jsonl", encoding: .utf8)
        XCTAssertTrue(log.contains("\"step\":3"))
        XCTAssertFalse(log.lowercased().contains("nan"))
        let synth = try SpeechSynthesizer(modelDir: dir + "/model")
        XCTAssertGreaterThan(try synth.mel(sentence: "Hello there.", voice: "myvoice").frames, 0)
    }

    func testBadLinesAreReportedWithTheirLineNumberAndTheRestImported() throws {
        let dir = try tempDir("bad"), out = dir + "/corpus"
        _ = try Self.record("The cat sat on the mat.", to: dir + "/wavs/a.wav", seed: 1)
        _ = try Self.record("Dogs bark at night.", to: dir + "/wavs/d.wav", seed: 2)
        try Data("not audio at all".utf8).write(to: URL(fileURLWithPath: dir + "/wavs/e.wav"))
        let csv = """
            a|The cat sat on the mat.|The cat sat on the mat.
            garbled line without fields
            b|This one has no recording.|This one has no recording.
            c||
            d|Dogs bark at night.
            e|Broken audio here.|Broken audio here.
            a|Duplicate id.|Duplicate id.

            """
        try csv.write(toFile: dir + "/metadata.csv", atomically: true, encoding: .utf8)
        var problems: [String] = []
        let info = try SpeechImporter.run(folder: dir, out: out, speaker: "me", problem: { problems.append($0) })
        XCTAssertEqual(info.utterances, 2)
        XCTAssertEqual(problems.count, 5, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("metadata.csv:2: expected 'id|text|normalized text'") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("metadata.csv:3: wavs/b.wav is missing") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("metadata.csv:4: 'c' has empty text") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("metadata.csv:6: cannot read") && $0.contains("e.wav") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.hasPrefix("metadata.csv:7: duplicate id 'a'") }, "\(problems)")
        let (train, val) = try SpeechCorpusIO.load(out)
        XCTAssertEqual((train + val).map(\.id).sorted(), ["a", "d"])
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out + "/utts").contains { $0.hasPrefix(".") },
                       "no temporary files left")

        XCTAssertThrowsError(try SpeechImporter.run(folder: dir + "/nope", out: out, speaker: "me")) {
            XCTAssertEqual($0 as? SpeechImportError, .folderMissing(dir + "/nope"))
        }
        let empty = try tempDir("empty")
        XCTAssertThrowsError(try SpeechImporter.run(folder: empty, out: out, speaker: "me")) {
            XCTAssertEqual($0 as? SpeechImportError, .metadataMissing(empty + "/metadata.csv"))
        }
        try "x|Nothing recorded.|\n".write(toFile: empty + "/metadata.csv", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SpeechImporter.run(folder: empty, out: empty + "/c", speaker: "me")) {
            XCTAssertEqual($0 as? SpeechImportError, .nothingUsable(empty, problems: 1))
        }
        XCTAssertThrowsError(try SpeechImporter.run(folder: dir, out: out, speaker: "a/b")) {
            XCTAssertEqual($0 as? SpeechImportError, .badSpeaker("a/b"))
        }
    }

    /// Boundaries that collapse or run past the end still give every phone a frame, markers none.
    func testFramesPerTokenFixUp() throws {
        let set = PhoneSet.standard
        let ids = try ["pau", "hh", "ax0", "l", "ow1", "<wb>", "<.>", "pau"].map { try XCTUnwrap(set.id($0)) }
        let d = SpeechAligner.frames(tokens: ids, ends: [3, 3, 3, 2.6, 40, 40, 40, 40], total: 9)
        XCTAssertEqual(d, [3, 1, 1, 1, 2, 0, 0, 1])
        XCTAssertEqual(SpeechAligner.frames(tokens: ids, ends: [0, 0, 0, 0, 0, 0, 0, 0], total: 6), [1, 1, 1, 1, 1, 0, 0, 1])
        XCTAssertThrowsError(try SpeechAligner.durations(tokens: ids, teacherDurations: [1, 1, 1, 1, 1, 0, 0, 1],
                                                         teacherMel: [Float](repeating: 0, count: 6 * 80),
                                                         recordingMel: [Float](repeating: 0, count: 4 * 80))) {
            XCTAssertEqual($0 as? SpeechAlignError, .tooFewFrames(phones: 6, frames: 4))
        }
    }
}
