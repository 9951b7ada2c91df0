// CodecTrainer.swift — `gen train codec`: trains the VQ-VAE levels on random fixed-length windows
// of the training clips of a music corpus (DIR/metadata.jsonl + DIR/audio), with AdamW, warm-up +
// cosine schedule, gradient clipping, a JSONL log (loss terms, spectral convergence, codebook usage
// and perplexity per level), held-out evaluation on the val clips, checkpoints and --resume.
// As in Jukebox, the levels are independent VQ-VAEs; one step trains every selected level on the
// same batch (their losses add, their parameters do not overlap).
import Audio
import Engine
import Foundation

public struct CodecTrainOptions {
    public var dataDir: String
    public var outDir: String
    /// nil trains every level; otherwise only this one.
    public var level: Int? = nil
    public var steps = 20000
    public var maxMinutes: Double? = nil
    public var batchSize = 8
    public var windowSeconds: Double = 1.0
    public var learningRate: Float = 3e-4
    public var warmup = 500
    public var seed: UInt64 = 1
    public var logEvery = 20
    public var evalEvery = 500
    public var saveEvery = 500
    /// Held-out windows evaluated (the first of each val clip, then further ones in order).
    public var evalWindows = 32
    public var resume = false
    public var model = VQVAEConfig()
    public var log: (String) -> Void = { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }

    public init(dataDir: String, outDir: String) { self.dataDir = dataDir; self.outDir = outDir }
}

/// Held-out numbers for one level.
public struct CodecEval {
    public var waveformL1: Float, spectralConvergence: Float, logMagnitude: Float
    /// Distinct codes used over all held-out windows, as a fraction of the codebook.
    public var usage: Float
    public var perplexity: Float
}

public enum CodecTrainer {
    /// Clips of one split, read as 22050 Hz mono (downmixed and resampled when needed).
    public static func loadClips(_ dir: String, split: String, sampleRate: Int) throws -> [[Float]] {
        let lines = try MusicCorpus.loadMetadata(dir).filter { $0.split == split }
        return try lines.map { line in
            let path = line.file.hasPrefix("/") ? line.file : dir + "/" + line.file
            var audio = try AudioFile.read(path).mono()
            if audio.sampleRate != sampleRate { audio = try Resampler.resample(audio, to: sampleRate) }
            return audio.samples
        }
    }

    /// B random windows of `length` samples (zero-padded when a clip is shorter), clips picked in
    /// proportion to their length. → (B, 1, length)
    public static func randomBatch(_ clips: [[Float]], batch: Int, length: Int, rng: inout RNG) -> Tensor {
        let total = clips.reduce(0) { $0 + max($1.count, 1) }
        var data = [Float](repeating: 0, count: batch * length)
        for b in 0..<batch {
            var r = rng.int(below: max(total, 1)), c = 0
            while c < clips.count - 1 && r >= max(clips[c].count, 1) { r -= max(clips[c].count, 1); c += 1 }
            let clip = clips[c]
            let start = clip.count > length ? rng.int(below: clip.count - length + 1) : 0
            let n = min(length, clip.count - start)
            if n > 0 { data.replaceSubrange((b * length)..<(b * length + n), with: clip[start..<(start + n)]) }
        }
        return Tensor(shape: [batch, 1, length], data: data)
    }

    /// Fixed held-out windows: window k of every clip in turn, until `count` are taken.
    public static func evalWindows(_ clips: [[Float]], count: Int, length: Int) -> [[Float]] {
        var out: [[Float]] = []
        var k = 0
        while out.count < count {
            var added = false
            for clip in clips where out.count < count && k * length < clip.count {
                var w = [Float](repeating: 0, count: length)
                let n = min(length, clip.count - k * length)
                w.replaceSubrange(0..<n, with: clip[(k * length)..<(k * length + n)])
                out.append(w); added = true
            }
            if !added { break }
            k += 1
        }
        return out
    }

