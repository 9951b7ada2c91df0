// BassStreamTests.swift — the codec's bass stream (Music/BassStream.swift): its ladder, its k-means
// fit, its waveform coding of the band below 11025 / down Hz, its codes in a codes file, and the CLI
// on a tiny codec that has one.
import Audio
import DSP
import Engine
import Foundation
@testable import Music
import XCTest

/// A tiny codec (hop 64, 3 main codebooks) with a bass stream of `bass` codebooks of 16 (down 8:
/// the band below 1378 Hz, 8 samples a frame), fitted to `signal`'s band by `iterations` of
/// k-means (0: not fitted).
/// `sizes` gives the codebooks sizes of their own (`codebook_sizes`).
func bassStreamRVQ(bass: Int = 2, signal: [Float] = testSignal(9000), iterations: Int = 8, sizes: [Int]? = nil) -> RVQCodec {
    var c = tinyRVQConfig()
    var l = BassStreamLayout()
    l.down = 8; l.codebooks = bass; l.codebookSize = sizes?.first ?? 16; l.codebookSizes = sizes
    l.rungs = BassStreamLayout.interleavedRungs(main: c.codebooks, bass: bass)
    c.bassStream = l
    let model = RVQCodec(config: c, seed: 1)
    let plain = seededRVQ()
    try! model.loadWeights(plain.weightsFile(), path: "seeded", includingBassStream: false)
    let s = model.bassStream!
    if iterations > 0 { _ = s.fit(s.vectors(signal, frames: model.frameCount(length: signal.count)), iterations: iterations, seed: 3) }
    return model
}

final class BassStreamTests: MusicScratchTestCase {
    override var scratchName: String { "gen-bass-stream-test" }

    // Expected (the rule in BassStreamLayout.interleavedRungs, written out): a main codebook first,
    // then bass and main in turn until the bass stream is used up, then main codebooks up to the main
    // quantizer's count in all; so 8 + 3 gives the shipped ladder, 3 + 2 the tiny one, 4 + 1 one
    // bass rung. Bitrates: every codebook of 1024 is 10 bits a frame at 22050 / 256 frames/s.
    func testLadderInterleavesTheTwoStreams() throws {
        func r(_ pairs: [(Int, Int)]) -> [CodecRung] { pairs.map { CodecRung(main: $0.0, bass: $0.1) } }
        XCTAssertEqual(BassStreamLayout.interleavedRungs(main: 8, bass: 2), r([(1, 0), (1, 1), (2, 1), (2, 2), (3, 2), (4, 2), (5, 2), (6, 2)]))
        XCTAssertEqual(BassStreamLayout.interleavedRungs(main: 8, bass: 3), r([(1, 0), (1, 1), (2, 1), (2, 2), (3, 2), (3, 3), (4, 3), (5, 3)]))
        XCTAssertEqual(BassStreamLayout.interleavedRungs(main: 3, bass: 2), r([(1, 0), (1, 1), (2, 1)]))
        XCTAssertEqual(BassStreamLayout.interleavedRungs(main: 4, bass: 1), r([(1, 0), (1, 1), (2, 1), (3, 1)]))
        var c = RVQCodecConfig()
        var l = BassStreamLayout(); l.rungs = BassStreamLayout.interleavedRungs(main: 8, bass: 2)
        c.bassStream = l
        XCTAssertEqual(c.validate(), [])
        XCTAssertEqual(c.bitrate(CodecRung(main: 6, bass: 2)), c.bitrate(codebooks: 8), accuracy: 1e-9)
        XCTAssertEqual(c.kbpsText(CodecRung(main: 1, bass: 1)), "1.72")
        XCTAssertEqual(try c.rung(bandwidth: nil, codebooks: nil, in: c.rungs()), CodecRung(main: 6, bass: 2))
        XCTAssertEqual(try c.rung(bandwidth: 2, codebooks: nil, in: c.rungs()), CodecRung(main: 1, bass: 1))
        XCTAssertEqual(try c.rung(bandwidth: 3.45, codebooks: nil, in: c.rungs()), CodecRung(main: 2, bass: 2))
        XCTAssertEqual(try c.rung(bandwidth: nil, codebooks: 3, in: c.rungs()), CodecRung(main: 2, bass: 1))
        XCTAssertEqual(try c.rung(bandwidth: nil, codebooks: 4, in: c.rungs(bassStream: false)), CodecRung(main: 4))
        XCTAssertThrowsError(try c.rung(bandwidth: 0.5, codebooks: nil, in: c.rungs()))
        XCTAssertThrowsError(try c.rung(bandwidth: nil, codebooks: 9, in: c.rungs())) { e in
            XCTAssertTrue("\(e)".contains("8: 6.89 (6 + 2 bass)"), "\(e)")
        }
        // Without the stream, the main ladder as before.
        XCTAssertEqual(try c.rung(bandwidth: 2, codebooks: nil, in: c.rungs(bassStream: false)), CodecRung(main: 2))
    }

