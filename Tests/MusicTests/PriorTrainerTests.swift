// PriorTrainerTests.swift — `gen train prior` (Music/PriorTrainer.swift) and `gen music`
// (Sources/gen/MusicCommands.swift), on a tiny untrained RVQ codec (codebooks seeded from a test
// signal so its codes vary) and a four-clip synthetic corpus of sines written here.
//
// Expected values come from outside the code under test: learning from the training loss falling
// over 60 steps on a fixed seed; the held-out baselines from CodeEntropy's closed forms on the same
// codes; lyric windows from the line times written into the metadata; output lengths from
// round(duration · 22050); reproducibility from comparing the bytes of two runs; and the CLI's
// errors from its exit codes and the absence of an output file.
import Audio
import Engine
import Foundation
import XCTest
@testable import Music

final class PriorTrainerTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gen-prior-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A tiny RVQ codec (hop 64, 3 codebooks of 16) seeded from a test signal, saved to `folder`.
    func makeCodec(_ folder: String) throws -> RVQCodec {
        let codec = seededRVQ(signal: testSignal(22050, seed: 9))
        try saveRVQ(codec, to: folder)
        return codec
    }

    /// Four 0.4 s clips of sines (3 train, 1 val) with genres, artists and timed lyrics.
    func makeCorpus(_ data: String) throws {
        try FileManager.default.createDirectory(atPath: data + "/audio", withIntermediateDirectories: true)
        var jsonl = ""
        let specs = [("jazz", "a", "train", 220.0), ("rock", "b", "train", 330.0), ("jazz", "b", "train", 440.0), ("rock", "a", "val", 275.0)]
        for (i, (genre, artist, split, f)) in specs.enumerated() {
            let n = 8820
            let x = (0..<n).map { t in Float(0.4 * sin(2 * Double.pi * f * Double(t) / 22050) * (0.6 + 0.4 * sin(2 * Double.pi * 3 * Double(t) / 22050))) }
            try AudioFile.write(AudioBuffer(samples: x, sampleRate: 22050), to: data + "/audio/c\(i).wav")
            jsonl += "{\"id\":\"c\(i)\",\"file\":\"audio/c\(i).wav\",\"genre\":\"\(genre)\",\"artist\":\"\(artist)\",\"length\":0.4,"
                + "\"offset\":0,\"lyrics\":[{\"text\":\"la la \(i)\",\"start\":0.05,\"end\":0.2}],\"lyrics_aligned\":true,\"split\":\"\(split)\"}\n"
        }
        try jsonl.write(toFile: data + "/metadata.jsonl", atomically: true, encoding: .utf8)
    }

    // Expected: windows read the lyric lines that overlap their own time span (line times shifted
    // by the clip's offset into piece time), and the timing of the window inside the piece; the
    // clip's codes are laid out in delay-pattern steps (K = 3: 100 frames make 102 steps).
    func testWindowConditionsReadTheirOwnLyricsAndTiming() {
        var config = tinyPriorConfig()
        config.hop = 22050 / 10   // 10 steps per second, so window k·10 starts at k seconds
        let line = MusicMetadataLine(id: "x", file: "x.wav", genre: "rock", artist: "zz", length: 20, offset: 5,
                                     lyrics: [LyricLine(text: "early", start: 0.5, end: 1), LyricLine(text: "late", start: 9, end: 10)],
                                     lyricsAligned: true, split: "train")
        let frames = [[Int32]](repeating: [Int32](repeating: 0, count: 100), count: 3)
        let clip = PriorTrainer.clips([line], codes: [frames], config: config)[0]
        XCTAssertEqual(clip.steps, 102); XCTAssertEqual(clip.codes.count, 306)
        XCTAssertEqual(Array(clip.codes[0..<6]), [0, 16, 16, 0, 0, 16])
        XCTAssertEqual(clip.genre, 1); XCTAssertNil(clip.artist)   // unknown artist → unconditioned
        XCTAssertEqual(clip.totalTokens, 200); XCTAssertEqual(clip.offsetTokens, 50)
        // Context 32 steps = 3.2 s. Window at clip step 0 covers piece 5.0–8.2 s: "early" (5.5–6).
        let first = PriorTrainer.conditions(clip, start: 0, config: config)
        XCTAssertEqual(first.lyrics, LyricsVocabulary.encode("early", maxLength: 32))
        XCTAssertEqual(first.offsetTokens, 50); XCTAssertEqual(first.artist, config.unconditionedArtist)
        // Window at clip step 70 covers piece 12.0–15.2 s: "late" (14–15).
        XCTAssertEqual(PriorTrainer.conditions(clip, start: 70, config: config).lyrics, LyricsVocabulary.encode("late", maxLength: 32))
        // Window at clip step 20 (7.0–10.2 s) has no line: nobody sings, the instrumental token.
        XCTAssertEqual(PriorTrainer.conditions(clip, start: 20, config: config).lyrics, [LyricsVocabulary.instrumental])
        var old = config; old.instrumentalToken = nil   // a prior from before the token: an empty window
        XCTAssertEqual(PriorTrainer.conditions(clip, start: 20, config: old).lyrics, [])
    }

    // Expected, by hand from the model's own logits: 2 codebooks in the delay pattern, so a clip of
    // T frames is T + 1 steps whose first step's codebook 1 and last step's codebook 0 are empty
    // (not scored). With windows of 16 steps over a 40-step clip, stride 8 scores steps 0–15 in the
    // window at 0, then the second half of the windows at 8, 16 and 24; stride 16 scores the
    // windows at 0 and 16 whole, and the last 8 steps of a tail window at 24. A 44-step clip adds a
    // tail window at 28 for its last 4 steps, and a 10-step clip is one window of 10. Every code is
    // scored exactly once either way; bits per frame are the per-codebook bits summed.
    func testEvaluationScoresEveryCodeOnceWithSlidingWindows() throws {
        let config = tinyPriorConfig(codebooks: 2, context: 16)
        let model = Prior(config: config, seed: 3)
        var rng = RNG(seed: 4)
        let lines = ["a", "b", "c"].map {
            MusicMetadataLine(id: $0, file: "\($0).wav", genre: "jazz", artist: "zz", length: 1, offset: 0, lyrics: [], lyricsAligned: true, split: "val")
        }
        let codes = [39, 43, 9].map { n in (0..<2).map { _ in (0..<n).map { _ in Int32(rng.int(below: config.vocabSize)) } } }
        let clips = PriorTrainer.clips(lines, codes: codes, config: config)
        XCTAssertEqual(clips.map(\.steps), [40, 44, 10])
        let v = config.vocabSize
        /// (nats, codes scored) per codebook of positions first..<length of the window at `start`.
        func nats(_ clip: PriorClip, window start: Int, from first: Int, length: Int = 16) -> [(Double, Int)] {
            let tokens = Array(clip.codes[(start * 2)..<((start + length) * 2)])
            let logits = GradMode.withoutGrad { model(tokens, conditions: [PriorTrainer.conditions(clip, start: start, config: config)]) }
            return (0..<2).map { q in
                var sum = 0.0, n = 0
                for p in first..<length where tokens[p * 2 + q] < v {
                    let row = logits.data[((p * 2 + q) * v)..<((p * 2 + q + 1) * v)].map(Double.init)
                    let top = row.max()!
                    sum += top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) }) - row[tokens[p * 2 + q]]; n += 1
                }
                return (sum, n)
            }
        }
        func bitsPerFrame(_ parts: [[(Double, Int)]]) -> Double {
            (0..<2).reduce(0.0) { total, q in
                let s = parts.reduce(0.0) { $0 + $1[q].0 }, n = parts.reduce(0) { $0 + $1[q].1 }
                return total + s / Double(n) / Foundation.log(2.0)
            }
        }
        let (a, b, c) = (clips[0], clips[1], clips[2])

        let sliding = try XCTUnwrap(PriorTrainer.evaluate(model, clips: [a], count: .max, length: 16, stride: 8, batch: 3))
        let disjoint = try XCTUnwrap(PriorTrainer.evaluate(model, clips: [a], count: .max, length: 16))
        XCTAssertEqual(sliding.codes, 78); XCTAssertEqual(disjoint.codes, 78)
        let slidingA = [nats(a, window: 0, from: 0), nats(a, window: 8, from: 8), nats(a, window: 16, from: 8), nats(a, window: 24, from: 8)]
        XCTAssertEqual(sliding.bitsPerFrame, bitsPerFrame(slidingA), accuracy: 1e-4)
        XCTAssertEqual(disjoint.bitsPerFrame, bitsPerFrame([nats(a, window: 0, from: 0), nats(a, window: 16, from: 0), nats(a, window: 24, from: 8)]),
                       accuracy: 1e-4)
        XCTAssertEqual(sliding.codebookBits.reduce(0, +), sliding.bitsPerFrame, accuracy: 1e-9)
        XCTAssertEqual(sliding.bigramBits, CodeEntropy.bigramBits([a.frames[0]], vocabSize: v) + CodeEntropy.bigramBits([a.frames[1]], vocabSize: v),
                       accuracy: 1e-9)

        // Three clips interleaved: each keeps its own scored prefix.
        let all = try XCTUnwrap(PriorTrainer.evaluate(model, clips: [a, b, c], count: .max, length: 16, stride: 8, batch: 2))
        XCTAssertEqual(all.codes, 182)
        let slidingB = [nats(b, window: 0, from: 0), nats(b, window: 8, from: 8), nats(b, window: 16, from: 8), nats(b, window: 24, from: 8),
                        nats(b, window: 28, from: 12)]
        XCTAssertEqual(all.bitsPerFrame, bitsPerFrame(slidingA + slidingB + [nats(c, window: 0, from: 0, length: 10)]), accuracy: 1e-4)
        XCTAssertEqual(all.unigramBits, (0..<2).reduce(0.0) { $0 + CodeEntropy.unigramBits([a.frames[$1], b.frames[$1], c.frames[$1]], vocabSize: v) },
                       accuracy: 1e-9)
        // A count stops after the first windows of each clip in turn: here the first window of a,
        // 16 steps = 32 codes less codebook 1's empty first step.
        XCTAssertEqual(PriorTrainer.evaluate(model, clips: [a, b, c], count: 1, length: 16, stride: 8)?.codes, 31)
        XCTAssertEqual(PriorTrainer.evaluate(model, clips: [a, b, c], count: 3, length: 16, stride: 8)?.codes, 31 + 31 + 18)
    }

    // Expected: the training loss falls over 60 steps on a fixed seed; the log holds training
    // lines and held-out bits/frame beside unigram and bigram entropies; the second run reuses
    // the codes cache and --resume continues from the saved step to the new total.
    func testTrainerLearnsCachesCodesAndResumes() throws {
        let data = dir + "/corpus", out = dir + "/prior"
        try makeCorpus(data)
        let codec = try makeCodec(dir + "/codec")
        var o = PriorTrainOptions(dataDirs: [data], codecDir: dir + "/codec", outDir: out)
        o.model = tinyPriorConfig(codebooks: 2, context: 32)
        o.steps = 60; o.batchSize = 4; o.learningRate = 3e-3; o.warmup = 5
        o.logEvery = 10; o.evalEvery = 30; o.saveEvery = 30; o.evalWindows = 4; o.log = { _ in }
        let first = try PriorTrainer.train(o)
        XCTAssertFalse(first.cacheReused)
        XCTAssertEqual(first.step, 60)
        let (l0, l1) = (try XCTUnwrap(first.firstLoss), try XCTUnwrap(first.lastLoss))
        XCTAssertLessThan(l1, l0, "training loss should fall: \(l0) → \(l1)")
        let eval = try XCTUnwrap(first.eval)
        print(String(format: "tiny prior: train loss %.3f → %.3f nats; val %.3f bits/frame (unigram %.3f, bigram %.3f)",
                     l0, l1, eval.bitsPerFrame, eval.unigramBits, eval.bigramBits))
        XCTAssertTrue(eval.bitsPerFrame.isFinite && eval.bitsPerFrame > 0)
        // The final evaluation scores every one of the val clip's codes, and the baselines are over those codes.
        let valCodes = codec.encode(try AudioFile.read(data + "/audio/c3.wav").samples, codebooks: 2).map { $0.map(Int.init) }
        XCTAssertEqual(eval.codes, 2 * valCodes[0].count)
        func summed(_ f: ([[Int]], Int) -> Double) -> Double { f([valCodes[0]], 16) + f([valCodes[1]], 16) }
        XCTAssertEqual(eval.unigramBits, summed { CodeEntropy.unigramBits($0, vocabSize: $1) }, accuracy: 1e-9)
        XCTAssertEqual(eval.bigramBits, summed { CodeEntropy.bigramBits($0, vocabSize: $1) }, accuracy: 1e-9)
        XCTAssertEqual(eval.bigramLeaveOneOutBits, summed { CodeEntropy.bigramLeaveOneOutBits($0, vocabSize: $1) }, accuracy: 1e-9)
        XCTAssertGreaterThan(eval.bigramLeaveOneOutBits, eval.bigramBits, "a pair that may not predict itself is harder to predict")
        XCTAssertTrue(eval.unigramModelBits.isFinite && eval.bigramModelBits.isFinite && eval.unigramModelBits > 0)
        XCTAssertTrue(eval.unigramBits >= 0 && eval.unigramBits <= 8 && eval.bigramBits <= eval.unigramBits + 1e-9)

        let cache = try SafeTensorsFile.read(out + "/codes_cache.safetensors")
        XCTAssertEqual(cache.metadata["codec_id"], codec.modelID)
        XCTAssertEqual(cache.metadata["codebooks"], "2")
        XCTAssertEqual(try cache.tensors["clip.0"]?.int32s(), codec.encode(try AudioFile.read(data + "/audio/c0.wav").samples, codebooks: 2).flatMap { $0 })

        o.resume = true; o.steps = 70
        let second = try PriorTrainer.train(o)
        XCTAssertTrue(second.cacheReused)
        XCTAssertEqual(second.step, 70)
        let weights = try SafeTensorsFile.read(out + "/model.safetensors")
        XCTAssertEqual(weights.metadata["step"], "70")
        XCTAssertEqual(weights.metadata["codec_model_id"], codec.modelID)
        let prior = try Prior.load(directory: out)
        XCTAssertEqual(prior.config.vocabSize, 16); XCTAssertEqual(prior.config.hop, 64); XCTAssertEqual(prior.config.codebooks, 2)

        let lines = try String(contentsOfFile: out + "/train_log.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("\"loss\"") }.count, 7)   // steps 10…60, then 70
        let val = lines.filter { $0.contains("\"val_bits_per_frame\"") }
        XCTAssertTrue(val.allSatisfy { $0.contains("\"val_unigram_bits\"") && $0.contains("\"val_bigram_bits\"") && $0.contains("\"val_codebook_bits\"") })
        XCTAssertTrue(val.contains { $0.contains("\"final\":true") && $0.contains("\"step\":70") })

        // --init-from a prior of another codec is refused, unless that codec seeded this one
        // (`gen train codec --encoder-input` records it): the prior then learns the new codes.
        var file = try SafeTensorsFile.read(dir + "/codec/model.safetensors")
        var wideConfig = codec.config; wideConfig.encoderInput = .frequency
        try RVQCodecTrainer.widenEncoderInput(in: &file, from: codec.config.encoderLayout.inputs, to: wideConfig.encoderLayout.inputs, path: "test")
        for (name, seeded) in [("codec-other", false), ("codec-seeded", true)] {
            wideConfig.seededFrom = seeded ? codec.modelID : nil
            try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
            try ConfigFile.write(wideConfig, to: dir + "/\(name)/config.json")
            try file.write(to: dir + "/\(name)/model.safetensors")
        }
        var tune = PriorTrainOptions(dataDirs: [data], codecDir: dir + "/codec-other", outDir: dir + "/prior-tuned")
        tune.initFrom = out; tune.steps = 2; tune.batchSize = 2; tune.evalWindows = 1; tune.log = { _ in }
        XCTAssertThrowsError(try PriorTrainer.train(tune)) { XCTAssertTrue("\($0)".contains("start a new prior without --init-from"), "\($0)") }
        tune.codecDir = dir + "/codec-seeded"
        XCTAssertEqual(try PriorTrainer.train(tune).step, 2)
        let seeded = try RVQCodec.load(directory: dir + "/codec-seeded")
        XCTAssertEqual(try SafeTensorsFile.read(dir + "/prior-tuned/model.safetensors").metadata["codec_model_id"], seeded.modelID)
        // --resume with another codec than the run's is refused too, seeded or not: the run's
        // weights and codes cache belong to its own codec; nothing is trained or written.
        for other in ["codec-other", "codec-seeded"] {
            var again = o; again.codecDir = dir + "/" + other; again.steps = 80
            XCTAssertThrowsError(try PriorTrainer.train(again)) { XCTAssertTrue("\($0)".contains("resume with the codec it was trained on"), "\($0)") }
        }
        XCTAssertEqual(try SafeTensorsFile.read(out + "/model.safetensors").metadata["step"], "70")
    }

    // Several corpora train together (`--data` repeated): the records of both, each file found in
    // its own folder, and the held-out clips of both scored. The second corpus here is the first
    // built again elsewhere, so the final evaluation must score exactly twice the codes.
    func testTrainerReadsSeveralCorpora() throws {
        let a = dir + "/corpus-a", b = dir + "/corpus-b"
        try makeCorpus(a); try makeCorpus(b)
        _ = try makeCodec(dir + "/codec")
        let lines = try PriorTrainer.loadCorpora([a, b])
        XCTAssertEqual(lines.count, 8)
        XCTAssertEqual(lines.map(\.file), ["a", "b"].flatMap { d in (0..<4).map { dir + "/corpus-\(d)/audio/c\($0).wav" } })
        func held(_ dirs: [String], _ out: String) throws -> PriorEval {
            var o = PriorTrainOptions(dataDirs: dirs, codecDir: dir + "/codec", outDir: out)
            o.model = tinyPriorConfig(codebooks: 2, context: 32)
            o.steps = 2; o.batchSize = 2; o.evalWindows = 1; o.log = { _ in }
            return try XCTUnwrap(PriorTrainer.train(o).eval)
        }
        let one = try held([a], dir + "/p1"), two = try held([a, b], dir + "/p2")
        XCTAssertGreaterThan(one.codes, 0)
        XCTAssertEqual(two.codes, 2 * one.codes)
        // --eval-only scores a trained prior on one corpus's held-out codes and writes no weights:
        // p2's weights on corpus a's codes, the same codes as p1 scored.
        var score = PriorTrainOptions(dataDirs: [a], codecDir: dir + "/codec", outDir: dir + "/score")
        score.initFrom = dir + "/p2"; score.evalOnly = true; score.log = { _ in }
        let scored = try PriorTrainer.train(score)
        XCTAssertEqual(scored.step, 0)
        XCTAssertEqual(scored.eval?.codes, one.codes)
        XCTAssertEqual(try XCTUnwrap(scored.eval?.bigramBits), one.bigramBits, accuracy: 1e-9)   // summed in another order
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/score/model.safetensors"))
        score.initFrom = nil
        XCTAssertThrowsError(try PriorTrainer.train(score)) { XCTAssertTrue("\($0)".contains("--init-from"), "\($0)") }
        XCTAssertThrowsError(try PriorTrainer.train(PriorTrainOptions(dataDirs: [], codecDir: dir + "/codec", outDir: dir + "/p3"))) {
            XCTAssertTrue("\($0)".contains("--data"), "\($0)")
        }
    }

    // A prior over the bass stream too (`--bass-codebooks`): its rows are the codec's codes at its
    // rung (main, then bass; the stream's first codebook of 64 split into two rows of 8, as
    // PriorRowLayout says), cached with the stream's id; the loss falls on a fixed seed; the weights
    // record the stream, a codec whose stream differs is refused, and the pieces it samples decode
    // through the stream. A main-only prior grown by --init-from --bass-codebooks starts as it was.
    func testTrainerModelsTheBassStreamAndMusicDecodesIt() throws {
        let data = dir + "/corpus", out = dir + "/prior-bass"
        try makeCorpus(data)
        let codec = bassStreamRVQ(bass: 2, signal: testSignal(22050, seed: 9), sizes: [64, 16])
        try saveRVQ(codec, to: dir + "/codec")
        var o = PriorTrainOptions(dataDirs: [data], codecDir: dir + "/codec", outDir: out)
        o.model = tinyPriorConfig(codebooks: 2, context: 32)
        o.bassCodebooks = 2
        o.steps = 40; o.batchSize = 4; o.learningRate = 3e-3; o.warmup = 5
        o.logEvery = 10; o.evalEvery = 40; o.saveEvery = 40; o.evalWindows = 2; o.log = { _ in }
        let run = try PriorTrainer.train(o)
        let (l0, l1) = (try XCTUnwrap(run.firstLoss), try XCTUnwrap(run.lastLoss))
        XCTAssertLessThan(l1, l0, "training loss should fall: \(l0) → \(l1)")
        let models = try MusicModels.load(priorDir: out, codecDir: dir + "/codec")
        let c = models.prior.config
        XCTAssertEqual(c.codebooks, 5); XCTAssertEqual(c.bassCodebookSizes, [64, 16]); XCTAssertEqual(c.rows.rung, CodecRung(main: 2, bass: 2))
        XCTAssertEqual(try SafeTensorsFile.read(out + "/model.safetensors").metadata["bass_stream_id"], codec.bassStream!.streamID)
        let audio = try AudioFile.read(data + "/audio/c0.wav").samples
        let cache = try SafeTensorsFile.read(out + "/codes_cache.safetensors")
        XCTAssertEqual(cache.metadata["bass_stream_id"], codec.bassStream!.streamID)
        XCTAssertEqual(try cache.tensors["clip.0"]?.int32s(), c.rows.rows(codec: codec.encode(audio, rung: CodecRung(main: 2, bass: 2))).flatMap { $0 })
        // Sampled rows decode as the codec decodes its own codes at that rung.
        let rows = try models.prior.sample(PriorLabels(genre: 0), count: 1, frames: 20, seed: 2)[0]
        XCTAssertEqual(rows.count, 5)
        XCTAssertEqual(models.codec.decode(priorRows: rows, config: c, length: 1200),
                       codec.decode(c.rows.codec(rows: rows), bassRows: 2, length: 1200))
        // Another fit of the stream (other codebooks, another id) is refused, naming both.
        let refit = bassStreamRVQ(bass: 2, signal: testSignal(22050, seed: 4), sizes: [64, 16])
        try saveRVQ(refit, to: dir + "/codec-refit")
        XCTAssertThrowsError(try MusicModels.load(priorDir: out, codecDir: dir + "/codec-refit")) {
            XCTAssertTrue("\($0)".contains("bass stream"), "\($0)")
        }
        // So is training on from it (--init-from) or resuming it with the refitted stream: its
        // bass rows' weights were learnt for the other fit's codes.
        var onRefit = o; onRefit.codecDir = dir + "/codec-refit"; onRefit.outDir = dir + "/prior-refit"; onRefit.initFrom = out; onRefit.steps = 2
        XCTAssertThrowsError(try PriorTrainer.train(onRefit)) {
            XCTAssertTrue("\($0)".contains("trained on bass stream") && "\($0)".contains("without --init-from"), "\($0)")
        }
        var resumeRefit = o; resumeRefit.codecDir = dir + "/codec-refit"; resumeRefit.resume = true; resumeRefit.bassCodebooks = nil; resumeRefit.steps = 42
        XCTAssertThrowsError(try PriorTrainer.train(resumeRefit)) {
            XCTAssertTrue("\($0)".contains("trained on bass stream") && "\($0)".contains("resume with the codec"), "\($0)")
        }
        // A codec without the stream cannot serve it; nor can --bass-codebooks ask for more than the stream has.
        XCTAssertTrue(MusicModels.mismatch(prior: c, codec: seededRVQ(signal: testSignal(22050, seed: 9))).contains { $0.contains("bass stream has none") })
        var more = o; more.outDir = dir + "/prior-3"; more.bassCodebooks = 3
        XCTAssertThrowsError(try PriorTrainer.train(more)) { XCTAssertTrue("\($0)".contains("a bass stream of 2 codebooks"), "\($0)") }
        // Grown from a main-only prior: the main rows' codes are what they were, the bass rows join.
        var plain = o; plain.outDir = dir + "/prior-main"; plain.bassCodebooks = nil; plain.steps = 2
        try PriorTrainer.train(plain)
        var grow = o; grow.outDir = dir + "/prior-grown"; grow.initFrom = dir + "/prior-main"; grow.steps = 2
        try PriorTrainer.train(grow)
        XCTAssertEqual(try Prior.load(directory: dir + "/prior-grown").config.rows, c.rows)
    }

    // The prior records its codec's fingerprint: any change to the codec's weights is refused with
    // a message naming the fix, as are a prior over more codebooks than the codec has and a folder
    // holding the retired v1 codec.
    func testMusicModelsCheckTheCodecFingerprint() throws {
        let models = dir + "/fp"
        let codec = try makeCodec(models + "/codec")
        var config = tinyPriorConfig(vocab: 16, codebooks: 2, context: 32)
        config.hop = 64; config.sampleRate = 22050
        try Prior(config: config, seed: 2).save(directory: models + "/prior", metadata: ["codec_model_id": codec.modelID])
        XCTAssertEqual(try MusicModels.load(priorDir: models + "/prior", codecDir: models + "/codec").prior.config.codebooks, 2)

        codec.params.tensors[0].data[0] += 0.5
        try codec.weightsFile(metadata: [:]).write(to: models + "/codec/model.safetensors")
        XCTAssertThrowsError(try MusicModels.load(priorDir: models + "/prior", codecDir: models + "/codec")) { error in
            XCTAssertTrue("\(error)".contains("gen train prior"), "\(error)")
        }
        config.codebooks = 4
        XCTAssertTrue(MusicModels.mismatch(prior: config, codec: codec).joined().contains("4 main codebooks but the codec has 3"))
        try FileManager.default.createDirectory(atPath: models + "/v1", withIntermediateDirectories: true)
        try Data(#"{"levels": [], "sample_rate": 22050}"#.utf8).write(to: URL(fileURLWithPath: models + "/v1/config.json"))
        XCTAssertThrowsError(try MusicModels.load(priorDir: models + "/prior", codecDir: models + "/v1")) { error in
            XCTAssertTrue("\(error)".contains("v1"), "\(error)")
        }
    }

    // MARK: - gen music (the built executable)

    var genPath: String { builtGenPath() }

    func gen(_ args: [String]) throws -> (code: Int32, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: genPath)
        p.arguments = args
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice; p.standardError = err
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    /// A models folder with the tiny codec and an untrained tiny prior over its first 2 codebooks.
    func makeModels(_ name: String = "models", configure: (inout PriorConfig) -> Void = { _ in }) throws -> String {
        let models = dir + "/" + name
        let codec = try makeCodec(models + "/codec")
        var config = tinyPriorConfig(vocab: 16, codebooks: 2, context: 32)
        config.hop = 64; config.sampleRate = 22050
        configure(&config)
        try Prior(config: config, seed: 2).save(directory: models + "/prior", metadata: ["codec_model_id": codec.modelID])
        return models
    }

    // Expected: the WAV has round(0.5 · 22050) = 11025 frames at 22050 Hz; the same seed gives
    // the same bytes; --samples 2 numbers its files; priming (audio, or a codes file from
    // `gen encode`), guidance and lyrics work; a config's `temperature` is the default (the same
    // weights with temperature 0 in their config sample greedy, the bytes of --temperature 0, and
    // an explicit --temperature 1 overrides it); -o - streams the same WAV; every bad input
    // exits 2 (missing models or output folder: 3) and leaves no output file.
    func testMusicCommandWritesReproducibleAudioAndRefusesBadInput() throws {
        guard FileManager.default.isExecutableFile(atPath: genPath) else {
            throw XCTSkip("gen is not built beside the tests (\(genPath)); run `swift build --product gen` first")
        }
        let models = try makeModels()
        let base = ["music", "--models-dir", models, "--quiet", "--duration", "0.5"]
        let a = dir + "/a.wav", b = dir + "/b.wav"
        var r = try gen(base + ["--genre", "jazz", "--artist", "a", "--seed", "3", "-o", a])
        XCTAssertEqual(r.code, 0, r.stderr)
        let audio = try AudioFile.read(a)
        XCTAssertEqual(audio.sampleRate, 22050)
        XCTAssertEqual(audio.frames, 11025)
        XCTAssertEqual(try gen(base + ["--genre", "jazz", "--artist", "a", "--seed", "3", "-o", b]).code, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: a), FileManager.default.contents(atPath: b))

        r = try gen(base + ["--samples", "2", "--seed", "4", "--lyrics-text", "la la la\nna na", "--top-k", "0", "-o", dir + "/s.wav"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try AudioFile.read(dir + "/s-1.wav").frames, 11025)
        XCTAssertEqual(try AudioFile.read(dir + "/s-2.wav").frames, 11025)
        XCTAssertEqual(try gen(base + ["--temperature", "0", "--seed", "1", "-o", dir + "/greedy.wav"]).code, 0)
        let greedyModels = try makeModels("models-greedy") { $0.temperature = 0 }
        let defaults = ["music", "--models-dir", greedyModels, "--quiet", "--duration", "0.5"]
        XCTAssertEqual(try gen(defaults + ["--seed", "1", "-o", dir + "/config-greedy.wav"]).code, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/config-greedy.wav"), FileManager.default.contents(atPath: dir + "/greedy.wav"))
        XCTAssertEqual(try gen(defaults + ["--seed", "8", "--temperature", "1", "-o", dir + "/config-t1.wav"]).code, 0)
        XCTAssertEqual(try gen(base + ["--seed", "8", "-o", dir + "/t1.wav"]).code, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/config-t1.wav"), FileManager.default.contents(atPath: dir + "/t1.wav"))
        XCTAssertNotEqual(FileManager.default.contents(atPath: dir + "/t1.wav"), FileManager.default.contents(atPath: dir + "/greedy.wav"))

        try AudioFile.write(AudioBuffer(samples: testSignal(6615), sampleRate: 22050), to: dir + "/prime.wav")   // 0.3 s
        r = try gen(base + ["--prime", dir + "/prime.wav", "--prime-seconds", "0.2", "--seed", "5", "-o", dir + "/primed.wav"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try AudioFile.read(dir + "/primed.wav").frames, 11025)
        r = try gen(["encode", "--models-dir", models, "--quiet", dir + "/prime.wav", "-o", dir + "/prime.safetensors"])
        XCTAssertEqual(r.code, 0, r.stderr)
        r = try gen(base + ["--prime", dir + "/prime.safetensors", "--prime-seconds", "0.2", "--seed", "5", "--cfg", "2", "-o", dir + "/primed2.wav"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try AudioFile.read(dir + "/primed2.wav").frames, 11025)
        // The codes of another codec are refused by name.
        let other = seededRVQ(seed: 5)
        try RVQCodesFile(codecID: other.modelID, sampleRate: 22050, hop: 64, codebookSize: 16, length: 6615,
                         codes: other.encode(testSignal(6615))).write(to: dir + "/other.safetensors")
        r = try gen(base + ["--prime", dir + "/other.safetensors", "--prime-seconds", "0.2", "-o", dir + "/bad.wav"])
        XCTAssertEqual(r.code, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("gen encode"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.wav"))

        let empty = dir + "/empty.txt", big = dir + "/big.txt", latin1 = dir + "/latin1.txt"
        _ = FileManager.default.createFile(atPath: empty, contents: Data("\n  \n".utf8))
        _ = FileManager.default.createFile(atPath: big, contents: Data(String(repeating: "la la la la\n", count: 9000).utf8))
        _ = FileManager.default.createFile(atPath: latin1, contents: Data([0x63, 0x61, 0x66, 0xE9, 0x0A, 0xFF]))
        let bad: [([String], String)] = [
            (["--genre", "polka"], "jazz, rock, blues"), (["--artist", "nobody"], "a, b"),
            (["--lyrics", empty], "empty"), (["--lyrics", big], "100 KB"), (["--lyrics", latin1], "UTF-8"),
            (["--top-k=-1"], "top-k"), (["--temperature=-1"], "temperature"), (["--top-p", "1.5"], "top-p"),
            (["--duration", "0"], "duration"), (["--duration", "3600"], "duration"), (["--samples", "0"], "samples"),
            (["--cfg", "0.5"], "--cfg"), (["--genre-guidance", "11"], "--cfg"), (["--instrumental-cfg", "0"], "--instrumental-cfg"),
            (["--prime", dir + "/prime.wav", "--prime-seconds", "0.4"], "shorter than --prime-seconds"),
        ]
        for (args, message) in bad {
            let out = dir + "/bad.wav"
            r = try gen(base + args + ["-o", out])
            XCTAssertEqual(r.code, 2, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) left a file")
        }
        r = try gen(base + ["-o", dir + "/no/such/folder/x.wav"])
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("does not exist"), r.stderr)
        try FileManager.default.createDirectory(atPath: dir + "/nomodels", withIntermediateDirectories: true)
        r = try gen(["music", "--models-dir", dir + "/nomodels", "-o", dir + "/bad.wav"])
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("gen train prior"), r.stderr)
    }
}
