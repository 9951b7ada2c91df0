// BassDecoderTests — the codec's bass decoder (Music/BassDecoder.swift): a waveform network for the
// band below 11025 / down Hz that replaces that band of the iSTFT decoder's output.
//
// Expected values come from definitions, not from the code under test: chunked decoding against
// one pass over the whole signal; a codec that gains a bass decoder against the codec it came from
// (same codes, same id, the same audio with the bass decoder off); the tiny model's progress from
// its own loss falling on a fixed seed; the trainer's files and log fields from its documentation.
// Its gradients are the Engine's (snake: OpGradientTests; conv, transposed conv, STFT loss: theirs),
// the resampler's response is BandSplitTests'.
import Audio
import Engine
import Foundation
import NN
import XCTest
@testable import Music

/// The tiny codec (hop 64) with a bass decoder at 22050 / 8 Hz (hop / down = 8), 8 channels.
func tinyBassConfig() -> RVQCodecConfig {
    var c = tinyRVQConfig()
    var b = BassDecoderLayout()
    b.down = 8; b.channels = 8; b.upChannels = 8; b.stftSizes = [16, 32]
    c.bassDecoder = b
    return c
}

/// `seededRVQ(signal:)`, and that codec with a bass decoder added as `--bass-decoder` adds one
/// (the new tensors from a fresh model's initialisation, everything else from the saved file).
func seededBassRVQ(signal x: [Float], scratch dir: String) throws -> (plain: RVQCodec, bass: RVQCodec) {
    let model = seededRVQ(signal: x)
    try saveRVQ(model, to: dir + "/plain")
    var file = try SafeTensorsFile.read(dir + "/plain/model.safetensors")
    let bassy = RVQCodec(config: tinyBassConfig(), seed: 5)
    RVQCodecTrainer.addNew(prefix: "bass.", to: &file, from: bassy)
    try bassy.loadWeights(file, path: "test")
    return (model, bassy)
}

final class BassDecoderTests: MusicScratchTestCase {
    override var scratchName: String { "gen-bass-test" }

    // Expected: a codec that gains a bass decoder keeps its codes and its id (they do not depend on
    // the decoder), decodes to the old audio with the bass decoder off, to different audio with it
    // on, and the whole thing reloads from its folder to the same output; decoding in chunks of 3
    // frames gives one pass's samples (the chunks carry `contextFrames` of real context each side).
    func testAddedBassDecoderKeepsCodesAndChunksMatchOnePass() throws {
        let x = testSignal(9000)
        let (model, bassy) = try seededBassRVQ(signal: x, scratch: dir)
        let codes = model.encode(x)
        XCTAssertEqual(bassy.encode(x), codes)
        XCTAssertEqual(bassy.modelID, model.modelID)
        let plain = model.decode(codes, length: x.count)
        XCTAssertEqual(bassy.decode(codes, length: x.count, bass: false), plain)
        let withBass = bassy.decode(codes, length: x.count)
        XCTAssertEqual(withBass.count, x.count)
        XCTAssertTrue(withBass.allSatisfy(\.isFinite))
        XCTAssertGreaterThan(zip(withBass, plain).map { Swift.abs($0 - $1) }.max()!, 1e-4, "the bass decoder changes the output")

        let z = bassy.quantizer.decode(codes.map { $0.map(Int.init) }), frames = codes[0].count
        var one = plain, chunked = plain
        bassy.bass!.apply(latents: z, frames: frames, audio: &one, chunk: 100_000)
        bassy.bass!.apply(latents: z, frames: frames, audio: &chunked, chunk: 3)
        XCTAssertEqual(one, withBass)
        XCTAssertLessThan(zip(one, chunked).map { Swift.abs($0 - $1) }.max()!, 1e-5)

        try saveRVQ(bassy, to: dir + "/bass")
        let loaded = try RVQCodec.load(directory: dir + "/bass")
        XCTAssertEqual(loaded.config.bassDecoder, tinyBassConfig().bassDecoder)
        XCTAssertEqual(loaded.decode(codes, length: x.count), withBass)
        for n in [0, 1, 63, 64, 65, 700] {   // odd lengths: exactly n samples back
            let c = bassy.encode(Array(x.prefix(n)))
            XCTAssertEqual(bassy.decode(c, length: n).count, n)
        }
        // Codes asked for more samples than their frames reach (a prior's codes, `length` past the
        // last frame): the band there keeps the decoded one, and decoding ends.
        let long = bassy.decode(Array(codes.map { Array($0.prefix(10)) }), length: 10 * 64 + 500)
        XCTAssertEqual(long.count, 10 * 64 + 500)
        XCTAssertTrue(long.allSatisfy(\.isFinite))
        // Below min_codebooks the bass decoder is left out: the rung decodes as without it.
        bassy.bass!.layout.minCodebooks = 3
        XCTAssertEqual(bassy.decode(Array(codes.prefix(2)), length: x.count), model.decode(Array(codes.prefix(2)), length: x.count))
        XCTAssertNotEqual(bassy.decode(codes, length: x.count), plain)
    }