    // Expected: every value that sizes the stream is range-checked, and a ladder that does not grow
    // rung by rung, or asks for more codebooks than either stream has, is refused by name.
    func testHostileLayoutsAreRefused() {
        func problems(_ edit: (inout BassStreamLayout) -> Void) -> [String] {
            var c = RVQCodecConfig()
            var l = BassStreamLayout(); l.rungs = BassStreamLayout.interleavedRungs(main: 8, bass: 2)
            edit(&l); c.bassStream = l
            return c.validate()
        }
        XCTAssertEqual(problems { _ in }, [])
        for (edit, word) in [({ (l: inout BassStreamLayout) in l.down = 0 }, "down"), ({ $0.down = 3 }, "down"), ({ $0.codebooks = 0 }, "codebooks"),
                             ({ $0.codebooks = 1_000_000 }, "codebooks"), ({ $0.codebookSize = 1 << 40 }, "codebook_size"), ({ $0.rungs = [] }, "rungs"),
                             ({ $0.rungs = [CodecRung(main: 2), CodecRung(main: 1, bass: 1)] }, "grow"),
                             ({ $0.rungs = [CodecRung(main: 9)] }, "rungs[0]"), ({ $0.rungs = [CodecRung(main: 1, bass: 3)] }, "rungs[0]"),
                             // A negative count once trapped in the rungs' range check (0...-1): now one message.
                             ({ $0.codebooks = -1 }, "codebooks must be in 1...8, got -1")] as [((inout BassStreamLayout) -> Void, String)] {
            let p = problems(edit)
            XCTAssertFalse(p.isEmpty, word)
            XCTAssertTrue(p.joined().contains(word), "\(word): \(p)")
        }
        XCTAssertThrowsError(try JSONDecoder().decode(CodecRung.self, from: Data("[1, 2, 3]".utf8)))
        XCTAssertEqual(problems { $0.codebooks = -1 }, ["bass_stream.codebooks must be in 1...8, got -1"])
        // The codec's own count, negative beside a list of training counts, likewise (it trapped too).
        var c = RVQCodecConfig(); c.codebooks = -1; c.trainingCodebooks = [1]
        XCTAssertEqual(c.validate(), ["codebooks must be in 1...32, got -1"])
    }

    // Expected: Lloyd's iterations never raise the distortion (each step moves every vector to its
    // nearest codeword and every codeword to its vectors' mean; a codeword without vectors moves
    // onto a vector, which cannot raise it either), so from the same start and seed the first
    // codebook leaves no more residual after more iterations; and the second codebook leaves less
    // than the first (it quantizes what the first left).
    func testKMeansFitLowersTheResidualStageByStage() {
        let x = testSignal(40_000, seed: 4)
        var last = Float.infinity
        for iterations in [1, 2, 4, 8, 16] {
            let m = bassStreamRVQ(signal: x, iterations: 0)
            let s = m.bassStream!
            let fits = s.fit(s.vectors(x, frames: m.frameCount(length: x.count)), iterations: iterations, seed: 3)
            XCTAssertLessThan(fits[0].residualDB, 0)
            XCTAssertLessThan(fits[1].residualDB, fits[0].residualDB)
            XCTAssertLessThanOrEqual(fits[0].residualDB, last + 1e-3, "\(iterations) iterations")
            last = fits[0].residualDB
        }
    }

