// PriorTrainer.swift — `gen train prior`: trains the music prior (Prior.swift) on the top-level
// codes of a music corpus, after Jukebox (Dhariwal et al. 2020) §4: the corpus is encoded once by
// the trained codec and the codes are cached (keyed by the codec's model id and level); training
// then draws random windows of codes with their conditions (artist and genre ids, the timing of
// the window inside its piece, and the lyric lines sounding during the window, §4.1–4.2), drops
// each label with a small probability so the "unconditioned" values are learned, and minimises
// next-code cross-entropy with AdamW, warm-up + cosine schedule and gradient clipping. The log is
// JSONL; held-out cross-entropy in bits per code is reported beside the unigram and bigram
// entropies of the same held-out codes (issue 5, "Learning"). Checkpoints: config.json +
// model.safetensors + train_state.safetensors, and --resume, as in RVQCodecTrainer.swift.
//
// Letters: B batch (windows), T codes per window.
import Audio
import Engine
import Foundation

public struct PriorTrainOptions {
    public var dataDir: String
    /// The trained codec (config.json + model.safetensors).
    public var codecDir: String
    public var outDir: String
    /// Codec level the prior models; nil is the top (coarsest) level.
    public var level: Int? = nil
    public var steps = 20000
    public var maxMinutes: Double? = nil
    public var batchSize = 8
    public var learningRate: Float = 3e-4
    public var warmup = 500
    public var weightDecay: Float = 0.01
    /// Probability of dropping each of artist, genre and lyrics from a training window.
    public var labelDropout: Float = 0.1
    public var seed: UInt64 = 1
    public var logEvery = 20
    public var evalEvery = 500
    public var saveEvery = 500
    /// Held-out windows evaluated (consecutive windows of every val clip, in order).
    public var evalWindows = 32
    public var resume = false
    /// Architecture of a new model; vocab_size, hop and sample_rate are taken from the codec.
    public var model = PriorConfig()
    public var log: (String) -> Void = { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }

    public init(dataDir: String, codecDir: String, outDir: String) {
        self.dataDir = dataDir; self.codecDir = codecDir; self.outDir = outDir
    }
}

/// Held-out numbers, all in bits per code over the same codes.
public struct PriorEval: Equatable {
    public var bitsPerToken: Double
    public var unigramBits: Double
    public var bigramBits: Double
    /// The same codes' bigram entropy, each pair scored by all the other pairs (leave-one-out).
    public var bigramLeaveOneOutBits: Double
    /// Unigram and bigram models fitted on the training codes, scored on the held-out codes.
    public var unigramModelBits: Double
    public var bigramModelBits: Double
    public var tokens: Int
}

public struct PriorTrainResult {
    public var step: Int
    /// The first logged training loss of this run and the last (nats per code).
    public var firstLoss: Float?, lastLoss: Float?
    public var eval: PriorEval?
    /// True when the codes came from an existing cache instead of the codec.
    public var cacheReused: Bool
}

/// One corpus clip as the prior sees it: its codes and its labels in piece time.
public struct PriorClip {
    public var codes: [Int]
    public var artist: Int?
    public var genre: Int?
    /// Lyric lines in seconds from the start of the piece (clip times shifted by the clip's offset).
    public var lyrics: [LyricLine]
    /// Length of the whole piece and the clip's start in it, in codes.
    public var totalTokens: Int
    public var offsetTokens: Int
    public var split: String
}

extension LyricsVocabulary {
    /// Lyric lines spread over `seconds` in proportion to their length in characters (a user's
    /// lyrics carry no timing); blank lines are dropped.
    public static func timedLines(_ text: String, seconds: Double) -> [LyricLine] {
        MusicCorpus.estimatedTiming(text, length: seconds)
    }
}

public enum PriorTrainer {
    public static let cacheFormat = "gen-prior-codes-cache"

    // MARK: codes cache

