// Sampler.swift — sampling the music prior, after Jukebox (Dhariwal et al. 2020) §4 and its
// sampling methods (Figure 3: ancestral sampling; windowed sampling, which slides the context
// forward by a hop fraction and keeps the overlap as the new prefix; primed sampling, which
// continues from the codes of real audio). Decoding is incremental, llama2.c style: a RunState
// holds one preallocated self-attention KV cache per layer, indexed by window position, and the
// cross-attention keys/values of the current lyrics window, computed once per window.
// Token choice: temperature, then top-k, then top-p (nucleus, Holtzman et al. 2020), from a
// seeded generator per sample, so a seed reproduces a batch.
//
// Letters: B batch (samples), V code vocabulary, K codebooks, L layers.
import Engine
import Foundation
import Requests

// MARK: - token sampling

public struct SamplingOptions: Equatable {
    /// Divides the logits; 0 means greedy.
    public var temperature: Float = 0.95
    /// Keep only the k most likely codes; 0 keeps all, 1 is greedy.
    public var topK: Int = 0
    /// Keep the smallest set of most likely codes whose mass reaches p; 0 (or 1) keeps all.
    public var topP: Float = 0

    public init(temperature: Float = 0.95, topK: Int = 0, topP: Float = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP
    }

    public var isGreedy: Bool { temperature == 0 || topK == 1 }

    /// Problems with the values, each saying what is allowed; empty when sound.
    public func validate() -> [String] {
        var problems: [String] = []
        problems += MusicRequest.samplingProblems(temperature: temperature, topK: topK, topP: topP,
                                                  naming: { $0.rawValue.replacingOccurrences(of: "_", with: "-") })
        return problems
    }
}

public enum TokenSampling {
    /// Index of the largest logit (the first one on ties).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }

    /// The distribution a code is drawn from: softmax(logits / temperature) restricted to the
    /// top-k codes, then to the smallest most-likely set whose (renormalised) mass is ≥ top-p,
    /// renormalised. Greedy options give the one-hot argmax.
    public static func probabilities(_ logits: [Float], options: SamplingOptions) -> [Float] {
        let v = logits.count
        var probs = [Float](repeating: 0, count: v)
        if options.isGreedy { probs[argmax(logits)] = 1; return probs }
        let m = logits.max() ?? 0
        var total: Double = 0
        for i in 0..<v { let e = Foundation.exp(Double((logits[i] - m) / options.temperature)); probs[i] = Float(e); total += e }
        for i in 0..<v { probs[i] = Float(Double(probs[i]) / total) }
        let filterK = options.topK > 0 && options.topK < v, filterP = options.topP > 0 && options.topP < 1
        guard filterK || filterP else { return probs }
        // Most likely first; ties keep index order so the result does not depend on the sort.
        let order = (0..<v).sorted { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
        var keep = filterK ? options.topK : v
        if filterP {
            let mass = order[..<keep].reduce(0.0) { $0 + Double(probs[$1]) }
            var cumulative = 0.0
            for (i, j) in order[..<keep].enumerated() {
                cumulative += Double(probs[j]) / mass
                if cumulative >= Double(options.topP) { keep = i + 1; break }
            }
        }
        var out = [Float](repeating: 0, count: v)
        let kept = order[..<keep].reduce(0.0) { $0 + Double(probs[$1]) }
        for j in order[..<keep] { out[j] = Float(Double(probs[j]) / kept) }
        return out
    }

    /// Draws a code from `probabilities(logits, options)`; greedy options draw nothing from rng.
    public static func sample(_ logits: [Float], options: SamplingOptions, rng: inout RNG) -> Int {
        if options.isGreedy { return argmax(logits) }
        let probs = probabilities(logits, options: options)
        let u = rng.uniform()
        var cumulative: Float = 0, last = 0
        for (i, p) in probs.enumerated() where p > 0 {
            cumulative += p; last = i
            if u < cumulative { return i }
        }
        return last   // rounding left u just above the total
    }
}

// MARK: - run state

/// Decoding state of B sequences (llama2.c's RunState): a KV cache per layer for `context`
/// positions, the lyrics keys/values of the current window, and that window's conditions.
public final class PriorRunState {
    public let batch: Int
    public let caches: [KVCache]               // (L) of (B, H, context, D)
    public internal(set) var lyrics: [LyricsKV?] = []
    public internal(set) var conditions: [PriorConditions] = []
    /// The head's weights, taken out of the (tied) token embedding once for every step.
    let headWeight: Tensor