    // Expected: the decoded band is the sum of the chosen codewords (the residual identity), placed
    // by the band split; a tone at 22050 / 64 Hz repeats every frame, so after the fit its band
    // vectors are one codeword (away from the edges) and the round trip gives the band back to the
    // split's own accuracy; the audio above the band is left as the main decoder made it.
    func testRoundTripCodesTheBandAndLeavesTheRest() throws {
        let n = 22050, f0 = 22050.0 / 64
        let low = (0..<n).map { Float(0.4 * sin(2 * Double.pi * f0 * Double($0) / 22050)) }
        let model = bassStreamRVQ(bass: 2, signal: low, iterations: 10)
        let s = model.bassStream!
        let frames = model.frameCount(length: n)
        let codes = s.encode(low, frames: frames, count: 2)
        XCTAssertEqual(codes.count, 2); XCTAssertEqual(codes[0].count, frames)
        let words = s.quantizer.decode(codes.map { $0.map(Int.init) })
        let c0 = s.quantizer.stages[0].codebook.data, c1 = s.quantizer.stages[1].codebook.data
        var sum = [Float](repeating: 0, count: frames * 8)
        for i in sum.indices {
            let f = i / 8, j = i % 8
            sum[i] = c0[Int(codes[0][f]) * 8 + j] + c1[Int(codes[1][f]) * 8 + j]
        }
        XCTAssertEqual(words, sum)
        // Into silence: the output is the coded band alone, close to the tone in the middle.
        var y = [Float](repeating: 0, count: n)
        s.apply(codes: codes, audio: &y)
        let mid = 2000..<(n - 2000)
        let err: Double = mid.reduce(0) { $0 + Double(y[$1] - low[$1]) * Double(y[$1] - low[$1]) }
        let energy: Double = mid.reduce(0) { $0 + Double(low[$1]) * Double(low[$1]) }
        XCTAssertLessThan(10 * log10(err / energy), -30, "the tone's band comes back")
        // Above the band: a 5 kHz tone added to the main decoder's output survives the replacement.
        let high = (0..<n).map { Float(0.3 * sin(2 * Double.pi * 5000 * Double($0) / 22050)) }
        var z = high
        s.apply(codes: codes, audio: &z)
        let rest: Double = mid.reduce(0) { acc, i in let d = Double(z[i] - y[i] - high[i]); return acc + d * d }
        let highEnergy: Double = mid.reduce(0) { $0 + Double(high[$1]) * Double(high[$1]) }
        XCTAssertLessThan(rest, 1e-4 * highEnergy)
    }

