// FastSpeechTests.swift — the acoustic model on real teacher data: flite utterances analysed
// exactly as `gen dataset speech` does, a tiny FastSpeech trained inside the test (loss must fall
// on a fixed seed), the length regulator's response to --speed, and the corpus file round trip.
import Audio
import DSP
import Engine
import Foundation
import Speech
import XCTest

final class FastSpeechTests: XCTestCase {
    /// Teacher utterances built with the corpus builder's own feature path.
    static let utterances: [SpeechUtterance] = {
        let texts = [("slt", "The cat sat on the warm mat."), ("rms", "Please call me at nine tonight."),
                     ("slt", "Where did you put the green box?"), ("rms", "Seven small boats sailed home.")]
        return texts.enumerated().map { i, pair in
            let f = try! SpeechFeatures.teacher(pair.1, voice: pair.0)
            return SpeechUtterance(id: "u\(i)", voice: pair.0, text: pair.1, tokens: f.tokens, durations: f.durations,
                                   pitch: f.pitch, energy: f.energy, mel: f.mel)
        }
    }()

    static func tinyConfig() -> FastSpeechConfig {
        var c = FastSpeechConfig(vocabSize: PhoneSet.standard.count, speakers: ["slt", "rms"],
                                 pitchMean: [5.3, 4.8], pitchStd: [0.2, 0.2], energyMean: 0, energyStd: 2)
        c.dModel = 32; c.heads = 2; c.encoderLayers = 1; c.decoderLayers = 1; c.ffnDim = 64
        c.predictorChannels = 32; c.dropout = 0
        return c
    }

    /// Frame boundaries are the rounded end times; the last phone takes whatever remains, so the
    /// durations always add up to the mel length (worked by hand: 0.1 s = 8.61 frames → 9, ...).
    func testDurationsAddUpToTheFrameCount() {
        XCTAssertEqual(SpeechFeatures.durations(ends: [0.1, 0.1, 0.25, 0.4], frames: 36), [9, 0, 13, 14])
        XCTAssertEqual(SpeechFeatures.durations(ends: [0.5, 2.0], frames: 20), [20, 0])
        for u in Self.utterances {
            XCTAssertEqual(u.frames, u.mel.count / 80)
            XCTAssertTrue(u.durations.allSatisfy { $0 >= 0 })
            // markers (<wb>, <.>, ...) take no time
            for (t, d) in zip(u.tokens, u.durations) where PhoneSet.standard.isMarker(t) { XCTAssertEqual(d, 0) }
        }
    }

    /// Voiced phones get a log F0 in the speaker's plausible range (slt ≈ 170 Hz, rms ≈ 100 Hz in flite).
    func testPitchPerPhoneIsPlausible() {
        for u in Self.utterances {
            let voiced = u.pitch.filter { $0 > 0 }.map { Foundation.exp($0) }
            XCTAssertGreaterThan(voiced.count, u.tokens.count / 4, u.text)
            let median = voiced.sorted()[voiced.count / 2]
            XCTAssertTrue((60...350).contains(median), "\(u.voice) median F0 \(median)")
        }
    }