    /// Codes of every clip at `level`, from `cachePath` when it was made by the same codec, level
    /// and clip list; otherwise encoded now and written there. → (codes per clip, reused)
    public static func cachedCodes(_ lines: [MusicMetadataLine], dataDir: String, codec: VQVAE, level: Int,
                                   cachePath: String, log: (String) -> Void) throws -> ([[Int32]], Bool) {
        let files = lines.map(\.file).joined(separator: "\n")
        if FileManager.default.fileExists(atPath: cachePath), let file = try? SafeTensorsFile.read(cachePath),
           file.metadata["format"] == cacheFormat, file.metadata["level_id"] == codec.levelID(level),
           file.metadata["level"] == String(level), file.metadata["files"] == files {
            let codes = try lines.indices.map { i -> [Int32] in
                guard let t = file.tensors["clip.\(i)"] else {
                    throw CheckpointError(path: cachePath, message: "codes cache lacks clip.\(i); delete it to re-encode.")
                }
                return try t.int32s()
            }
            log("codes cache: reused \(cachePath) (codec level \(codec.levelID(level)), \(lines.count) clips)")
            return (codes, true)
        }
        log("codes cache: encoding \(lines.count) clips with codec level \(level) (\(codec.levelID(level)))…")
        var file = SafeTensorsFile(metadata: ["format": cacheFormat, "model_id": codec.modelID, "level_id": codec.levelID(level),
                                              "level": String(level), "files": files])
        var out: [[Int32]] = []
        for (i, line) in lines.enumerated() {
            let path = line.file.hasPrefix("/") ? line.file : dataDir + "/" + line.file
            var audio = try AudioFile.read(path).mono()
            if audio.sampleRate != codec.sampleRate { audio = try Resampler.resample(audio, to: codec.sampleRate) }
            let codes = codec.encode(audio.samples, level: level)
            file.tensors["clip.\(i)"] = SafeTensor(int32s: codes, shape: [codes.count])
            out.append(codes)
        }
        try file.write(to: cachePath)
        return (out, false)
    }

    /// Clips with their labels resolved against the config's name lists (unknown names read as
    /// unconditioned) and their timing in codes.
    public static func clips(_ lines: [MusicMetadataLine], codes: [[Int32]], config: PriorConfig) -> [PriorClip] {
        zip(lines, codes).map { line, c in
            PriorClip(codes: c.map { Int($0) }, artist: config.artistID(line.artist), genre: config.genreID(line.genre),
                      lyrics: line.lyrics.map { LyricLine(text: $0.text, start: $0.start + line.offset, end: $0.end + line.offset) },
                      totalTokens: max(c.count, Int((max(line.length, line.offset) * config.tokensPerSecond).rounded())),
                      offsetTokens: Int((line.offset * config.tokensPerSecond).rounded()), split: line.split)
        }
    }

    /// The conditions of the window starting at code `start` of `clip`.
    public static func conditions(_ clip: PriorClip, start: Int, config: PriorConfig) -> PriorConditions {
        config.conditions(PriorLabels(artist: clip.artist, genre: clip.genre, lyrics: clip.lyrics),
                          totalTokens: clip.totalTokens, offsetTokens: clip.offsetTokens + start)
    }

    /// B random windows of T codes, clips picked in proportion to their length, with label dropout.
    /// → tokens (B·T) and one PriorConditions per window.
    public static func randomBatch(_ clips: [PriorClip], batch: Int, length t: Int, dropout: Float, config: PriorConfig,
                                   rng: inout RNG) -> ([Int], [PriorConditions]) {
        let total = clips.reduce(0) { $0 + $1.codes.count }
        var tokens: [Int] = [], conds: [PriorConditions] = []
        tokens.reserveCapacity(batch * t)
        for _ in 0..<batch {
            var r = rng.int(below: max(total, 1)), c = 0
            while c < clips.count - 1 && r >= clips[c].codes.count { r -= clips[c].codes.count; c += 1 }
            let clip = clips[c]
            let start = rng.int(below: clip.codes.count - t + 1)
            tokens += clip.codes[start..<(start + t)]
            conds.append(config.dropLabels(conditions(clip, start: start, config: config), probability: dropout, rng: &rng))
        }
        return (tokens, conds)
    }

