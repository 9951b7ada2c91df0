// TagCLITests.swift — `gen tag` with the shipped tagger (models/tagger) on real audio: a piece gen
// makes, flite's speech, and hostile inputs (not audio, silence, 0.01 s, 10 minutes in bounded
// memory, an unwritable --embeddings path). Expected values are structural (probabilities sum to
// 1, the embedding file holds files × embedding_dim floats) or the documented exit codes.
import Audio
import Engine
import Foundation
import XCTest

final class TagCLITests: CLITestCase {

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("models/tagger/config.json").path) else {
            throw XCTSkip("no models/tagger in this checkout")
        }
    }

    func testTagsMusicAndSpeechAsJSONWithEmbeddings() throws {
        XCTAssertEqual(try gen(["music", "--genre", "blues", "--duration", "6", "--seed", "2", "-o", path("blues.wav")]).code, 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/flite")
        p.arguments = ["-voice", "rms", "-t", "Tag me if you can, I am only talking.", "-o", path("talk.wav")]
        try p.run(); p.waitUntilExit()
        let r = try gen(["tag", path("blues.wav"), path("talk.wav"), "--json", "--top", "8", "--embeddings", path("emb.safetensors")])
        XCTAssertEqual(r.code, 0, r.stderr)
        let lines = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        var dim = 0
        for line in lines {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let genre = o["genre"] as! [String: Double]
            XCTAssertEqual(genre.count, 8)
            XCTAssertEqual(genre.values.reduce(0, +), 1, accuracy: 0.01, "all 8 genres listed: a distribution")
            let v = o["vocals"] as! Double
            XCTAssertTrue(v >= 0 && v <= 1)
            dim = o["embedding_dim"] as! Int
        }
        let e = try SafeTensorsFile.read(path("emb.safetensors"))
        XCTAssertEqual(e.tensors["embeddings"]?.shape, [2, dim])
        let plain = try gen(["tag", path("blues.wav")])
        XCTAssertEqual(plain.code, 0); XCTAssertTrue(String(decoding: plain.stdout, as: UTF8.self).contains("genre "))
    }

    func testHostileInputs() throws {
        try "not audio at all".write(toFile: path("text.wav"), atomically: true, encoding: .utf8)
        let notAudio = try gen(["tag", path("text.wav")])
        XCTAssertEqual(notAudio.code, 3); XCTAssertTrue(notAudio.stderr.contains("text.wav"), notAudio.stderr)
        try AudioFile.write(AudioBuffer(samples: [Float](repeating: 0, count: 5 * 22050), sampleRate: 22050), to: path("silence.wav"))
        try AudioFile.write(AudioBuffer(samples: (0..<220).map { Float(sin(Double($0) * 0.3)) * 0.5 }, sampleRate: 22050), to: path("tiny.wav"))
        let short = try gen(["tag", path("silence.wav"), path("tiny.wav"), "--json"])
        XCTAssertEqual(short.code, 0, short.stderr)
        XCTAssertEqual(String(decoding: short.stdout, as: UTF8.self).split(separator: "\n").count, 2)
        // Ten minutes: tagged window by window; peak memory stays near the audio's own size.
        // A 220 Hz tone switched on and off every half second.
        var long = [Float](repeating: 0, count: 600 * 22050)
        for i in long.indices where (i / 11025) % 2 == 1 { long[i] = 0.3 * Float(sin(Double(i) * 2 * Double.pi * 220 / 22050)) }
        try AudioFile.write(AudioBuffer(samples: long, sampleRate: 22050), to: path("long.flac"))
        let (run, peakMB) = try genMeasuringMemory(["tag", path("long.flac"), "--json"])
        XCTAssertEqual(run.code, 0, run.stderr)
        // 1 + 13,230,000 / 256 = 51,680 frames; windows of 848 every 424 frames, the last ending at the end: 121.
        let o = try JSONSerialization.jsonObject(with: run.stdout) as! [String: Any]
        XCTAssertEqual(o["windows"] as? Int, 121)
        XCTAssertLessThan(peakMB, 600)
        let unwritable = try gen(["tag", path("tiny.wav"), "--embeddings", "/proc/nope/e.safetensors"])
        XCTAssertEqual(unwritable.code, 3, unwritable.stderr)
        XCTAssertTrue(unwritable.stdout.isEmpty, "nothing is tagged before the output path is known to work")
        XCTAssertEqual(try gen(["tag", path("tiny.wav"), "--embeddings", path("e.npy")]).code, 2)
    }
}