    /// A tiny FastSpeech fitted to four utterances: the total loss must fall to under half its
    /// starting value in 80 steps (a model that learned nothing stays near the start).
    func testTinyModelLossFalls() throws {
        let model = FastSpeech(config: Self.tinyConfig(), seed: 3)
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: 3e-3, weightDecay: 0))
        let batch = SpeechTrainer.batch(Self.utterances, config: model.config)
        var rng = RNG(seed: 1)
        var losses: [Float] = []
        for _ in 0..<80 {
            let l = model.losses(batch, training: true, rng: &rng)
            losses.append(l.total.item)
            model.params.zeroGrad()
            l.total.backward()
            clipGradNorm(model.params, maxNorm: 1)
            opt.update()
        }
        XCTAssertLessThan(losses.last!, 0.5 * losses.first!, "loss \(losses.first!) → \(losses.last!)")
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
    }

    /// --speed divides every predicted duration before rounding, so doubling the speed halves
    /// the frame count (within one frame per phone of rounding).
    func testSpeedScalesTheLengthRegulator() {
        let model = FastSpeech(config: Self.tinyConfig(), seed: 3)
        // Bias the duration predictor's output to log(1 + 8): every phone lasts 8 frames.
        model.params["duration_predictor.out.bias"]!.data = [Foundation.log(9)]
        model.params["duration_predictor.out.weight"]!.data = [Float](repeating: 0, count: 32)
        let tokens = Self.utterances[0].tokens
        let normal = model.synthesize(tokens: tokens, speaker: 0, speed: 1)
        let fast = model.synthesize(tokens: tokens, speaker: 0, speed: 2)
        XCTAssertEqual(normal.durations, [Int](repeating: 8, count: tokens.count))
        XCTAssertEqual(fast.durations, [Int](repeating: 4, count: tokens.count))
        XCTAssertEqual(normal.frames, 8 * tokens.count)
        XCTAssertEqual(normal.mel.count, normal.frames * 80)
    }

    /// Below speed 1 every phone lasts longer: with 8 frames predicted per phone, speed 0.5 gives 16.
    func testSlowerSpeedGivesMoreFrames() {
        let model = FastSpeech(config: Self.tinyConfig(), seed: 3)
        model.params["duration_predictor.out.bias"]!.data = [Foundation.log(9)]
        model.params["duration_predictor.out.weight"]!.data = [Float](repeating: 0, count: 32)
        let tokens = Self.utterances[2].tokens
        let slow = model.synthesize(tokens: tokens, speaker: 1, speed: 0.5)
        XCTAssertEqual(slow.frames, 16 * tokens.count)
        XCTAssertGreaterThan(slow.frames, model.synthesize(tokens: tokens, speaker: 1, speed: 1).frames)
    }

    /// --pitch s adds s·ln2/12 to log F0: in the model's z-units that is s·ln2/12/σ_speaker, exactly.
    func testPitchShiftMovesThePredictedPitch() {
        let model = FastSpeech(config: Self.tinyConfig(), seed: 5)
        let tokens = Self.utterances[0].tokens
        let base = model.variances(tokens: tokens, speaker: 0).pitch
        let up = model.variances(tokens: tokens, speaker: 0, pitchShift: 3).pitch
        let expected = 3 * Float(M_LN2) / 12 / model.config.pitchStd[0]
        for (a, b) in zip(base, up) { XCTAssertEqual(b - a, expected, accuracy: 1e-5) }
        XCTAssertEqual(base.count, tokens.count)   // one prediction per token: (N)
    }

    /// The same text, voice and vocoder seed give the same samples; another seed changes them.
    func testSeededSynthesisIsDeterministic() throws {
        let model = FastSpeech(config: Self.tinyConfig(), seed: 3)
        model.params["duration_predictor.out.bias"]!.data = [Foundation.log(4)]
        let a = try SpeechSynthesizer(model: model, vocoder: GriffinLimVocoder(iterations: 8, seed: 7)).speak("Good day.", voice: "slt")
        let b = try SpeechSynthesizer(model: model, vocoder: GriffinLimVocoder(iterations: 8, seed: 7)).speak("Good day.", voice: "slt")
        let c = try SpeechSynthesizer(model: model, vocoder: GriffinLimVocoder(iterations: 8, seed: 8)).speak("Good day.", voice: "slt")
        XCTAssertGreaterThan(a.count, 0)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testCorpusFileRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gen-utt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let u = Self.utterances[1]
        let path = dir.appendingPathComponent("u.safetensors").path
        try SpeechCorpusIO.write(u, to: path)
        let back = try SpeechCorpusIO.read(path)
        XCTAssertEqual(back.tokens, u.tokens)
        XCTAssertEqual(back.durations, u.durations)
        XCTAssertEqual(back.text, u.text)
        // the mel is stored as F16: log-mel values lie in [-11.6, 3], so half precision keeps ~3 decimals
        for (a, b) in zip(back.mel, u.mel) { XCTAssertEqual(a, b, accuracy: 1e-2) }
    }

    /// A model folder whose weights do not match its config fails to load with the tensor named.
    func testSynthesizerLoadIsStrict() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gen-sp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = Self.tinyConfig()
        let model = FastSpeech(config: c)
        try model.params.save(to: dir.appendingPathComponent("model.safetensors").path)
        c.ffnDim = 48
        try ConfigFile.write(c, to: dir.appendingPathComponent("config.json").path)
        XCTAssertThrowsError(try SpeechSynthesizer(modelDir: dir.path)) { e in
            XCTAssertTrue("\(e)".contains("ffn.conv1.weight") && "\(e)".contains("[48, 32, 3]"), "\(e)")
        }
    }

    // Expected: the closed form, sin and cos of pos / 10000^(2i/C) in Double, rounded to Float, bit for
    // bit, whichever lengths were asked for before (the rows are kept per width and grown on demand),
    // and for a table longer than the kept rows.
    func testPositionTableIsTheFormulaWhateverWasAskedBefore() {
        func formula(_ pos: Int, _ j: Int, _ c: Int) -> Float {
            let angle = Double(pos) / Foundation.pow(10000, Double(2 * (j / 2)) / Double(c))
            return Float(j % 2 == 0 ? Foundation.sin(angle) : Foundation.cos(angle))
        }
        for (t, c) in [(3, 6), (40, 6), (17, 6), (300, 6), (5, 10)] {
            let table = sinusoidalPositions(t, c)
            XCTAssertEqual(table.shape, [t, c])
            for pos in 0..<t { for j in 0..<c { XCTAssertEqual(table.data[pos * c + j], formula(pos, j, c), "row \(pos), column \(j)") } }
        }
        let long = sinusoidalPositions(16_390, 4)
        for pos in [0, 16_383, 16_384, 16_389] { for j in 0..<4 { XCTAssertEqual(long.data[pos * 4 + j], formula(pos, j, 4)) } }
    }
}
