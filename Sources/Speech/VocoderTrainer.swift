// VocoderTrainer.swift — `gen train vocoder`: the Vocos-style vocoder learns the teacher audio of
// the speech corpus from its mels (all voices at once), with AdamW, warm-up + cosine, gradient
// clipping, a JSONL log, held-out evaluation, checkpoints and --resume. With a FastSpeech model it
// fine-tunes on that model's own mels (the corpus's durations, so they line up with the audio), as
// HiFi-GAN does, so it fits what `gen speech` feeds it, half of its batches still from the
// teacher's mels so copy synthesis (`gen vocode`) stays as good.
//
// Loss = mel L1 + multi-resolution STFT (spectral convergence + log magnitude, n_fft 512/1024/2048)
//        + phaseWeight · (instantaneous phase + group delay + instantaneous frequency), the last
//        three on the head's phases against the teacher's (APNet's anti-wrapping losses)
//        + adversarialWeight · (LSGAN generator loss + 2 · feature matching) when a discriminator
//        phase runs (HiFi-GAN's multi-period and a multi-resolution discriminator, NN/Discriminators.swift),
//        which trains the discriminators in turn with their own optimizer.
import DSP
import Engine
import Foundation
import NN

public struct VocoderTrainOptions: TrainingRunSettings {
    public var dataDir: String
    public var outDir: String
    public static var defaultRun: TrainingRun { TrainingRun(learningRate: 5e-4, warmup: 200, evalEvery: 250, saveEvery: 250) }
    public var run = defaultRun
    /// Segments per batch and mel frames per segment (48 frames: 0.56 s).
    public var batchSize = 16
    public var segmentFrames = 48
    /// Weight of the three phase losses (0 turns them off).
    public var phaseWeight: Float = 0.3
    /// Weight of an L1 loss between the head's log-magnitudes and the teacher's own STFT
    /// log-magnitudes at the head's framing (APNet's amplitude loss; 0 turns it off): magnitude
    /// supervised directly, not only through the waveform, where phase errors blur it.
    public var magnitudeWeight: Float = 0
    /// The discriminator phase (`--adversarial-weight` above 0; AdversarialRun.swift). Its
    /// discriminators cost several times the generator per segment on 2 cores, so they read a few.
    public var adversarial = AdversarialSettings()
    /// Held-out utterances scored at each evaluation.
    public var evalUtterances = 40
    /// Architecture of a new run (ignored on --resume, which reads the folder's config.json).
    public var model = VocoderConfig()
    /// A FastSpeech model folder: train on its mels instead of the teacher's (fine-tuning).
    public var acousticModel: String? = nil
    /// Start from these weights (a folder with config.json and model.safetensors) instead of at random.
    public var initFrom: String? = nil
    /// The head to train (with `initFrom`, an absolute head's weights seed an integrated one).
    public var phaseHead: PhaseHead? = nil

    public init(dataDir: String, outDir: String) { self.dataDir = dataDir; self.outDir = outDir }

    public func problems() -> [String] {
        var p = run.problems()
        p += rangeProblem("--batch-size", batchSize, 1...256) + rangeProblem("--segment-frames", segmentFrames, 8...2048)
        p += rangeProblem("--width", model.width, 8...1024) + rangeProblem("--blocks", model.blocks, 1...32)
        p += rangeProblem("--phase-weight", phaseWeight, 0...100) + rangeProblem("--magnitude-weight", magnitudeWeight, 0...100)
        p += adversarial.problems()
        return p
    }
}

/// The losses of one batch.
public struct VocoderLosses {
    public var total: Tensor
    public var mel: Float, convergence: Float, logMagnitude: Float
    public var phase: (instantaneous: Float, groupDelay: Float, frequency: Float)
    /// The head's log-magnitude L1 against the teacher's (0 when its weight is 0).
    public var headMagnitude: Float = 0
    /// The output waveform (B, 1, (S − 1)·hop) and the teacher audio it is compared with, for a
    /// discriminator phase.
    public var waveform: Tensor, target: Tensor
}

public enum VocoderTrainer {
    static let lossBases = [512, 1024, 2048].map { STFTBasis(nFFT: $0) }
    /// ln(max(mel, 1e-5)) of x (B, 1, L), differentiable.
    static let logMel = DifferentiableLogMel()

