// PriorTrainer.swift — `gen train prior`: trains the music prior (Prior.swift) on the RVQ codec's
// first K codebooks of a music corpus, after Jukebox (Dhariwal et al. 2020) §4 and MusicGen (Copet
// et al. 2023): the corpus is encoded once by the trained codec and the codes are cached (keyed by
// the codec's model id and K), laid out in steps by the codebook pattern; training
// then draws random windows of codes with their conditions (artist and genre ids, the timing of
// the window inside its piece, and the lyric lines sounding during the window, §4.1–4.2), drops
// each label with a small probability so the "unconditioned" values are learned, and minimises
// next-code cross-entropy with AdamW, warm-up + cosine schedule and gradient clipping. The log is
// JSONL; held-out cross-entropy in bits per frame (all K codebooks) is reported beside the unigram
// and bigram entropies of the same held-out codes, each codebook's summed (issue 14, "Learning"). Checkpoints: config.json +
// model.safetensors + train_state.safetensors, and --resume, as in RVQCodecTrainer.swift.
//
// Letters: B batch (windows), T steps per window, K codebooks.
import Audio
import Engine
import Foundation
import NN

public struct PriorTrainOptions: TrainingRunSettings {
    /// The most steps a batch holds (windows × context).
    public static let maxBatchSteps = 16_384
    /// Corpus folders (from `gen dataset music`); their clips train together and their held-out
    /// clips are scored together.
    public var dataDirs: [String]
    /// The trained codec (config.json + model.safetensors).
    public var codecDir: String
    public var outDir: String
    public static var defaultRun: TrainingRun { TrainingRun(learningRate: 3e-4, warmup: 500, evalEvery: 500, saveEvery: 500) }
    public var run = defaultRun
    public var batchSize = 8
    public var weightDecay: Float = 0.01
    /// Probability of dropping each of artist, genre and lyrics from a training window.
    public var labelDropout: Float = 0.1
    /// Probability of dropping all three at once (the unconditioned model guidance needs).
    public var cfgDropout: Float = 0.2
    /// Residual dropout in the decoder's blocks during training steps (0: none, as every prior
    /// before 2026-12-06 was trained). Not part of the model: a resumed run is given it again.
    public var residualDropout: Float = 0
    /// Input-code noise in training steps (`CodeCorruption`; 0: none, as every prior before it).
    public var inputNoise: Float = 0
    /// Scheduled sampling in training steps (`selfSampledInputs`): the probability that an input
    /// code is the model's own draw at that step instead of the corpus's (0: none, as every prior
    /// before 2026-12-07). Not part of the model: a resumed run is given it again.
    public var selfSampled: Float = 0
    /// Held-out windows evaluated (consecutive windows of every val clip, in order).
    public var evalWindows = 32
    /// Start a new run from this prior folder's config and weights (a fresh optimizer and
    /// schedule), e.g. to train the shipped prior longer when its optimizer state is gone.
    public var initFrom: String? = nil
    /// Only score the --init-from prior on every held-out code of the corpora (the final
    /// evaluation's two passes), then stop: no training step, no weights written.
    public var evalOnly = false
    /// With --init-from: add the bar grid (`Prior.withBarGrid`) to a prior trained without it.
    public var barGrid = false
    /// With --init-from: make the bar grid a guided condition (`grid_guidance`): dropped with the labels.
    public var gridGuidance = false
    /// Every step also reads the genre and artist (`step_labels`): a new model's, or with
    /// --init-from added at zero (`Prior.withStepLabels`).
    public var stepLabels = false
    /// Every step also reads the chord sounding at its frame (`chords`): a new model's, or with
    /// --init-from added at zero (`Prior.withChords`).
    public var chords = false
    /// Every step also reads its window's onset density (`onset_density`): a new model's, or with
    /// --init-from added at zero (`Prior.withOnsetDensity`).
    public var onsetDensity = false
    /// The codec's first N bass-stream codebooks modelled after the main ones (`bass_codebook_sizes`):
    /// a new model's, or with --init-from added at zero (`Prior.withBassCodebooks`). nil: none new.
    public var bassCodebooks: Int? = nil
    /// Architecture of a new model (codebooks and pattern included); vocab_size, hop and
    /// sample_rate are taken from the codec.
    public var model = PriorConfig()

    public init(dataDirs: [String], codecDir: String, outDir: String) {
        self.dataDirs = dataDirs; self.codecDir = codecDir; self.outDir = outDir
    }