    init(config: PriorConfig, batch: Int, headWeight: Tensor, halfPrecision: Bool) {
        self.batch = batch
        self.headWeight = headWeight
        caches = (0..<config.layers).map { _ in
            KVCache(batch: batch, heads: config.heads, maxLength: config.context, headDim: config.dModel / config.heads,
                    halfPrecision: halfPrecision)
        }
    }

    /// Window positions filled so far.
    public var position: Int { caches[0].length }
}

/// Sampling defaults shared by `gen music`, `gen batch` and `make eval-music`.
public enum SamplingDefaults {
    /// Classifier-free guidance on every label (1 = off): the request's default and range.
    public static let cfg = MusicRequest.defaultCFG
    public static let cfgRange = MusicRequest.cfgRange
    /// The plausibility constraint's α (0 = off): the request's range.
    public static let plausibilityRange = MusicRequest.plausibilityRange
    /// The repeat penalty θ (1 = off; an evaluation knob, `gen-eval music --repeat-penalty`).
    public static let repeatPenaltyRange: ClosedRange<Float> = 1...10
    /// The largest default temperature a prior's config may set (a request may ask for any).
    public static let maxConfigTemperature: Float = 5
}

extension Prior {
    /// The lyric window of the "sung" row of instrumental guidance: an ordinary sung line,
    /// whatever its words (the prior reads any lyric window as "someone sings here").
    static func sungLine(_ config: PriorConfig) -> [Int] {
        LyricsVocabulary.encode("I will sing to you tonight, I sing the whole night long", maxLength: config.lyricsLength)
    }

    public func makeRunState(batch: Int) -> PriorRunState {
        PriorRunState(config: config, batch: batch, headWeight: GradMode.withoutGrad { headWeight() }, halfPrecision: headHalf != nil)
    }

    /// Starts a window: empties the caches and encodes its lyrics once for every later step.
    public func begin(_ state: PriorRunState, conditions: [PriorConditions]) {
        precondition(conditions.count == state.batch, "prior: \(conditions.count) conditions for a batch of \(state.batch)")
        for cache in state.caches { cache.reset() }
        state.conditions = conditions
        state.lyrics = GradMode.withoutGrad { lyricsKV(conditions) }
    }

    /// Feeds the next positions of the window and returns the logits of the last one, (B, K·V)
    /// row-major. At position 0 the start state comes first, so `steps` (B·m·K) may be empty;
    /// otherwise m ≥ 1 steps per sequence.
    public func feed(_ state: PriorRunState, steps: [Int]) -> [Float] {
        let b = state.batch, p0 = state.position, k = config.codebooks
        precondition(steps.count % (b * k) == 0, "prior: \(steps.count) codes for a batch of \(b) × \(k) codebooks")
        let n = steps.count / (b * k) + (p0 == 0 ? 1 : 0)
        precondition(n >= 1, "prior: nothing to feed")
        return GradMode.withoutGrad {
            let x = embedInputs(steps: steps, from: p0, count: n, conditions: state.conditions)
            var h = decode(x, lyrics: state.lyrics, caches: state.caches)   // (B, n, C)
            if n > 1 { h = slice(h, axis: 1, (n - 1)..<n) }
            if let headHalf, headHalf.serves(h) { return headHalf.linear(h, bias: headBias).data }   // (B, 1, K·V)
            return head(h, weight: state.headWeight).data
        }
    }

    // MARK: generate

