// RVQCodecTests.swift — the RVQ music codec (Music/RVQCodec.swift, RVQCodecTrainer.swift,
// RVQCodesFile.swift) and `gen encode/decode/codec` on real files.
//
// Expected values come from outside the code under test: frame counts from the centred STFT's
// 1 + ⌊n / hop⌋, prefixes from the greedy definition of residual coding, chunked latents from
// the whole-signal computation, the tiny model's progress from its own loss falling on a fixed
// seed, and the CLI's behaviour from the files it leaves (libsndfile reading the outputs back).
// The RVQ's gradients and residual identity are tested in EngineTests (VectorQuantizeTests).
import Audio
import DSP
import Engine
import Foundation
import NN
import XCTest
@testable import Music

/// n_fft 256, hop 64, widths 16, one block each side, 3 codebooks of 16 in 8 dimensions.
func tinyRVQConfig(codebooks: Int = 3, width: Int = 16) -> RVQCodecConfig {
    var c = RVQCodecConfig()
    c.nFFT = 256; c.hop = 64
    c.encoderWidth = width; c.decoderWidth = width; c.encoderBlocks = 1; c.decoderBlocks = 1; c.mlpRatio = 2
    c.codeDim = 8; c.codebooks = codebooks; c.codebookSize = 16; c.stftSizes = [128, 256]; c.restartThreshold = 0.5
    return c
}

/// A tiny codec whose codebooks were set from the latents of `signal` by a few EMA steps with
/// restarts, so an untrained model still spreads its codes over every stage.
func seededRVQ(_ config: RVQCodecConfig = tinyRVQConfig(), seed: UInt64 = 1, signal: [Float] = testSignal(6000)) -> RVQCodec {
    let model = RVQCodec(config: config, seed: seed)
    let z = model.latents(of: signal)
    var rng = RNG(seed: seed)
    for _ in 0..<4 { _ = model.quantizer(Tensor(shape: [z.count / config.codeDim, config.codeDim], data: z), active: config.codebooks, training: true, rng: &rng) }
    return model
}

/// A codes file of the retired v1 codec, as `gen encode` wrote them: its format name and one
/// level's codes (the fields the v1 reader checked).
func v1CodesFile() -> SafeTensorsFile {
    var file = SafeTensorsFile(metadata: ["format": RVQCodesFile.v1Format, "format_version": "1", "model_id": "vqvae-0123456789abcdef",
                                          "sample_rate": "22050", "length": "3000", "hops": "8,32"])
    file.tensors["codes.1"] = SafeTensor(int32s: [Int32](repeating: 3, count: 94), shape: [94])
    return file
}

/// The gen binary built beside this test bundle (same configuration).
func builtGenPath() -> String {
    let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [products.appendingPathComponent("gen").path,
                      products.deletingLastPathComponent().appendingPathComponent("gen").path]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
}

/// A test case with a fresh, empty scratch folder `dir`, removed again in tearDown (named after
/// `scratchName`), for the MusicTests classes that write corpora, models and audio.
class MusicScratchTestCase: XCTestCase {
    var dir = ""
    var scratchName: String { "gen-music-test" }

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "\(scratchName)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }
}

/// 40 AdamW steps (lr 3e-3, RNG seed 11) of `loss` on random batches of 4 windows of `span`
/// samples from two test clips, gradients clipped at 1: the mean loss of the first 8 steps and of
/// the last 8, for the tests whose loss must fall on a fixed seed.
func tinyTrainingLosses(_ model: RVQCodec, span: Int, loss: (Tensor, inout RNG) -> Tensor) -> (first: Float, last: Float) {
    let clips = [testSignal(22050, seed: 1), testSignal(15000, seed: 2)]
    let opt = AdamW(model.params, config: AdamWConfig(learningRate: 3e-3, weightDecay: 0))
    var rng = RNG(seed: 11)
    var losses: [Float] = []
    for _ in 0..<40 {
        let x = RVQCodecTrainer.randomBatch([clips], batch: 4, span: span, rng: &rng)
        let l = loss(x, &rng)
        model.params.zeroGrad()
        l.backward()
        clipGradNorm(model.params, maxNorm: 1)
        opt.update()
        losses.append(l.item)
    }
    return (losses.prefix(8).reduce(0, +) / 8, losses.suffix(8).reduce(0, +) / 8)
}

/// A three-clip corpus in `gen dataset music`'s layout (two training clips, one held out) of
/// `testSignal` noise, `samples` long, seeded from `seed`: what the trainer tests feed it.
func writeTinyMusicCorpus(at data: String, samples: Int, seed: UInt64) throws {
    try FileManager.default.createDirectory(atPath: data + "/audio", withIntermediateDirectories: true)
    var jsonl = ""
    for (i, split) in ["train", "train", "val"].enumerated() {
        try AudioFile.write(AudioBuffer(samples: testSignal(samples, seed: seed + UInt64(i)), sampleRate: 22050), to: data + "/audio/c\(i).wav")
        jsonl += "{\"id\":\"c\(i)\",\"file\":\"audio/c\(i).wav\",\"genre\":\"jazz\",\"artist\":\"x\",\"length\":"
            + String(format: "%.2f", Double(samples) / 22050) + ",\"offset\":0,\"lyrics\":[],\"lyrics_aligned\":false,\"split\":\"\(split)\"}\n"
    }
    try jsonl.write(toFile: data + "/metadata.jsonl", atomically: true, encoding: .utf8)
}

/// `gen` (at `path`) under GNU time (Debian's `time`, which `make test` installs): exit code,
/// stderr, and the process's own peak resident memory in kB.
func genUnderTime(_ path: String, _ args: [String]) throws -> (code: Int32, stderr: String, peakKB: Int) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
    p.arguments = ["-f", "GEN_PEAK_KB=%M", path] + args
    let err = Pipe()
    p.standardError = err; p.standardOutput = FileHandle.nullDevice
    try p.run()
    let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let kb = e.components(separatedBy: "GEN_PEAK_KB=").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? Int.max
    return (p.terminationStatus, e, kb)
}

func saveRVQ(_ model: RVQCodec, to folder: String) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try ConfigFile.write(model.config, to: folder + "/config.json")
    try model.weightsFile(metadata: ["step": "0"]).write(to: folder + "/model.safetensors")
}

final class RVQCodecTests: MusicScratchTestCase {
    override var scratchName: String { "gen-rvq-test" }