    public func problems() -> [String] {
        var p = run.problems()
        if dataDirs.isEmpty { p.append("give at least one --data corpus folder (from `gen dataset music`)") }
        p += rangeProblem("--batch-size", batchSize, 1...256)
        // Memory grows with the steps of a batch: about 0.5 MB a step at the shipped size (2.3 GB at
        // 8 × 512, 8.6 GB at 32 × 512, measured), so at most 16,384 steps (32 windows of 512).
        if (1...256).contains(batchSize) && (2...8192).contains(model.context) && batchSize * model.context > PriorTrainOptions.maxBatchSteps {
            p.append("--batch-size × --context must be at most \(PriorTrainOptions.maxBatchSteps) steps a batch (about 0.5 MB of memory each), got \(batchSize) × \(model.context)")
        }
        p += rangeProblem("--label-dropout", labelDropout, 0...1) + rangeProblem("--cfg-dropout", cfgDropout, 0...1)
        p += rangeProblem("--dropout", residualDropout, 0...0.9) + rangeProblem("--input-noise", inputNoise, 0...0.5)
        p += rangeProblem("--scheduled-sampling", selfSampled, 0...1)
        p += rangeProblem("--codebooks", model.codebooks, 1...32)
        p += rangeProblem("--context", model.context, 2...8192) + rangeProblem("--layers", model.layers, 1...64)
        p += rangeProblem("--heads", model.heads, 1...64)
        if !(1...4096).contains(model.dModel) || model.heads < 1 || model.dModel % model.heads != 0 {
            p.append("--d-model must be a multiple of --heads in 1...4096, got \(model.dModel) and \(model.heads) heads")
        }
        if initFrom != nil && resume { p.append("--init-from starts a new run; drop it with --resume") }
        if gridGuidance && initFrom == nil && model.barBins == nil { p.append("--grid-guidance needs a bar grid") }
        if chords && initFrom == nil && model.barBins == nil { p.append("--chords needs a bar grid: the chords are placed on it") }
        if evalOnly && initFrom == nil { p.append("--eval-only scores a trained prior: name it with --init-from") }
        if let b = bassCodebooks, !(1...8).contains(b) { p.append("--bass-codebooks must be in 1...8, got \(b)") }
        if bassCodebooks != nil && resume { p.append("--bass-codebooks sets up a new run; a resumed run keeps its own") }
        return p
    }
}

/// Held-out numbers, in bits per frame (the K codes of one frame) over the same codes; each
/// baseline is the sum of its per-codebook values.
public struct PriorEval: Equatable {
    public var bitsPerFrame: Double
    /// The model's bits per code of each codebook.
    public var codebookBits: [Double]
    public var unigramBits: Double
    public var bigramBits: Double
    /// The same codes' bigram entropy, each pair scored by all the other pairs (leave-one-out).
    public var bigramLeaveOneOutBits: Double
    /// Unigram and bigram models fitted on the training codes, scored on the held-out codes.
    public var unigramModelBits: Double
    public var bigramModelBits: Double
    /// Codes scored (every codebook).
    public var codes: Int
}

public struct PriorTrainResult {
    public var step: Int
    /// The first logged training loss of this run and the last (nats per code).
    public var firstLoss: Float?, lastLoss: Float?
    public var eval: PriorEval?
    /// True when the codes came from an existing cache instead of the codec.
    public var cacheReused: Bool
}

/// One corpus clip as the prior sees it: its codes in steps and its labels in piece time.
public struct PriorClip {
    /// The codes (K, T) laid out by the pattern: steps (S·K), the special code where a shift leaves a gap.
    public var codes: [Int]
    /// The codes (K, T) themselves, for the baselines.
    public var frames: [[Int]]
    public var artist: Int?
    public var genre: Int?
    /// Lyric lines in seconds from the start of the piece (clip times shifted by the clip's offset).
    public var lyrics: [LyricLine]
    /// The piece's bar grid, when the corpus knows it (bars counted from the piece's start).
    public var grid: BarGrid?
    /// The piece's chords, when the metadata names its key and a catalogue progression.
    public var chords: ChordTrack?
    /// Onset times of the clip's audio, seconds from the clip's start (`OnsetDensity.onsets`), for a
    /// prior with `onset_density`; nil otherwise.
    public var onsets: [Double]?
    /// Length of the whole piece and the clip's start in it, in steps.
    public var totalTokens: Int
    public var offsetTokens: Int
    public var split: String
    public var codebooks: Int { frames.count }
    /// Steps of the clip.
    public var steps: Int { codes.count / max(frames.count, 1) }
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

    /// The clip records of every corpus, each clip's file made a path from here (corpora keep
    /// them relative to their folder).
    public static func loadCorpora(_ dirs: [String]) throws -> [MusicMetadataLine] {
        try dirs.flatMap { dir in
            try MusicCorpus.loadMetadata(dir).map { line in
                var line = line
                line.file = MusicCorpus.resolve(line.file, in: dir)
                return line
            }
        }
    }

    /// The sizes of the codec's first `n` bass-stream codebooks (`--bass-codebooks`); a codec
    /// without that many is an error.
    static func bassSizes(_ n: Int, codec: RVQCodec, codecDir: String) throws -> [Int] {
        let sizes = codec.bassStream?.layout.stageSizes ?? []
        guard sizes.count >= n else {
            throw PriorError("--bass-codebooks \(n): the codec in \(codecDir) has \(sizes.isEmpty ? "no bass stream" : "a bass stream of \(sizes.count) codebooks"); "
                             + "give a smaller count, or add one with `gen train codec --init-from \(codecDir) --bass-stream 3`.")
        }
        return Array(sizes.prefix(n))
    }