    /// The first step each window of `sample` predicts, for an unprimed piece of `steps` steps: 0,
    /// then each time a window has predicted `context` steps, the next one (the new window's prefix
    /// is the last (1 − hopFraction)·context steps before it).
    public func windowStarts(steps: Int, hopFraction: Double = 0.5) -> [Int] {
        let ctx = config.context, keep = windowKeep(hopFraction: hopFraction)
        var starts = [0], offset = 0
        while offset + ctx < steps { let n = offset + ctx; starts.append(n); offset = n - keep }
        return starts
    }

    /// Steps a full window hands to the next as its prefix; at least one position is left to sample into.
    func windowKeep(hopFraction: Double) -> Int {
        min(config.context - 1, Int((Double(config.context) * (1 - hopFraction)).rounded(.down)))
    }

    /// The bar grid each of `count` samples reads: none for a prior without `bar_bins`; else
    /// `labels.grid`, or one drawn per sample (from `seed`, apart from the codes' random streams)
    /// as the corpus plays the labels' genre (`BarGrid.typical`).
    public func barGrids(_ labels: PriorLabels, count: Int, seed: UInt64) -> [BarGrid?] {
        (0..<count).map { b in
            guard config.barBins != nil else { return nil }
            if let g = labels.grid { return g }
            var rng = RNG.derive(seed: seed ^ 0x6261_7267_7269_6400, index: UInt64(b))
            return BarGrid.typical(genre: labels.genre.map { config.genres[$0] }, rng: &rng)
        }
    }

    /// The chords each of `count` samples plays: none for a prior without `chords`; else
    /// `labels.chords`, or a progression drawn per sample (from `seed`, apart from the grid's and the
    /// codes' random streams) as the corpus plays the labels' genre (`ChordTrack.typical`).
    public func chordTracks(_ labels: PriorLabels, count: Int, seed: UInt64) -> [ChordTrack?] {
        (0..<count).map { b in
            guard config.readsChords else { return nil }
            if let c = labels.chords { return c }
            var rng = RNG.derive(seed: seed ^ 0x6368_6f72_6473_0000, index: UInt64(b))
            return ChordTrack.typical(genre: labels.genre.map { config.genres[$0] }, rng: &rng)
        }
    }

    /// The onset density each of `count` samples reads: none for a prior without `onset_density`; else
    /// `labels.density`, or one drawn per sample (from `seed`, apart from the other streams) between the
    /// quantiles of the genre's training windows (`genre_onset_density`; every genre's pooled when the
    /// genre is not given or not listed). nil ("no density") when the config holds no quantiles.
    public func densities(_ labels: PriorLabels, count: Int, seed: UInt64) -> [Double?] {
        let table = config.genreOnsetDensity ?? [:]
        let genre = labels.genre.flatMap { config.genres.indices.contains($0) ? config.genres[$0] : nil }
        let quantiles: [Double]? = genre.flatMap { table[$0] }
            ?? (table.isEmpty ? nil : OnsetDensity.quantiles(table.keys.sorted().flatMap { table[$0]! }))
        return (0..<count).map { b in
            guard config.readsOnsetDensity else { return nil }
            if let d = labels.density { return d }
            guard let q = quantiles else { return nil }
            var rng = RNG.derive(seed: seed ^ 0x6f6e_7365_7473_0000, index: UInt64(b))
            return OnsetDensity.draw(q, rng: &rng)
        }
    }

    /// The artist each of `count` samples is played by: `labels.artist` when given; without one, for a
    /// genre the config's `genre_artists` lists bands for (and `labels.drawsBand`), one of them drawn
    /// uniformly per sample from `seed`; otherwise nil (unconditioned).
    public func bands(_ labels: PriorLabels, count: Int, seed: UInt64) -> [Int?] {
        let choices: [Int] = labels.artist != nil || !labels.drawsBand ? [] : labels.genre.flatMap { g in
            config.genres.indices.contains(g) ? config.genreArtists?[config.genres[g]]?.compactMap(config.artistID) : nil } ?? []
        return (0..<count).map { b in
            if let a = labels.artist { return a }
            guard !choices.isEmpty else { return nil }
            var rng = RNG.derive(seed: seed ^ 0x6261_6e64_0000_0000, index: UInt64(b))
            return choices[rng.int(below: choices.count)]
        }
    }