    /// Losses of log-mel `mel` (B, S, M) against `target` (B, 1, (S − 1)·hop + N): the teacher audio
    /// with N/2 samples of context each side, so its STFT frames are exactly the mel's frames.
    public static func losses(_ model: VocoderModel, mel: Tensor, target: Tensor, phaseWeight: Float,
                              magnitudeWeight: Float = 0) -> VocoderLosses {
        let c = model.config, half = c.nFFT / 2
        let length = (mel.shape[1] - 1) * c.hop
        let core = GradMode.withoutGrad { slice(target, axis: 2, half..<(half + length)) }
        let h = model.net.magnitudePhase(head: model.head(mel))   // (B, S, 2F): log-magnitudes, phases
        let y = model.net.waveform(magnitudePhase: h)
        let melLoss = l1Loss(logMel(y), GradMode.withoutGrad { logMel(core) })
        let stft = multiResolutionSTFTLoss(y, core, bases: lossBases)
        var total = melLoss + stft.convergence + stft.logMagnitude
        var phase: (Float, Float, Float) = (0, 0, 0)
        var headMagnitude: Float = 0
        let f = c.nFFT / 2 + 1
        let spec: Tensor? = phaseWeight > 0 || magnitudeWeight > 0
            ? GradMode.withoutGrad { stftComplex(target, basis: model.basis) } : nil   // (B, S, 2F)
        if magnitudeWeight > 0, let spec {
            let rows = spec.count / (2 * f)
            var logMag = [Float](repeating: 0, count: rows * f)
            for r in 0..<rows { for k in 0..<f {
                let re = spec.data[r * 2 * f + k], im = spec.data[r * 2 * f + f + k]
                logMag[r * f + k] = Foundation.log(max((re * re + im * im).squareRoot(), MelFilterbank.logFloor))
            } }
            let predicted = clampMin(slice(h, axis: 2, 0..<f), Foundation.log(MelFilterbank.logFloor))
            let m = l1Loss(predicted, Tensor(shape: [spec.shape[0], spec.shape[1], f], data: logMag))
            total = total + m * magnitudeWeight
            headMagnitude = m.item
        }
        if phaseWeight > 0, let spec {
            let (sum, p) = model.net.phaseLoss(magnitudePhase: h, target: spec)
            total = total + sum * phaseWeight
            phase = (p.instantaneous.item, p.groupDelay.item, p.frequency.item)
        }
        return VocoderLosses(total: total, mel: melLoss.item, convergence: stft.convergence.item,
                             logMagnitude: stft.logMagnitude.item, phase: phase, headMagnitude: headMagnitude,
                             waveform: y, target: core)
    }

    /// One utterance's material: the mel the vocoder is fed and the teacher audio.
    struct Clip { var mel: [Float]; var frames: Int; var audio: [Float] }

    /// A batch of random segments: mel (B, S, M) and target audio (B, 1, (S − 1)·hop + N).
    static func batch(_ clips: [Clip], segment s: Int, size: Int, config c: VocoderConfig, rng: inout RNG) -> (Tensor, Tensor) {
        let m = c.nMels, hop = c.hop, half = c.nFFT / 2
        let span = (s - 1) * hop + c.nFFT
        var mel = [Float](repeating: 0, count: size * s * m), audio = [Float](repeating: 0, count: size * span)
        for i in 0..<size {
            let clip = clips[Int(rng.next() % UInt64(clips.count))]
            let start = Int(rng.next() % UInt64(max(clip.frames - s + 1, 1)))
            for f in 0..<min(s, clip.frames - start) {
                for k in 0..<m { mel[(i * s + f) * m + k] = clip.mel[(start + f) * m + k] }
            }
            let origin = start * hop - half
            for j in 0..<span {
                let t = origin + j
                if t >= 0 && t < clip.audio.count { audio[i * span + j] = clip.audio[t] }
            }
        }
        return (Tensor(shape: [size, s, m], data: mel), Tensor(shape: [size, 1, span], data: audio))
    }