    /// The rows (K, T) a prior with `config` models of every clip (records from `loadCorpora`): the
    /// codes of its codec rung (`RVQCodec.encode(_:forPrior:)`), from `cachePath` when it was made by
    /// the same codec, rows and clip list; otherwise encoded now and written there. → (rows per clip, reused)
    public static func cachedCodes(_ lines: [MusicMetadataLine], codec: RVQCodec, config: PriorConfig,
                                   cachePath: String, log: (String) -> Void) throws -> ([[[Int32]]], Bool) {
        let k = config.codebooks, rung = config.rows.rung
        var key = ["format": cacheFormat, "codec_id": codec.modelID, "codebooks": String(k)]
        if let sizes = config.bassCodebookSizes {
            key["bass_codebook_sizes"] = sizes.map(String.init).joined(separator: ",")
            key["bass_stream_id"] = codec.bassStream?.streamID ?? ""
        }
        let (codes, reused) = try perClipCache(lines, sampleRate: codec.sampleRate, path: cachePath, key: key, log: log,
            starting: "codes cache: encoding \(lines.count) clips at rung \(rung) of codec \(codec.modelID)…",
            progress: "encoding clip",
            read: { t -> [[Int32]] in
                guard t.shape.count == 2, t.shape[0] == k else { throw CheckpointError(path: cachePath, message: "holds a clip that is not (\(k), frames)") }
                let flat = try t.int32s(), n = t.shape[1]
                return (0..<k).map { Array(flat[($0 * n)..<($0 * n + n)]) }
            }) { audio in
                let codes = codec.encode(audio, forPrior: config)
                return (codes, SafeTensor(int32s: codes.flatMap { $0 }, shape: [k, codes[0].count]))
            }
        if reused { log("codes cache: reused \(cachePath) (codec \(codec.modelID), rung \(rung), \(lines.count) clips)") }
        return (codes, reused)
    }

    public static let onsetsCacheFormat = "gen-prior-onsets-cache"

    /// Onset times (seconds) of every clip's audio (`OnsetDensity.onsets`), from `cachePath` when it
    /// holds the same clip list; otherwise counted now and written there.
    public static func cachedOnsets(_ lines: [MusicMetadataLine], sampleRate: Int, cachePath: String,
                                    log: (String) -> Void) throws -> [[Double]] {
        let key = ["format": onsetsCacheFormat, "sample_rate": String(sampleRate)]
        let (onsets, reused) = try perClipCache(lines, sampleRate: sampleRate, path: cachePath, key: key, log: log,
            starting: "onsets cache: counting the onsets of \(lines.count) clips…", progress: "onsets of clip",
            read: { try $0.floats().map(Double.init) }) { audio in
                let onsets = OnsetDensity.onsets(audio, sampleRate: sampleRate)
                return (onsets, SafeTensor(floats: onsets.map(Float.init), shape: [onsets.count]))
            }
        if reused { log("onsets cache: reused \(cachePath) (\(lines.count) clips)") }
        return onsets
    }

    /// One value per clip kept in a safetensors file (`clip.0`, `clip.1`, …, with `key` and the clip
    /// list in its metadata): read back when the file's metadata match and every clip's tensor reads;
    /// otherwise computed from each clip's audio at `sampleRate`, with a progress line, and written
    /// there. A stale or damaged cache is so made again rather than trusted. → (values, reused)
    static func perClipCache<Value>(_ lines: [MusicMetadataLine], sampleRate: Int, path: String, key: [String: String], log: (String) -> Void,
                                    starting: String, progress label: String,
                                    read: (SafeTensor) throws -> Value,
                                    compute: ([Float]) throws -> (Value, SafeTensor)) throws -> ([Value], Bool) {
        var metadata = key
        metadata["files"] = lines.map(\.file).joined(separator: "\n")
        if FileManager.default.fileExists(atPath: path), let file = try? SafeTensorsFile.read(path),
           metadata.allSatisfy({ file.metadata[$0.key] == $0.value }),
           let values = try? lines.indices.map({ i -> Value in
               guard let t = file.tensors["clip.\(i)"] else { throw CheckpointError(path: path, message: "lacks clip.\(i)") }
               return try read(t)
           }) {
            return (values, true)
        }
        log(starting)
        var file = SafeTensorsFile(metadata: metadata)
        var out: [Value] = []
        let bar = ProgressLine(enabled: isatty(2) != 0)
        for (i, line) in lines.enumerated() {
            let (value, tensor) = try compute(try AudioFile.readMono(line.file, sampleRate: sampleRate))
            file.tensors["clip.\(i)"] = tensor
            out.append(value)
            bar.update(done: i + 1, total: lines.count, "\(label) \(i + 1)/\(lines.count)")
        }
        bar.end()
        try file.write(to: path)
        return (out, false)
    }