    /// Held-out metrics of one level (no codebook updates).
    public static func evaluate(_ model: VQVAE, level: Int, windows: [[Float]], batch: Int = 8) -> CodecEval {
        var rng = RNG(seed: 0)
        var wave: Double = 0, sc: Double = 0, lm: Double = 0, n = 0
        var counts = [Int](repeating: 0, count: model.levels[level].config.codebookSize)
        var start = 0
        while start < windows.count {
            let group = Array(windows[start..<min(windows.count, start + batch)])
            start += group.count
            let length = group[0].count
            let x = Tensor(shape: [group.count, 1, length], data: group.flatMap { $0 })
            let l = GradMode.withoutGrad { model.losses(x, level: level, training: false, rng: &rng) }
            wave += Double(l.waveform) * Double(group.count); sc += Double(l.spectralConvergence) * Double(group.count)
            lm += Double(l.logMagnitude) * Double(group.count); n += group.count
            for c in l.codes { counts[c] += 1 }
        }
        let rows = counts.reduce(0, +)
        var entropy: Double = 0
        for c in counts where c > 0 { let p = Double(c) / Double(rows); entropy -= p * Foundation.log(p) }
        let d = Double(max(n, 1))
        return CodecEval(waveformL1: Float(wave / d), spectralConvergence: Float(sc / d), logMagnitude: Float(lm / d),
                         usage: Float(counts.filter { $0 > 0 }.count) / Float(counts.count), perplexity: Float(Foundation.exp(entropy)))
    }

