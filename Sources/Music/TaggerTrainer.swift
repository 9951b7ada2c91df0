// TaggerTrainer.swift — `gen train tagger`: trains Tagger.swift on a music corpus's *original*
// clips (never on anything gen generated: the tagger is also the yardstick of `gen music`).
// Random crops of one window (9.85 s) of the clips' log-mel, with their genre, artist and
// whether lyrics are sung for at least 1 s of the crop; Patchout as options; AdamW, warm-up and
// cosine, gradient clipping; config.json + model.safetensors + train_state.safetensors every
// --save-every steps and --resume, as the other trainers; a JSONL log with examples per second
// (what Patchout buys) and held-out accuracy: per window, and per clip from the mean of its
// windows' probabilities, genre and vocals (windows with 0 or ≥ 3 s of singing, as gen-eval).
import Audio
import DSP
import Engine
import Foundation

public struct TaggerTrainOptions: TrainingRunSettings {
    /// Corpus folders: training crops come from every one's training clips; each one's held-out
    /// clips are scored on their own (and, with several, pooled).
    public var dataDirs: [String]
    public var outDir: String
    public static var defaultRun: TrainingRun { TrainingRun(steps: 3000, learningRate: 5e-4, warmup: 200, evalEvery: 250, saveEvery: 250) }
    public var run = defaultRun
    public var batchSize = 16
    public var weightDecay: Float = 0.05
    /// Patchout: probability of dropping each time column, each frequency row, each single patch.
    public var patchoutTime: Float = 0.3
    public var patchoutFreq: Float = 0.2
    public var patchoutRandom: Float = 0
    /// Mixup's α: each window blended with another of its batch by λ ~ Beta(α, α) (λ kept ≥ ½, as
    /// PaSST does), labels alike; 0 = off.
    public var mixup: Float = 0
    /// Start a new run (fresh optimizer and schedule) from this tagger folder's config and weights.
    public var initFrom: String? = nil
    public var model = TaggerConfig()

    public init(dataDirs: [String], outDir: String) { self.dataDirs = dataDirs; self.outDir = outDir }

    public func problems() -> [String] {
        var p = run.problems() + rangeProblem("--batch-size", batchSize, 1...512)
        if dataDirs.isEmpty { p.append("give at least one --data corpus folder (from `gen dataset music`)") }
        for (name, v) in [("--patchout-time", patchoutTime), ("--patchout-freq", patchoutFreq), ("--patchout-random", patchoutRandom)] where !(v >= 0 && v < 1) {
            p.append("\(name) must be at least 0 and below 1, got \(v)")
        }
        if initFrom != nil && resume { p.append("--init-from starts a new run; drop it with --resume") }
        if !(mixup == 0 || (mixup >= 0.05 && mixup <= 10)) {
            p.append("--mixup must be 0 (off) or an α between 0.05 and 10 (PaSST uses 0.3), got \(mixup)")
        }
        var shape = model
        if shape.genres.isEmpty { shape.genres = ["any"] }   // a new run takes its labels from the corpus
        return p + shape.validate()
    }
}

/// One clip as the tagger trains on it.
struct TaggerClip {
    var mel: [Float]          // standardised log-mel (T, M), padded with silence to at least one window
    var frames: Int
    var genre: Int, artist: Int
    var lyrics: [LyricLine]   // clip time
}

/// Held-out counts: right answers and how many were scored, genre per window and per clip (of
/// labelled clips), vocals per window and per clip (of those with no singing or at least 3 s).
public struct TaggerEval: Equatable {
    public var genreWindowsRight = 0, windows = 0, genreClipsRight = 0, clips = 0
    public var vocalsWindowsRight = 0, vocalsWindows = 0, vocalsClipsRight = 0, vocalsClips = 0

    public init() {}