    /// The onset-density quantiles of each genre's training clips, over back-to-back windows of the
    /// context (a clip shorter than one is one window): `PriorConfig.genreOnsetDensity`.
    public static func genreDensities(_ clips: [PriorClip], config: PriorConfig) -> [String: [Double]] {
        var byGenre: [String: [Double]] = [:]
        for clip in clips {
            guard let g = clip.genre, let onsets = clip.onsets else { continue }
            let n = clip.frames.first?.count ?? 0, t = config.context
            for start in Swift.stride(from: 0, to: max(n - t, 0) + 1, by: t) where n > 0 {
                let end = min(n, start + t)
                byGenre[config.genres[g], default: []].append(
                    OnsetDensity.density(onsets, from: Double(start) / config.tokensPerSecond, to: Double(end) / config.tokensPerSecond))
            }
        }
        return byGenre.compactMapValues(OnsetDensity.quantiles)
    }

    /// Clips with their labels resolved against the config's name lists (unknown names read as
    /// unconditioned), their codes laid out in steps and their timing in steps.
    public static func clips(_ lines: [MusicMetadataLine], codes: [[[Int32]]], config: PriorConfig, onsets: [[Double]]? = nil) -> [PriorClip] {
        zip(lines, codes).enumerated().map { i, pair in
            let (line, c) = pair
            let steps = config.pattern.interleave(c, special: Int32(config.vocabSize)).map { Int($0) }
            let n = steps.count / config.codebooks
            return PriorClip(codes: steps, frames: c.map { $0.map { Int($0) } }, artist: config.artistID(line.artist), genre: config.genreID(line.genre),
                             lyrics: line.lyrics.map { LyricLine(text: $0.text, start: $0.start + line.offset, end: $0.end + line.offset) },
                             grid: BarGrid(barSeconds: line.barSeconds, timeSignature: line.timeSignature),
                             chords: ChordTrack(key: line.key, progression: line.progression, genre: line.genre),
                             onsets: onsets?[i],
                             totalTokens: max(n, Int((max(line.length, line.offset) * config.tokensPerSecond).rounded())),
                             offsetTokens: Int((line.offset * config.tokensPerSecond).rounded()), split: line.split)
        }
    }

    /// The conditions of the window starting at code `start` of `clip`.
    /// With `onset_density`, the window's density is its own: the clip's onsets in the context's span from `start`.
    public static func conditions(_ clip: PriorClip, start: Int, config: PriorConfig) -> PriorConditions {
        let density = config.readsOnsetDensity ? clip.onsets.map { onsets -> Double in
            let end = min(clip.frames.first?.count ?? 0, start + config.context)
            return OnsetDensity.density(onsets, from: Double(start) / config.tokensPerSecond, to: Double(max(end, start + 1)) / config.tokensPerSecond)
        } : nil
        return config.conditions(PriorLabels(artist: clip.artist, genre: clip.genre, lyrics: clip.lyrics, grid: clip.grid, chords: clip.chords,
                                             density: density),
                                 totalTokens: clip.totalTokens, offsetTokens: clip.offsetTokens + start)
    }

    /// B random windows of T steps, clips picked in proportion to their length, with label dropout.
    /// → steps (B·T·K) and one PriorConditions per window.
    public static func randomBatch(_ clips: [PriorClip], batch: Int, length t: Int, dropout: Float, dropAll: Float = 0,
                                   config: PriorConfig, rng: inout RNG) -> ([Int], [PriorConditions]) {
        let total = clips.reduce(0) { $0 + $1.steps }, k = config.codebooks
        var tokens: [Int] = [], conds: [PriorConditions] = []
        tokens.reserveCapacity(batch * t * k)
        for _ in 0..<batch {
            var r = rng.int(below: max(total, 1)), c = 0
            while c < clips.count - 1 && r >= clips[c].steps { r -= clips[c].steps; c += 1 }
            let clip = clips[c]
            let start = rng.int(below: clip.steps - t + 1)
            tokens += clip.codes[(start * k)..<((start + t) * k)]
            conds.append(config.dropLabels(conditions(clip, start: start, config: config), probability: dropout, all: dropAll, rng: &rng))
        }
        return (tokens, conds)
    }