    // Expected: 1 + ⌊n / 64⌋ frames per codebook for every n (the centred STFT), and decode(length: n)
    // gives back exactly n finite samples, whatever n is.
    func testFramesAndLengthsForOddLengths() {
        let model = seededRVQ()
        for n in [0, 1, 63, 64, 65, 1001, 5000] {
            let codes = model.encode(testSignal(n))
            XCTAssertEqual(codes.count, 3)
            XCTAssertTrue(codes.allSatisfy { $0.count == 1 + n / 64 }, "n \(n)")
            XCTAssertTrue(codes.joined().allSatisfy { $0 >= 0 && $0 < 16 })
            let y = model.decode(codes, length: n)
            XCTAssertEqual(y.count, n)
            XCTAssertTrue(y.allSatisfy(\.isFinite))
        }
        XCTAssertEqual(model.frameCount(length: 5000), 79)   // 1 + 78
    }

    // The bitrate ladder in closed form: k codebooks of 1024 at 22050 / 256 frames/s carry
    // k × 86.13 × 10 bits/s, printed 0.86, 1.72, …, 6.89 kbps; a printed rung selects that rung.
    func testBitrateRequestsPickARungOfTheLadder() throws {
        let c = RVQCodecConfig()
        XCTAssertEqual(c.bitrate(codebooks: 8), 22050.0 / 256 * 8 * 10, accuracy: 1e-9)
        // The main ladder (no bass stream), and its first four rungs: what a file of 4 codebooks holds.
        let ladder = c.rungs(), four = ladder.filter { $0.main <= 4 }
        XCTAssertEqual(ladder, (1...8).map { CodecRung(main: $0) })
        XCTAssertEqual(c.rung(fitting: 6.89, in: ladder)?.main, 8)
        XCTAssertEqual(c.rung(fitting: 6.88, in: ladder)?.main, 7)
        XCTAssertEqual(c.rung(fitting: 2, in: ladder)?.main, 2)
        XCTAssertEqual(c.rung(fitting: 0.86, in: ladder)?.main, 1)
        XCTAssertNil(c.rung(fitting: 0.85, in: ladder))
        XCTAssertEqual(try c.rung(bandwidth: nil, codebooks: nil, in: ladder).main, 8)
        XCTAssertEqual(try c.rung(bandwidth: nil, codebooks: nil, in: four).main, 4)
        XCTAssertEqual(try c.rung(bandwidth: 100, codebooks: nil, in: four).main, 4)
        XCTAssertEqual(try c.rung(bandwidth: nil, codebooks: 3, in: ladder).main, 3)
        XCTAssertThrowsError(try c.rung(bandwidth: nil, codebooks: 5, in: four))
        XCTAssertThrowsError(try c.rung(bandwidth: 0.5, codebooks: nil, in: ladder))
        XCTAssertEqual(RVQCodecConfig.bitrateProblems(bandwidth: 2, codebooks: nil), [])
        XCTAssertEqual(RVQCodecConfig.bitrateProblems(bandwidth: 2, codebooks: 2).count, 1)
        XCTAssertEqual(RVQCodecConfig.bitrateProblems(bandwidth: .nan, codebooks: nil).count, 1)
        XCTAssertEqual(RVQCodecConfig.bitrateProblems(bandwidth: nil, codebooks: 33).count, 1)
    }