    public static func train(_ o: CodecTrainOptions) throws {
        let folder = try TrainingFolder(o.outDir)

        var config = o.model
        if o.resume, FileManager.default.fileExists(atPath: folder.config) { config = try ConfigFile.read(VQVAEConfig.self, from: folder.config) }
        let problems = config.validate()
        if !problems.isEmpty { throw CodecError("invalid codec config: " + problems.joined(separator: "; ")) }
        if let l = o.level, !config.levels.indices.contains(l) {
            throw CodecError("--level \(l) does not exist: the codec has levels 0…\(config.levels.count - 1).")
        }
        let trainLevels = o.level.map { [$0] } ?? Array(config.levels.indices)
        let maxHop = config.levels.map(\.hop).max()!
        let window = max(maxHop, Int(o.windowSeconds * Double(config.sampleRate)) / maxHop * maxHop)

        let train = try loadClips(o.dataDir, split: "train", sampleRate: config.sampleRate)
        guard !train.isEmpty else {
            throw CodecError("the corpus at '\(o.dataDir)' has no training clips; build one with `gen dataset music --out \(o.dataDir)`.")
        }
        let val = evalWindows(try loadClips(o.dataDir, split: "val", sampleRate: config.sampleRate), count: o.evalWindows, length: window)

        let model = VQVAE(config: config, seed: o.seed)
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: o.learningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.0))
        var step = 0
        if o.resume {
            let point = try folder.resumePoint()
            try model.loadWeights(point.weights, path: folder.weights)
            step = point.step
            if let state = point.state {
                try opt.restore(from: state, path: folder.state)
                for (i, lv) in model.levels.enumerated() {
                    let k = lv.config.codebookSize, d = lv.config.codeDim
                    guard let cs = state.tensors["levels.\(i).vq.cluster_size"], cs.shape == [k],
                          let es = state.tensors["levels.\(i).vq.embed_sum"], es.shape == [k, d] else {
                        throw CheckpointError(path: folder.state, message: "codebook EMA state of level \(i) is missing or mis-shaped; delete the file to resume from the weights alone.")
                    }
                    lv.quantizer.clusterSize = try cs.floats(); lv.quantizer.embedSum = try es.floats()
                }
            }
            o.log(folder.resumedMessage(point))
        }
        let seconds = Double(train.reduce(0) { $0 + $1.count }) / Double(config.sampleRate)
        o.log(String(format: "codec: %d train clips (%.1f min), %d held-out windows, %d parameters, levels %@ (hops %@), window %d samples × %d",
                     train.count, seconds / 60, val.count, model.params.parameterCount, trainLevels.description,
                     config.levels.map(\.hop).description, window, o.batchSize))

        func save() throws {
            try ConfigFile.write(config, to: folder.config)
            try model.weightsFile(metadata: ["step": String(step), "model": "vqvae", "model_id": model.modelID]).write(to: folder.weights)
            var state = opt.stateFile(step: step)
            for (i, lv) in model.levels.enumerated() {
                state.tensors["levels.\(i).vq.cluster_size"] = SafeTensor(floats: lv.quantizer.clusterSize, shape: [lv.config.codebookSize])
                state.tensors["levels.\(i).vq.embed_sum"] = SafeTensor(floats: lv.quantizer.embedSum, shape: [lv.config.codebookSize, lv.config.codeDim])
            }
            try state.write(to: folder.state)
        }

        let log = try TrainingLog(path: folder.log, echo: o.log)
        func emit(_ line: String) { log.emit(line) }

        func evaluateAll(final: Bool) {
            guard !val.isEmpty else { return }
            for l in trainLevels {
                let e = evaluate(model, level: l, windows: val)
                emit(String(format: "{\"step\":%d,\"level\":%d,\"val_wave_l1\":%.5f,\"val_spectral_convergence\":%.4f,\"val_log_mag_l1\":%.4f,\"val_codebook_usage\":%.3f,\"val_perplexity\":%.1f%@}",
                            step, l, e.waveformL1, e.spectralConvergence, e.logMagnitude, e.usage, e.perplexity, final ? ",\"final\":true" : ""))
            }
        }

        let schedule = LRSchedule(peak: o.learningRate, warmupSteps: o.warmup, totalSteps: o.steps, minRatio: 0.05)
        var rng = RNG.derive(seed: o.seed, index: UInt64(step))
        let start = Date()
        // Running sums per level over the log window: loss, wave, sc, logmag, commit, usage, perplexity.
        var sums = [[Double]](repeating: [Double](repeating: 0, count: 7), count: config.levels.count)
        var windowSteps = 0
        while step < o.steps {
            if let limit = o.maxMinutes, Date().timeIntervalSince(start) > limit * 60 { o.log("time budget reached"); break }
            let x = randomBatch(train, batch: o.batchSize, length: window, rng: &rng)
            model.params.zeroGrad()
            var total: Tensor? = nil
            for l in trainLevels {
                let losses = model.losses(x, level: l, training: true, rng: &rng)
                let t = losses.reconstruction + losses.commit * config.commitment
                total = total.map { $0 + t } ?? t
                let s = [Double(t.item), Double(losses.waveform), Double(losses.spectralConvergence), Double(losses.logMagnitude),
                         Double(losses.commit.item), Double(losses.usage) / Double(model.levels[l].config.codebookSize), Double(losses.perplexity)]
                for k in 0..<7 { sums[l][k] += s[k] }
            }
            total!.backward()
            let norm = clipGradNorm(model.params, maxNorm: 1)
            opt.update(lr: schedule.rate(at: step))
            step += 1; windowSteps += 1
            if step % o.logEvery == 0 {
                let k = Double(windowSteps)
                for l in trainLevels {
                    let s = sums[l].map { $0 / k }
                    emit(String(format: "{\"step\":%d,\"level\":%d,\"loss\":%.4f,\"wave_l1\":%.5f,\"spectral_convergence\":%.4f,\"log_mag_l1\":%.4f,\"commit\":%.5f,\"codebook_usage\":%.3f,\"perplexity\":%.1f,\"grad_norm\":%.3f,\"lr\":%.2e,\"elapsed_s\":%.0f}",
                                step, l, s[0], s[1], s[2], s[3], s[4], s[5], s[6], norm, schedule.rate(at: step), Date().timeIntervalSince(start)))
                }
                sums = sums.map { $0.map { _ in 0 } }; windowSteps = 0
            }
            if step % o.evalEvery == 0 { evaluateAll(final: false) }
            if step % o.saveEvery == 0 { try save() }
        }
        try save()
        evaluateAll(final: true)
    }
}

extension CodecTrainOptions: TrainingRunSettings {}