    /// Held-out cross-entropy (labels kept) beside the unigram and bigram entropies of the same
    /// codes. Windows of T steps start every `stride` steps of each clip (and one more ends at the
    /// clip's last step); each step is scored once, by the first window that holds it, so with
    /// stride T/2 every step after the first T/2 of a clip is predicted from at least T/2 steps
    /// of context, as when `gen music` slides its window. Stride T gives back-to-back windows,
    /// each starting from the start state alone, plus that tail window, whose first steps are
    /// context only. A clip shorter than T is one window of its own length. Window k of every
    /// clip is taken in turn, until `count`. The baselines read, per codebook, the codes of the
    /// scored steps (each codebook's codes as one sequence per clip) and are summed over codebooks.
    public static func evaluate(_ model: Prior, clips: [PriorClip], count: Int, length t: Int, stride: Int? = nil,
                                batch: Int = 8, trainCounts: [CodeEntropy.Counts]? = nil) -> PriorEval? {
        let stride = min(max(stride ?? t, 1), t), k = model.config.codebooks, v = model.config.vocabSize
        // Window starts per clip.
        let starts: [[Int]] = clips.map { clip in
            let n = clip.steps
            guard n > t else { return n > 0 ? [0] : [] }
            var s = Array(Swift.stride(from: 0, through: n - t, by: stride))
            if s.last! < n - t { s.append(n - t) }
            return s
        }
        var windows: [(tokens: [Int], targets: [Int], conditions: PriorConditions)] = []
        var scoredEnd = [Int](repeating: 0, count: clips.count)
        var w = 0
        while windows.count < count {
            var added = false
            for (c, clip) in clips.enumerated() where windows.count < count && w < starts[c].count {
                let s = starts[c][w], e = min(s + t, clip.steps)
                let tokens = Array(clip.codes[(s * k)..<(e * k)])
                let first = (scoredEnd[c] - s) * k   // codes before this were scored by an earlier window
                let targets = model.targets(tokens)
                windows.append((tokens, targets.enumerated().map { $0.offset >= first ? $0.element : -100 },
                                conditions(clip, start: s, config: model.config)))
                scoredEnd[c] = e
                added = true
            }
            if !added { break }
            w += 1
        }
        guard !windows.isEmpty else { return nil }
        // Batches hold windows of one length (only a short clip's window is shorter than T).
        windows.sort { $0.tokens.count > $1.tokens.count }
        var nats = [Double](repeating: 0, count: k), scored = [Int](repeating: 0, count: k), start = 0
        while start < windows.count {
            var end = start + 1
            while end < min(windows.count, start + batch) && windows[end].tokens.count == windows[start].tokens.count { end += 1 }
            let group = Array(windows[start..<end])
            start = end
            let targets = group.flatMap(\.targets)
            GradMode.withoutGrad {
                let logits = reshape(model(group.flatMap(\.tokens), conditions: group.map(\.conditions)), [targets.count, v])
                for q in 0..<k {
                    let mine = targets.enumerated().map { $0.offset % k == q ? $0.element : -100 }
                    let used = mine.filter { $0 >= 0 }.count
                    guard used > 0 else { continue }
                    nats[q] += Double(crossEntropy(logits, targets: mine).item) * Double(used); scored[q] += used
                }
            }
        }
        // The scored codes of codebook q are the frames f with f + shift(q) < scoredEnd.
        func sequences(_ q: Int) -> [[Int]] {
            clips.indices.filter { scoredEnd[$0] > 0 }.map { c in
                let frames = clips[c].frames[q]
                return Array(frames[..<min(frames.count, max(0, scoredEnd[c] - model.config.pattern.shift(q)))])
            }
        }
        var e = PriorEval(bitsPerFrame: 0, codebookBits: [], unigramBits: 0, bigramBits: 0, bigramLeaveOneOutBits: 0,
                          unigramModelBits: 0, bigramModelBits: 0, codes: scored.reduce(0, +))
        for q in 0..<k {
            let bits = scored[q] > 0 ? nats[q] / Double(scored[q]) / Foundation.log(2.0) : 0
            e.codebookBits.append(bits); e.bitsPerFrame += bits
            let seqs = sequences(q), fitted = trainCounts?[q] ?? CodeEntropy.Counts([], vocabSize: v)
            e.unigramBits += CodeEntropy.unigramBits(seqs, vocabSize: v)
            e.bigramBits += CodeEntropy.bigramBits(seqs, vocabSize: v)
            e.bigramLeaveOneOutBits += CodeEntropy.bigramLeaveOneOutBits(seqs, vocabSize: v)
            e.unigramModelBits += CodeEntropy.unigramModelBits(train: fitted, test: seqs)
            e.bigramModelBits += CodeEntropy.bigramModelBits(train: fitted, test: seqs)
        }
        return e
    }

    /// Genre name → the artists of the training clips in that genre, in the config's artist order
    /// (labels the config lacks left out); nil when no clip has a known pair.
    public static func genreBands(_ lines: [MusicMetadataLine], config: PriorConfig) -> [String: [String]]? {
        var pairs: [String: Set<String>] = [:]
        for l in lines where l.split == "train" && config.genreID(l.genre) != nil && config.artistID(l.artist) != nil {
            pairs[l.genre, default: []].insert(l.artist)
        }
        return pairs.isEmpty ? nil : pairs.mapValues { names in config.artists.filter(names.contains) }
    }

    // MARK: training

