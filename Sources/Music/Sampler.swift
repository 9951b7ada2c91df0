// Sampler.swift — sampling the music prior, after Jukebox (Dhariwal et al. 2020) §4 and its
// sampling methods (Figure 3: ancestral sampling; windowed sampling, which slides the context
// forward by a hop fraction and keeps the overlap as the new prefix; primed sampling, which
// continues from the codes of real audio). Decoding is incremental, llama2.c style: a RunState
// holds one preallocated self-attention KV cache per layer, indexed by window position, and the
// cross-attention keys/values of the current lyrics window, computed once per window.
// Token choice: temperature, then top-k, then top-p (nucleus, Holtzman et al. 2020), from a
// seeded generator per sample, so a seed reproduces a batch.
//
// Letters: B batch (samples), V code vocabulary, L layers.
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

    public init(config: PriorConfig, batch: Int) {
        self.batch = batch
        caches = (0..<config.layers).map { _ in
            KVCache(batch: batch, heads: config.heads, maxLength: config.context, headDim: config.dModel / config.heads)
        }
    }

    /// Window positions filled so far.
    public var position: Int { caches[0].length }
}

/// Sampling defaults shared by `gen music`, `gen batch` and `make eval-music`.
public enum SamplingDefaults {
    /// Classifier-free guidance on the genre (1 = off): the request's default and range.
    public static let genreGuidance = MusicRequest.defaultGenreGuidance
    public static let genreGuidanceRange = MusicRequest.genreGuidanceRange
}

extension Prior {
    public func makeRunState(batch: Int) -> PriorRunState { PriorRunState(config: config, batch: batch) }

    /// Starts a window: empties the caches and encodes its lyrics once for every later step.
    public func begin(_ state: PriorRunState, conditions: [PriorConditions]) {
        precondition(conditions.count == state.batch, "prior: \(conditions.count) conditions for a batch of \(state.batch)")
        for cache in state.caches { cache.reset() }
        state.conditions = conditions
        state.lyrics = GradMode.withoutGrad { lyricsKV(conditions) }
    }

    /// Feeds the next positions of the window and returns the logits of the last one, (B, V)
    /// row-major. At position 0 the start state comes first, so `tokens` (B·m) may be empty;
    /// otherwise m ≥ 1 codes per sequence.
    public func feed(_ state: PriorRunState, tokens: [Int]) -> [Float] {
        let b = state.batch, p0 = state.position
        precondition(tokens.count % b == 0, "prior: \(tokens.count) codes for a batch of \(b)")
        let n = tokens.count / b + (p0 == 0 ? 1 : 0)
        precondition(n >= 1, "prior: nothing to feed")
        return GradMode.withoutGrad {
            let x = embedInputs(tokens: tokens, from: p0, count: n, conditions: state.conditions)
            var h = decode(x, lyrics: state.lyrics, caches: state.caches)   // (B, n, C)
            if n > 1 { h = slice(h, axis: 1, (n - 1)..<n) }
            return head(h).data                                              // (B, 1, V)
        }
    }

    // MARK: generate

    /// Samples `count` sequences of `length` codes. The first `prime.count` codes of each are the
    /// prime (primed sampling); the rest are drawn one at a time from the cached decoder. Beyond
    /// the context, the window slides: when it is full, the last (1 − hopFraction)·context codes
    /// become the prefix of a new window (new offset, new lyric window) and sampling goes on.
    /// Sample i draws from RNG.derive(seed, i), so it does not depend on `count`.
    /// `progress(done, total)` is called after each generated code.
    public func sample(_ labels: PriorLabels, count: Int, length: Int, temperature: Float = 0.95, topK: Int = 0,
                       topP: Float = 0, seed: UInt64, prime: [Int32] = [], hopFraction: Double = 0.5,
                       genreGuidance: Float = 1, progress: ((Int, Int) -> Void)? = nil) throws -> [[Int32]] {
        let options = SamplingOptions(temperature: temperature, topK: topK, topP: topP)
        var problems = options.validate()
        if count < 1 { problems.append("samples must be at least 1, got \(count)") }
        if length < 1 { problems.append("length must be at least 1 code, got \(length)") }
        if prime.count >= length { problems.append("the prime (\(prime.count) codes) must be shorter than the length (\(length) codes)") }
        if let bad = prime.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            problems.append("prime code \(bad) is outside 0..<\(config.vocabSize): were the codes made by this prior's codec?")
        }
        if !(hopFraction > 0 && hopFraction <= 1) { problems.append("hop fraction must be in (0, 1], got \(hopFraction)") }
        if let a = labels.artist, !(0..<config.artists.count).contains(a) { problems.append("artist id \(a) is outside 0..<\(config.artists.count)") }
        if let g = labels.genre, !(0..<config.genres.count).contains(g) { problems.append("genre id \(g) is outside 0..<\(config.genres.count)") }
        let guidanceRange = SamplingDefaults.genreGuidanceRange
        if !guidanceRange.contains(genreGuidance) {
            problems.append("genre guidance must be between \(Int(guidanceRange.lowerBound)) (off) and \(Int(guidanceRange.upperBound)), got \(genreGuidance)")
        }
        if !problems.isEmpty { throw PriorError(problems.joined(separator: "; ")) }
        // Classifier-free guidance on the genre (Ho & Salimans 2022): the same sequences also run
        // with the genre left out (the label dropout trained that), and the logits become
        // u + g·(c − u). g = 1 is plain conditional sampling.
        let guided = genreGuidance != 1 && labels.genre != nil
        var plain = labels
        plain.genre = nil
        let rows = guided ? 2 * count : count

        let ctx = config.context
        // Codes kept as the next window's prefix; at least one position is left to sample into.
        let keep = min(ctx - 1, Int((Double(ctx) * (1 - hopFraction)).rounded(.down)))
        var sequences = [[Int]](repeating: prime.map { Int($0) }, count: count)   // (B, n)
        var rngs = (0..<count).map { RNG.derive(seed: seed, index: UInt64($0)) }
        let state = makeRunState(batch: rows)

        /// Starts the window at `offset` and feeds codes offset..<n; → logits predicting code n.
        func startWindow(at offset: Int) -> [Float] {
            let c = config.conditions(labels, totalTokens: length, offsetTokens: offset)
            var conds = [PriorConditions](repeating: c, count: count)
            if guided { conds += [PriorConditions](repeating: config.conditions(plain, totalTokens: length, offsetTokens: offset), count: count) }
            begin(state, conditions: conds)
            let tokens = sequences.flatMap { $0[offset...] }
            return feed(state, tokens: guided ? tokens + tokens : tokens)
        }

        var n = prime.count
        var logits = startWindow(at: n <= ctx - 1 ? 0 : n - keep)    // (B, V)
        let v = config.vocabSize
        while n < length {
            for b in 0..<count {
                var row = Array(logits[(b * v)..<(b * v + v)])
                if guided {
                    let u = (count + b) * v
                    for j in 0..<v { row[j] = logits[u + j] + genreGuidance * (row[j] - logits[u + j]) }
                }
                sequences[b].append(TokenSampling.sample(row, options: options, rng: &rngs[b]))
            }
            n += 1
            progress?(n - prime.count, length - prime.count)
            if n == length { break }
            let last = sequences.map { $0[n - 1] }
            logits = state.position == ctx ? startWindow(at: n - keep) : feed(state, tokens: guided ? last + last : last)
        }
        return sequences.map { $0.map { Int32($0) } }
    }
}
