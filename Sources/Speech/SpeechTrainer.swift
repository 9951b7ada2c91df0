// SpeechTrainer.swift — `gen train speech`: teacher-forced FastSpeech 2 training with AdamW,
// warm-up + cosine schedule, gradient clipping, a JSONL loss log, held-out mel L1, periodic
// checkpoints and --resume. Batches group utterances of similar length to waste little padding.
import Engine
import Foundation

public struct SpeechTrainOptions: TrainingRunSettings {
    public var dataDir: String
    public var outDir: String
    public static var defaultRun: TrainingRun { TrainingRun(learningRate: 1e-3, warmup: 400, evalEvery: 250, saveEvery: 250) }
    public var run = defaultRun
    public var framesPerBatch = 6000
    public var model: FastSpeechConfig? = nil   // architecture overrides; vocab/speakers/stats come from the data

    public init(dataDir: String, outDir: String) { self.dataDir = dataDir; self.outDir = outDir }

    public func problems() -> [String] {
        var p = run.problems()
        // Upper bounds too, so a hostile number is refused before anything is sized by it.
        p += rangeProblem("--batch-frames", framesPerBatch, 100...100_000)
        if let m = model {
            if m.dModel < 2 || m.dModel > 2048 || m.dModel % 2 != 0 {
                p.append("--d-model must be an even number in 2...2048 (2 attention heads), got \(m.dModel)")
            }
            for layers in Set([m.encoderLayers, m.decoderLayers]).sorted() { p += rangeProblem("--layers", layers, 1...64) }   // one message a value
            p += rangeProblem("--ffn-dim", m.ffnDim, 1...16_384)
        }
        return p
    }
}

/// Normalisation statistics measured on the training split.
struct SpeechStats {
    var pitchMean: [Float], pitchStd: [Float], energyMean: Float, energyStd: Float

    init(_ utts: [SpeechUtterance], voices: [String]) {
        pitchMean = []; pitchStd = []
        for v in voices {
            let p = utts.filter { $0.voice == v }.flatMap(\.pitch).filter { $0 > 0 }.map(Double.init)
            let m = p.isEmpty ? 5 : p.reduce(0, +) / Double(p.count)
            let s = p.isEmpty ? 1 : (p.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(p.count)).squareRoot()
            pitchMean.append(Float(m)); pitchStd.append(Float(max(s, 1e-3)))
        }
        let e = utts.flatMap(\.energy).map(Double.init)
        let m = e.reduce(0, +) / Double(max(e.count, 1))
        energyMean = Float(m)
        energyStd = Float(max((e.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(e.count, 1))).squareRoot(), 1e-3))
    }
}

public enum SpeechTrainer {
    /// Pads a group of utterances into one teacher-forcing batch (pitch and energy z-scored).
    public static func batch(_ utts: [SpeechUtterance], config c: FastSpeechConfig) -> FastSpeechBatch {
        let b = utts.count
        let n = utts.map(\.tokens.count).max() ?? 0, t = utts.map(\.frames).max() ?? 0
        var tokens = [Int](repeating: 0, count: b * n), mask = [Bool](repeating: false, count: b * n)
        var durations = [Int](repeating: 0, count: b * n)
        var pitch = [Float](repeating: 0, count: b * n), energy = pitch
        var mel = [Float](repeating: 0, count: b * t * c.nMels), frameMask = [Bool](repeating: false, count: b * t)
        var speakers = [Int](repeating: 0, count: b)
        for (i, u) in utts.enumerated() {
            let spk = c.speakers.firstIndex(of: u.voice) ?? 0
            speakers[i] = spk
            for j in 0..<u.tokens.count {
                tokens[i * n + j] = u.tokens[j]; mask[i * n + j] = true; durations[i * n + j] = u.durations[j]
                pitch[i * n + j] = u.pitch[j] > 0 ? (u.pitch[j] - c.pitchMean[spk]) / c.pitchStd[spk] : 0
                energy[i * n + j] = (u.energy[j] - c.energyMean) / c.energyStd
            }
            for f in 0..<u.frames {
                frameMask[i * t + f] = true
                for m in 0..<c.nMels { mel[(i * t + f) * c.nMels + m] = u.mel[f * c.nMels + m] }
            }
        }
        return FastSpeechBatch(tokens: tokens, speakers: speakers, phoneMask: mask, durations: durations, pitch: pitch,
                               energy: energy, mel: mel, frameMask: frameMask, batch: b, phones: n, frames: t)
    }