    // Expected: encoding with k codebooks is the first k rows of encoding with all (greedy
    // residual coding); every prefix decodes to the full length; and each added codebook brings
    // the decoder's input latents closer to the encoder's (the residual shrinks).
    func testEveryPrefixDecodes() {
        let x = testSignal(4000)
        let model = seededRVQ(signal: x)
        let all = model.encode(x)
        XCTAssertGreaterThan(Set(all[2]).count, 3, "the last stage should use several codes")
        let z = model.latents(of: x)
        var errors: [Float] = []
        for k in 1...3 {
            let codes = model.encode(x, codebooks: k)
            XCTAssertEqual(codes, Array(all.prefix(k)))
            let y = model.decode(codes, length: x.count)
            XCTAssertEqual(y.count, x.count)
            XCTAssertTrue(y.allSatisfy(\.isFinite))
            let q = model.quantizer.decode(codes.map { $0.map(Int.init) })
            errors.append(zip(z, q).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
        }
        XCTAssertLessThan(errors[2], errors[0], "latent error by codebooks: \(errors)")
    }

    // Expected: chunks carry the encoder's receptive field of real context each side, so the
    // chunked latents equal the whole-signal latents up to float rounding (BLAS tiling), for any
    // chunk size; the decoder's chunking is tested with the vocoder (ISTFTDecoder.synthesize).
    func testChunkedLatentsMatchWholeSignal() {
        let model = RVQCodec(config: tinyRVQConfig(), seed: 2)
        let x = testSignal(9000)
        let whole = model.latents(of: x, chunk: 100_000)
        for chunk in [1, 7, 40] {
            let chunked = model.latents(of: x, chunk: chunk)
            XCTAssertEqual(chunked.count, whole.count)
            let err = zip(whole, chunked).map { Swift.abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(err, 1e-4, "chunk \(chunk)")
        }
    }

    // Expected (closed form): a sine of 10.3 bins (n_fft 256, hop 64) advances by 2π·10.3·64/256 per
    // frame; bin 10's own advance is 2π·10·64/256, so its feature is the cosine and sine of
    // 2π·0.3/4 = 0.4712 rad at full weight (the peak), and its first channel block is ln |X|, the
    // magnitude encoder's input. Bins more than 60 dB below the peak weigh 0.
    func testFrequencyFeaturesMeasureTheAdvance() {
        var c = tinyRVQConfig(); c.encoderInput = .frequency
        let model = RVQCodec(config: c, seed: 1)
        let n = 256, hop = 64, f = 129, bins = 10.3
        let x = (0..<(n + 5 * hop)).map { Float(0.5 * Foundation.sin(2 * Double.pi * bins * Double($0) / Double(n) + 0.7)) }
        let feats = model.features(Tensor(shape: [1, 1, x.count], data: x))   // 5 frames after the lead frame
        XCTAssertEqual(feats.shape, [1, 5, 3 * f])
        let d = 2 * Double.pi * 0.3 * Double(hop) / Double(n)
        let magnitudes = RVQCodec(config: tinyRVQConfig(), seed: 1).features(Tensor(shape: [1, 1, x.count - hop], data: Array(x[hop...])))
        for t in 0..<5 {
            let row = Array(feats.data[(t * 3 * f)..<((t + 1) * 3 * f)])
            XCTAssertEqual(row[f + 10], Float(Foundation.cos(d)), accuracy: 1e-3, "frame \(t)")
            XCTAssertEqual(row[2 * f + 10], Float(Foundation.sin(d)), accuracy: 1e-3, "frame \(t)")
            let gap = zip(row[0..<f], magnitudes.data[(t * f)..<((t + 1) * f)]).map { Swift.abs($0 - $1) }.max()!
            XCTAssertLessThan(gap, 1e-4, "frame \(t): the magnitude channels are the magnitude encoder's input")
            XCTAssertEqual(row[f + 100], 0, "a bin far below the peak carries no advance")
        }
    }

    // Expected: a magnitude codec's weights widened to a magnitude+frequency encoder, or to one that
    // also reads a long window's low bins (zeros for the new input channels), give the same latents
    // and codes (exactly the same arithmetic on the old channels, plus zero), with the chunked
    // path's lead frame or side context; the widened codec records the id it was seeded from, and
    // its own id differs (its code space differs).
    func testWidenedEncoderStartsWithTheSameCodes() throws {
        let x = testSignal(6000)
        let model = seededRVQ(signal: x)
        try saveRVQ(model, to: dir + "/old")
        for widen in ["frequency", "long window"] {
            var file = try SafeTensorsFile.read(dir + "/old/model.safetensors")
            var c = model.config; c.seededFrom = model.modelID
            if widen == "frequency" { c.encoderInput = .frequency } else { c.longWindow = LongWindowInput(nFFT: 1024, bins: 40) }
            try RVQCodecTrainer.widenEncoderInput(in: &file, from: model.config.encoderLayout.inputs, to: c.encoderLayout.inputs, path: "test")
            let wide = RVQCodec(config: c, randomInit: false)
            try wide.loadWeights(file, path: "test")
            let a = model.latents(of: x), b = wide.latents(of: x)
            XCTAssertEqual(a.count, b.count, widen)
            XCTAssertLessThan(zip(a, b).map { Swift.abs($0 - $1) }.max()!, 1e-4, widen)
            XCTAssertEqual(wide.encode(x), model.encode(x), widen)
            XCTAssertNotEqual(wide.modelID, model.modelID, widen)
            // a file whose input conv is not the size given is refused
            XCTAssertThrowsError(try RVQCodecTrainer.widenEncoderInput(in: &file, from: model.config.encoderLayout.inputs, to: c.encoderLayout.inputs + 5, path: "test"))
            // chunked = whole for the wider input too (the lead frame and the sides come from frameSpan),
            // once the new channels have weights
            let w = wide.params.tensors[wide.params.names.firstIndex(of: "encoder.embed.weight")!]
            var rng = RNG(seed: 3)
            for i in w.data.indices { w.data[i] += 0.05 * rng.normal() }
            let whole = wide.latents(of: x, chunk: 100_000), chunked = wide.latents(of: x, chunk: 9)
            XCTAssertLessThan(zip(whole, chunked).map { Swift.abs($0 - $1) }.max()!, 1e-4, widen)
        }
    }

    // Expected: the long window's channels are ln |X| of an n-point Hann frame centred on each
    // 256-point frame: a sine at bin 10.0 of the long window (2.5 of the frame's) peaks at channel
    // 10 of every frame, and the frames' own channels are the magnitude encoder's input unchanged.
    func testLongWindowFeaturesAreCentredOnTheFrames() {
        var c = tinyRVQConfig(); c.longWindow = LongWindowInput(nFFT: 1024, bins: 40)
        let model = RVQCodec(config: c, seed: 1), plain = RVQCodec(config: tinyRVQConfig(), seed: 1)
        let side = c.sideSamples, s = 5
        XCTAssertEqual(side, 384)
        let x = (0..<((s - 1) * c.hop + c.inputExtra)).map { Float(0.5 * Foundation.sin(2 * Double.pi * 10 * Double($0) / 1024 + 0.3)) }
        let feats = model.features(Tensor(shape: [1, 1, x.count], data: x))
        XCTAssertEqual(feats.shape, [1, s, 129 + 40])
        let inner = plain.features(Tensor(shape: [1, 1, x.count - 2 * side], data: Array(x[side..<(x.count - side)])))
        for t in 0..<s {
            let row = Array(feats.data[(t * 169)..<((t + 1) * 169)])
            XCTAssertLessThan(zip(row[0..<129], inner.data[(t * 129)..<((t + 1) * 129)]).map { Swift.abs($0 - $1) }.max()!, 1e-5)
            let long = Array(row[129...])
            XCTAssertEqual(long.firstIndex(of: long.max()!), 10, "frame \(t)")
            // |X| at the peak bin: amplitude × Σ Hann / 2 = 0.5 × 512 / 2 (a whole number of periods)
            XCTAssertEqual(long[10], Foundation.log(128), accuracy: 0.01, "frame \(t)")
        }
    }

    // Expected: on a fixed seed, 40 AdamW steps on random windows of a sine/noise mix lower the
    // codec's total loss (multi-scale mel + multi-resolution STFT + commitment) by at least a
    // third, first 8 steps against last 8 (measured when written: see the message on failure).
    func testTinyCodecLossFalls() {
        for input in EncoderInput.allCases { tinyCodecLossFalls(input) }
        tinyCodecLossFalls(.magnitude, longWindow: LongWindowInput(nFFT: 1024, bins: 40))
    }

    func tinyCodecLossFalls(_ input: EncoderInput, longWindow: LongWindowInput? = nil) {
        var config = tinyRVQConfig(width: 24); config.encoderInput = input; config.longWindow = longWindow
        let model = RVQCodec(config: config, seed: 7)
        let (first, last) = tinyTrainingLosses(model, span: (16 - 1) * 64 + config.inputExtra) { x, rng in
            model.losses(x, active: 3, training: true, rng: &rng).total
        }
        XCTAssertLessThan(last, 0.67 * first, "\(input), long window \(longWindow?.nFFT ?? 0): loss \(first) → \(last)")
        let e = RVQCodecTrainer.evaluate(model, windows: [Array(testSignal(22050, seed: 1).prefix(8000))], codebooks: 3)
        XCTAssertTrue(e.melL1.isFinite && e.convergence.isFinite && e.chroma > 0)
    }

    // Expected: a whole-codec run from --init-from keeps the loaded codebooks through its first EMA
    // step. A code's EMA step moves it at most n·(1 − decay) / (1 + n·(1 − decay)) of the way to the
    // mean of the n rows it won (under 14% for the 16 rows of this batch); a restart puts it on a
    // random residual. So no row may move by half its norm (a fresh EMA history of
    // restartThreshold members restarted every code the first batch left unused: 6 of 48 here).
    func testInitFromKeepsTheCodebooksThroughTheFirstStep() throws {
        let data = dir + "/corpus"
        try writeTinyMusicCorpus(at: data, samples: 9000, seed: 20)
        let base = seededRVQ()
        try saveRVQ(base, to: dir + "/codec")
        var o = RVQCodecTrainOptions(dataDirs: [data], outDir: dir + "/run")
        o.initFrom = dir + "/codec"; o.steps = 1; o.batchSize = 2; o.segmentFrames = 8; o.warmup = 1; o.learningRate = 1e-9
        o.logEvery = 1; o.evalEvery = 100; o.saveEvery = 100; o.evalWindows = 1; o.evalSeconds = 0.3; o.log = { _ in }
        try RVQCodecTrainer.train(o)
        let after = try RVQCodec.load(directory: dir + "/run")
        var jumped = 0, rows = 0
        for (old, new) in zip(base.quantizer.stages, after.quantizer.stages) {
            let d = old.dim
            for j in 0..<old.codebookSize {
                let a = old.codebook.data[(j * d)..<((j + 1) * d)], b = new.codebook.data[(j * d)..<((j + 1) * d)]
                let norm = a.map { $0 * $0 }.reduce(0, +).squareRoot()
                let moved = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                if moved > 0.5 * norm { jumped += 1 }
                rows += 1
            }
        }
        XCTAssertEqual(jumped, 0, "\(jumped) of \(rows) codebook rows restarted on the first step")
    }

    // Expected: a decoder-only step changes the decoder and nothing that decides the codes (the
    // encoder, the codebooks, the codec id), so codes made before decode with the new decoder; and
    // an integrated head seeded from an absolute one keeps its magnitude rows and starts with
    // zero advances (`ISTFTDecoder.integratedHead`'s definition).
    func testDecoderOnlyTrainingKeepsTheCodecID() throws {
        let model = seededRVQ()
        let before = model.modelID, codes = model.encode(testSignal(3000, seed: 4))
        let encoderWeights = model.params.names.indices.filter { model.params.names[$0].hasPrefix("encoder.") }.map { model.params.tensors[$0].data }
        let codebooks = model.quantizer.stages.map(\.codebook.data)
        let decoderHead = model.params["decoder.head.weight"]!.data
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: 1e-2))
        var rng = RNG(seed: 3)
        for _ in 0..<3 {
            let x = RVQCodecTrainer.randomBatch([[testSignal(8000, seed: 5)]], batch: 2, span: 15 * 64 + 256, rng: &rng)
            let l = model.losses(x, training: true, decoderOnly: true, rng: &rng)
            model.params.zeroGrad(); l.total.backward(); opt.update()
        }
        XCTAssertEqual(model.modelID, before)
        XCTAssertEqual(model.encode(testSignal(3000, seed: 4)), codes)
        XCTAssertEqual(model.params.names.indices.filter { model.params.names[$0].hasPrefix("encoder.") }.map { model.params.tensors[$0].data }, encoderWeights)
        XCTAssertEqual(model.quantizer.stages.map(\.codebook.data), codebooks)
        XCTAssertNotEqual(model.params["decoder.head.weight"]!.data, decoderHead)

        let f = 3, c = 2
        let w: [Float] = (0..<(2 * f * c)).map { Float($0) }, b: [Float] = (0..<(2 * f)).map { Float(100 + $0) }
        let wide = NN.ISTFTDecoder.integratedHead(fromAbsolute: w, bias: b, bins: f)
        XCTAssertEqual(wide.weight, [0, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 6, 7, 8, 9, 10, 11])
        XCTAssertEqual(wide.bias, [100, 101, 102, 0, 0, 0, 103, 104, 105])
    }