    public var windowGenreAccuracy: Double { Self.ratio(genreWindowsRight, windows) }
    public var clipGenreAccuracy: Double { Self.ratio(genreClipsRight, clips) }
    public var windowVocalsAccuracy: Double { Self.ratio(vocalsWindowsRight, vocalsWindows) }
    public var clipVocalsAccuracy: Double { Self.ratio(vocalsClipsRight, vocalsClips) }
    static func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : 0 }

    /// Several sets' counts as one: the pooled score, without running the model again.
    public static func pooled(_ sets: [TaggerEval]) -> TaggerEval {
        sets.reduce(into: TaggerEval()) { t, e in
            t.genreWindowsRight += e.genreWindowsRight; t.windows += e.windows
            t.genreClipsRight += e.genreClipsRight; t.clips += e.clips
            t.vocalsWindowsRight += e.vocalsWindowsRight; t.vocalsWindows += e.vocalsWindows
            t.vocalsClipsRight += e.vocalsClipsRight; t.vocalsClips += e.vocalsClips
        }
    }
}

public enum TaggerTrainer {
    /// Seconds of singing in [t0, t1).
    static func sung(_ lyrics: [LyricLine], _ t0: Double, _ t1: Double) -> Double {
        lyrics.reduce(0.0) { $0 + max(0, min($1.end, t1) - max($1.start, t0)) }
    }

    /// `audio`: the split's samples when the caller has them already (`MusicClips.load`, same order).
    static func clips(_ dir: String, split: String, config: TaggerConfig, filterbank: MelFilterbank, audio: [[Float]]? = nil) throws -> [TaggerClip] {
        let lines = try MusicCorpus.loadMetadata(dir).filter { $0.split == split }
        let audio = try audio ?? MusicClips.load(dir, split: split, sampleRate: config.sampleRate)
        return zip(lines, audio).map { line, samples in
            let (mel, frames) = Tagger.paddedToWindow(Tagger.logMel(samples, config: config, filterbank: filterbank), config: config)
            return TaggerClip(mel: mel, frames: frames, genre: config.genres.firstIndex(of: line.genre) ?? -1,
                              artist: config.artists.firstIndex(of: line.artist) ?? -1, lyrics: line.lyrics)
        }
    }

    /// Held-out accuracy (every half window of every clip).
    public static func evaluate(_ model: Tagger, dir: String, split: String = "val") throws -> TaggerEval? {
        let fb = MelFilterbank(config: .standard)
        let val = try clips(dir, split: split, config: model.config, filterbank: fb)
        return evaluate(model, clips: val)
    }

    static func evaluate(_ model: Tagger, clips val: [TaggerClip]) -> TaggerEval? {
        guard !val.isEmpty else { return nil }
        let c = model.config
        let secondsPerFrame = Double(MelConfig.standard.hop) / Double(c.sampleRate)
        var e = TaggerEval()
        for clip in val {
            var genre = [Double](repeating: 0, count: c.genres.count), vocals = 0.0, windows = 0
            model.forEachWindow(mel: clip.mel, frames: clip.frames, batch: 1) { w in
                for k in w.genre.indices { genre[k] += Double(w.genre[k]) }
                vocals += w.vocals; windows += 1
                if clip.genre >= 0 {
                    e.windows += 1
                    if w.genre.indices.max(by: { w.genre[$0] < w.genre[$1] }) == clip.genre { e.genreWindowsRight += 1 }
                }
                let sung = sung(clip.lyrics, Double(w.start) * secondsPerFrame, Double(w.start + c.windowFrames) * secondsPerFrame)
                if sung == 0 || sung >= 3 { e.vocalsWindows += 1; if (w.vocals >= 0.5) == (sung > 0) { e.vocalsWindowsRight += 1 } }
            }
            if clip.genre >= 0 { e.clips += 1; if genre.indices.max(by: { genre[$0] < genre[$1] }) == clip.genre { e.genreClipsRight += 1 } }
            let clipSung = sung(clip.lyrics, 0, Double(clip.frames) * secondsPerFrame)
            if clipSung == 0 || clipSung >= 3 { e.vocalsClips += 1; if (vocals / Double(windows) >= 0.5) == (clipSung > 0) { e.vocalsClipsRight += 1 } }
        }
        return e
    }