    /// The plausibility constraint on a guided row (`PriorConfig.cfgPlausibility`): codes whose
    /// probability under the `conditioned` logits alone (temperature 1) is below `alpha` times the
    /// likeliest code's are removed (−∞), so guidance only reorders codes the conditioned model
    /// already finds plausible. The likeliest conditioned code always stays.
    static func keepPlausible(_ row: inout [Float], conditioned: ArraySlice<Float>, alpha: Float) {
        guard let top = conditioned.max() else { return }
        let floor = top + Foundation.log(alpha)
        for (j, l) in zip(row.indices, conditioned) where l < floor { row[j] = -.infinity }
    }

    /// Samples `count` pieces of `frames` frames, each as codes (K, frames). The first P frames of
    /// each are the prime (codes (K, P), primed sampling); every other code is drawn from the
    /// cached decoder, one step (K codes, laid out by the pattern) at a time. Beyond the context
    /// the window slides: when it is full, the last (1 − hopFraction)·context steps become the
    /// prefix of a new window (new offset, new lyric window) and sampling goes on.
    /// Classifier-free guidance (Ho & Salimans 2022; audiocraft's cfg_coef): with `cfg` ≠ 1 and
    /// any label given, the same sequences also run with every label left out (the cfg dropout
    /// trained that) and each codebook's logits become u + cfg·(c − u). `temperature` left out is the
    /// config's (`defaultTemperature`: its `temperature`, else 1). `temperatureFine` and `topKFine`,
    /// when given, replace `temperature` and `topK` for codebooks 2…K (the first keeps them): evaluation
    /// knobs (`gen-eval music --temperature-fine`, `--top-k-fine`), not `gen music` flags, because the
    /// prior's card measured what they do: cooled, the later codebooks copy their previous code and the music freezes.
    /// Sample i draws from RNG.derive(seed, i), so its random stream does not depend on `count`; its
    /// products share the batch, whose size can change their last bits and so the piece (the prior's card).
    /// A prior with a bar grid (`bar_bins`) reads `labels.grid` for every sample, or, without one,
    /// a grid per sample as the corpus plays the genre (`barGrids`); a piece asked for by genre alone
    /// is played by one of the genre's bands, drawn per sample (`bands`).
    /// `plausibility` (α; default the config's `cfg_plausibility`, 0 off) keeps guided codes to those the
    /// conditioned row gives at least α times its likeliest code's probability (`keepPlausible`), for
    /// the codebooks in `plausibleCodebooks` (nil: all; an evaluation knob). `repeatPenalty` (θ in 1…10,
    /// 1 off; an evaluation knob, `gen-eval music --repeat-penalty`) divides the probability of the code each
    /// codebook drew the frame before by θ (the prior's card: it shortens code runs, not held chords).
    /// `densityCFG` (d in 0…10, nil or 0 off; an evaluation knob, `gen-eval music --density-cfg`), for a prior
    /// with `onset_density`: one more row per sample reads the same conditions without the density, and
    /// the logits gain d·(full − no density) on top of the labels' guidance, which already holds the density once.
    /// `progress(done, total)` is called after each sampled step.
    public func sample(_ labels: PriorLabels, count: Int, frames: Int, temperature: Float? = nil, topK: Int = 0,
                       topP: Float = 0, seed: UInt64, prime: [[Int32]] = [], hopFraction: Double = 0.5,
                       cfg: Float = 1, gridCFG: Float? = nil, temperatureFine: Float? = nil, topKFine: Int? = nil,
                       instrumentalCFG: Float? = nil, bandCFG: Float? = nil, plausibility: Float? = nil,
                       plausibleCodebooks: ClosedRange<Int>? = nil, repeatPenalty: Float = 1, densityCFG: Float? = nil,
                       progress: ((Int, Int) -> Void)? = nil) throws -> [[[Int32]]] {
        let temperature = temperature ?? config.defaultTemperature
        let options = SamplingOptions(temperature: temperature, topK: topK, topP: topP)
        let fineOptions = SamplingOptions(temperature: temperatureFine ?? temperature, topK: topKFine ?? topK, topP: topP)
        let k = config.codebooks, v = config.vocabSize, pattern = config.pattern
        // The codes each row can hold: V, or fewer in a bass codebook's rows (never drawn above).
        let rowSizes = config.rows.sizes
        var problems = options.validate() + (temperatureFine == nil && topKFine == nil ? [] : fineOptions.validate().map { "codebooks 2…\(config.codebooks): " + $0 })
        if count < 1 { problems.append("samples must be at least 1, got \(count)") }
        if frames < 1 { problems.append("length must be at least 1 frame, got \(frames)") }
        let primed = prime.first?.count ?? 0
        if !prime.isEmpty {
            if prime.count < k || prime.contains(where: { $0.count != primed }) {
                problems.append("the prime has \(prime.count) codebooks of codes; this prior needs the first \(k), all of one length")
            }
            if primed >= frames { problems.append("the prime (\(primed) frames) must be shorter than the length (\(frames) frames)") }
            for (q, size) in rowSizes.enumerated() where q < prime.count {
                if let bad = prime[q].first(where: { $0 < 0 || Int($0) >= size }) {
                    problems.append("prime code \(bad) of row \(q + 1) is outside 0..<\(size): were the codes made by this prior's codec?")
                    break
                }
            }
        }
        if !(hopFraction > 0 && hopFraction <= 1) { problems.append("hop fraction must be in (0, 1], got \(hopFraction)") }
        if let a = labels.artist, !(0..<config.artists.count).contains(a) { problems.append("artist id \(a) is outside 0..<\(config.artists.count)") }
        if let g = labels.genre, !(0..<config.genres.count).contains(g) { problems.append("genre id \(g) is outside 0..<\(config.genres.count)") }
        let guidanceRange = SamplingDefaults.cfgRange
        if !guidanceRange.contains(cfg) {
            problems.append("guidance (cfg) must be between \(Int(guidanceRange.lowerBound)) (off) and \(Int(guidanceRange.upperBound)), got \(cfg)")
        }
        if let g = gridCFG, !guidanceRange.contains(g) {
            problems.append("grid guidance must be between \(Int(guidanceRange.lowerBound)) (off) and \(Int(guidanceRange.upperBound)), got \(g)")
        }
        let instrumentalScale = instrumentalCFG ?? config.instrumentalCFG ?? 1
        if !guidanceRange.contains(instrumentalScale) {
            problems.append("instrumental guidance must be between \(Int(guidanceRange.lowerBound)) (off) and \(Int(guidanceRange.upperBound)), got \(instrumentalScale)")
        }
        if let g = bandCFG, !(g >= 0 && g <= 10) { problems.append("band guidance must be between 0 and 10, got \(g)") }
        let alpha = plausibility ?? config.cfgPlausibility ?? 0
        if !SamplingDefaults.plausibilityRange.contains(alpha) { problems.append("the guidance plausibility must be at least 0 and below 1, got \(alpha)") }
        if !SamplingDefaults.repeatPenaltyRange.contains(repeatPenalty) { problems.append("the repeat penalty must be between 1 (off) and 10, got \(repeatPenalty)") }
        if let t = labels.chords, !t.isWellFormed {
            problems.append("the chords must be 1 to \(ChordTrack.maxBars) bars of 1 to \(ChordTrack.maxChordsPerBar) known chords each")
        }
        if let d = densityCFG, !(d >= 0 && d <= 10) { problems.append("density guidance must be between 0 (off) and 10, got \(d)") }
        if let d = labels.density, !(d.isFinite && d >= 0 && d <= OnsetDensity.maxPerSecond) {
            problems.append("the onset density must be between 0 and \(Int(OnsetDensity.maxPerSecond)) onsets per second, got \(d)")
        }
        if let g = labels.grid {
            if !(g.barSeconds.isFinite && g.barSeconds >= 0.05 && g.barSeconds <= 60) { problems.append("a bar must last 0.05 to 60 seconds, got \(g.barSeconds)") }
            if !(1...32).contains(g.beatsPerBar) { problems.append("beats per bar must be in 1...32, got \(g.beatsPerBar)") }
        }
        if !problems.isEmpty { throw PriorError(problems.joined(separator: "; ")) }
        let grids = barGrids(labels, count: count, seed: seed), chords = chordTracks(labels, count: count, seed: seed)
        let density = densities(labels, count: count, seed: seed)
        let artists = bands(labels, count: count, seed: seed).map { $0 ?? config.unconditionedArtist }
        // With the instrumental token, "no lyrics" is a condition too (guidance steers away from singing).
        let guided = cfg != 1 && (labels.artist != nil || labels.genre != nil || !labels.lyrics.isEmpty || config.readsInstrumental || config.guidesGrid)
        // Guidance on the grid apart from the labels (a prior with `grid_guidance` and a grid scale,
        // `gridCFG` or the config's `grid_cfg`): a third row per sample reads the grid without labels,
        // and the logits become n + g_grid·(grid − n) + cfg·(full − grid) (compositional guidance:
        // n reads neither, full both). Without a grid scale the grid is guided at `cfg` with the labels.
        let gridScale = config.guidesGrid ? (gridCFG ?? config.gridCFG) : nil
        let split = guided && gridScale != nil
        // Guidance toward instrumental music (a piece asked for without lyrics, from a prior with the
        // instrumental token; `instrumentalCFG` or the config's `instrumental_cfg`, 1 = off; --cfg 1
        // turns every guidance off): one more row per sample reads the same labels with a sung line
        // in every lyric window, a negative prompt, and the logits gain (s − 1)·(full − sung).
        let away = guided && instrumentalScale != 1 && labels.lyrics.isEmpty && config.readsInstrumental
        // Guidance on a drawn band apart from the genre (`bandCFG` or the config's `band_cfg`): one more
        // row per sample reads the same conditions without the band; the labels' guidance steers toward
        // that row, and the band adds b·(full − no band) on top (b = 1: the band conditions the piece
        // but is not amplified). Without a scale the band is guided at `cfg` with the labels.
        let bandScale = bandCFG ?? config.bandCFG
        let bandApart = guided && bandScale != nil && labels.artist == nil && artists.contains { $0 != config.unconditionedArtist }
        let awayBase = split ? 3 : guided ? 2 : 1, bandBase = awayBase + (away ? 1 : 0)
        let densityScale = densityCFG ?? 0
        let densityApart = guided && densityScale > 0 && density.contains { $0 != nil }
        let densityBase = bandBase + (bandApart ? 1 : 0)
        let copies = densityBase + (densityApart ? 1 : 0)
        let rows = copies * count

        let total = pattern.steps(frames: frames, codebooks: k)
        // The code at step s of codebook q: frame s − shift(q); outside the piece it is the special
        // code, inside the prime it is the prime's code, otherwise nil (to be sampled).
        func fixed(step s: Int, codebook q: Int) -> Int? {
            let f = s - pattern.shift(q)
            if f < 0 || f >= frames { return v }
            return f < primed ? Int(prime[q][f]) : nil
        }
        // Steps whose codes are all fixed by the prime come first, fed as context.
        var n = 0
        while n < total && (0..<k).allSatisfy({ fixed(step: n, codebook: $0) != nil }) && primed > 0 { n += 1 }
        let start = n
        var sequences = [[Int]](repeating: (0..<n).flatMap { s in (0..<k).map { fixed(step: s, codebook: $0)! } }, count: count)
        var rngs = (0..<count).map { RNG.derive(seed: seed, index: UInt64($0)) }
        let state = makeRunState(batch: rows)

        let ctx = config.context, keep = windowKeep(hopFraction: hopFraction)
        /// Starts the window at step `offset` and feeds steps offset..<n; → logits predicting step n.
        func startWindow(at offset: Int) -> [Float] {
            let c = config.conditions(labels, totalTokens: total, offsetTokens: offset)
            var conds = (0..<count).map { i -> PriorConditions in
                var one = c; one.grid = grids[i]; one.artist = artists[i]; one.chords = chords[i]; one.density = density[i]; return one
            }
            let full = conds
            if split { conds += full.map { config.unconditioned($0, keepingGrid: true) } }
            if guided { conds += full.map { config.unconditioned($0) } }
            if away { conds += full.map { var one = $0; one.lyrics = Self.sungLine(config); return one } }
            if bandApart { conds += full.map { var one = $0; one.artist = config.unconditionedArtist; return one } }
            if densityApart { conds += full.map { var one = $0; one.density = nil; return one } }
            begin(state, conditions: conds)
            let steps = sequences.flatMap { $0[(offset * k)...] }
            return feed(state, steps: Array([[Int]](repeating: steps, count: copies).joined()))
        }

        var logits = startWindow(at: n <= ctx - 1 ? 0 : n - keep)    // (rows, K·V)
        var row = [Float](repeating: 0, count: v)
        let repeatCost = Foundation.log(repeatPenalty)
        while n < total {
            for b in 0..<count {
                for q in 0..<k {
                    if let code = fixed(step: n, codebook: q) { sequences[b].append(code); continue }
                    let c = (b * k + q) * v
                    // The labels' guidance aims at the row without the band when the band is guided apart.
                    let t = bandApart ? ((bandBase * count + b) * k + q) * v : c
                    if split, let g = gridScale {
                        let m = ((count + b) * k + q) * v, u = ((2 * count + b) * k + q) * v
                        for j in 0..<v { row[j] = logits[u + j] + g * (logits[m + j] - logits[u + j]) + cfg * (logits[t + j] - logits[m + j]) }
                    } else if guided {
                        let u = ((count + b) * k + q) * v
                        for j in 0..<v { row[j] = logits[u + j] + cfg * (logits[t + j] - logits[u + j]) }
                    } else {
                        for j in 0..<v { row[j] = logits[c + j] }
                    }
                    if bandApart, let w = bandScale {
                        for j in 0..<v { row[j] += w * (logits[c + j] - logits[t + j]) }
                    }
                    if densityApart {
                        let d = ((densityBase * count + b) * k + q) * v
                        for j in 0..<v { row[j] += densityScale * (logits[c + j] - logits[d + j]) }
                    }
                    if away {
                        let s = ((awayBase * count + b) * k + q) * v
                        let w = instrumentalScale - 1
                        for j in 0..<v { row[j] += w * (logits[c + j] - logits[s + j]) }
                    }
                    if guided && alpha > 0 && plausibleCodebooks.map({ $0.contains(q) }) ?? true { Self.keepPlausible(&row, conditioned: logits[c..<(c + v)], alpha: alpha) }
                    if rowSizes[q] < v { for j in rowSizes[q]..<v { row[j] = -.infinity } }
                    // The repeat penalty divides the probability of the code this codebook drew the frame before.
                    if repeatCost > 0 && n > 0, case let previous = sequences[b][(n - 1) * k + q], previous < v { row[previous] -= repeatCost }
                    sequences[b].append(TokenSampling.sample(row, options: q == 0 ? options : fineOptions, rng: &rngs[b]))
                }
            }
            n += 1
            progress?(n - start, total - start)
            if n == total { break }
            let last = sequences.flatMap { $0[((n - 1) * k)...] }
            logits = state.position == ctx ? startWindow(at: n - keep) : feed(state, steps: Array([[Int]](repeating: last, count: copies).joined()))
        }
        return sequences.map { pattern.deinterleave($0.map { Int32($0) }, codebooks: k) }
    }
}