    // Expected: a codec whose decoder gains blocks (`--decoder-blocks` with --init-from: the new
    // blocks' layer scale at zero, so each adds nothing to its input) decodes the same codes to
    // bitwise the same samples as the codec it came from (x + 0 = x) and keeps the codec id; the
    // gradient reaches each new block's layer scale, so training can put the blocks to use.
    func testAddedDecoderBlocksStartFromTheSameOutput() throws {
        let x = testSignal(6000)
        let model = seededRVQ(signal: x)
        try saveRVQ(model, to: dir + "/old")
        var file = try SafeTensorsFile.read(dir + "/old/model.safetensors")
        var c = model.config; c.decoderBlocks = 3
        let deep = RVQCodec(config: c, seed: 9)
        RVQCodecTrainer.addNewDecoderBlocks(to: &file, from: deep, after: model.config.decoderBlocks)
        try deep.loadWeights(file, path: "test")
        let codes = model.encode(x)
        XCTAssertEqual(deep.encode(x), codes)
        XCTAssertEqual(deep.modelID, model.modelID)
        XCTAssertEqual(deep.decode(codes, length: x.count), model.decode(codes, length: x.count))
        var rng = RNG(seed: 3)
        let batch = RVQCodecTrainer.randomBatch([[x]], batch: 2, span: 15 * 64 + 256, rng: &rng)
        let l = deep.losses(batch, active: 3, training: true, decoderOnly: true, rng: &rng)
        deep.params.zeroGrad(); l.total.backward()
        for i in 1..<3 {
            let g = try XCTUnwrap(deep.params["decoder.blocks.\(i).gamma"]?.grad, "block \(i)")
            XCTAssertGreaterThan(g.map(abs).max() ?? 0, 0, "block \(i)")
        }
    }

    // Expected: with training counts (`--train-codebooks`), every batch decodes with one of the
    // listed counts: over 600 draws of [1, 3, 3] only 1 and 3, and 3 in 2/3 of them (binomial:
    // ± 0.058 at three standard deviations); counts outside 1...K, or none, are refused by name.
    func testTrainingCodebookCounts() {
        var c = tinyRVQConfig(codebooks: 3); c.trainingCodebooks = [1, 3, 3]
        XCTAssertEqual(c.validate(), [])
        let model = RVQCodec(config: c, seed: 1)
        var rng = RNG(seed: 2)
        let x = Tensor(shape: [1, 1, 4 * c.hop + c.inputExtra], data: [Float](repeating: 0, count: 4 * c.hop + c.inputExtra))
        let draws = (0..<600).map { _ in model.trainingWindow(x, active: nil, caller: "test", rng: &rng).active }
        XCTAssertEqual(Set(draws), [1, 3])
        XCTAssertEqual(Double(draws.filter { $0 == 3 }.count) / 600, 2.0 / 3, accuracy: 0.058)
        XCTAssertEqual(model.trainingWindow(x, active: 2, caller: "test", rng: &rng).active, 2)
        for bad in [[-1], [4], [], [Int](repeating: 1, count: 65)] {
            var h = c; h.trainingCodebooks = bad
            XCTAssertTrue(h.validate().contains { $0.hasPrefix("training_codebooks must list 1 to 64 codebook counts, each in 0...3 (0: unquantized)") }, "\(bad): \(h.validate())")
        }
        var unquantized = c; unquantized.trainingCodebooks = [0, 3]
        XCTAssertEqual(unquantized.validate(), [])
    }