    /// Held-out cross-entropy (labels kept) beside the unigram and bigram entropies of the same
    /// codes. Windows of T codes start every `stride` codes of each clip (and one more ends at the
    /// clip's last code); each code is scored once, by the first window that holds it, so with
    /// stride T/2 every code after the first T/2 of a clip is predicted from at least T/2 codes
    /// of context, as when `gen music` slides its window. Stride T gives back-to-back windows,
    /// each starting from the start state alone, plus that tail window, whose first codes are
    /// context only. A clip shorter than T is one window of its own length. Window k of every
    /// clip is taken in turn, until `count`.
    public static func evaluate(_ model: Prior, clips: [PriorClip], count: Int, length t: Int, stride: Int? = nil,
                                batch: Int = 8, trainCounts: CodeEntropy.Counts? = nil) -> PriorEval? {
        let stride = min(max(stride ?? t, 1), t)
        // Window starts per clip.
        let starts: [[Int]] = clips.map { clip in
            let n = clip.codes.count
            guard n > t else { return n > 0 ? [0] : [] }
            var s = Array(Swift.stride(from: 0, through: n - t, by: stride))
            if s.last! < n - t { s.append(n - t) }
            return s
        }
        var windows: [(tokens: [Int], targets: [Int], conditions: PriorConditions)] = []
        var scoredEnd = [Int](repeating: 0, count: clips.count)
        var k = 0
        while windows.count < count {
            var added = false
            for (c, clip) in clips.enumerated() where windows.count < count && k < starts[c].count {
                let s = starts[c][k], tokens = Array(clip.codes[s..<min(s + t, clip.codes.count)])
                let first = scoredEnd[c] - s   // positions before this were scored by an earlier window
                windows.append((tokens, tokens.enumerated().map { $0.offset >= first ? $0.element : -100 },
                                conditions(clip, start: s, config: model.config)))
                scoredEnd[c] = s + tokens.count
                added = true
            }
            if !added { break }
            k += 1
        }
        guard !windows.isEmpty else { return nil }
        // Batches hold windows of one length (only a short clip's window is shorter than T).
        windows.sort { $0.tokens.count > $1.tokens.count }
        var nats = 0.0, scored = 0, start = 0
        while start < windows.count {
            var end = start + 1
            while end < min(windows.count, start + batch) && windows[end].tokens.count == windows[start].tokens.count { end += 1 }
            let group = Array(windows[start..<end])
            start = end
            let targets = group.flatMap(\.targets), used = targets.filter { $0 >= 0 }.count
            let loss = GradMode.withoutGrad { () -> Tensor in
                let logits = model(group.flatMap(\.tokens), conditions: group.map(\.conditions))
                return crossEntropy(reshape(logits, [targets.count, model.config.vocabSize]), targets: targets)
            }
            nats += Double(loss.item) * Double(used); scored += used
        }
        // The scored codes are a prefix of each clip: exactly what the entropies are taken over.
        let sequences = clips.indices.filter { scoredEnd[$0] > 0 }.map { Array(clips[$0].codes[..<scoredEnd[$0]]) }
        let v = model.config.vocabSize, fitted = trainCounts ?? CodeEntropy.Counts([], vocabSize: v)
        return PriorEval(bitsPerToken: nats / Double(scored) / Foundation.log(2.0),
                         unigramBits: CodeEntropy.unigramBits(sequences, vocabSize: v),
                         bigramBits: CodeEntropy.bigramBits(sequences, vocabSize: v),
                         bigramLeaveOneOutBits: CodeEntropy.bigramLeaveOneOutBits(sequences, vocabSize: v),
                         unigramModelBits: CodeEntropy.unigramModelBits(train: fitted, test: sequences),
                         bigramModelBits: CodeEntropy.bigramModelBits(train: fitted, test: sequences),
                         tokens: scored)
    }

