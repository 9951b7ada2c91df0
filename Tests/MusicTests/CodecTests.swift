// CodecTests.swift — the v1 VQ-VAE codec (Music/VQVAE.swift), which the shipped prior's codes
// need until it is retrained on the RVQ codec, and its codes file. The RVQ codec: RVQCodecTests.
//
// Expected values come from outside the code under test: hop arithmetic from ⌈n / hop⌉, the
// differentiable STFT magnitude from DSP.STFT's FFT and from a sine's closed-form peak
// (A·N/4 under a Hann window), its gradient from central finite differences, the tiny model's
// progress from its own loss falling on a fixed seed, and the CLI's behaviour from the files it
// leaves (libsndfile reading the outputs back). VQ op gradients are tested in EngineTests.
import Audio
import DSP
import Engine
import Foundation
import XCTest
@testable import Music

/// Two levels, hops 8 and 32, a few hundred parameters each: fast enough for every test here.
func tinyCodecConfig(width: Int = 8, depth: Int = 2, codebook: Int = 32) -> VQVAEConfig {
    VQVAEConfig(levels: [VQVAELevelConfig(strides: [2, 4], width: width, depth: depth, codebookSize: codebook, codeDim: 8),
                         VQVAELevelConfig(strides: [2, 4, 4], width: width, depth: depth, codebookSize: codebook, codeDim: 8)],
                stftSizes: [256, 128, 64])
}

/// A deterministic music-like test signal: three sines with a slow envelope plus a little noise.
func testSignal(_ n: Int, seed: UInt64 = 3) -> [Float] {
    var rng = RNG(seed: seed)
    return (0..<n).map { t in
        let s = Double(t) / 22050
        let env = 0.6 + 0.4 * sin(2 * Double.pi * 1.5 * s)
        let tone = 0.3 * sin(2 * Double.pi * 220 * s) + 0.2 * sin(2 * Double.pi * 440 * s + 1) + 0.1 * sin(2 * Double.pi * 1320 * s)
        return Float(env * tone) + 0.02 * rng.normal()
    }
}

/// Replaces a level's codebook with encoder latents of `signal` (evenly spaced rows), so an
/// untrained model still spreads its codes and code equality means something.
func seedCodebook(_ model: VQVAE, level: Int, from signal: [Float]) {
    let lv = model.levels[level]
    let hop = lv.hop, n = signal.count / hop * hop
    let rows = GradMode.withoutGrad { lv.latentRows(Tensor(shape: [1, 1, n], data: Array(signal[0..<n]))).rows }
    let k = lv.config.codebookSize, d = lv.config.codeDim, count = rows.shape[0]
    var book = [Float](repeating: 0, count: k * d)
    for j in 0..<k {
        let r = j * count / k
        for i in 0..<d { book[j * d + i] = rows.data[r * d + i] }
    }
    lv.quantizer.codebook = Tensor(shape: [k, d], data: book)
    lv.quantizer.embedSum = book
}