    // Expected: 0 codebooks (`--train-codebooks 0`, a ceiling run) decodes the encoder's latents as
    // they are: the training waveform is, to float rounding, the decoder's output on the latents
    // computed directly (the closed form: no codeword in between), it differs from the 3-codebook
    // decode by that quantization's error, there is no commitment or codebook use to report, and
    // the decoder gets a gradient while the held encoder does not.
    func testZeroCodebooksTrainOnTheUnquantizedLatents() {
        let c = tinyRVQConfig(codebooks: 3)
        let model = RVQCodec(config: c, seed: 3)
        var rng = RNG(seed: 4)
        let x = Tensor(randn: [2, 1, 6 * c.hop + c.inputExtra], std: 0.1, rng: &rng)
        let l = model.losses(x, active: 0, training: true, decoderOnly: true, rng: &rng)
        let direct = GradMode.withoutGrad { () -> [Float] in
            let f = model.features(x)
            return model.decoder.waveform(magnitudePhase: model.decoder.magnitudePhase(head: model.decoder.head(model.latents(f)))).data
        }
        XCTAssertEqual(l.waveform.data.count, direct.count)
        XCTAssertLessThan(zip(l.waveform.data, direct).map { abs($0 - $1) }.max() ?? 1, 1e-5)
        XCTAssertEqual(l.commit, 0); XCTAssertEqual(l.usage, []); XCTAssertEqual(l.active, 0)
        let quantized = GradMode.withoutGrad { model.losses(x, active: 3, training: false, decoderOnly: true, rng: &rng).waveform.data }
        XCTAssertGreaterThan(zip(quantized, direct).map { abs($0 - $1) }.max() ?? 0, 1e-4)
        model.params.zeroGrad()
        l.total.backward()
        let named = Array(zip(model.params.names, model.params.tensors))
        func largestGradient(_ prefix: String) -> Float {
            named.filter { $0.0.hasPrefix(prefix) }.compactMap { $0.1.grad?.map(abs).max() }.max() ?? 0
        }
        XCTAssertGreaterThan(largestGradient("decoder."), 0)
        XCTAssertEqual(largestGradient("encoder."), 0)
    }

