// VocoderTests.swift — the neural vocoder on real teacher speech: a tiny one trained inside the
// test (its loss must fall on a fixed seed), the whole-utterance and chunked syntheses agreeing,
// and the shipped model against Griffin-Lim on the same flite utterance.
//
// Where the expected numbers come from: the loss-fall margin is the test's own first steps (the
// mean of the last five steps must be below 90% of the first five's); chunked vs whole synthesis is
// an identity up to Float32 rounding (both compute the same frames); the shipped-model check
// measures Griffin-Lim (32 iterations, the reference) and the vocoder on the same audio in the
// same run. Griffin-Lim fits the mel's magnitudes directly, and on these two measures the shipped
// vocoder does NOT beat it (measured on this utterance: log-mel L1 about 2.3× and spectral
// convergence about 1.3× Griffin-Lim's; it wins on naturalness, DNSMOS, which Swift cannot
// measure: models/vocoder/MODEL_CARD.md). The bounds below (3× and 1.5×, and an absolute
// spectral convergence under 0.35) catch a vocoder that regresses from there.
import Base
import DSP
import Engine
import Foundation
import NN
@testable import Speech
import XCTest

final class VocoderTests: XCTestCase {
    static let teacher: [Float] = try! SpeechFeatures.teacher("Seven small boats sailed home at dawn.", voice: "rms").audio