    /// Scheduled sampling in one pass (parallel scheduled sampling, Duckworth et al. 2019; Bengio et
    /// al. 2015): the model reads the windows teacher-forced without gradients, and each input code
    /// is replaced, with probability p, by a code drawn from its prediction at that step
    /// (softmax at temperature 1). A sampled piece reads nothing but its own draws, and one drawn
    /// code that is plausible but not the corpus's can start a drift that the model, trained on
    /// clean inputs alone, never learned to come back from; uniform input noise (`CodeCorruption`)
    /// teaches recovery from codes it would seldom draw. → the inputs for `Prior.loss(inputs:)`;
    /// the delay pattern's empty positions are kept.
    public static func selfSampledInputs(_ model: Prior, _ steps: [Int], conditions: [PriorConditions], p: Float,
                                         rng: inout RNG) -> [Int] {
        let b = conditions.count, k = model.config.codebooks, v = model.config.vocabSize, sizes = model.config.rows.sizes
        var inputs = Prior.teacherInputs(steps, windows: b, codebooks: k)
        let t = steps.count / (b * k)
        guard p > 0, t > 1 else { return inputs }
        let logits = GradMode.withoutGrad { model(steps, conditions: conditions) }   // (B, T, K·V)
        let softmax = SamplingOptions(temperature: 1, topK: 0, topP: 0)
        logits.withValues { l in
            for i in 0..<b {
                for j in 0..<(t - 1) {
                    for q in 0..<k {
                        let at = (i * (t - 1) + j) * k + q
                        guard inputs[at] >= 0 && inputs[at] < v && rng.uniform() < p else { continue }
                        // The prediction for step j of window i (it read the steps before j).
                        let row = ((i * t + j) * k + q) * v
                        inputs[at] = TokenSampling.sample(Array(l[row..<(row + sizes[q])]), options: softmax, rng: &rng)
                    }
                }
            }
        }
        return inputs
    }

    /// Refuses weights (from `from`, with `metadata`) that model another codec's codes or another
    /// fit of its bass stream than `codec`'s: they would go on training on codes that mean something
    /// else. With `seededFromIsFine`, weights of the codec this one was fine-tuned from are taken
    /// (they learn the new codes from there).
    static func checkCodec(of metadata: [String: String], config: PriorConfig, from: String, codec: RVQCodec,
                           o: PriorTrainOptions, fix: String, seededFromIsFine: Bool = false) throws {
        if let id = metadata["codec_model_id"], id != codec.modelID {
            guard seededFromIsFine && id == codec.config.seededFrom else {
                throw PriorError("the prior in \(from) models codes of codec \(id), but \(o.codecDir) is \(codec.modelID); \(fix).")
            }
            o.log("prior: \(from) models codes of codec \(id), which \(o.codecDir) was seeded from; it learns the new codec's codes from there")
        }
        if let why = MusicModels.bassStreamMismatch(prior: config, metadata: metadata, codec: codec) {
            throw PriorError("\(why) (\(from) against \(o.codecDir)); \(fix).")
        }
    }