    // Expected: `gen train codec --decoder-only --decoder-blocks --train-codebooks` on a tiny
    // corpus writes a codec with the grown decoder and the counts in its config, keeps the codec
    // id (the codes are held), and logs the held-out numbers at the count drawn most often beside
    // 2 and all (also for 0, the unquantized latents); a shrinking --decoder-blocks, a count above the codec's codebooks and a malformed
    // list are refused with a message naming the option.
    func testGrownDecoderFineTuneThroughTheCLI() throws {
        let genPath = builtGenPath()
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: genPath), "build gen first (swift build -c release)")
        func gen(_ args: [String]) throws -> (code: Int32, stderr: String, peakKB: Int) { try genUnderTime(genPath, args) }
        let data = dir + "/data"
        try writeTinyMusicCorpus(at: data, samples: 22050, seed: 7)
        var c = tinyRVQConfig(); c.decoderBlocks = 2
        let base = seededRVQ(c)
        try saveRVQ(base, to: dir + "/base")
        let common = ["train", "codec", "--data", data, "--init-from", dir + "/base", "--decoder-only", "--steps", "2", "--batch-size", "2",
                      "--segment-frames", "8", "--warmup", "1", "--quiet"]
        let t = try gen(common + ["--out", dir + "/deep", "--decoder-blocks", "3", "--train-codebooks", "1,1,3"])
        XCTAssertEqual(t.code, 0, t.stderr)
        let deep = try RVQCodec.load(directory: dir + "/deep")
        XCTAssertEqual(deep.config.decoderBlocks, 3)
        XCTAssertEqual(deep.config.trainingCodebooks, [1, 1, 3])
        XCTAssertEqual(deep.modelID, base.modelID)
        let log = try String(contentsOfFile: dir + "/deep/train_log.jsonl", encoding: .utf8)
        for k in 1...3 { XCTAssertTrue(log.contains("\"codebooks\":\(k),"), "no held-out row at \(k) codebooks:\n\(log)") }
        // A ceiling run (0: the unquantized latents) keeps the codes too and scores itself at 0 codebooks.
        let u = try gen(common + ["--out", dir + "/ceiling", "--train-codebooks", "0"])
        XCTAssertEqual(u.code, 0, u.stderr)
        let ceiling = try RVQCodec.load(directory: dir + "/ceiling")
        XCTAssertEqual(ceiling.config.trainingCodebooks, [0])
        XCTAssertEqual(ceiling.modelID, base.modelID)
        XCTAssertTrue(try String(contentsOfFile: dir + "/ceiling/train_log.jsonl", encoding: .utf8).contains("\"codebooks\":0,"))
        for (args, code, words) in [(["--decoder-blocks", "1"], Int32(3), "add blocks, not remove them"),
                                    (["--train-codebooks", "1,4"], 3, "this codec has 3 codebooks"),
                                    (["--train-codebooks", "1,x"], 2, "--train-codebooks"),
                                    (["--train-codebooks", "33"], 2, "--train-codebooks must list")] {
            let bad = try gen(common + ["--out", dir + "/bad"] + args)
            XCTAssertEqual(bad.code, code, "\(args): \(bad.stderr)")
            XCTAssertTrue(bad.stderr.contains(words), "\(args): \(bad.stderr)")
        }
    }

    // Expected: a codec that gains a bin head (`--bin-head` with --init-from: the head's own
    // initialisation, its last layer at zero) decodes the same codes to the same samples as the
    // codec it came from, keeps the codec id, and loads back from its own folder; hostile bin
    // head sizes in a config are refused by name.
    func testAddedBinHeadStartsFromTheSameOutput() throws {
        let x = testSignal(6000)
        let model = seededRVQ(signal: x)
        try saveRVQ(model, to: dir + "/old")
        var file = try SafeTensorsFile.read(dir + "/old/model.safetensors")
        var c = model.config; c.binHead = BinHeadLayout(channels: 4, kernel: 5)
        let wide = RVQCodec(config: c, seed: 9)
        RVQCodecTrainer.addNewBinHead(to: &file, from: wide)
        try wide.loadWeights(file, path: "test")
        let codes = model.encode(x)
        XCTAssertEqual(wide.encode(x), codes)
        XCTAssertEqual(wide.modelID, model.modelID)
        XCTAssertEqual(wide.decode(codes, length: x.count), model.decode(codes, length: x.count))
        try saveRVQ(wide, to: dir + "/wide")
        XCTAssertEqual(try RVQCodec.load(directory: dir + "/wide").decode(codes, length: x.count), model.decode(codes, length: x.count))
        for (bad, field) in [(BinHeadLayout(channels: 0), "channels"), (BinHeadLayout(channels: 100_000), "channels"),
                             (BinHeadLayout(channels: 4, kernel: 4), "kernel"), (BinHeadLayout(channels: 4, kernel: -3), "kernel")] {
            var h = model.config; h.binHead = bad
            XCTAssertTrue(h.validate().contains { $0.contains("bin_head \(field)") }, "\(bad): \(h.validate())")
        }
    }

    // Expected: `gen train codec`'s library entry point on two tiny corpora writes the model
    // folder and a JSONL log with the documented fields (per-codebook usage and perplexity,
    // held-out chroma and flatness at 2 and all codebooks), and --resume continues from the saved
    // step, with the codebooks' EMA state, to the new total.
    func testTrainerCheckpointsLogsAndResumes() throws {
        var corpora: [String] = []
        for c in 0..<2 {
            let data = dir + "/corpus\(c)"
            try writeTinyMusicCorpus(at: data, samples: 6000, seed: UInt64(10 * c))
            corpora.append(data)
        }
        var o = RVQCodecTrainOptions(dataDirs: corpora, outDir: dir + "/codec")
        o.model = tinyRVQConfig(); o.steps = 4; o.batchSize = 2; o.segmentFrames = 8; o.warmup = 1
        o.logEvery = 2; o.evalEvery = 2; o.saveEvery = 2; o.evalWindows = 2; o.evalSeconds = 0.2; o.log = { _ in }
        try RVQCodecTrainer.train(o)
        for f in ["config.json", "model.safetensors", "train_state.safetensors", "train_log.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/codec/" + f), f)
        }
        XCTAssertEqual(try SafeTensorsFile.read(dir + "/codec/model.safetensors").metadata["step"], "4")
        let state = try SafeTensorsFile.read(dir + "/codec/train_state.safetensors")
        XCTAssertEqual(state.tensors["quantizer.2.embed_sum"]?.shape, [16, 8])
        o.resume = true; o.steps = 6
        try RVQCodecTrainer.train(o)
        let model = try RVQCodec.load(directory: dir + "/codec")
        let weights = try SafeTensorsFile.read(dir + "/codec/model.safetensors")
        XCTAssertEqual(weights.metadata["step"], "6")
        XCTAssertEqual(weights.metadata["model_id"], model.modelID)
        let lines = try String(contentsOfFile: dir + "/codec/train_log.jsonl", encoding: .utf8).split(separator: "\n")
        let train = lines.filter { $0.contains("\"batch_usage\"") }
        XCTAssertEqual(train.count, 3)  // steps 2, 4, 6
        XCTAssertTrue(train.allSatisfy { $0.contains("\"batch_perplexity\"") && $0.contains("\"sc\"") && $0.contains("\"mel_l1\"") })
        XCTAssertTrue(lines.contains { $0.contains("\"val_chroma\"") && $0.contains("\"codebooks\":3") && $0.contains("\"final\":true") })
        XCTAssertTrue(lines.contains { $0.contains("\"val_chroma\"") && $0.contains("\"codebooks\":2") })
        XCTAssertTrue(lines.contains { $0.contains("\"val_codebook_usage\"") && $0.contains("\"final\":true") })

        // A decoder-only fine-tune of that folder with an integrated head keeps the codec id, and
        // so does resuming it without the flag (its checkpoints say they are decoder-only).
        var tune = o
        tune.outDir = dir + "/codec-tuned"; tune.resume = false; tune.initFrom = dir + "/codec"
        tune.phaseHead = .integrated; tune.decoderOnly = true; tune.steps = 2
        try RVQCodecTrainer.train(tune)
        tune.resume = true; tune.decoderOnly = false; tune.initFrom = nil; tune.steps = 4
        try RVQCodecTrainer.train(tune)
        let tuned = try RVQCodec.load(directory: dir + "/codec-tuned")
        XCTAssertEqual(tuned.decoder.phaseHead, .integrated)
        XCTAssertEqual(tuned.modelID, model.modelID)
        XCTAssertNil(tuned.config.seededFrom, "the codes are the seeding codec's own: nothing to be seeded from")
        XCTAssertEqual(try SafeTensorsFile.read(dir + "/codec-tuned/model.safetensors").metadata["step"], "4")

        // A whole-codec fine-tune changes the codes (a new id) and records the codec it started
        // from, so that a prior of that codec's codes may seed one of the new (`gen train prior --init-from`).
        var whole = o
        whole.outDir = dir + "/codec-whole"; whole.resume = false; whole.initFrom = dir + "/codec"; whole.steps = 2; whole.learningRate = 1e-2
        try RVQCodecTrainer.train(whole)
        let retrained = try RVQCodec.load(directory: dir + "/codec-whole")
        XCTAssertNotEqual(retrained.modelID, model.modelID)
        XCTAssertEqual(retrained.config.seededFrom, model.modelID)

        // The fine-tune with a discriminator phase (`--adversarial-weight`): the discriminators are
        // saved beside the decoder at each checkpoint with its step, the log carries their losses,
        // --resume continues them, and the codec id is kept.
        var gan = o
        gan.outDir = dir + "/codec-gan"; gan.resume = false; gan.initFrom = dir + "/codec"; gan.decoderOnly = true; gan.steps = 2
        gan.adversarial.weight = 0.1
        gan.adversarial.layout.periods = [2, 3]; gan.adversarial.layout.periodChannels = [4, 8]
        gan.adversarial.layout.resolutions = [256]; gan.adversarial.layout.resolutionChannels = 8
        try RVQCodecTrainer.train(gan)
        XCTAssertEqual(try SafeTensorsFile.read(dir + "/codec-gan/discriminator.safetensors").metadata["step"], "2")
        gan.resume = true; gan.initFrom = nil; gan.steps = 4
        try RVQCodecTrainer.train(gan)
        XCTAssertEqual(try SafeTensorsFile.read(dir + "/codec-gan/discriminator.safetensors").metadata["model"], "codec-discriminators")
        XCTAssertEqual(try SafeTensorsFile.read(dir + "/codec-gan/discriminator.safetensors").metadata["step"], "4")
        let ganLog = try String(contentsOfFile: dir + "/codec-gan/train_log.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(ganLog.filter { $0.contains("\"d_loss\"") && $0.contains("\"fm\"") }.count, 2)  // steps 2 and 4
        XCTAssertEqual(try RVQCodec.load(directory: dir + "/codec-gan").modelID, model.modelID)

        // Widening the encoder to read the phase advance records the codec it was seeded from; it
        // cannot go with --decoder-only, which keeps the codes.
        var wide = o
        wide.outDir = dir + "/codec-if"; wide.resume = false; wide.initFrom = dir + "/codec"; wide.encoderInput = .frequency; wide.steps = 2
        try RVQCodecTrainer.train(wide)
        let widened = try RVQCodec.load(directory: dir + "/codec-if")
        XCTAssertEqual(widened.config.encoderInput, .frequency)
        XCTAssertEqual(widened.config.seededFrom, model.modelID)
        wide.outDir = dir + "/codec-if2"; wide.decoderOnly = true
        XCTAssertThrowsError(try RVQCodecTrainer.train(wide))
    }

    // Expected: what was written is read back exactly; the model folder reloads to the same id
    // and the same decoded audio; codes from another model, a v1 codes file, a truncated file,
    // an out-of-range code and a tensor of the wrong shape are each refused, naming the problem.
    func testCodesFileRoundTripAndBadFiles() throws {
        let x = testSignal(5001)
        let model = seededRVQ(signal: x)
        let file = RVQCodesFile(encoding: x, model: model, codebooks: 2)
        let path = dir + "/codes.safetensors"
        try file.write(to: path)
        let back = try RVQCodesFile.read(path)
        XCTAssertEqual(back, file)
        XCTAssertEqual(back.codebooks, 2)
        XCTAssertEqual(back.frames, 79)   // 1 + ⌊5001 / 64⌋
        XCTAssertNoThrow(try back.check(against: model, path: path))
        try saveRVQ(model, to: dir + "/codec")
        let loaded = try RVQCodec.load(directory: dir + "/codec")
        XCTAssertEqual(loaded.modelID, model.modelID)
        XCTAssertEqual(loaded.decode(back.codes, length: 5001), model.decode(file.codes, length: 5001))

        let other = RVQCodec(config: tinyRVQConfig(), seed: 2)
        XCTAssertThrowsError(try back.check(against: other, path: path)) { XCTAssertTrue("\($0)".contains("encoded by codec"), "\($0)") }

        // A v1 file (the retired codec's format, its header written here): the message says what to do.
        try v1CodesFile().write(to: dir + "/v1.safetensors")
        XCTAssertThrowsError(try RVQCodesFile.read(dir + "/v1.safetensors")) {
            XCTAssertTrue("\($0)".contains("old codec (v1") && "\($0)".contains("gen encode"), "\($0)")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: dir + "/truncated.safetensors"))
        XCTAssertThrowsError(try RVQCodesFile.read(dir + "/truncated.safetensors")) { XCTAssertTrue("\($0)".contains("not a readable codes file"), "\($0)") }
        var tampered = file
        tampered.codes[1][3] = 16
        try tampered.write(to: dir + "/tampered.safetensors")
        XCTAssertThrowsError(try RVQCodesFile.read(dir + "/tampered.safetensors")) { XCTAssertTrue("\($0)".contains("outside 0..<16"), "\($0)") }
        var short = file.safetensors()
        short.tensors["codes"] = SafeTensor(int32s: [Int32](repeating: 0, count: 2 * 78), shape: [2, 78])
        try short.write(to: dir + "/short.safetensors")
        XCTAssertThrowsError(try RVQCodesFile.read(dir + "/short.safetensors")) { XCTAssertTrue("\($0)".contains("shape [2, 79]"), "\($0)") }
        var hostile = file.safetensors()
        hostile.metadata["length"] = "99999999999999"
        try hostile.write(to: dir + "/hostile.safetensors")
        XCTAssertThrowsError(try RVQCodesFile.read(dir + "/hostile.safetensors")) { XCTAssertTrue("\($0)".contains("length"), "\($0)") }
        // More codebooks than the codec has.
        let four = RVQCodec(config: tinyRVQConfig(codebooks: 4), seed: 1)
        let deep = RVQCodesFile(encoding: x, model: four)
        XCTAssertThrowsError(try RVQCodesFile(codecID: model.modelID, sampleRate: 22050, hop: 64, codebookSize: 16, length: 5001,
                                              codes: deep.codes).check(against: model, path: "deep")) {
            XCTAssertTrue("\($0)".contains("4 main codebooks"), "\($0)")
        }
        // Model weights are strict too: a codebook of the wrong shape names the tensor.
        var weights = model.weightsFile()
        weights.tensors["quantizer.1.codebook"] = SafeTensor(floats: [Float](repeating: 0, count: 16), shape: [2, 8])
        XCTAssertThrowsError(try RVQCodec(config: tinyRVQConfig()).loadWeights(weights, path: "w")) {
            XCTAssertTrue("\($0)".contains("quantizer.1.codebook"), "\($0)")
        }
    }

    // MARK: - the CLI on real files

    var genPath: String { builtGenPath() }

    /// gen under GNU time (Debian's `time`, which `make test` installs): exit code, stderr, and the
    /// process's own peak resident memory in kB.
    func gen(_ args: [String]) throws -> (code: Int32, stderr: String, peakKB: Int) { try genUnderTime(genPath, args) }

    func listing() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    // Expected: frame counts from 1 + ⌊n / hop⌋ and from libsndfile reading the outputs (stereo
    // 48 kHz becomes 22050 Hz mono of n · 22050 / 48000 frames); --codebooks and --bandwidth pick a
    // prefix of the ladder (0.086 kbps per codebook at hop 64 and 16 codes: 344.5 frames/s × 4 bits
    // = 1.378 kbps each); bad inputs exit 2 (flags) or 3 (files) and leave no file.
    func testCLIEncodeDecodeAndBadInputs() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: genPath), "build gen first (swift build -c release)")
        let models = dir + "/models"
        let none = try gen(["encode", "x.wav", "-o", dir + "/none.safetensors", "--models-dir", models])
        XCTAssertEqual(none.code, 3)
        XCTAssertTrue(none.stderr.contains("gen train codec"), none.stderr)
        let model = seededRVQ(signal: testSignal(8000))
        try saveRVQ(model, to: models + "/codec")

        let stereo = (0..<48000).flatMap { t -> [Float] in let v = Float(0.3 * sin(Double(t) * 0.05)); return [v, -0.5 * v] }
        try AudioFile.write(AudioBuffer(samples: stereo, sampleRate: 48000, channels: 2), to: dir + "/stereo.wav")
        let codes = dir + "/stereo.safetensors"
        XCTAssertEqual(try gen(["encode", dir + "/stereo.wav", "-o", codes, "--models-dir", models]).code, 0)
        let file = try RVQCodesFile.read(codes)
        XCTAssertEqual(file.length, 22050)
        XCTAssertEqual(file.codebooks, 3)
        XCTAssertEqual(file.frames, 345)   // 1 + ⌊22050 / 64⌋
        for (flag, value, expected) in [("--codebooks", "1", 1), ("--codebooks", "3", 3), ("--bandwidth", "2.8", 2), ("--bandwidth", "100", 3)] {
            let out = dir + "/decoded-\(value).wav"
            let r = try gen(["decode", codes, "-o", out, flag, value, "--models-dir", models])
            XCTAssertEqual(r.code, 0, r.stderr)
            let audio = try AudioFile.read(out)
            XCTAssertEqual(audio.sampleRate, 22050); XCTAssertEqual(audio.channels, 1); XCTAssertEqual(audio.frames, 22050)
            let small = dir + "/small-\(value).safetensors"
            XCTAssertEqual(try gen(["encode", dir + "/stereo.wav", "-o", small, flag, value, "--models-dir", models]).code, 0)
            XCTAssertEqual(try RVQCodesFile.read(small).codebooks, expected, "\(flag) \(value)")
        }

        // Silence and a 0.01 s file are valid input; the round trip keeps their length.
        try AudioFile.write(AudioBuffer(samples: [Float](repeating: 0, count: 5000), sampleRate: 22050), to: dir + "/silence.wav")
        try AudioFile.write(AudioBuffer(samples: testSignal(441), sampleRate: 44100), to: dir + "/short.wav")
        for (name, frames) in [("silence", 5000), ("short", 221)] {
            let out = dir + "/\(name).out.flac"
            let r = try gen(["codec", dir + "/\(name).wav", "-o", out, "--codebooks", "2", "--models-dir", models])
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertEqual(try AudioFile.read(out).frames, frames, name)
        }

        // Codes from another model, a v1 codes file, a corrupt file, impossible bitrates: clear errors, no output.
        try saveRVQ(RVQCodec(config: tinyRVQConfig(), seed: 9), to: dir + "/other/codec")
        let wrong = try gen(["decode", codes, "-o", dir + "/wrong.wav", "--models-dir", dir + "/other"])
        XCTAssertEqual(wrong.code, 3); XCTAssertTrue(wrong.stderr.contains("encoded by codec"), wrong.stderr)
        try v1CodesFile().write(to: dir + "/v1.safetensors")
        let old = try gen(["decode", dir + "/v1.safetensors", "-o", dir + "/old.wav", "--models-dir", models])
        XCTAssertEqual(old.code, 3); XCTAssertTrue(old.stderr.contains("old codec (v1"), old.stderr)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: codes))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: dir + "/corrupt.safetensors"))
        XCTAssertEqual(try gen(["decode", dir + "/corrupt.safetensors", "-o", dir + "/corrupt.wav", "--models-dir", models]).code, 3)
        let low = try gen(["codec", dir + "/stereo.wav", "-o", dir + "/low.wav", "--bandwidth", "0.5", "--models-dir", models])
        XCTAssertEqual(low.code, 2); XCTAssertTrue(low.stderr.contains("below the lowest rung"), low.stderr)
        XCTAssertEqual(try gen(["codec", dir + "/stereo.wav", "-o", dir + "/many.wav", "--codebooks", "5", "--models-dir", models]).code, 2)
        XCTAssertEqual(try gen(["codec", dir + "/stereo.wav", "-o", dir + "/both.wav", "--codebooks", "1", "--bandwidth", "2", "--models-dir", models]).code, 2)
        let left = listing()
        for name in ["wrong.wav", "old.wav", "corrupt.wav", "low.wav", "many.wav", "both.wav", "none.safetensors"] { XCTAssertFalse(left.contains(name), name) }
        XCTAssertFalse(left.contains { $0.hasPrefix(".") }, "temporary files left: \(left)")
    }

    // Expected: a 10-minute file (13,230,000 samples) encodes to 1 + ⌊n / 64⌋ frames and decodes
    // back to n samples in bounded chunks, with the process's peak memory far below what holding
    // whole-signal activations would take (a 24-wide layer over 206,719 frames is 20 MB, an STFT of
    // the whole file at 129 bins 107 MB, and there are dozens of each).
    func testTenMinuteFileIsProcessedInBoundedMemory() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: genPath), "build gen first (swift build -c release)")
        let models = dir + "/models"
        try saveRVQ(RVQCodec(config: tinyRVQConfig(), seed: 1), to: models + "/codec")
        let n = 600 * 22050
        let writer = try AudioFileWriter(path: dir + "/long.wav", sampleRate: 22050)
        for c in 0..<60 { try writer.append(testSignal(n / 60, seed: UInt64(c))) }
        try writer.finish()
        let codes = dir + "/long.safetensors"
        let r = try gen(["encode", dir + "/long.wav", "-o", codes, "--models-dir", models])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try RVQCodesFile.read(codes).frames, 1 + n / 64)
        let d = try gen(["decode", codes, "-o", dir + "/long.out.wav", "--models-dir", models])
        XCTAssertEqual(d.code, 0, d.stderr)
        XCTAssertEqual(try AudioFile.read(dir + "/long.out.wav").frames, n)
        XCTAssertLessThan(max(r.peakKB, d.peakKB), 500_000, "peak RSS of gen encode / decode in kB: \(r.peakKB) / \(d.peakKB)")
    }
}