    static var modelsDir: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models").path
    }

    func testTinyVocoderLossFalls() {
        for head in PhaseHead.allCases { tinyVocoderLossFalls(head) }
    }

    /// Both heads: the integrated one trains through `integratePhase` and the magnitude-weighted
    /// group-delay and frequency losses.
    private func tinyVocoderLossFalls(_ head: PhaseHead) {
        var c = VocoderConfig(); c.width = 24; c.blocks = 2; c.mlpDim = 48; c.phaseHead = head
        let model = VocoderModel(config: c, seed: 3)
        let audio = Self.teacher
        let mel = MelFilterbank(config: .standard).logMel(audio: audio)
        let clip = VocoderTrainer.Clip(mel: mel, frames: mel.count / 80, audio: audio)
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: 2e-3))
        var rng = RNG(seed: 5)
        var losses: [Float] = []
        for _ in 0..<40 {
            let (m, t) = VocoderTrainer.batch([clip], segment: 16, size: 4, config: c, rng: &rng)
            let l = VocoderTrainer.losses(model, mel: m, target: t, phaseWeight: 0.3)
            XCTAssertTrue(l.total.item.isFinite)
            model.params.zeroGrad(); l.total.backward(); _ = clipGradNorm(model.params, maxNorm: 1); opt.update()
            losses.append(l.total.item)
        }
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, 0.9 * first, "\(head) head: loss went from \(first) to \(last)")
    }

    /// The discriminator phase as `gen train vocoder --adversarial-weight` runs it: each step trains
    /// the discriminators, then the generator on reconstruction + adversarial losses. Its
    /// reconstruction loss must still fall (mean of the last five steps under 90% of the first
    /// five's), every loss stays finite, and the discriminators saved at a step resume bit for bit
    /// (a checkpoint from another step is refused with the fix named).
    func testAdversarialPhaseTrainsAndResumes() throws {
        var c = VocoderConfig(); c.width = 24; c.blocks = 2; c.mlpDim = 48
        let model = VocoderModel(config: c, seed: 3)
        let mel = MelFilterbank(config: .standard).logMel(audio: Self.teacher)
        let clip = VocoderTrainer.Clip(mel: mel, frames: mel.count / 80, audio: Self.teacher)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gen-gan-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let folder = try TrainingFolder(dir)
        var layout = DiscriminatorLayout(); layout.periods = [2, 3]; layout.periodChannels = [4, 8]; layout.resolutions = [256]; layout.resolutionChannels = 8
        let gan = AdversarialRun(folder: folder, layout: layout, seed: 1, learningRate: 2e-3)
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: 2e-3))
        var rng = RNG(seed: 5)
        var reconstruction: [Float] = []
        for _ in 0..<30 {
            let (m, t) = VocoderTrainer.batch([clip], segment: 16, size: 4, config: c, rng: &rng)
            let l = VocoderTrainer.losses(model, mel: m, target: t, phaseWeight: 0.3)
            let a = gan.step(real: l.target, generated: l.waveform, learningRate: 2e-3)
            XCTAssertTrue(a.discriminator.isFinite && a.generator.isFinite && a.featureMatching.isFinite)
            model.params.zeroGrad(); gan.backward(l.total + a.loss * 0.1)
            XCTAssertNil(gan.d.params.tensors.first { $0.grad != nil }, "the generator's backward wrote discriminator gradients")
            _ = clipGradNorm(model.params, maxNorm: 1); opt.update()
            reconstruction.append(l.total.item)
        }
        let first = reconstruction.prefix(5).reduce(0, +) / 5, last = reconstruction.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, 0.9 * first, "reconstruction loss went from \(first) to \(last)")

        try gan.save(step: 30)
        let back = AdversarialRun(folder: folder, layout: layout, seed: 99, learningRate: 2e-3)
        try back.resume(step: 30, log: { _ in })
        for (a, b) in zip(gan.d.params.tensors, back.d.params.tensors) { XCTAssertTrue(a.data.elementsEqual(b.data)) }
        XCTAssertEqual(back.opt.m.count, gan.opt.m.count)
        XCTAssertTrue(back.opt.m.elementsEqual(gan.opt.m))
        XCTAssertThrowsError(try back.resume(step: 31, log: { _ in })) { e in
            XCTAssertTrue("\(e)".contains("from step 30") && "\(e)".contains("delete"), "\(e)")
        }
    }

    /// A 16-wide, 2-block vocoder (seeded weights) with `edit` applied to its config, and the teacher
    /// clip's log-mel and frame count.
    private func tinyVocoder(_ edit: (inout VocoderConfig) -> Void) -> (VocoderModel, [Float], Int) {
        var c = VocoderConfig(); c.width = 16; c.blocks = 2; c.mlpDim = 32
        edit(&c)
        XCTAssertTrue(c.validate().isEmpty, "\(c.validate())")
        let mel = MelFilterbank(config: .standard).logMel(audio: Self.teacher)
        return (VocoderModel(config: c, seed: 4), mel, mel.count / 80)
    }

    // Expected: with `useSourcePhase` off, a vocoder whose config asks for the source-filter phase
    // (with its own 512-point STFT) returns exactly the network's waveform, as `gen vocode` needs; on,
    // the same length (the phase changes, the framing does not).
    func testSourcePhaseCanBeTurnedOffForCopySynthesis() {
        let (model, mel, frames) = tinyVocoder { c in
            var s = SourcePhaseSettings(); s.nFFT = 512; s.maxGapFrames = 8
            c.sourcePhase = s
        }
        let vocoder = NeuralVocoder(model: model)
        let on = vocoder.waveform(logMel: mel, frames: frames)
        vocoder.useSourcePhase = false
        XCTAssertEqual(vocoder.waveform(logMel: mel, frames: frames), model.synthesize(logMel: mel, frames: frames))
        XCTAssertEqual(on.count, model.synthesize(logMel: mel, frames: frames).count)
    }

    // Expected: with a mel_projection block the vocoder's waveform is exactly the projection of the
    // network's (then the source phase, when asked); refine(iterations: 0) gives the network's own
    // waveform; copy synthesis takes copy_iterations.
    func testTheMelProjectionFollowsTheNetwork() {
        let (model, mel, frames) = tinyVocoder { $0.melProjection = MelProjectionSettings(iterations: 2, copyIterations: 5) }
        let vocoder = NeuralVocoder(model: model)
        let network = model.synthesize(logMel: mel, frames: frames)
        let projected = MelProjection(settings: MelProjectionSettings(iterations: 2)).apply(network, logMel: mel)
        XCTAssertNotEqual(projected, network)
        XCTAssertEqual(vocoder.waveform(logMel: mel, frames: frames), projected)
        vocoder.useForCopySynthesis()
        XCTAssertEqual(vocoder.melProjection?.settings.iterations, 5)
        vocoder.refine(iterations: 0)
        XCTAssertNil(vocoder.melProjection)
        XCTAssertEqual(vocoder.waveform(logMel: mel, frames: frames), network)
        var hostile = model.config; hostile.melProjection?.iterations = 100
        XCTAssertEqual(hostile.validate(), ["mel_projection.iterations must be in 0...64, got 100"])
        // An n_fft under 4 once trapped in the source phase's lifter range (1...n_fft/2 − 1): now the
        // n_fft message alone.
        for n in [-1, 0, 2, 3] {
            var tiny = model.config; tiny.nFFT = n; tiny.sourcePhase = SourcePhaseSettings()
            XCTAssertEqual(tiny.validate().count, 1, "\(n): \(tiny.validate())")
            XCTAssertTrue(tiny.validate()[0].hasPrefix("n_fft must be a power of two"), "\(tiny.validate())")
        }
    }

    func testChunkedSynthesisEqualsWhole() {
        let (model, mel, frames) = tinyVocoder { _ in }
        let whole = model.synthesize(logMel: mel, frames: frames, chunk: 100_000)
        let chunked = model.synthesize(logMel: mel, frames: frames, chunk: 37)
        XCTAssertEqual(whole.count, (frames - 1) * 256)
        var worst: Float = 0
        for i in 0..<whole.count { worst = max(worst, Swift.abs(whole[i] - chunked[i])) }
        XCTAssertLessThan(worst, 1e-4, "chunks differ from the whole by \(worst)")
    }

    // Expected: copy synthesis as `gen vocode` runs it (the network's phase, then the config's
    // copy_iterations of the mel projection) clearly better than Griffin-Lim (32 iterations) on the same
    // flite utterance by both the log-mel L1 and the spectral convergence, and the network alone within
    // the bounds it was held to before the projection. Where the numbers come from: on the 120 held-out
    // corpus utterances (models/vocoder/MODEL_CARD.md) log-mel 0.70 dB and spectral convergence 0.102
    // against Griffin-Lim's 1.26 dB and 0.207 (the network alone 1.83 dB and 0.202); on this utterance,
    // measured when written, log-mel L1 0.039 against Griffin-Lim's 0.102 (network alone 0.201) and
    // convergence 0.145 against 0.221 (0.243). The bounds ask for three quarters of Griffin-Lim's on both.
    func testShippedVocoderAgainstGriffinLim() throws {
        let vocoder = try NeuralVocoder(modelDir: Self.modelsDir + "/vocoder")
        vocoder.useForCopySynthesis()
        XCTAssertEqual(vocoder.melProjection?.settings.iterations, 32, "the shipped config's copy_iterations")
        let audio = Self.teacher
        let fb = MelFilterbank(config: .standard), stft = STFT(config: MelConfig.standard.stft)
        func scores(_ v: Vocoder) -> (mel: Float, sc: Float) {
            let y = CopySynthesis.resynthesize(audio, vocoder: v)
            let a = fb.logMel(audio: y), b = fb.logMel(audio: audio)
            let mel = zip(a, b).reduce(Float(0)) { $0 + Swift.abs($1.0 - $1.1) } / Float(a.count)
            return (mel, spectralConvergence(target: stft.magnitude(audio), estimate: stft.magnitude(y)))
        }
        let neural = scores(vocoder), gl = scores(GriffinLimVocoder(iterations: 32))
        XCTAssertLessThan(neural.mel, 0.75 * gl.mel, "log-mel L1: neural \(neural.mel), Griffin-Lim \(gl.mel)")
        XCTAssertLessThan(neural.sc, 0.75 * gl.sc, "spectral convergence: neural \(neural.sc), Griffin-Lim \(gl.sc)")
        vocoder.refine(iterations: 0)
        let network = scores(vocoder)
        XCTAssertLessThan(network.mel, 3 * gl.mel, "log-mel L1: network alone \(network.mel), Griffin-Lim \(gl.mel)")
        XCTAssertLessThan(network.sc, 1.5 * gl.sc, "spectral convergence: network alone \(network.sc), Griffin-Lim \(gl.sc)")
        XCTAssertLessThan(neural.mel, network.mel)
        XCTAssertLessThan(neural.sc, network.sc)
    }

    // The shipped vocoder's products in bfloat16 (where the CPU has AVX512-BF16) against float
    // (`--float32`), copy synthesis of the flite utterance: the waveforms differ (the path is taken)
    // but their log-mels stay close. Where the bound comes from: over the 120 held-out utterances
    // (models/vocoder/MODEL_CARD.md, "Products in bfloat16") the two outputs are 0.105 dB apart in
    // codec_eval.py's log-mel, against 0.70 dB from float to the original (a ratio of 0.15); on this
    // utterance, measured when written, 0.0096 against 0.039 in natural-log mel L1 (0.25). The bound
    // asks for under 0.4 of the float-to-original distance measured here.
    func testShippedVocoderInBFloat16StaysCloseToFloat() throws {
        try XCTSkipUnless(BF16Products.available, "this CPU has no AVX512-BF16: the vocoder runs in float")
        defer { BF16Products.setEnabled(true) }
        let vocoder = try NeuralVocoder(modelDir: Self.modelsDir + "/vocoder")
        vocoder.useForCopySynthesis()
        let audio = Self.teacher
        let fb = MelFilterbank(config: .standard)
        func distance(_ x: [Float], _ y: [Float]) -> Float {
            let a = fb.logMel(audio: x), b = fb.logMel(audio: y)
            return zip(a, b).reduce(Float(0)) { $0 + Swift.abs($1.0 - $1.1) } / Float(a.count)
        }
        let bf16 = CopySynthesis.resynthesize(audio, vocoder: vocoder)
        BF16Products.setEnabled(false)
        let float = CopySynthesis.resynthesize(audio, vocoder: vocoder)
        XCTAssertEqual(bf16.count, float.count)
        XCTAssertNotEqual(bf16, float, "the bfloat16 path was not taken")
        let apart = distance(bf16, float), toOriginal = distance(float, audio)
        XCTAssertLessThan(apart, 0.4 * toOriginal, "bfloat16 vs float \(apart), float vs original \(toOriginal)")
    }

    // `gen speech` loads the shipped speech model and vocoder borrowing their large weights from the
    // mapped files (`ModelFolder.load(borrow:)`). Expected: those weights are borrowed, a sentence
    // spoken through them copies none of them (`Tensor.borrowedCopies` unchanged: every product reads
    // them in place), and the samples equal, bit for bit, those of the same models loaded by copying.
    func testBorrowedWeightsSpeakTheSameSamplesWithoutCopies() throws {
        let speechDir = Self.modelsDir + "/speech", vocoderDir = Self.modelsDir + "/vocoder"
        let synth = try SpeechSynthesizer(modelDir: speechDir)
        let vocoder = try NeuralVocoder(modelDir: vocoderDir)
        XCTAssertTrue(synth.model.params.tensors.contains(where: \.isBorrowed), "FastSpeech borrows its large weights")
        XCTAssertTrue(vocoder.model.params.tensors.contains(where: \.isBorrowed), "the vocoder borrows its large weights")
        let copies = Tensor.borrowedCopies
        let borrowed = try SpeechSynthesizer(model: synth.model, vocoder: vocoder).speak("Seven small boats sailed home.", voice: "rms")
        XCTAssertEqual(Tensor.borrowedCopies, copies, "a sentence copied borrowed weights")

        let copiedSpeech = try ModelFolder.load(speechDir, config: FastSpeechConfig.self, missing: SpeechModelError.missingModel(speechDir),
                                                validate: { $0.validate() }, build: { FastSpeech(config: $0, randomInit: false) }, params: \.params)
        let copiedVocoder = try ModelFolder.load(vocoderDir, config: VocoderConfig.self, missing: VocoderModelError.missingModel(vocoderDir),
                                                 validate: { $0.validate() }, build: { VocoderModel(config: $0, randomInit: false) }, params: \.params)
        XCTAssertFalse(copiedSpeech.params.tensors.contains(where: \.isBorrowed))
        copiedVocoder.params.freezeForInference()
        let own = NeuralVocoder(model: copiedVocoder)
        let copied = try SpeechSynthesizer(model: copiedSpeech, vocoder: own).speak("Seven small boats sailed home.", voice: "rms")
        XCTAssertGreaterThan(borrowed.count, 22050 / 2)
        XCTAssertEqual(borrowed, copied, "borrowed and copied weights speak different samples")
    }

    // A text of several sentences is made two sentences at a time, one per core (`madeInOrder`), where
    // BLAS runs in the caller's thread, as in `gen speech`. Expected: the same samples, bit for bit, as
    // the sentences made one after another on one thread, in the same order with the same gaps; and
    // an error from the sink at the second sentence is the one thrown, with nothing after it delivered.
    func testSentencesMadeSideBySideSpeakTheSameSamples() throws {
        let synth = try SpeechSynthesizer(modelDir: Self.modelsDir + "/speech")
        synth.vocoder = try NeuralVocoder(modelDir: Self.modelsDir + "/vocoder")
        let text = "Seven small boats sailed home. The harbour lights were low! Where had the gulls gone? Nobody knew."
        let budget = ThreadBudget.count
        defer { Threads.set(budget) }
        Threads.set(1)   // BLAS in the caller's thread, and one sentence at a time
        XCTAssertEqual(SpeechSynthesizer.lanes(sentences: 4), 1)
        var sequentialChunks = 0
        var sequential: [Float] = []
        try synth.speak(text, voice: "awb") { sequential += $0; sequentialChunks += 1 }
        ThreadBudget.count = 2   // BLAS still in the caller's thread: two sentences at a time
        XCTAssertEqual(SpeechSynthesizer.lanes(sentences: 4), 2)
        XCTAssertEqual(SpeechSynthesizer.lanes(sentences: 1), 1)
        var sideBySide: [Float] = [], sideBySideChunks = 0
        try synth.speak(text, voice: "awb") { sideBySide += $0; sideBySideChunks += 1 }
        XCTAssertEqual(sequentialChunks, 7, "four sentences and three gaps")
        XCTAssertEqual(sideBySideChunks, sequentialChunks)
        XCTAssertGreaterThan(sequential.count, 4 * 22050)
        XCTAssertEqual(sideBySide, sequential, "sentences made side by side speak different samples")

        struct Full: Error {}
        var delivered = 0
        XCTAssertThrowsError(try synth.speak(text, voice: "awb") { _ in
            delivered += 1
            if delivered == 3 { throw Full() }   // sentence, gap, then the second sentence
        }) { XCTAssertTrue($0 is Full, "\($0)") }
        XCTAssertEqual(delivered, 3)
    }

    // `prepare` (what `gen speech` runs on its loading thread) only does ahead what the first
    // waveform would do: a vocoder prepared first gives the same samples, bit for bit, as one that
    // was not, on a flite utterance's mel (in bfloat16 where the CPU has it, the path whose packed
    // weights it makes).
    func testPreparingChangesNoSample() throws {
        let mel = MelFilterbank(config: .standard).logMel(audio: Self.teacher), frames = mel.count / 80
        let plain = try NeuralVocoder(modelDir: Self.modelsDir + "/vocoder")
        let prepared = try NeuralVocoder(modelDir: Self.modelsDir + "/vocoder")
        prepared.prepare()
        XCTAssertEqual(prepared.waveform(logMel: mel, frames: frames), plain.waveform(logMel: mel, frames: frames))
    }

    // Expected: the shipped config gives every voice the source-filter phase, and from its
    // harmonic_min_f0_hz (150) up only in the harmonics that stand harmonic_db over their valleys:
    // rms (median f0 about 100 Hz) gets the plain source phase, sample for sample what the settings
    // without the mask give, and slt (about 172 Hz) the masked one, which differs both from the
    // network's waveform and from the unmasked source phase (models/vocoder/MODEL_CARD.md: the mask
    // keeps slt's DNSMOS gain without its cost in PocketSphinx's WER). The medians are YIN's on the
    // flite teachers' own audio through the network.
    func testShippedSourcePhaseFollowsTheVoicesPitch() throws {
        let vocoder = try NeuralVocoder(modelDir: Self.modelsDir + "/vocoder")
        let settings = try XCTUnwrap(vocoder.model.config.sourcePhase, "the shipped config has a source phase")
        let from = try XCTUnwrap(settings.harmonicMinF0Hz, "the shipped config masks the source phase of high voices")
        XCTAssertNotNil(settings.harmonicDB)
        var unmasked = settings; unmasked.harmonicDB = nil
        let fb = MelFilterbank(config: .standard)
        for (voice, masked) in [("rms", false), ("slt", true)] {
            let audio = try SpeechFeatures.teacher("Seven small boats sailed home at dawn.", voice: voice).audio
            let mel = fb.logMel(audio: audio), frames = mel.count / 80
            // The source phase acts on the network's output after the mel projection.
            let synthesized = vocoder.model.synthesize(logMel: mel, frames: frames)
            let network = vocoder.melProjection.map { $0.apply(synthesized, logMel: mel) } ?? synthesized
            let median = SourcePhase.medianF0(network, sampleRate: 22050, hop: 256, settings: settings) ?? 0
            XCTAssertEqual(median >= from, masked, "\(voice): median f0 \(median) Hz against the mask's \(from)")
            let out = vocoder.waveform(logMel: mel, frames: frames)
            let plain = SourcePhase.apply(network, sampleRate: 22050, hop: 256, fixed: nil, settings: unmasked)   // frame_periods: no fixed STFT
            XCTAssertEqual(out.count, network.count)
            XCTAssertNotEqual(out, network, "\(voice): the source phase is applied")
            XCTAssertEqual(out == plain, !masked, "\(voice): masked = \(out != plain)")
        }
    }

    func testCorruptVocoderConfigIsAClearError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("voc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = VocoderConfig(); c.blocks = 1_000_000_000
        try ConfigFile.write(c, to: dir + "/config.json")
        try Data([0]).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        XCTAssertThrowsError(try NeuralVocoder(modelDir: dir)) { e in
            XCTAssertTrue("\(e)".contains("blocks"), "\(e)")
        }
    }
}