    @discardableResult
    public static func train(_ o: PriorTrainOptions) throws -> PriorTrainResult {
        try o.check()
        let fm = FileManager.default
        let folder = try TrainingFolder(o.outDir)

        guard fm.fileExists(atPath: o.codecDir + "/config.json") else {
            throw PriorError("no codec in '\(o.codecDir)'; the prior models codes of the RVQ codec, which ships as models/codec (pass --codec models/codec).")
        }
        let codec = try MusicModels.loadCodec(o.codecDir)

        let lines = try loadCorpora(o.dataDirs)
        var config = o.model
        var initial: Prior? = nil
        if o.resume, fm.fileExists(atPath: folder.config) {
            config = try ConfigFile.read(PriorConfig.self, from: folder.config)
            if fm.fileExists(atPath: folder.weights) {
                try checkCodec(of: try SafeTensorsFile.read(folder.weights).metadata, config: config, from: o.outDir,
                               codec: codec, o: o, fix: "resume with the codec it was trained on, or start a new run in another folder")
            }
        } else if let from = o.initFrom {
            let (prior, metadata) = try Prior.loadWithMetadata(directory: from)
            try checkCodec(of: metadata, config: prior.config, from: from, codec: codec, o: o,
                           fix: "start a new prior without --init-from, or pass the codec it was trained on", seededFromIsFine: true)
            initial = try prior.withInstrumentalToken()
            if o.barGrid && prior.config.barBins == nil {
                initial = try initial!.withBarGrid()
                o.log("prior: \(from) gains the bar grid (its embeddings at zero, so it starts as it was); clips without a grid in their metadata read \"no grid\"")
            }
            if o.stepLabels && !prior.config.readsStepLabels {
                initial = try initial!.withStepLabels()
                o.log("prior: \(from) gains step labels (every step reads the genre and artist; the new tables at zero, so it starts as it was)")
            }
            if o.chords && !prior.config.readsChords {
                initial = try initial!.withChords()
                o.log("prior: \(from) gains chords (every step reads the chord sounding at its frame; the new tables at zero, so it starts as it was); clips whose metadata names no catalogue progression read \"no chord\"")
            }
            if o.onsetDensity && !prior.config.readsOnsetDensity {
                initial = try initial!.withOnsetDensity()
                o.log("prior: \(from) gains the onset density (every step reads its window's onsets per second; the new table at zero, so it starts as it was)")
            }
            if let n = o.bassCodebooks {
                initial = try initial!.withBassCodebooks(sizes: try bassSizes(n, codec: codec, codecDir: o.codecDir))
                o.log("prior: \(from) gains the codec's first \(n) bass-stream codebooks as rows \(prior.config.codebooks + 1)…\(initial!.config.codebooks) "
                      + "(their embeddings at zero, so the main codebooks start as they were)")
            }
            if o.gridGuidance {
                guard initial!.config.barBins != nil else { throw PriorError("--grid-guidance needs a prior with a bar grid: add --bar-grid.") }
                initial = try initial!.reconfigured { $0.gridGuidance = true }
                o.log("prior: the bar grid is dropped with the labels from now on, so guidance steers toward it")
            }
            if !prior.config.readsInstrumental {
                o.log("prior: \(from) predates the instrumental token; it starts as the space's row and windows without singing read it from now on")
            }
            config = initial!.config
        } else {
            config.vocabSize = codec.config.codebookSize
            config.hop = codec.hop
            config.sampleRate = codec.sampleRate
            // A user's corpus brings its own genres and artists: they become labels of a new prior.
            config.genres += Set(lines.map(\.genre)).subtracting(config.genres).sorted()
            config.artists += Set(lines.map(\.artist)).subtracting(config.artists).sorted()
            if let n = o.bassCodebooks {
                let sizes = try bassSizes(n, codec: codec, codecDir: o.codecDir)
                config.addBassCodebooks(sizes)
            }
        }
        // The bands each genre has in the training clips: a piece asked for by genre alone is played
        // by one of them (`PriorConfig.genreArtists`). A resumed run keeps its config's.
        if !o.resume || config.genreArtists == nil {
            let bands = genreBands(lines, config: config)
            if let prior = initial { initial = try prior.reconfigured { $0.genreArtists = bands } }
            config.genreArtists = bands
        }
        var problems = config.validate()
        problems += MusicModels.mismatch(prior: config, codec: codec)
        if !problems.isEmpty { throw PriorError("invalid prior config: " + problems.joined(separator: "; ")) }

        let k = config.codebooks
        let (codes, reused) = try cachedCodes(lines, codec: codec, config: config,
                                              cachePath: o.outDir + "/codes_cache.safetensors", log: o.log)
        let onsets = config.readsOnsetDensity
            ? try cachedOnsets(lines, sampleRate: config.sampleRate, cachePath: o.outDir + "/onsets_cache.safetensors", log: o.log) : nil
        let all = clips(lines, codes: codes, config: config, onsets: onsets)
        let train = all.filter { $0.split == "train" && $0.steps >= 1 }
        // The densities a piece asked for by genre draws between (`PriorConfig.genreOnsetDensity`). A resumed run keeps its config's.
        if config.readsOnsetDensity && (!o.resume || config.genreOnsetDensity == nil) {
            let q = genreDensities(train, config: config)
            if let prior = initial { initial = try prior.reconfigured { $0.genreOnsetDensity = q } }
            config.genreOnsetDensity = q
            o.log("prior: onsets per second of the training windows by genre (median): "
                  + q.keys.sorted().map { String(format: "%@ %.2f", $0, q[$0]![OnsetDensity.quantileCount / 2]) }.joined(separator: ", "))
        }
        guard let shortest = train.map(\.steps).min() else {
            let dirs = o.dataDirs.joined(separator: "', '")
            throw PriorError("the corpus at '\(dirs)' has no training clips; build one with `gen dataset music --out \(o.dataDirs[0])`.")
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

        let model = initial ?? Prior(config: config, seed: o.seed)
        if let from = o.initFrom, initial != nil { o.log("prior: starting from \(from)") }
        var step = 0
        let trainFrames = train.reduce(0) { $0 + $1.frames[0].count }
        o.log(String(format: "prior: %d train clips (%d frames, %.1f min), %d val clips, %d parameters, codec %@ (hop %d, %d codebooks of %d, %@ pattern), window %d steps × %d",
                     train.count, trainFrames, Double(trainFrames) / config.tokensPerSecond / 60, val.count, model.params.parameterCount,
                     codec.modelID, config.hop, k, config.vocabSize, config.pattern.rawValue, window, o.batchSize))
        if config.readsChords {
            o.log("prior: \(train.filter { $0.chords != nil }.count) of \(train.count) train clips and \(val.filter { $0.chords != nil }.count) of \(val.count) val clips name their chords (key and catalogue progression); the rest read \"no chord\"")
        }

        let log = try TrainingLog(path: folder.log, echo: o.log)
        func emit(_ line: String) { log.emit(line) }

        var lastEval: PriorEval?
        // The fitted baselines depend on the training codes alone: counted once, for every evaluation.
        let trainCounts = (0..<k).map { q in CodeEntropy.Counts(train.map { $0.frames[q] }, vocabSize: config.vocabSize) }
        func evaluateVal(final: Bool) {
            // The periodic evaluations read the first --eval-windows disjoint windows. The final one
            // scores every held-out code twice: in disjoint windows, and with windows sliding by half
            // their length (at least half a window of context, as `gen music` samples).
            let strides = final ? [window, window / 2] : [window]
            for stride in strides {
                guard let e = evaluate(model, clips: val, count: final ? Int.max : o.evalWindows, length: window, stride: stride,
                                       batch: o.batchSize, trainCounts: trainCounts) else { return }
                lastEval = e
                let perCodebook = e.codebookBits.map { String(format: "%.4f", $0) }.joined(separator: ",")
                emit(String(format: "{\"step\":%d,\"val_bits_per_frame\":%.4f,\"val_codebook_bits\":[%@],\"val_unigram_bits\":%.4f,\"val_bigram_bits\":%.4f,\"val_bigram_loo_bits\":%.4f,\"val_unigram_model_bits\":%.4f,\"val_bigram_model_bits\":%.4f,\"val_codes\":%d,\"stride\":%d%@}",
                            step, e.bitsPerFrame, perCodebook, e.unigramBits, e.bigramBits, e.bigramLeaveOneOutBits, e.unigramModelBits, e.bigramModelBits, e.codes, stride,
                            final ? ",\"final\":true" : ""))
            }
        }

        if o.evalOnly {
            evaluateVal(final: true)
            return PriorTrainResult(step: 0, firstLoss: nil, lastLoss: nil, eval: lastEval, cacheReused: reused)
        }

        // Training from here on: an eval-only run builds no optimizer and reads no optimizer state.
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: o.learningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: o.weightDecay))
        if o.resume { step = try folder.resume(model.params, opt, log: o.log).step }
        func save() throws {
            var metadata = ["step": String(step), "model": "prior", "codec_model_id": codec.modelID]
            if config.bassCodebookSizes != nil, let stream = codec.bassStream { metadata["bass_stream_id"] = stream.streamID }
            try model.save(directory: o.outDir, metadata: metadata)
            try opt.stateFile(step: step).write(to: folder.state)
        }