    // Expected: the CLI decodes with the bass decoder by default and without it under
    // --no-bass-decoder (the two differ, each of the input's length), silence and a 0.01 s file keep
    // their length, and ten minutes decode in bounded memory (the band is resampled whole, the
    // network runs in chunks): gen under GNU time, as RVQCodecTests measures it.
    func testCLIWithAndWithoutTheBassDecoder() throws {
        let genPath = builtGenPath()
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: genPath), "build gen first (swift build -c release)")
        func gen(_ args: [String]) throws -> (code: Int32, stderr: String, peakKB: Int) { try genUnderTime(genPath, args) }
        let models = dir + "/models"
        let x = testSignal(9000)
        try saveRVQ(seededBassRVQ(signal: x, scratch: dir).bass, to: models + "/codec")
        try AudioFile.write(AudioBuffer(samples: x, sampleRate: 22050), to: dir + "/in.wav")
        XCTAssertEqual(try gen(["codec", dir + "/in.wav", "-o", dir + "/with.wav", "--models-dir", models]).code, 0)
        XCTAssertEqual(try gen(["codec", dir + "/in.wav", "-o", dir + "/without.wav", "--no-bass-decoder", "--models-dir", models]).code, 0)
        let with = try AudioFile.read(dir + "/with.wav").samples, without = try AudioFile.read(dir + "/without.wav").samples
        XCTAssertEqual(with.count, x.count); XCTAssertEqual(without.count, x.count)
        XCTAssertGreaterThan(zip(with, without).map { Swift.abs($0 - $1) }.max()!, 1e-3)
        try AudioFile.write(AudioBuffer(samples: [Float](repeating: 0, count: 5000), sampleRate: 22050), to: dir + "/silence.wav")
        try AudioFile.write(AudioBuffer(samples: testSignal(441), sampleRate: 44100), to: dir + "/short.wav")
        for (name, frames) in [("silence", 5000), ("short", 221)] {
            let r = try gen(["codec", dir + "/\(name).wav", "-o", dir + "/\(name).out.wav", "--models-dir", models])
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertEqual(try AudioFile.read(dir + "/\(name).out.wav").frames, frames, name)
        }
        let n = 600 * 22050
        let writer = try AudioFileWriter(path: dir + "/long.wav", sampleRate: 22050)
        for c in 0..<60 { try writer.append(testSignal(n / 60, seed: UInt64(c))) }
        try writer.finish()
        let d = try gen(["codec", dir + "/long.wav", "-o", dir + "/long.out.wav", "--codebooks", "2", "--models-dir", models])
        XCTAssertEqual(d.code, 0, d.stderr)
        XCTAssertEqual(try AudioFile.read(dir + "/long.out.wav").frames, n)
        XCTAssertLessThan(d.peakKB, 500_000, "peak RSS of gen codec on 10 minutes, in kB")
    }

    // Expected: the PyTorch prototype's own output (Tests/Fixtures/bass_prototype_output.json, written
    // by bench/lowband_decoder.py's network with the same weights, bench/lowband_decoder.safetensors,
    // on the input its "source" field describes): the port is the prototype's network, so the
    // prototype's weights load under their own names and give its numbers, to float rounding.
    func testPortGivesThePrototypesOutput() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let weights = try SafeTensorsFile.read(repo.appendingPathComponent("bench/lowband_decoder.safetensors").path)
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: repo.appendingPathComponent("Tests/Fixtures/bass_prototype_output.json"))) as? [String: Any]
        let expected = try XCTUnwrap(reference?["output"] as? [Double])
        let store = ParameterStore()
        var rng = RNG(seed: 1)
        let net = BassDecoder(BassDecoderLayout(), latentDim: 128, hop: 256, scope: Scope(store, randomInit: false), rng: &rng)
        try store.load(weights, path: "bench/lowband_decoder.safetensors")
        let s = 16
        var z = [Float](repeating: 0, count: 128 * s)
        for c in 0..<128 { for t in 0..<s { z[c * s + t] = Float(0.5 * sin(0.1 * Double(c) + 0.37 * Double(t))) } }
        let band = (0..<(8 * s)).map { Float(0.3 * sin(2 * Double.pi * 110 * Double($0) / (22050.0 / 32))) }
        let y = GradMode.withoutGrad { net(Tensor(shape: [1, 128, s], data: z), band: Tensor(shape: [1, 1, 8 * s], data: band)) }
        XCTAssertEqual(y.shape, [1, 1, 8 * s])
        XCTAssertEqual(expected.count, 8 * s)
        let worst = zip(y.data, expected).map { Swift.abs(Double($0) - $1) }.max()!
        XCTAssertLessThan(worst, 1e-5, "largest difference from the prototype's output")
    }

    // Expected: hostile bass decoder sizes in a config are refused by name before anything is
    // allocated.
    func testHostileBassLayoutsAreRefused() {
        for (field, edit) in [("down", { (b: inout BassDecoderLayout) in b.down = 7 }), ("down", { $0.down = 0 }),
                              ("channels", { $0.channels = 100_000 }), ("up_channels", { $0.upChannels = -1 }),
                              ("log_weight", { $0.logWeight = .nan }), ("stft_sizes", { $0.stftSizes = [48] }),
                              ("stft_sizes", { $0.stftSizes = [] }), ("min_codebooks", { $0.minCodebooks = 0 })] as [(String, (inout BassDecoderLayout) -> Void)] {
            var c = tinyBassConfig()
            edit(&c.bassDecoder!)
            XCTAssertTrue(c.validate().contains { $0.contains("bass_decoder.\(field)") }, "\(field): \(c.validate())")
        }
    }

    // Expected: training the bass decoder alone on a fixed seed lowers its loss (spectral convergence
    // + log-magnitude of the band against the original's), and changes nothing else of the codec.
    func testTinyBassDecoderLossFallsAndNothingElseMoves() {
        let model = RVQCodec(config: tinyBassConfig(), seed: 7)
        let others = model.params.names.indices.filter { !model.params.names[$0].hasPrefix("bass.") }
        for i in others { model.params.tensors[i].requiresGrad = false }
        let before = others.map { model.params.tensors[$0].data }
        let (first, last) = tinyTrainingLosses(model, span: 15 * 64 + 256) { x, rng in model.bassLosses(x, active: 3, rng: &rng).total }
        XCTAssertLessThan(last, 0.8 * first, "bass loss \(first) → \(last)")
        XCTAssertEqual(others.map { model.params.tensors[$0].data }, before)
    }

    // Expected, from the definition of `bassWeight` (the bass loss added to the codec's at that
    // weight, reading the quantized latents with their graph): the total grows by exactly w × the
    // bass-only loss of the same batch and codebooks (closed form, to float rounding); the bass
    // decoder gets a gradient only with w > 0; the encoder's gradient changes with w (the bass loss
    // reaches it straight through the quantizer) and stays absent under decoderOnly; below
    // min_codebooks the bass loss stays out.
    func testBassWeightJoinsTheLossAndReachesTheEncoder() {
        var config = tinyBassConfig()
        config.bassDecoder?.minCodebooks = 2
        let model = RVQCodec(config: config, seed: 7)
        var rng = RNG(seed: 5)
        let x = RVQCodecTrainer.randomBatch([[testSignal(22050, seed: 1)]], batch: 2, span: 15 * 64 + 256, rng: &rng)
        let encoder = model.params.names.indices.filter { model.params.names[$0].hasPrefix("encoder.") }
        let bass = model.params.names.indices.filter { model.params.names[$0].hasPrefix("bass.") }
        func run(_ w: Float, active: Int = 3, decoderOnly: Bool = false) -> (total: Float, sc: Float?, encoder: [[Float]?], bass: [[Float]?]) {
            var r = RNG(seed: 9)
            let l = model.losses(x, active: active, training: false, decoderOnly: decoderOnly, bassWeight: w, rng: &r)
            model.params.zeroGrad()
            l.total.backward()
            return (l.total.item, l.bassConvergence, encoder.map { model.params.tensors[$0].grad }, bass.map { model.params.tensors[$0].grad })
        }
        var r = RNG(seed: 9)
        let bassOnly = model.bassLosses(x, active: 3, rng: &r).total.item
        let plain = run(0), joint = run(0.5)
        XCTAssertEqual(joint.total - plain.total, 0.5 * bassOnly, accuracy: 1e-4 * max(1, Swift.abs(plain.total)))
        XCTAssertNil(plain.sc)
        XCTAssertNotNil(joint.sc)
        func maxAbs(_ g: [[Float]?]) -> Float { g.compactMap { $0 }.joined().map { Swift.abs($0) }.max() ?? 0 }
        XCTAssertEqual(maxAbs(plain.bass), 0)
        XCTAssertGreaterThan(maxAbs(joint.bass), 0)
        let moved = zip(plain.encoder, joint.encoder).map { a, b in zip(a ?? [], b ?? []).map { Swift.abs($0 - $1) }.max() ?? 0 }.max() ?? 0
        XCTAssertGreaterThan(moved, 1e-7, "the bass loss reaches the encoder")
        XCTAssertEqual(maxAbs(run(0.5, decoderOnly: true).encoder), 0, "decoderOnly holds the encoder")
        XCTAssertNil(run(0.5, active: 1).sc, "below min_codebooks the bass loss stays out")
    }

    // Expected: `gen train codec --init-from DIR --bass-decoder` (the library entry point) keeps the
    // codec id, logs the bass loss terms and the held-out numbers with and without the bass decoder,
    // resumes as a bass-only run without the flag, and --bass-init loads the given weights; a codec
    // that has one already, and the flag without --init-from, are refused.
    func testTrainerAddsTrainsAndResumesABassDecoder() throws {
        let data = dir + "/corpus"
        try writeTinyMusicCorpus(at: data, samples: 9000, seed: 0)
        let base = seededRVQ()
        try saveRVQ(base, to: dir + "/codec")

        // A bass decoder's weights, saved under its own names (as the prototype's export is).
        let donor = RVQCodec(config: tinyBassConfig(), seed: 99)
        var own = SafeTensorsFile(metadata: [:])
        for (name, t) in zip(donor.params.names, donor.params.tensors) where name.hasPrefix("bass.") {
            own.tensors[String(name.dropFirst(5))] = SafeTensor(floats: t.data, shape: t.shape)
        }
        try own.write(to: dir + "/bass-init.safetensors")

        var o = RVQCodecTrainOptions(dataDirs: [data], outDir: dir + "/run")
        o.initFrom = dir + "/codec"; o.bassDecoder = true; o.bassInit = dir + "/bass-init.safetensors"; o.bassLayout = tinyBassConfig().bassDecoder
        o.steps = 2; o.batchSize = 2; o.segmentFrames = 16; o.warmup = 1
        o.logEvery = 2; o.evalEvery = 2; o.saveEvery = 2; o.evalWindows = 1; o.evalSeconds = 0.3; o.log = { _ in }
        // One step at a learning rate that moves nothing measurable: the loaded weights are the file's.
        o.learningRate = 1e-9; o.steps = 1
        try RVQCodecTrainer.train(o)
        let seeded = try RVQCodec.load(directory: dir + "/run")
        for (name, t) in zip(donor.params.names, donor.params.tensors) where name.hasPrefix("bass.") {
            let got = seeded.params[name]!.data
            XCTAssertLessThan(zip(got, t.data).map { Swift.abs($0 - $1) }.max()!, 1e-6, name)
        }
        XCTAssertEqual(seeded.modelID, base.modelID)

        o.outDir = dir + "/run2"; o.bassInit = nil; o.learningRate = 1e-3; o.steps = 2
        try RVQCodecTrainer.train(o)
        var resumed = o
        resumed.resume = true; resumed.initFrom = nil; resumed.bassDecoder = false; resumed.bassLayout = nil; resumed.steps = 4
        try RVQCodecTrainer.train(resumed)
        let weights = try SafeTensorsFile.read(dir + "/run2/model.safetensors")
        XCTAssertEqual(weights.metadata["step"], "4")
        XCTAssertEqual(weights.metadata["bass_only"], "true")
        let trained = try RVQCodec.load(directory: dir + "/run2")
        XCTAssertEqual(trained.modelID, base.modelID)
        XCTAssertEqual(trained.encode(testSignal(3000, seed: 4)), base.encode(testSignal(3000, seed: 4)))
        let lines = try String(contentsOfFile: dir + "/run2/train_log.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("\"bass_sc\"") && $0.contains("\"codec_band_sc\"") }.count, 2)   // steps 2 and 4
        XCTAssertTrue(lines.contains { $0.contains("\"val_chroma\"") && $0.contains("\"bass_decoder\":false") && $0.contains("\"final\":true") })
        XCTAssertTrue(lines.contains { $0.contains("\"val_chroma\"") && $0.contains("\"bass_decoder\":true") && $0.contains("\"final\":true") })

        var again = o
        again.outDir = dir + "/run3"; again.initFrom = dir + "/run2"
        XCTAssertThrowsError(try RVQCodecTrainer.train(again)) { XCTAssertTrue("\($0)".contains("already has a bass decoder"), "\($0)") }
        var bare = o
        bare.initFrom = nil; bare.outDir = dir + "/run4"
        XCTAssertThrowsError(try RVQCodecTrainer.train(bare)) { XCTAssertTrue("\($0)".contains("--bass-decoder"), "\($0)") }
        // --bass-weight on the resumed bass-only run is refused, not ignored.
        var weighted = resumed
        weighted.bassWeight = 1; weighted.steps = 6
        XCTAssertThrowsError(try RVQCodecTrainer.train(weighted)) { XCTAssertTrue("\($0)".contains("trains the bass decoder alone"), "\($0)") }

        // A new codec trained with --bass-weight has a bass decoder from the start (from 3 codebooks
        // up), and --bass-init gives it the file's weights.
        var fresh = RVQCodecTrainOptions(dataDirs: [data], outDir: dir + "/run5")
        fresh.model = tinyRVQConfig(); fresh.bassWeight = 1; fresh.bassInit = dir + "/bass-init.safetensors"
        fresh.bassLayout = tinyBassConfig().bassDecoder
        fresh.steps = 1; fresh.batchSize = 2; fresh.segmentFrames = 16; fresh.warmup = 1; fresh.learningRate = 1e-9
        fresh.logEvery = 1; fresh.evalEvery = 1; fresh.saveEvery = 1; fresh.evalWindows = 1; fresh.evalSeconds = 0.3; fresh.log = { _ in }
        XCTAssertEqual(fresh.problems(), [])
        try RVQCodecTrainer.train(fresh)
        let born = try RVQCodec.load(directory: dir + "/run5")
        XCTAssertEqual(born.config.bassDecoder, tinyBassConfig().bassDecoder)
        for (name, t) in zip(donor.params.names, donor.params.tensors) where name.hasPrefix("bass.") {
            XCTAssertLessThan(zip(born.params[name]!.data, t.data).map { Swift.abs($0 - $1) }.max()!, 1e-6, name)
        }
        XCTAssertEqual(RVQCodecTrainer.defaultBassLayout(hop: 256).minCodebooks, 3)
        // A file that does not fit the bass decoder (another layout's, or not a bass decoder's at
        // all) is refused by the strict loader, named as --bass-init's, before any step.
        var misfit = SafeTensorsFile()
        misfit.tensors["inp.weight"] = SafeTensor(floats: [1, 2], shape: [2])
        try misfit.write(to: dir + "/misfit.safetensors")
        var wrong = fresh
        wrong.outDir = dir + "/run7"; wrong.bassInit = dir + "/misfit.safetensors"
        XCTAssertThrowsError(try RVQCodecTrainer.train(wrong)) { XCTAssertTrue("\($0)".contains("--bass-init: the file does not fit"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/run7/model.safetensors"))
        fresh.initFrom = dir + "/codec"; fresh.outDir = dir + "/run6"
        XCTAssertTrue(fresh.problems().contains { $0.hasPrefix("--bass-init gives a new bass decoder its weights") })
    }
}
