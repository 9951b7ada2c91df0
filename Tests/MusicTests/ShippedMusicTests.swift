// ShippedMusicTests — the codec and prior in models/ as a user gets them: the codec round-trips a
// real rendered music clip (mma + fluidsynth, the corpus recipe) at every level with a log-mel
// distance far below that of a broken model, and the prior loads against it, samples
// reproducibly and decodes to audible, finite audio.
import Audio
import DSP
import Engine
@testable import Music
import XCTest

final class ShippedMusicTests: XCTestCase {
    /// models/ at the package root (this file is Tests/MusicTests/ShippedMusicTests.swift).
    let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models").path
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "gen-shipped-music-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func requireModels(_ names: [String]) throws {
        for n in names where !FileManager.default.fileExists(atPath: models + "/\(n)/config.json") {
            XCTFail("models/\(n) is missing: the codec and prior ship with the repository (git checkout models/)")
            throw CodecError("models/\(n) is missing")
        }
    }

    /// Mean absolute difference of 80-band log-mels in dB (floor 1e-5), as ../shared/eval/codec_eval.py scores.
    func logMelDistance(_ a: [Float], _ b: [Float]) -> Double {
        let fb = MelFilterbank()
        let n = min(a.count, b.count)
        let ma = fb.melSpectrogram(audio: Array(a[0..<n])), mb = fb.melSpectrogram(audio: Array(b[0..<n]))
        var s: Double = 0
        for i in 0..<ma.count { s += abs(20 * log10(Double(max(ma[i], 1e-5))) - 20 * log10(Double(max(mb[i], 1e-5)))) }
        return s / Double(ma.count)
    }

    func testShippedCodecRoundTripsARenderedClip() throws {
        try requireModels(["codec"])
        let codec = try VQVAE.load(directory: models + "/codec")
        XCTAssertGreaterThanOrEqual(codec.levels.count, 2)
        // One real clip, rendered as the corpus renders them (a few seconds of mma + fluidsynth).
        let corpus = dir + "/corpus"
        _ = try MusicCorpus.build(out: corpus, hours: 0.003, seed: 5, jobs: 1)
        let line = try XCTUnwrap(MusicCorpus.loadMetadata(corpus).first)
        let audio = try AudioFile.read(corpus + "/" + line.file).mono().samples
        XCTAssertGreaterThan(audio.count, 22050 * 4)
        let silence = logMelDistance(audio, [Float](repeating: 0, count: audio.count))
        for level in codec.levels.indices {
            let codes = codec.encode(audio, level: level)
            XCTAssertEqual(codes.count, codec.codeCount(length: audio.count, level: level))
            XCTAssertTrue(codes.allSatisfy { $0 >= 0 && Int($0) < codec.levels[level].config.codebookSize })
            let decoded = codec.decode(codes, level: level, length: audio.count)
            XCTAssertEqual(decoded.count, audio.count)
            XCTAssertTrue(decoded.allSatisfy(\.isFinite))
            let d = logMelDistance(audio, decoded)
            print(String(format: "shipped codec level %d: log-mel distance %.2f dB (silence: %.2f dB), %d distinct codes of %d",
                         level, d, silence, Set(codes).count, codes.count))
            // Measured on held-out clips: 3-9 dB; a broken or mismatched model scores like silence.
            XCTAssertLessThan(d, 12, "level \(level)")
            XCTAssertLessThan(d, silence / 3, "level \(level)")
            // Not collapsed: a quarter of the codebook or a tenth of the codes, whichever is fewer.
            XCTAssertGreaterThan(Set(codes).count, min(codec.levels[level].config.codebookSize / 4, codes.count / 10),
                                 "level \(level) collapsed onto few codes")
        }
    }

    func testShippedPriorLoadsAndSamplesReproducibly() throws {
        try requireModels(["codec", "prior"])
        let m = try MusicModels.load(priorDir: models + "/prior", codecDir: models + "/codec")
        let c = m.prior.config
        XCTAssertEqual(m.codec.levels[m.level].hop, c.hop)
        XCTAssertEqual(Set(c.genres), Set(MusicCatalog.genreNames))
        let jazz = try XCTUnwrap(c.genreID("jazz"))
        let length = Int(c.tokensPerSecond * 1.5)
        let labels = PriorLabels(genre: jazz, lyrics: LyricsVocabulary.timedLines("Walking down the avenue", seconds: 1.5))
        let a = try m.prior.sample(labels, count: 2, length: length, temperature: 0.95, topK: 64, seed: 11)
        let b = try m.prior.sample(labels, count: 1, length: length, temperature: 0.95, topK: 64, seed: 11)
        XCTAssertEqual(a[0], b[0], "sample 0 depends on the seed only")
        XCTAssertNotEqual(a[0], a[1])
        XCTAssertTrue(a.joined().allSatisfy { $0 >= 0 && Int($0) < c.vocabSize })
        let audio = m.codec.decode(a[0], level: m.level, length: Int(1.5 * 22050))
        XCTAssertTrue(audio.allSatisfy(\.isFinite))
        let rms = (audio.map { $0 * $0 }.reduce(0, +) / Float(audio.count)).squareRoot()
        XCTAssertGreaterThan(rms, 0.005, "sampled music should be audible")
    }
}