    /// Groups indices of length-sorted utterances so each batch holds about `frames` padded frames.
    static func buckets(_ utts: [SpeechUtterance], frames: Int) -> [[Int]] {
        let order = utts.indices.sorted { utts[$0].frames < utts[$1].frames }
        var out: [[Int]] = [], current: [Int] = []
        for i in order {
            let longest = max(current.map { utts[$0].frames }.max() ?? 0, utts[i].frames)
            if !current.isEmpty && longest * (current.count + 1) > frames { out.append(current); current = [] }
            current.append(i)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Mean held-out mel L1 (teacher-forced, no dropout).
    public static func validate(_ model: FastSpeech, _ val: [SpeechUtterance], frames: Int) -> Float {
        var total: Float = 0, count = 0
        var rng = RNG(seed: 0)
        for group in buckets(val, frames: frames) {
            let l = GradMode.withoutGrad { model.losses(batch(group.map { val[$0] }, config: model.config), training: false, rng: &rng) }
            total += l.mel * Float(group.count); count += group.count
        }
        return count > 0 ? total / Float(count) : .nan
    }

    public static func train(_ o: SpeechTrainOptions) throws {
        try o.check()
        let (train, val) = try SpeechCorpusIO.load(o.dataDir)
        guard !train.isEmpty else {
            throw CheckpointError(path: o.dataDir, message: "the corpus has no training utterances; build it with `gen dataset speech`.")
        }
        let folder = try TrainingFolder(o.outDir)

        var config: FastSpeechConfig
        if o.resume, FileManager.default.fileExists(atPath: folder.config) {
            config = try ConfigFile.read(FastSpeechConfig.self, from: folder.config)
        } else {
            // flite voices first in their usual order, then any imported speakers by name.
            let voices = Array(Set(train.map(\.voice))).sorted {
                (Flite.voiceNames.firstIndex(of: $0) ?? 99, $0) < (Flite.voiceNames.firstIndex(of: $1) ?? 99, $1)
            }
            let stats = SpeechStats(train, voices: voices)
            config = FastSpeechConfig(vocabSize: PhoneSet.standard.count, speakers: voices, pitchMean: stats.pitchMean,
                                      pitchStd: stats.pitchStd, energyMean: stats.energyMean, energyStd: stats.energyStd)
            if let m = o.model {
                config.dModel = m.dModel; config.heads = m.heads; config.encoderLayers = m.encoderLayers
                config.decoderLayers = m.decoderLayers; config.ffnDim = m.ffnDim; config.ffnKernels = m.ffnKernels
                config.predictorChannels = m.predictorChannels; config.predictorKernel = m.predictorKernel
                config.dropout = m.dropout
            }
        }
        let model = FastSpeech(config: config, seed: o.seed)
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: o.learningRate, beta1: 0.9, beta2: 0.98, eps: 1e-9, weightDecay: 0.01))
        var step = 0
        // A shipped model folder carries weights but no optimizer moments: Adam then restarts its
        // moments (and bias correction) from the weights, which costs a few hundred steps of warm-up.
        if o.resume { step = try folder.resume(model.params, opt, log: o.log).step }
        o.log("speech: \(train.count) train / \(val.count) held-out utterances, \(model.params.parameterCount) parameters, speakers \(config.speakers)")

        func save() throws {
            try ConfigFile.write(config, to: folder.config)
            try model.params.save(to: folder.weights, metadata: ["step": String(step), "model": "fastspeech2"])
            try opt.stateFile(step: step).write(to: folder.state)
        }

        let schedule = LRSchedule(peak: o.learningRate, warmupSteps: o.warmup, totalSteps: o.steps, minRatio: 0.05)
        let batches = buckets(train, frames: o.framesPerBatch)
        var rng = RNG.derive(seed: o.seed, index: UInt64(step))
        var order: [Int] = []
        let start = Date()
        let log = try TrainingLog(path: folder.log, echo: o.log)
        var window: (total: Float, mel: Float, dur: Float, pitch: Float, energy: Float, n: Int) = (0, 0, 0, 0, 0, 0)
        while step < o.steps {
            if let why = TrainingInterrupt.stopReason(started: start, maxMinutes: o.maxMinutes) { o.log(why); break }
            if order.isEmpty { order = Array(batches.indices); order.shuffle(using: &rng) }
            let group = batches[order.removeLast()].map { train[$0] }
            let losses = model.losses(batch(group, config: config), training: true, rng: &rng)
            model.params.zeroGrad()
            losses.total.backward()
            let norm = clipGradNorm(model.params, maxNorm: 1)
            opt.update(lr: schedule.rate(at: step))
            step += 1
            window.total += losses.total.item; window.mel += losses.mel; window.dur += losses.duration
            window.pitch += losses.pitch; window.energy += losses.energy; window.n += 1
            if step % o.logEvery == 0 {
                let k = Float(window.n)
                let line = String(format: "{\"step\":%d,\"loss\":%.4f,\"mel_l1\":%.4f,\"dur\":%.4f,\"pitch\":%.4f,\"energy\":%.4f,\"grad_norm\":%.3f,\"lr\":%.2e,\"elapsed_s\":%.0f}",
                                  step, window.total / k, window.mel / k, window.dur / k, window.pitch / k, window.energy / k, norm,
                                  schedule.rate(at: step), Date().timeIntervalSince(start))
                log.emit(line)
                window = (0, 0, 0, 0, 0, 0)
            }
            if step % o.evalEvery == 0 && !val.isEmpty {
                let v = validate(model, val, frames: o.framesPerBatch)
                let line = String(format: "{\"step\":%d,\"val_mel_l1\":%.4f}", step, v)
                log.emit(line)
            }
            if step % o.saveEvery == 0 { try save() }
        }
        try save()
        if !val.isEmpty && TrainingInterrupt.signal == nil {   // an interrupted run ends at its checkpoint
            let v = validate(model, val, frames: o.framesPerBatch)
            let line = String(format: "{\"step\":%d,\"val_mel_l1\":%.4f,\"final\":true}", step, v)
            log.emit(line)
        }
    }
}