    // MARK: training

    @discardableResult
    public static func train(_ o: PriorTrainOptions) throws -> PriorTrainResult {
        let fm = FileManager.default
        let folder = try TrainingFolder(o.outDir)

        guard fm.fileExists(atPath: o.codecDir + "/config.json") else {
            throw PriorError("no codec in '\(o.codecDir)'; the prior models codes of the v1 VQ-VAE codec, which ships as models/\(MusicModels.v1CodecFolder) (pass --codec models/\(MusicModels.v1CodecFolder)).")
        }
        try MusicModels.requireV1Codec(o.codecDir)
        let codec = try VQVAE.load(directory: o.codecDir)
        let level = o.level ?? codec.levels.count - 1
        guard codec.levels.indices.contains(level) else {
            throw PriorError("--level \(level) does not exist: the codec has levels 0…\(codec.levels.count - 1).")
        }

        let lines = try MusicCorpus.loadMetadata(o.dataDir)
        var config = o.model
        if o.resume, fm.fileExists(atPath: folder.config) { config = try ConfigFile.read(PriorConfig.self, from: folder.config) }
        else {
            config.vocabSize = codec.levels[level].config.codebookSize
            config.hop = codec.levels[level].hop
            config.sampleRate = codec.sampleRate
            // A user's corpus brings its own genres and artists: they become labels of a new prior.
            config.genres += Set(lines.map(\.genre)).subtracting(config.genres).sorted()
            config.artists += Set(lines.map(\.artist)).subtracting(config.artists).sorted()
        }
        var problems = config.validate()
        if config.vocabSize != codec.levels[level].config.codebookSize || config.hop != codec.levels[level].hop {
            problems.append("the prior (vocab \(config.vocabSize), hop \(config.hop)) does not match codec level \(level) "
                            + "(codebook \(codec.levels[level].config.codebookSize), hop \(codec.levels[level].hop))")
        }
        if !problems.isEmpty { throw PriorError("invalid prior config: " + problems.joined(separator: "; ")) }

        let (codes, reused) = try cachedCodes(lines, dataDir: o.dataDir, codec: codec, level: level,
                                              cachePath: o.outDir + "/codes_cache.safetensors", log: o.log)
        let all = clips(lines, codes: codes, config: config)
        let train = all.filter { $0.split == "train" && $0.codes.count >= 1 }
        guard let shortest = train.map(\.codes.count).min() else {
            throw PriorError("the corpus at '\(o.dataDir)' has no training clips; build one with `gen dataset music --out \(o.dataDir)`.")
        }
        // Every batch window has the same length: the context, or the shortest training clip.
        let window = min(config.context, shortest)
        let val = all.filter { $0.split == "val" }
        let unknownGenres = Set(lines.map(\.genre).filter { config.genreID($0) == nil })
        let unknownArtists = Set(lines.map(\.artist).filter { config.artistID($0) == nil })
        if !unknownGenres.isEmpty || !unknownArtists.isEmpty {
            o.log("note: labels missing from the config train as unconditioned: genres [\(unknownGenres.sorted().joined(separator: ", "))], "
                  + "artists [\(unknownArtists.sorted().prefix(12).joined(separator: ", "))]")
        }

        let model = Prior(config: config, seed: o.seed)
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: o.learningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: o.weightDecay))
        var step = 0
        if o.resume { step = try folder.resume(model.params, opt, log: o.log).step }
        let trainCodes = train.reduce(0) { $0 + $1.codes.count }
        o.log(String(format: "prior: %d train clips (%d codes, %.1f min), %d val clips, %d parameters, codec level %d (hop %d, %d codes), window %d × %d",
                     train.count, trainCodes, Double(trainCodes) / config.tokensPerSecond / 60, val.count, model.params.parameterCount,
                     level, config.hop, config.vocabSize, window, o.batchSize))

        func save() throws {
            try model.save(directory: o.outDir, metadata: ["step": String(step), "model": "prior", "codec_model_id": codec.modelID,
                                                           "codec_level": String(level), "codec_level_id": codec.levelID(level)])
            try opt.stateFile(step: step).write(to: folder.state)
        }

        let log = try TrainingLog(path: folder.log, echo: o.log)
        func emit(_ line: String) { log.emit(line) }

        var lastEval: PriorEval?
        // The fitted baselines depend on the training codes alone: counted once, for every evaluation.
        let trainCounts = CodeEntropy.Counts(train.map(\.codes), vocabSize: config.vocabSize)
        func evaluateVal(final: Bool) {
            // The periodic evaluations read the first --eval-windows disjoint windows. The final one
            // scores every held-out code twice: in disjoint windows, and with windows sliding by half
            // their length (at least half a window of context, as `gen music` samples).
            let strides = final ? [window, window / 2] : [window]
            for stride in strides {
                guard let e = evaluate(model, clips: val, count: final ? Int.max : o.evalWindows, length: window, stride: stride,
                                       batch: o.batchSize, trainCounts: trainCounts) else { return }
                lastEval = e
                emit(String(format: "{\"step\":%d,\"val_bits_per_token\":%.4f,\"val_unigram_bits\":%.4f,\"val_bigram_bits\":%.4f,\"val_bigram_loo_bits\":%.4f,\"val_unigram_model_bits\":%.4f,\"val_bigram_model_bits\":%.4f,\"val_tokens\":%d,\"stride\":%d%@}",
                            step, e.bitsPerToken, e.unigramBits, e.bigramBits, e.bigramLeaveOneOutBits, e.unigramModelBits, e.bigramModelBits, e.tokens, stride,
                            final ? ",\"final\":true" : ""))
            }
        }

        let schedule = LRSchedule(peak: o.learningRate, warmupSteps: o.warmup, totalSteps: o.steps, minRatio: 0.05)
        var rng = RNG.derive(seed: o.seed, index: UInt64(step))
        let start = Date()
        var lossSum = 0.0, windowSteps = 0
        var firstLoss: Float?, lastLoss: Float?
        var windowStart = Date()
        while step < o.steps {
            if let limit = o.maxMinutes, Date().timeIntervalSince(start) > limit * 60 { o.log("time budget reached"); break }
            let (tokens, conds) = randomBatch(train, batch: o.batchSize, length: window, dropout: o.labelDropout, config: config, rng: &rng)
            model.params.zeroGrad()
            let loss = model.loss(tokens, conditions: conds)
            lossSum += Double(loss.item)
            loss.backward()
            let norm = clipGradNorm(model.params, maxNorm: 1)
            opt.update(lr: schedule.rate(at: step))
            step += 1; windowSteps += 1
            if step % o.logEvery == 0 {
                let mean = Float(lossSum / Double(windowSteps))
                let seconds = Date().timeIntervalSince(windowStart)
                if firstLoss == nil { firstLoss = mean }
                lastLoss = mean
                emit(String(format: "{\"step\":%d,\"loss\":%.4f,\"bits_per_token\":%.4f,\"grad_norm\":%.3f,\"lr\":%.2e,\"tokens_per_s\":%.0f,\"elapsed_s\":%.0f}",
                            step, mean, Double(mean) / Foundation.log(2.0), norm, schedule.rate(at: step),
                            Double(windowSteps * o.batchSize * window) / max(seconds, 1e-9), Date().timeIntervalSince(start)))
                lossSum = 0; windowSteps = 0; windowStart = Date()
            }
            if step % o.evalEvery == 0 { evaluateVal(final: false) }
            if step % o.saveEvery == 0 { try save() }
        }
        try save()
        evaluateVal(final: true)
        return PriorTrainResult(step: step, firstLoss: firstLoss, lastLoss: lastLoss, eval: lastEval, cacheReused: reused)
    }
}

extension PriorTrainOptions: TrainingRunSettings {}