final class CodecTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "gen-codec-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    // MARK: - shapes and hop arithmetic

    // Expected: ⌈n / hop⌉ codes (at least one) for every n, and decode(length: n) gives back
    // exactly n samples; without a length, codes · hop. Hops 8 = 2·4 and 32 = 2·4·4.
    func testEncodeDecodeShapesForOddLengths() {
        let model = VQVAE(config: tinyCodecConfig(), seed: 1)
        XCTAssertEqual(model.levels.map(\.hop), [8, 32])
        for n in [1, 31, 33, 12345] {
            let x = testSignal(n)
            for level in 0..<2 {
                let hop = model.levels[level].hop
                let codes = model.encode(x, level: level)
                XCTAssertEqual(codes.count, max(1, (n + hop - 1) / hop), "n \(n) level \(level)")
                XCTAssertEqual(model.decode(codes, level: level, length: n).count, n, "n \(n) level \(level)")
                XCTAssertEqual(model.decode(codes, level: level).count, codes.count * hop)
                XCTAssertTrue(codes.allSatisfy { $0 >= 0 && $0 < 32 })
            }
        }
        // The encoder and decoder map T ↔ T / hop exactly on a batch too.
        var rng = RNG(seed: 0)
        let l = model.losses(Tensor(shape: [2, 1, 64], data: testSignal(128)), level: 1, training: false, rng: &rng)
        XCTAssertEqual(l.codes.count, 2 * 64 / 32)
    }

    // Expected: chunks carry marginCodes of real context each side, which covers the receptive
    // field, so chunked codes equal whole-signal codes and chunked audio equals whole audio.
    // Checked on the tiny test config and on the default (shipped) architecture.
    func testChunkedEncodeAndDecodeMatchWholeSignal() {
        for (config, n, chunks) in [(tinyCodecConfig(), 6000, [1, 5, 17]), (VQVAEConfig(), 40000, [37, 150])] {
            chunkedMatchesWhole(VQVAE(config: config, seed: 2), signal: testSignal(n), chunks: chunks)
        }
    }

    func chunkedMatchesWhole(_ model: VQVAE, signal x: [Float], chunks: [Int]) {
        for level in 0..<2 {
            seedCodebook(model, level: level, from: x)
            let whole = model.encode(x, level: level)
            XCTAssertGreaterThan(Set(whole).count, 4, "codes should vary for the comparison to mean something")
            // The whole signal's latents, to tell a real difference from a near-tie: the encoder's
            // products run at other matrix sizes in a chunk, and BLAS's tiling may round the last
            // bit differently, which can flip a code whose two nearest entries are equally near.
            let lv = model.levels[level]
            let hop = lv.hop
            var padded = x
            padded += [Float](repeating: 0, count: whole.count * hop - x.count)
            let latents = GradMode.withoutGrad { lv.latentRows(Tensor(shape: [1, 1, padded.count], data: padded)).rows }
            let d = lv.config.codeDim, book = lv.quantizer.codebook.data
            func distance(_ row: Int, _ code: Int32) -> Float {
                var s: Float = 0
                for i in 0..<d { let e = latents.data[row * d + i] - book[Int(code) * d + i]; s += e * e }
                return s
            }
            for chunk in chunks {
                let chunked = model.encode(x, level: level, chunkCodes: chunk)
                XCTAssertEqual(chunked.count, whole.count)
                for (i, (a, b)) in zip(whole, chunked).enumerated() where a != b {
                    let da = distance(i, a), db = distance(i, b)
                    XCTAssertLessThan(Swift.abs(da - db), 1e-4 * max(da, 1e-3),
                                      "level \(level) chunk \(chunk): code \(i) is \(b), not \(a), and not by a tie (\(db) vs \(da))")
                }
                let a = model.decode(whole, level: level, length: x.count)
                let b = model.decode(whole, level: level, length: x.count, chunkCodes: chunk)
                let err = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(err, 1e-4, "level \(level) chunk \(chunk)")
            }
        }
    }

    // MARK: - differentiable STFT

    // Expected: DSP.STFT (FFT-based, uncentred, same periodic Hann) gives the same |X| as the
    // conv1d-with-cos/sin-kernels formulation, frame for frame and bin for bin.
    func testSTFTMagnitudeMatchesDSP() {
        var rng = RNG(seed: 4)
        let x = (0..<300).map { _ in rng.normal() }
        let basis = STFTBasis(nFFT: 64, hop: 16)
        let ours = stftMagnitude(Tensor(shape: [1, 1, 300], data: x), basis: basis, eps: 0)  // (1, F, S)
        let stft = STFT(nFFT: 64, winLength: 64, hop: 16, center: false)
        let reference = stft.magnitude(x)                                                   // (S, F)
        let frames = stft.frameCount(length: 300), bins = 33
        XCTAssertEqual(ours.shape, [1, bins, frames])
        let peak = reference.max()!
        for s in 0..<frames {
            for f in 0..<bins {
                XCTAssertEqual(ours.data[f * frames + s], reference[s * bins + f], accuracy: 1e-4 * peak, "frame \(s) bin \(f)")
            }
        }
        // The FFT fast path used by the loss agrees with the conv reference, zero padding included.
        let xt = Tensor(shape: [1, 1, 300], data: x)
        let conv = stftMagnitude(xt, basis: basis, padding: 32), fast = stftMagnitudeFFT(xt, basis: basis, padding: 32)
        XCTAssertEqual(conv.shape, fast.shape)
        XCTAssertLessThan(zip(conv.data, fast.data).map { Swift.abs($0 - $1) }.max()!, 1e-4 * peak)
    }

    // Expected: a sine of amplitude A exactly on bin k has |X_k| = A/2 · Σ w = A/2 · N/2 = A·N/4
    // under a periodic Hann window of N; its neighbours k ± 1 get half that, and k ± 3 nothing.
    func testSTFTMagnitudeOfASineInClosedForm() {
        let n = 128, k = 10, a: Float = 0.5
        let x = (0..<1024).map { t in a * Float(sin(2 * Double.pi * Double(k) * Double(t) / Double(n))) }
        let mag = stftMagnitude(Tensor(shape: [1, 1, 1024], data: x), basis: STFTBasis(nFFT: n), eps: 0)
        let frames = mag.shape[2]
        for s in 0..<frames {
            XCTAssertEqual(mag.data[k * frames + s], a * Float(n) / 4, accuracy: 1e-3)
            XCTAssertEqual(mag.data[(k + 1) * frames + s], a * Float(n) / 8, accuracy: 1e-3)
            XCTAssertEqual(mag.data[(k + 3) * frames + s], 0, accuracy: 1e-3)
        }
    }

    // Expected: central finite differences (Engine.gradCheck) of both magnitude paths (conv and
    // FFT) and of the spectral-convergence loss agree with the backward passes.
    func testSTFTMagnitudeAndSpectralLossGradients() {
        var rng = RNG(seed: 5)
        let x = Tensor(randn: [2, 1, 40], rng: &rng)
        let basis = STFTBasis(nFFT: 16, hop: 4)
        let r1 = gradCheck([x], eps: 1e-2) { stftMagnitude(x, basis: basis, padding: 8) }
        XCTAssertLessThan(r1.maxError, 1e-2, "\(r1)")
        let r3 = gradCheck([x], eps: 1e-2) { stftMagnitudeFFT(x, basis: basis, padding: 8) }
        XCTAssertLessThan(r3.maxError, 1e-2, "\(r3)")

        let y = Tensor(randn: [2, 1, 40], rng: &rng)
        let target = Tensor(randn: [2, 1, 40], rng: &rng)
        let r2 = gradCheck([y], eps: 1e-2) { multiResolutionSTFTLoss(y, target, bases: [basis, STFTBasis(nFFT: 8)]).convergence }
        XCTAssertLessThan(r2.maxError, 1e-2, "\(r2)")
    }

    // MARK: - training

    // Expected: on a fixed seed, 60 AdamW steps on random windows of a sine/noise mix at least
    // halve the reconstruction loss (waveform L1 + multi-resolution STFT) of the hop-8 level,
    // first 10 steps against last 10 (measured when written: 3.2 → 1.1, in about 0.6 s).
    func testTinyVQVAEReconstructionLossFalls() {
        let model = VQVAE(config: tinyCodecConfig(width: 16, depth: 2, codebook: 64), seed: 7)
        let clips = [testSignal(22050, seed: 1), testSignal(15000, seed: 2)]
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: 3e-3, weightDecay: 0))
        var rng = RNG(seed: 11)
        var losses: [Float] = []
        let start = Date()
        for _ in 0..<60 {
            let x = MusicClips.randomBatch(clips, batch: 4, length: 1024, rng: &rng)
            let l = model.losses(x, level: 0, training: true, rng: &rng)
            model.params.zeroGrad()
            (l.reconstruction + l.commit * 0.02).backward()
            clipGradNorm(model.params, maxNorm: 1)
            opt.update()
            losses.append(l.reconstruction.item)
        }
        let first = losses.prefix(10).reduce(0, +) / 10, last = losses.suffix(10).reduce(0, +) / 10
        XCTAssertLessThan(last, 0.5 * first, "reconstruction loss \(first) → \(last)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 60)
    }

    // MARK: - codes file and model folder

    func saveModel(_ model: VQVAE, to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try ConfigFile.write(model.config, to: folder + "/config.json")
        try model.weightsFile(metadata: ["step": "0"]).write(to: folder + "/model.safetensors")
    }

    // Expected: what was written is read back exactly; the model folder reloads to the same id
    // and the same decoded audio; a codes file from another model, a truncated file, garbage
    // bytes and an out-of-range code are each refused with a message naming the problem.
    func testCodesFileRoundTripAndBadFiles() throws {
        let model = VQVAE(config: tinyCodecConfig(), seed: 1)
        let x = testSignal(5001)
        seedCodebook(model, level: 0, from: x)
        let file = CodesFile(encoding: x, model: model)
        let path = dir + "/codes.safetensors"
        try file.write(to: path)
        let back = try CodesFile.read(path)
        XCTAssertEqual(back.codes, file.codes)
        XCTAssertEqual(back.length, 5001)
        XCTAssertEqual(back.hops, [8, 32])
        XCTAssertEqual(back.codes[0]?.count, 626)  // ⌈5001 / 8⌉
        XCTAssertEqual(back.codes[1]?.count, 157)  // ⌈5001 / 32⌉
        XCTAssertNoThrow(try back.check(against: model, path: path))

        try saveModel(model, to: dir + "/codec")
        let loaded = try VQVAE.load(directory: dir + "/codec")
        XCTAssertEqual(loaded.modelID, model.modelID)
        XCTAssertEqual(loaded.decode(back.codes[0]!, level: 0, length: 5001), model.decode(file.codes[0]!, level: 0, length: 5001))

        let other = VQVAE(config: tinyCodecConfig(), seed: 2)
        XCTAssertNotEqual(other.modelID, model.modelID)
        XCTAssertThrowsError(try back.check(against: other, path: path)) { XCTAssertTrue("\($0)".contains("encoded by codec model"), "\($0)") }

        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: dir + "/truncated.safetensors"))
        XCTAssertThrowsError(try CodesFile.read(dir + "/truncated.safetensors")) { XCTAssertTrue("\($0)".contains("not a readable codes file"), "\($0)") }
        try Data("not safetensors at all".utf8).write(to: URL(fileURLWithPath: dir + "/garbage.safetensors"))
        XCTAssertThrowsError(try CodesFile.read(dir + "/garbage.safetensors"))

        var tampered = file
        tampered.codes[0]![3] = 999
        try tampered.write(to: dir + "/tampered.safetensors")
        XCTAssertThrowsError(try CodesFile.read(dir + "/tampered.safetensors")) { XCTAssertTrue("\($0)".contains("outside 0..<32"), "\($0)") }

        // Model weights are strict too: a codebook of the wrong shape names the tensor.
        var weights = model.weightsFile()
        weights.tensors["levels.1.vq.codebook"] = SafeTensor(floats: [Float](repeating: 0, count: 16), shape: [2, 8])
        XCTAssertThrowsError(try VQVAE(config: tinyCodecConfig()).loadWeights(weights, path: "w")) {
            XCTAssertTrue("\($0)".contains("levels.1.vq.codebook"), "\($0)")
        }
    }
}