    /// Scores of whole held-out utterances: mean log-mel L1 (natural log) and spectral convergence
    /// of the 1024/256 STFT magnitude, the vocoder's output against the teacher audio.
    public static func evaluate(_ model: VocoderModel, clips: [(mel: [Float], frames: Int, audio: [Float])]) -> (melL1: Float, convergence: Float) {
        let fb = MelFilterbank(config: .standard), stft = STFT(config: MelConfig.standard.stft)
        var mel: Float = 0, sc: Float = 0
        for clip in clips {
            let y = model.synthesize(logMel: clip.mel, frames: clip.frames)
            let ref = Array(clip.audio.prefix(y.count)) + [Float](repeating: 0, count: max(0, y.count - clip.audio.count))
            let a = fb.logMel(audio: y), b = fb.logMel(audio: ref)
            mel += zip(a, b).reduce(Float(0)) { $0 + Swift.abs($1.0 - $1.1) } / Float(max(a.count, 1))
            sc += spectralConvergence(target: stft.magnitude(ref), estimate: stft.magnitude(y))
        }
        let n = Float(max(clips.count, 1))
        return (mel / n, sc / n)
    }

    static func clips(_ utts: [SpeechUtterance], acoustic: FastSpeech?) -> [Clip] {
        utts.compactMap { u in
            guard let audio = u.audio else { return nil }
            let mel = acoustic.map { alignedMel($0, u) } ?? u.mel
            return Clip(mel: mel, frames: u.frames, audio: audio)
        }
    }

    /// The acoustic model's mel for `u` with the corpus's durations (so it lines up with the teacher
    /// audio) and its own predicted pitch and energy, through its postfilter, as at synthesis time.
    static func alignedMel(_ model: FastSpeech, _ u: SpeechUtterance) -> [Float] {
        let spk = model.config.speakers.firstIndex(of: u.voice) ?? 0
        var mel = model.synthesize(tokens: u.tokens, speaker: spk, durations: u.durations).mel
        model.config.postfilter?.apply(&mel, frames: u.frames, nMels: model.config.nMels, voice: u.voice)
        return mel
    }