    // Expected (the Wiener rule max(0.1, 1 − β·N / |X|²) in closed form): with β = 0 the postfilter
    // changes nothing; a coded band whose codewords leave no distortion (N = 0) passes unchanged; and
    // where the recorded distortion equals the band's own power, every bin is cut to the floor of
    // 0.1 in amplitude (β·N ≥ |X|² everywhere up to the STFT's own spread), so the band's energy
    // falls by about 20 dB.
    func testPostfilterFollowsTheWienerRule() {
        let model = bassStreamRVQ(signal: testSignal(9000), iterations: 4)
        let s = model.bassStream!
        let x = testSignal(9000, seed: 8)
        let frames = model.frameCount(length: x.count)
        let codes = s.encode(x, frames: frames, count: 2)
        let band = s.quantizer.decode(codes.map { $0.map(Int.init) })
        func energy(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) } }
        func largestChange(_ v: [Float]) -> Float { zip(v, band).map { Swift.abs($0 - $1) }.max() ?? 0 }
        XCTAssertLessThan(largestChange(s.postfiltered(band, codes: codes, beta: 0)), 1e-4)
        s.distortion[1].data = [Float](repeating: 0, count: s.layout.codebookSize)
        XCTAssertLessThan(largestChange(s.postfiltered(band, codes: codes, beta: 2)), 1e-4)
        // N at 100 times the band's mean power per vector: every bin below it.
        let perVector = Float(energy(band) / Double(frames)) * 100
        s.distortion[1].data = [Float](repeating: perVector, count: s.layout.codebookSize)
        let cut = s.postfiltered(band, codes: codes, beta: 1)
        XCTAssertEqual(10 * log10(energy(cut) / energy(band)), -20, accuracy: 0.5)
    }

    // Expected: codebooks of their own sizes. Bitrates in closed form: a codebook of n codes is log2(n)
    // bits a frame at 22050 / 256 frames/s, so with 4096, 512, 512 beside main codebooks of 1024 the
    // rung 1 + 1 is 22 bits a frame (1.89 kbps) and 5 + 3 is 80 bits (6.89 kbps, as three of 1024).
    // The layout's sizes are range-checked and must match its codebook count and codebook_size; a
    // config without codebook_sizes (every one written before them) reads as uniform and writes
    // none, and its stream id is what it was. On a tiny stream of 32 and 8 codes: each stage has its
    // size, the fit's residual falls stage by stage, the codes stay within each codebook, a strict
    // save and load keeps them, and a codes file's bass row is checked against its own codebook's
    // size (30 is a valid first-codebook code and an invalid second-codebook one).
    func testCodebooksOfTheirOwnSizes() throws {
        var c = RVQCodecConfig()
        var l = BassStreamLayout(); l.codebooks = 3; l.codebookSize = 4096; l.codebookSizes = [4096, 512, 512]
        l.rungs = BassStreamLayout.interleavedRungs(main: 8, bass: 3)
        c.bassStream = l
        XCTAssertEqual(c.validate(), [])
        XCTAssertEqual(c.bitrate(CodecRung(main: 1, bass: 1)), 22050.0 / 256 * 22, accuracy: 1e-9)
        XCTAssertEqual(c.kbpsText(CodecRung(main: 1, bass: 1)), "1.89")
        XCTAssertEqual(c.bitrate(CodecRung(main: 5, bass: 3)), c.bitrate(codebooks: 8), accuracy: 1e-9)
        XCTAssertEqual(try c.rung(bandwidth: 2, codebooks: nil, in: c.rungs()), CodecRung(main: 1, bass: 1))
        for (sizes, first) in [([4096, 512], 4096), ([4096, 512, 1], 4096), ([4096, 512, 1 << 20], 4096), ([1024, 512, 512], 4096)] {
            var bad = c; bad.bassStream!.codebookSizes = sizes; bad.bassStream!.codebookSize = first
            XCTAssertTrue(bad.validate().joined().contains("codebook_sizes"), "\(sizes): \(bad.validate())")
        }
        let old = #"{"down": 32, "codebooks": 2, "codebook_size": 1024, "rungs": [[1, 0], [1, 1]]}"#
        let decoded = try JSONDecoder().decode(BassStreamLayout.self, from: Data(old.utf8))
        XCTAssertNil(decoded.codebookSizes)
        XCTAssertEqual(decoded.stageSizes, [1024, 1024])
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self).contains("codebook_sizes"))
        var spelled = decoded; spelled.codebookSizes = [1024, 1024]
        XCTAssertEqual(BassStream(layout: spelled, hop: 256).streamID, BassStream(layout: decoded, hop: 256).streamID)
        var mixed = decoded; mixed.codebookSizes = [1024, 512]
        XCTAssertNotEqual(BassStream(layout: mixed, hop: 256).streamID, BassStream(layout: decoded, hop: 256).streamID)

        let x = testSignal(20_000, seed: 4)
        let model = bassStreamRVQ(signal: x, iterations: 0, sizes: [32, 8])
        let s = model.bassStream!
        XCTAssertEqual(s.quantizer.stages.map(\.codebookSize), [32, 8])
        XCTAssertEqual(s.distortion.map(\.count), [32, 8])
        let frames = model.frameCount(length: x.count)
        let fits = s.fit(s.vectors(x, frames: frames), iterations: 6, seed: 3)
        XCTAssertLessThan(fits[0].residualDB, 0); XCTAssertLessThan(fits[1].residualDB, fits[0].residualDB)
        let codes = s.encode(x, frames: frames, count: 2)
        XCTAssertTrue(codes[0].allSatisfy { (0..<32).contains($0) } && codes[1].allSatisfy { (0..<8).contains($0) })
        XCTAssertTrue(codes[0].contains { $0 >= 8 }, "the first codebook uses codes past the second's size")
        try saveRVQ(model, to: dir + "/sized")
        let loaded = try RVQCodec.load(directory: dir + "/sized")
        XCTAssertEqual(loaded.bassStream!.layout.stageSizes, [32, 8])
        XCTAssertEqual(loaded.bassStream!.streamID, s.streamID)
        let rung = CodecRung(main: 2, bass: 2)
        XCTAssertEqual(loaded.decode(model.encode(x, rung: rung), bassRows: 2, length: x.count),
                       model.decode(model.encode(x, rung: rung), bassRows: 2, length: x.count))
        var file = RVQCodesFile(encoding: x, model: model, rung: rung)
        file.codes[2][5] = 30
        XCTAssertNoThrow(try file.check(against: loaded, path: "c"))
        file.codes[3][5] = 30
        XCTAssertThrowsError(try file.check(against: loaded, path: "c")) { e in
            XCTAssertTrue("\(e)".contains("bass codebook 1 at frame 5 is outside 0..<8"), "\(e)")
        }
    }

    // Expected: a codec with a bass stream saves and loads strictly (its codebooks beside the main
    // ones), decodes the same after loading, keeps the main codec's id (the prior and main codes stay
    // valid), and gives every rung's codes rows main-first, of the main codes' frame count.
    func testSaveLoadAndTheCodecIDAreKept() throws {
        let x = testSignal(9000)
        let model = bassStreamRVQ(signal: x)
        XCTAssertEqual(model.modelID, seededRVQ().modelID)
        try saveRVQ(model, to: dir + "/codec")
        let loaded = try RVQCodec.load(directory: dir + "/codec")
        XCTAssertEqual(loaded.bassStream!.streamID, model.bassStream!.streamID)
        for r in model.config.rungs() {
            let codes = model.encode(x, rung: r)
            XCTAssertEqual(codes.count, r.total)
            XCTAssertEqual(Array(codes.prefix(r.main)), model.encode(x, codebooks: r.main))
            XCTAssertTrue(codes.allSatisfy { $0.count == model.frameCount(length: x.count) })
            let y = loaded.decode(codes, bassRows: r.bass, length: x.count)
            XCTAssertEqual(y, model.decode(codes, bassRows: r.bass, length: x.count))
            XCTAssertEqual(y.count, x.count); XCTAssertTrue(y.allSatisfy(\.isFinite))
        }
        // The weights without the stream's codebooks are refused by name.
        var cut = model.weightsFile(); cut.tensors["bass_stream.1.codebook"] = nil
        XCTAssertThrowsError(try RVQCodec(config: model.config, randomInit: false).loadWeights(cut, path: "cut")) { e in
            XCTAssertTrue("\(e)".contains("bass_stream.1.codebook"), "\(e)")
        }
    }

    // Expected: a codes file with bass rows round-trips with its metadata; one without them still
    // reads as main codes (files written before the bass stream); hostile bass metadata is refused
    // as not a valid codes file; a file's bass rows are refused by a codec without the stream, or
    // with another stream, with a message that says what to do.
    func testCodesFilesCarryTheBassRows() throws {
        let x = testSignal(9000)
        let model = bassStreamRVQ(signal: x)
        let file = RVQCodesFile(encoding: x, model: model, rung: CodecRung(main: 2, bass: 1))
        try file.write(to: dir + "/c.safetensors")
        let back = try RVQCodesFile.read(dir + "/c.safetensors")
        XCTAssertEqual(back, file)
        XCTAssertEqual(back.rung, CodecRung(main: 2, bass: 1))
        XCTAssertEqual(back.mainCodes, model.encode(x, codebooks: 2))
        XCTAssertNoThrow(try back.check(against: model, path: "c"))
        XCTAssertThrowsError(try back.check(against: seededRVQ(), path: "c")) { e in XCTAssertTrue("\(e)".contains("has none"), "\(e)") }
        XCTAssertThrowsError(try back.check(against: bassStreamRVQ(signal: testSignal(9000, seed: 9)), path: "c")) { e in
            XCTAssertTrue("\(e)".contains("bass stream is"), "\(e)")
        }
        let plain = RVQCodesFile(encoding: x, model: seededRVQ(), codebooks: 3)
        try plain.write(to: dir + "/p.safetensors")
        XCTAssertEqual(try RVQCodesFile.read(dir + "/p.safetensors").bassCodebooks, 0)
        for (key, value) in [("bass_codebooks", "3"), ("bass_codebooks", "0"), ("bass_codebooks", "x"), ("bass_stream_id", "")] {
            var f = file.safetensors()
            f.metadata[key] = value
            try f.write(to: dir + "/bad.safetensors")
            XCTAssertThrowsError(try RVQCodesFile.read(dir + "/bad.safetensors"), "\(key) = \(value)") { e in
                XCTAssertTrue("\(e)".contains("not a valid codes file"), "\(e)")
            }
        }
    }

    // Expected: `gen train codec --bass-stream` fits a stream beside a codec (the codec id kept,
    // the log holding each codebook's held-out residual, below 0 dB and lower for the second); the
    // CLI then encodes at the top rung with the bass rows and decodes them, lower rungs with
    // --codebooks, main codes alone with --no-bass-stream; and ten minutes go through in bounded
    // memory (GNU time, as RVQCodecTests measures it).
    func testTrainedStreamThroughTheCLI() throws {
        let genPath = builtGenPath()
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: genPath), "build gen first (swift build -c release)")
        func gen(_ args: [String]) throws -> (code: Int32, stderr: String, peakKB: Int) { try genUnderTime(genPath, args) }
        let data = dir + "/data", models = dir + "/models"
        try writeTinyMusicCorpus(at: data, samples: 22050 * 3, seed: 5)
        try saveRVQ(seededRVQ(), to: dir + "/base")
        let t = try gen(["train", "codec", "--data", data, "--out", models + "/codec", "--init-from", dir + "/base", "--bass-stream", "2",
                         "--bass-stream-iterations", "5", "--bass-stream-vectors", "4096", "--quiet"])
        XCTAssertEqual(t.code, 0, t.stderr)
        for (sizes, word) in [("16", "--bass-stream-sizes must give each of the 2"), ("16,x", "--bass-stream-sizes"), ("16,1", "2...65536")] {
            let bad = try gen(["train", "codec", "--data", data, "--out", dir + "/bad", "--init-from", dir + "/base", "--bass-stream", "2",
                               "--bass-stream-sizes", sizes, "--quiet"])
            XCTAssertEqual(bad.code, 2, "\(sizes): \(bad.stderr)")
            XCTAssertTrue(bad.stderr.contains(word), "\(sizes): \(bad.stderr)")
        }
        let trained = try RVQCodec.load(directory: models + "/codec")
        XCTAssertEqual(trained.modelID, seededRVQ().modelID)
        XCTAssertEqual(trained.config.rungs().map(\.total), [1, 2, 3])
        let log = try String(contentsOfFile: models + "/codec/train_log.jsonl", encoding: .utf8)
        let heldOut = try XCTUnwrap(log.split(separator: "\n").first { $0.contains("held_out") })
        let row = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(heldOut.utf8)) as? [String: Any])
        let db = try (0..<2).map { k in try XCTUnwrap((row["codebook_\(k)"] as? [String: Any])?["residual_db"] as? Double) }
        XCTAssertLessThan(db[0], 0); XCTAssertLessThan(db[1], db[0])

        let x = testSignal(9000)
        try AudioFile.write(AudioBuffer(samples: x, sampleRate: 22050), to: dir + "/in.wav")
        XCTAssertEqual(try gen(["encode", dir + "/in.wav", "-o", dir + "/top.safetensors", "--models-dir", models]).code, 0)
        let top = try RVQCodesFile.read(dir + "/top.safetensors")
        XCTAssertEqual(top.rung, CodecRung(main: 2, bass: 1))
        XCTAssertEqual(try gen(["encode", dir + "/in.wav", "-o", dir + "/main.safetensors", "--no-bass-stream", "--models-dir", models]).code, 0)
        XCTAssertEqual(try RVQCodesFile.read(dir + "/main.safetensors").rung, CodecRung(main: 3))
        for (codes, extra, expected) in [("top", [String](), trained.decode(top.codes, bassRows: 1, length: x.count)),
                                         ("top", ["--codebooks", "2"], trained.decode([top.codes[0], top.codes[2]], bassRows: 1, length: x.count)),
                                         ("top", ["--no-bass-stream"], trained.decode(top.mainCodes, length: x.count))] {
            let r = try gen(["decode", dir + "/\(codes).safetensors", "-o", dir + "/out.wav", "--models-dir", models] + extra)
            XCTAssertEqual(r.code, 0, r.stderr)
            let y = try AudioFile.read(dir + "/out.wav").samples
            XCTAssertEqual(y.count, x.count)
            XCTAssertLessThan(zip(y, expected).map { Swift.abs($0 - $1) }.max()!, 1e-4 + 1.0 / 32768, "\(extra)")
        }
        let wrong = try gen(["decode", dir + "/top.safetensors", "-o", dir + "/o.wav", "--codebooks", "4", "--models-dir", models])
        XCTAssertEqual(wrong.code, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("ladder"), wrong.stderr)

        let n = 600 * 22050
        let writer = try AudioFileWriter(path: dir + "/long.wav", sampleRate: 22050)
        for c in 0..<60 { try writer.append(testSignal(n / 60, seed: UInt64(c))) }
        try writer.finish()
        let d = try gen(["codec", dir + "/long.wav", "-o", dir + "/long.out.wav", "--models-dir", models])
        XCTAssertEqual(d.code, 0, d.stderr)
        XCTAssertEqual(try AudioFile.read(dir + "/long.out.wav").frames, n)
        XCTAssertLessThan(d.peakKB, 500_000, "peak RSS of gen codec on 10 minutes with the bass stream, in kB")
    }
}