        let schedule = LRSchedule(peak: o.learningRate, warmupSteps: o.warmup, totalSteps: o.steps, minRatio: 0.05)
        var rng = RNG.derive(seed: o.seed, index: UInt64(step))
        // Its own stream, so that a run's batches are the same with and without dropout.
        let dropout = o.residualDropout > 0 ? ResidualDropout(p: o.residualDropout, rng: RNG.derive(seed: o.seed ^ 0xD0, index: UInt64(step))) : nil
        if let dropout { o.log(String(format: "prior: residual dropout %.2f in training steps", dropout.p)) }
        let corruption = o.inputNoise > 0 ? CodeCorruption(p: o.inputNoise, rng: RNG.derive(seed: o.seed ^ 0xC0, index: UInt64(step))) : nil
        if let corruption { o.log(String(format: "prior: input-code noise %.2f in training steps", corruption.p)) }
        var sampling = RNG.derive(seed: o.seed ^ 0x55, index: UInt64(step))
        if o.selfSampled > 0 { o.log(String(format: "prior: scheduled sampling, each input code the model's own draw with probability %.2f", o.selfSampled)) }
        let start = Date()
        var lossSum = 0.0, windowSteps = 0
        var firstLoss: Float?, lastLoss: Float?
        var windowStart = Date()
        while step < o.steps {
            if let why = TrainingInterrupt.stopReason(started: start, maxMinutes: o.maxMinutes) { o.log(why); break }
            let (tokens, conds) = randomBatch(train, batch: o.batchSize, length: window, dropout: o.labelDropout, dropAll: o.cfgDropout,
                                            config: config, rng: &rng)
            model.params.zeroGrad()
            let inputs = o.selfSampled > 0 ? selfSampledInputs(model, tokens, conditions: conds, p: o.selfSampled, rng: &sampling) : nil
            let loss = model.loss(tokens, conditions: conds, dropout: dropout, corruption: corruption, inputs: inputs)
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
                emit(String(format: "{\"step\":%d,\"loss\":%.4f,\"bits_per_frame\":%.4f,\"grad_norm\":%.3f,\"lr\":%.2e,\"steps_per_s\":%.0f,\"elapsed_s\":%.0f}",
                            step, mean, Double(mean) * Double(k) / Foundation.log(2.0), norm, schedule.rate(at: step),
                            Double(windowSteps * o.batchSize * window) / max(seconds, 1e-9), Date().timeIntervalSince(start)))
                lossSum = 0; windowSteps = 0; windowStart = Date()
            }
            if step % o.evalEvery == 0 { evaluateVal(final: false) }
            if step % o.saveEvery == 0 { try save() }
        }
        try save()
        if TrainingInterrupt.signal == nil { evaluateVal(final: true) }   // an interrupted run ends at its checkpoint
        return PriorTrainResult(step: step, firstLoss: firstLoss, lastLoss: lastLoss, eval: lastEval, cacheReused: reused)
    }
}