    @discardableResult
    public static func train(_ o: TaggerTrainOptions) throws -> TaggerEval? {
        try o.check()
        let folder = try TrainingFolder(o.outDir)
        let lines = try o.dataDirs.flatMap { try MusicCorpus.loadMetadata($0) }
        var config = o.model
        var initial: Tagger? = nil
        let resuming = o.resume && FileManager.default.fileExists(atPath: folder.config)
        if resuming {
            config = try ConfigFile.read(TaggerConfig.self, from: folder.config)
        } else if let from = o.initFrom {
            initial = try Tagger.load(directory: from)
            config = initial!.config
            let unknown = Set(lines.map(\.genre)).subtracting(config.genres)
            if !unknown.isEmpty {
                throw CheckpointError(path: from, message: "the tagger knows no genre \(unknown.sorted().joined(separator: ", ")) of this corpus; "
                                      + "train a new one without --init-from")
            }
        } else {
            config.genres = MusicCatalog.genreNames + Set(lines.map(\.genre)).subtracting(MusicCatalog.genreNames).sorted()
            config.artists = MusicCatalog.artistNames + Set(lines.map(\.artist)).subtracting(MusicCatalog.artistNames).sorted()
        }
        let problems = config.validate()
        if !problems.isEmpty { throw CheckpointError(path: folder.config, message: "invalid tagger config: " + problems.joined(separator: "; ")) }
        let fb = MelFilterbank(config: .standard)
        let trainAudio = try o.dataDirs.map { try MusicClips.load($0, split: "train", sampleRate: config.sampleRate) }   // decoded once
        // The standardisation comes from the training clips' raw log-mel (new runs only).
        if !resuming && initial == nil {
            var raw = config; raw.melMean = 0; raw.melStd = 1
            let probe = try zip(o.dataDirs, trainAudio).flatMap { try clips($0, split: "train", config: raw, filterbank: fb, audio: $1) }
            var sum = 0.0, sq = 0.0, n = 0.0
            for clip in probe { for v in clip.mel { sum += Double(v); sq += Double(v) * Double(v); n += 1 } }
            config.melMean = Float(sum / max(n, 1)); config.melStd = Float(max((sq / max(n, 1) - (sum / max(n, 1)) * (sum / max(n, 1))).squareRoot(), 1e-3))
            // The clips' mean loudness: what `tag` brings any input to.
            let levels = trainAudio.joined().compactMap { try? Loudness.measure($0, sampleRate: config.sampleRate).integrated }
            if !levels.isEmpty { config.inputLoudness = Float(levels.reduce(0, +) / Double(levels.count)) }
        }
        var train: [TaggerClip] = [], val: [(dir: String, clips: [TaggerClip])] = []
        for (dir, audio) in zip(o.dataDirs, trainAudio) {
            let clips = try clips(dir, split: "train", config: config, filterbank: fb, audio: audio)
            guard !clips.isEmpty else {
                throw CheckpointError(path: dir, message: "the corpus has no training clips; build one with `gen dataset music --out \(dir)`")
            }
            train += clips
            val.append((dir, try self.clips(dir, split: "val", config: config, filterbank: fb)))
        }
        let model = initial ?? Tagger(config: config, seed: o.seed)
        if let from = o.initFrom, initial != nil { o.log("tagger: starting from \(from) (its standardisation and input level kept)") }
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: o.learningRate, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay))
        var step = 0
        if o.resume { step = try folder.resume(model.params, opt, log: o.log).step }
        o.log(String(format: "tagger: %d train clips, %d val clips, %d parameters, %d × %d patches per window, patchout time %.2f freq %.2f random %.2f, mixup α %.2f",
                     train.count, val.reduce(0) { $0 + $1.clips.count }, model.params.parameterCount, config.freqPatches, config.timePatches,
                     o.patchoutTime, o.patchoutFreq, o.patchoutRandom, o.mixup))
        func save() throws {
            try model.save(directory: o.outDir, metadata: ["step": String(step), "model": "tagger"])
            try opt.stateFile(step: step).write(to: folder.state)
        }
        let log = try TrainingLog(path: folder.log, echo: o.log)
        var lastEval: TaggerEval?, evaluatedAt = -1
        // One line per corpus's held-out clips and, with several, a pooled one ("data": "all", from
        // their counts): the last line is what the run returns.
        func evaluateVal() {
            evaluatedAt = step
            var sets = val.compactMap { v in evaluate(model, clips: v.clips).map { (label: v.dir, eval: $0) } }
            if sets.count > 1 { sets.append(("all", TaggerEval.pooled(sets.map(\.eval)))) }
            for (label, e) in sets {
                log.emit("{\"step\":\(step),\"data\":\(jsonQuoted(label))," + String(format:
                    "\"val_window_genre_acc\":%.4f,\"val_clip_genre_acc\":%.4f,\"val_window_vocals_acc\":%.4f,\"val_clip_vocals_acc\":%.4f,\"val_windows\":%d,\"val_clips\":%d}",
                    e.windowGenreAccuracy, e.clipGenreAccuracy, e.windowVocalsAccuracy, e.clipVocalsAccuracy, e.windows, e.clips))
            }
            if let last = sets.last { lastEval = last.eval }
        }
        if initial != nil && step == 0 { evaluateVal() }   // where a fine-tune starts from
        let schedule = LRSchedule(peak: o.learningRate, warmupSteps: o.warmup, totalSteps: o.steps, minRatio: 0.05)
        var rng = RNG.derive(seed: o.seed, index: UInt64(step))
        let m = config.nMels, w = config.windowFrames
        let secondsPerFrame = Double(MelConfig.standard.hop) / Double(config.sampleRate)
        let start = Date()
        var windowStart = Date(), sums = [Double](repeating: 0, count: 4), count = 0, examples = 0
        while step < o.steps {
            if let why = TrainingInterrupt.stopReason(started: start, maxMinutes: o.maxMinutes) { o.log(why); break }
            var windows: [[Float]] = [], genres: [Int] = [], artists: [Int] = [], vocals: [Bool] = []
            for _ in 0..<o.batchSize {
                let clip = train[rng.int(below: train.count)]
                let s = rng.int(below: clip.frames - w + 1)
                windows.append(Array(clip.mel[(s * m)..<((s + w) * m)]))
                genres.append(clip.genre); artists.append(clip.artist)
                vocals.append(sung(clip.lyrics, Double(s) * secondsPerFrame, Double(s + w) * secondsPerFrame) >= 1)
            }
            let selection = PatchSelection.patchout(freq: config.freqPatches, time: config.timePatches, dropTime: o.patchoutTime,
                                                    dropFreq: o.patchoutFreq, dropRandom: o.patchoutRandom, rng: &rng)
            var targets = TaggerTargets(genres: genres, artists: artists, vocals: vocals, config: config)
            if o.mixup > 0 {
                var partner = Array(0..<windows.count)
                for i in stride(from: partner.count - 1, to: 0, by: -1) { partner.swapAt(i, rng.int(below: i + 1)) }
                let lambda = windows.indices.map { _ -> Float in let x = rng.beta(o.mixup, o.mixup); return max(x, 1 - x) }
                windows = windows.indices.map { i in zip(windows[i], windows[partner[i]]).map { lambda[i] * $0 + (1 - lambda[i]) * $1 } }
                targets = targets.mixed(with: partner, weights: lambda)
            }
            model.params.zeroGrad()
            let l = model.loss(model(windows, selection: selection), targets: targets)
            l.total.backward()
            let norm = clipGradNorm(model.params, maxNorm: 1)
            opt.update(lr: schedule.rate(at: step))
            step += 1; count += 1; examples += o.batchSize
            sums[0] += Double(l.total.item); sums[1] += Double(l.genre); sums[2] += Double(l.artist); sums[3] += Double(l.vocals)
            if step % o.logEvery == 0 {
                let seconds = Date().timeIntervalSince(windowStart), k = Double(count)
                log.emit(String(format: "{\"step\":%d,\"loss\":%.4f,\"genre_loss\":%.4f,\"artist_loss\":%.4f,\"vocals_loss\":%.4f,\"grad_norm\":%.3f,\"lr\":%.2e,\"examples_per_s\":%.2f,\"elapsed_s\":%.0f}",
                                step, sums[0] / k, sums[1] / k, sums[2] / k, sums[3] / k, norm, schedule.rate(at: step),
                                Double(examples) / max(seconds, 1e-9), Date().timeIntervalSince(start)))
                sums = [0, 0, 0, 0]; count = 0; examples = 0; windowStart = Date()
            }
            if step % o.evalEvery == 0 { evaluateVal() }
            if step % o.saveEvery == 0 { try save() }
        }
        try save()
        // The end, unless that step was just scored; an interrupted run ends at its checkpoint.
        if TrainingInterrupt.signal == nil && evaluatedAt != step { evaluateVal() }
        return lastEval
    }
}