    public static func train(_ o: VocoderTrainOptions) throws {
        try o.check()
        let (trainUtts, valUtts) = try SpeechCorpusIO.load(o.dataDir, withAudio: true)
        guard !trainUtts.isEmpty else {
            throw CheckpointError(path: o.dataDir, message: "the corpus has no training utterances; build it with `gen dataset speech`.")
        }
        let acoustic: FastSpeech? = try o.acousticModel.map { try SpeechSynthesizer(modelDir: $0).model }
        let folder = try TrainingFolder(o.outDir)
        var config = o.model
        if o.resume, FileManager.default.fileExists(atPath: folder.config) {
            config = try ConfigFile.read(VocoderConfig.self, from: folder.config)
        } else if let initFrom = o.initFrom {
            config = try ConfigFile.read(VocoderConfig.self, from: initFrom + "/config.json")
        }
        var initial: SafeTensorsFile? = nil
        if let initFrom = o.initFrom, !o.resume {
            initial = try ISTFTDecoder.initialWeights(from: initFrom, phaseHead: &config.phaseHead, requested: o.phaseHead,
                                                      prefix: "", nFFT: config.nFFT)
        } else if !o.resume, let head = o.phaseHead {
            config.phaseHead = head
        }
        let problems = config.validate()
        guard problems.isEmpty else { throw CheckpointError(path: folder.config, message: problems.joined(separator: "; ")) }
        let model = VocoderModel(config: config, seed: o.seed)
        if let file = initial, let initFrom = o.initFrom { try model.params.load(file, path: initFrom + "/model.safetensors") }
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: o.learningRate, beta1: 0.8, beta2: 0.99, eps: 1e-8, weightDecay: 0.01))
        var step = 0
        if o.resume { step = try folder.resume(model.params, opt, log: o.log).step }
        // Fine-tuning keeps the teacher's mels beside the model's (same audio): the one vocoder serves
        // `gen speech` (the model's mels) and `gen vocode` (mels of real audio) alike.
        let train = (clips(trainUtts, acoustic: acoustic) + (acoustic == nil ? [] : clips(trainUtts, acoustic: nil)))
            .filter { $0.frames >= o.segmentFrames }
        let val = clips(Array(valUtts.prefix(o.evalUtterances)), acoustic: acoustic).map { ($0.mel, $0.frames, $0.audio) }
        guard !train.isEmpty else {
            throw CheckpointError(path: o.dataDir, message: "no utterance carries its audio (or all are shorter than \(o.segmentFrames) frames); "
                                  + "rebuild the corpus with `gen dataset speech`, which now keeps it.")
        }
        let hours = Double(train.reduce(0) { $0 + $1.audio.count }) / Double(config.sampleRate) / 3600
        o.log(String(format: "vocoder: %d train clips (%.2f h) / %d held-out, %d parameters, mels from %@",
                     train.count, hours, val.count, model.params.parameterCount, o.acousticModel ?? "the teacher"))

        // The discriminator phase: its own weights and optimizer, saved beside the generator's.
        let gan = try AdversarialRun.start(o.adversarial, folder: folder, seed: o.seed, generator: "vocoder", resume: o.resume, step: step, log: o.log)

        func save() throws {
            try ConfigFile.write(config, to: folder.config)
            try model.params.save(to: folder.weights, metadata: ["step": String(step), "model": "vocos"])
            try opt.stateFile(step: step).write(to: folder.state)
            try gan?.save(step: step)
        }
        let schedule = LRSchedule(peak: o.learningRate, warmupSteps: o.warmup, totalSteps: o.steps, minRatio: 0.05)
        var rng = RNG.derive(seed: o.seed, index: UInt64(step))
        let start = Date()
        let log = try TrainingLog(path: folder.log, echo: o.log)
        var window = [Float](repeating: 0, count: 11), count = 0
        func heldOut(final: Bool) {
            guard !val.isEmpty else { return }
            let e = VocoderTrainer.evaluate(model, clips: val)
            log.emit(String(format: "{\"step\":%d,\"val_mel_l1\":%.4f,\"val_spectral_convergence\":%.4f%@}",
                            step, e.melL1, e.convergence, final ? ",\"final\":true" : ""))
        }
        while step < o.steps {
            if let why = TrainingInterrupt.stopReason(started: start, maxMinutes: o.maxMinutes) { o.log(why); break }
            let (mel, target) = batch(train, segment: o.segmentFrames, size: o.batchSize, config: config, rng: &rng)
            let l = losses(model, mel: mel, target: target, phaseWeight: o.phaseWeight, magnitudeWeight: o.magnitudeWeight)
            var total = l.total
            var adversarial = (discriminator: Float(0), generator: Float(0), featureMatching: Float(0))
            if let gan {
                let a = gan.step(o.adversarial, real: l.target, generated: l.waveform, scheduleFraction: schedule.rate(at: step) / o.learningRate)
                total = total + a.loss * o.adversarial.weight
                adversarial = (a.discriminator, a.generator, a.featureMatching)
            }
            model.params.zeroGrad()
            if let gan { gan.backward(total) } else { total.backward() }
            let norm = clipGradNorm(model.params, maxNorm: 1)
            opt.update(lr: schedule.rate(at: step))
            step += 1
            for (i, v) in [total.item, l.mel, l.convergence, l.logMagnitude, l.phase.0, l.phase.1, l.phase.2, l.headMagnitude,
                           adversarial.discriminator, adversarial.generator, adversarial.featureMatching].enumerated() { window[i] += v }
            count += 1
            if step % o.logEvery == 0 {
                let k = Float(count)
                let gan = gan == nil ? "" : String(format: ",\"d_loss\":%.4f,\"g_adv\":%.4f,\"fm\":%.4f", window[8] / k, window[9] / k, window[10] / k)
                log.emit(String(format: "{\"step\":%d,\"loss\":%.4f,\"mel_l1\":%.4f,\"sc\":%.4f,\"log_mag\":%.4f,\"ip\":%.4f,\"gd\":%.4f,\"iaf\":%.4f,\"head_mag\":%.4f%@,\"grad_norm\":%.3f,\"lr\":%.2e,\"elapsed_s\":%.0f}",
                                step, window[0] / k, window[1] / k, window[2] / k, window[3] / k, window[4] / k, window[5] / k,
                                window[6] / k, window[7] / k, gan, norm, schedule.rate(at: step), Date().timeIntervalSince(start)))
                window = [Float](repeating: 0, count: window.count); count = 0
            }
            if step % o.evalEvery == 0 { heldOut(final: false) }
            if step % o.saveEvery == 0 { try save() }
        }
        try save()
        if TrainingInterrupt.signal == nil { heldOut(final: true) }   // an interrupted run ends at its checkpoint
    }
}
