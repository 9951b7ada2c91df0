// Prior.swift — the music prior over the top-level codec codes, after Jukebox (Dhariwal et al.
// 2020): §4 "Music priors and upsamplers" (a decoder-only transformer over VQ-VAE codes),
// §4.1 "Artist, genre, and timing conditioning" (artist and genre embeddings summed into the
// start state; total length, offset and fraction elapsed, bucketised and embedded), and §4.2
// "Lyrics conditioning" (a small transformer encoder over the characters of the lyric window,
// read by the prior through encoder-decoder cross-attention). Jukebox reads the lyrics in a
// subset of its layers; here every `cross_attention_every`-th layer has cross-attention.
// Labels can be dropped at random in training (`dropLabels`), so each one has an
// "unconditioned" value and a user may leave it out.
//
// The codes are those of the RVQ codec's first K codebooks, K per frame, modelled as MusicGen
// does (Copet et al. 2023, §2.2 "Codebook interleaving patterns"): one sequence step holds K
// codes, one per codebook, whose embeddings are summed, and K output heads predict the next
// step's K codes at once. With the *delay* pattern codebook k is shifted right by k steps, so
// the step that samples codebook k of frame t has already seen codebooks < k of frame t (coarse
// codes condition finer ones) and a T-frame piece is T + K − 1 steps; the *parallel* pattern
// shifts nothing (T steps, codebooks of a frame independent given the past). Positions a shift
// leaves empty hold a special code V (its own embedding row per codebook) and are not scored.
//
// Layout of one window (llama2.c style, Config / Weights here, RunState in Sampler.swift):
// position 0 holds the start state (artist + genre + total length); position p ≥ 1 holds the
// step at absolute index offset + p − 1, and the logits at position p predict the step at
// absolute index offset + p. Every position also gets a learned position embedding and the
// offset and fraction-elapsed embeddings of the step it predicts.
//
// Letters: B batch, T window positions, C d_model, S lyric characters, E lyrics width,
// V code vocabulary, K codebooks, H heads, D head dim, L layers.
import Engine
import Foundation
import NN
import Requests

// MARK: - config

/// How the K codebooks of a frame are laid out in sequence steps (MusicGen §2.2).
public enum CodebookPattern: String, Codable, CaseIterable {
    /// Codebook k shifted by k steps: coarse codes of a frame are sampled before finer ones.
    case delay
    /// All codebooks of a frame in one step, predicted independently given the past.
    case parallel

    /// Steps codebook k is shifted by.
    public func shift(_ k: Int) -> Int { self == .delay ? k : 0 }
    /// Steps a piece of `frames` frames takes with K codebooks.
    public func steps(frames: Int, codebooks k: Int) -> Int { frames + shift(k - 1) }

    /// Codes (K, T) → steps (S·K, row-major, S = steps(T)); positions a shift leaves empty hold `special`.
    public func interleave(_ codes: [[Int32]], special: Int32) -> [Int32] {
        let k = codes.count, t = codes.first?.count ?? 0, s = steps(frames: t, codebooks: k)
        var out = [Int32](repeating: special, count: s * k)
        for q in 0..<k { for f in 0..<t { out[(f + shift(q)) * k + q] = codes[q][f] } }
        return out
    }

    /// Steps (S·K) → codes (K, T), T = S − shift(K − 1): the inverse of `interleave`.
    public func deinterleave(_ steps: [Int32], codebooks k: Int) -> [[Int32]] {
        let s = steps.count / k, t = max(0, s - shift(k - 1))
        return (0..<k).map { q in (0..<t).map { f in steps[(f + shift(q)) * k + q] } }
    }
}

public struct PriorConfig: Codable, Equatable, ValidatedConfig {
    /// Codes per codebook: the codec's codebook size. Code `vocabSize` is the special "empty" code.
    public var vocabSize = 1024
    /// Rows of codes modelled per frame: the codec's first main codebooks, then the rows of any
    /// bass-stream codebooks (`bass_codebook_sizes`).
    public var codebooks = 4
    public var pattern = CodebookPattern.delay
    /// Positions per window, the start state included.
    public var context = 1024
    public var dModel = 256
    public var layers = 6
    public var heads = 4
    public var mlpDim = 1024
    /// Layer i reads the lyrics when i % cross_attention_every == cross_attention_every − 1
    /// (every second layer by default).
    public var crossAttentionEvery = 2
    public var lyricsLayers = 2
    public var lyricsDim = 128
    public var lyricsHeads = 4
    /// Characters of the lyric window one audio window reads (longer windows are cut).
    public var lyricsLength = 128
    /// Label names; id `genres.count` (resp. `artists.count`) is "unconditioned".
    public var genres: [String] = MusicCatalog.genreNames
    public var artists: [String] = MusicCatalog.artistNames
    /// Buckets for each of total length, offset and fraction elapsed.
    public var timingBins = 32
    /// Total length and offset are bucketised over [0, max_seconds]; longer values share the last bin.
    public var maxSeconds: Double = 600
    public var sampleRate = 22050
    /// Samples per frame of the codec the prior models.
    public var hop = 256
    /// Whether a window where nobody sings reads `LyricsVocabulary.instrumental` (true for new
    /// priors; absent, so false, in the configs of priors trained before it existed, whose lyric
    /// windows were then empty, as when the lyrics are left out).
    public var instrumentalToken: Bool? = true
    /// Bins of the position within the bar (the bar grid, `BarGrid`): each step also reads where in
    /// its bar and which bar of an 8-bar phrase its frame falls, and the start state the bar's
    /// length and beats, so the prior knows when a groove's chords change. nil in the configs of
    /// priors trained before it existed, which read no bar grid.
    public var barBins: Int? = 24
    /// Whether the bar grid is a guided condition like the labels: training drops it with them
    /// (each with the label dropout, and in the all-labels dropout), and the unconditioned half of
    /// guidance reads "no grid", so `--cfg` steers toward the grid's beats as well as the labels.
    /// nil (false): the grid is timing, kept in both halves.
    public var gridGuidance: Bool? = nil
    /// With `grid_guidance`: the guidance scale on the grid apart from the labels' (`cfg`), the
    /// sampler's default (compositional guidance, Sampler.swift); nil guides the grid at `cfg`.
    public var gridCFG: Float? = nil
    /// Guidance toward instrumental music for a piece asked for without lyrics (a prior with the
    /// instrumental token): the sampler's default scale s (1 = off) on a negative prompt, a row that
    /// reads the same labels with a sung line in every lyric window; the logits gain (s − 1)·(full −
    /// sung). nil: off (priors shipped before it was measured).
    public var instrumentalCFG: Float? = nil
    /// Whether every step also reads its piece's genre and artist (embedding tables of their own,
    /// "step_labels.*"), not only the start state: a label a window's first position holds must
    /// otherwise reach 512 steps later through attention alone. nil (false) in the configs of priors
    /// trained before it existed.
    public var stepLabels: Bool? = nil
    /// The bands the training corpus has in each genre (genre name → artist names, from the
    /// training clips' pairs). A piece asked for by genre without an artist is played by one of
    /// them, drawn per piece (`Prior.bands`), as Jukebox samples with an artist: measured to follow
    /// the genre more often than the unconditioned artist (the prior's card). nil in the configs of
    /// priors trained before it existed: the artist then stays unconditioned.
    public var genreArtists: [String: [String]]? = nil
    /// Guidance on a drawn band apart from the genre: the sampler's default scale b (Sampler.swift;
    /// 1 conditions on the band without amplifying it). nil: the band is guided with the labels at `cfg`.
    public var bandCFG: Float? = nil
    /// The plausibility constraint on guided sampling (α, after contrastive decoding's, Li et al.
    /// 2023): a code is drawn only if the conditioned row alone gives it at least α times the
    /// probability of its likeliest code, so guidance cannot lift a code that the conditioned
    /// model finds implausible but the unconditioned one finds less so. nil or 0: off.
    public var cfgPlausibility: Float? = nil
    /// Whether every step also reads the chord sounding at its frame (`ChordTrack`: root and quality,
    /// placed on the bar grid, so it needs `bar_bins`), a condition dropped with the labels in
    /// training and in guidance's unconditioned row. nil (false) in the configs of priors trained
    /// before it existed.
    public var chords: Bool? = nil
    /// The sampler's default temperature for this prior (`temperature` in config.json; nil: MusicGen's
    /// 1). A prior trained with scheduled sampling holds its notes more firmly than one trained only on
    /// clean inputs and is measured at its best a little above 1 (the prior's card).
    public var temperature: Float? = nil
    /// Whether every step also reads its window's onset density (`OnsetDensity`: drum strokes and
    /// note attacks per second, counted on the training audio), a condition dropped with the labels
    /// in training and in guidance's unconditioned row. nil (false) in the configs of priors trained
    /// before it existed.
    public var onsetDensity: Bool? = nil
    /// The onset densities of each genre's training windows, as quantiles (genre name → 0 %, 10 %,
    /// …, 100 %, onsets per second): a piece asked for without a density draws one per piece
    /// between them, as the corpus plays its genre (`Prior.densities`).
    public var genreOnsetDensity: [String: [Double]]? = nil
    /// The codec's bass-stream codebooks the prior models after its main ones, by size (the first of
    /// the stream's `codebook_sizes`; nil: none). The bass stream codes the band below 345 Hz as a
    /// waveform, so a prior over it plays bass notes that the main codebooks alone smear. A codebook of
    /// at most `vocab_size` codes is one row; a larger one is two (`PriorRowLayout`).
    public var bassCodebookSizes: [Int]? = nil

    public init() {}

    /// Models the codec's first bass-stream codebooks, of these sizes, as rows after the main ones
    /// (one row each, two for one larger than `vocab_size`: `PriorRowLayout`).
    public mutating func addBassCodebooks(_ sizes: [Int]) {
        bassCodebookSizes = sizes
        codebooks += PriorRowLayout(codebooks: 0, vocabSize: vocabSize, bassSizes: sizes).bassRows
    }

    /// How the prior's rows map to the codec's main and bass-stream codebooks.
    public var rows: PriorRowLayout { PriorRowLayout(codebooks: codebooks, vocabSize: vocabSize, bassSizes: bassCodebookSizes ?? []) }

    /// The temperature `gen music` samples at when none is asked for.
    public var defaultTemperature: Float { temperature ?? MusicRequest.defaultTemperature }

    public var readsStepLabels: Bool { stepLabels ?? false }

    public var readsChords: Bool { barBins != nil && (chords ?? false) }

    public var readsOnsetDensity: Bool { onsetDensity ?? false }

    public var guidesGrid: Bool { barBins != nil && (gridGuidance ?? false) }

    public var readsInstrumental: Bool { instrumentalToken ?? false }
    /// Rows of the lyrics encoder's character embedding.
    public var lyricsVocabularySize: Int { LyricsVocabulary.size + (readsInstrumental ? 1 : 0) }

    /// Frames (and steps) per second of audio (86.13 at hop 256).
    public var tokensPerSecond: Double { Double(sampleRate) / Double(hop) }
    /// Seconds one window covers.
    public var contextSeconds: Double { Double(context) / tokensPerSecond }
    public var unconditionedArtist: Int { artists.count }
    public var unconditionedGenre: Int { genres.count }
    public func artistID(_ name: String) -> Int? { artists.firstIndex(of: name) }
    public func genreID(_ name: String) -> Int? { genres.firstIndex(of: name) }
    public func hasCrossAttention(layer i: Int) -> Bool { i % crossAttentionEvery == crossAttentionEvery - 1 }

    /// Problems that would make the model unbuildable; empty when the config is sound.
    public func validate() -> [String] {
        var problems: [String] = []
        if vocabSize < 2 { problems.append("vocab_size must be at least 2, got \(vocabSize)") }
        if !(1...32).contains(codebooks) { problems.append("codebooks must be in 1...32, got \(codebooks)") }
        if let sizes = bassCodebookSizes {
            if sizes.isEmpty || sizes.count > 8 || sizes.contains(where: { !(2...(1 << 24)).contains($0) }) {
                problems.append("bass_codebook_sizes must list 1 to 8 codebook sizes, each in 2...\(1 << 24), got \(sizes.prefix(9).map(String.init).joined(separator: ", "))")
            } else if vocabSize >= 2 && vocabSize <= 1 << 20, case let r = rows, r.bassRows >= codebooks || sizes.contains(where: { $0 > vocabSize * vocabSize }) {
                problems.append("bass_codebook_sizes \(sizes.map(String.init).joined(separator: ", ")) need \(r.bassRows) of the \(codebooks) rows (codebooks), "
                                + "leaving none for the main codebooks, or a codebook above vocab_size² codes")
            }
        }
        if context < 2 { problems.append("context must be at least 2 (the start state and one code), got \(context)") }
        if layers < 1 || lyricsLayers < 0 { problems.append("layers ≥ 1 and lyrics_layers ≥ 0 required") }
        if dModel < 1 || heads < 1 || dModel % heads != 0 { problems.append("d_model \(dModel) must be a positive multiple of heads \(heads)") }
        if lyricsDim < 1 || lyricsHeads < 1 || lyricsDim % lyricsHeads != 0 {
            problems.append("lyrics_dim \(lyricsDim) must be a positive multiple of lyrics_heads \(lyricsHeads)")
        }
        if mlpDim < 1 { problems.append("mlp_dim must be positive") }
        if crossAttentionEvery < 1 { problems.append("cross_attention_every must be at least 1") }
        if lyricsLength < 1 { problems.append("lyrics_length must be at least 1") }
        if timingBins < 1 || !(maxSeconds > 0) { problems.append("timing_bins ≥ 1 and max_seconds > 0 required") }
        if sampleRate < 1 || hop < 1 { problems.append("sample_rate and hop must be positive") }
        if Set(genres).count != genres.count || Set(artists).count != artists.count { problems.append("genre and artist names must be unique") }
        // Upper bounds, checked before anything is sized by these numbers (a hostile config.json
        // must not make gen allocate without limit or overflow).
        let limits: [(String, Int, Int)] = [("vocab_size", vocabSize, 1 << 20), ("context", context, 65_536), ("layers", layers, 64),
                                            ("lyrics_layers", lyricsLayers, 64), ("d_model", dModel, 4096), ("heads", heads, 64),
                                            ("mlp_dim", mlpDim, 16_384), ("lyrics_dim", lyricsDim, 4096), ("lyrics_heads", lyricsHeads, 64),
                                            ("lyrics_length", lyricsLength, 65_536), ("timing_bins", timingBins, 10_000),
                                            ("sample_rate", sampleRate, 384_000), ("hop", hop, 65_536),
                                            ("cross_attention_every", crossAttentionEvery, 64),
                                            ("genres", genres.count, 10_000), ("artists", artists.count, 10_000)]
        for (name, value, limit) in limits where value > limit { problems.append("\(name) \(value) is above the limit \(limit)") }
        if !(maxSeconds <= 86_400) { problems.append("max_seconds must be at most 86400") }
        if let bins = barBins, !(1...960).contains(bins) { problems.append("bar_bins must be in 1...960, got \(bins)") }
        if chords == true && barBins == nil { problems.append("chords needs bar_bins: the chords are placed on the bar grid") }
        if let g = gridCFG, !(g >= 1 && g <= 10) { problems.append("grid_cfg must be between 1 and 10, got \(g)") }
        if let g = instrumentalCFG, !(g >= 1 && g <= 10) { problems.append("instrumental_cfg must be between 1 (off) and 10, got \(g)") }
        if let g = bandCFG, !(g >= 0 && g <= 10) { problems.append("band_cfg must be between 0 and 10, got \(g)") }
        if let t = temperature, !(t >= 0 && t <= SamplingDefaults.maxConfigTemperature) {
            problems.append("temperature must be between 0 (greedy) and \(Int(SamplingDefaults.maxConfigTemperature)), got \(t)")
        }
        if let a = cfgPlausibility, !SamplingDefaults.plausibilityRange.contains(a) { problems.append("cfg_plausibility must be at least 0 and below 1, got \(a)") }
        if let q = genreOnsetDensity {
            if q.count > 10_000 || q.values.contains(where: { $0.count > 1000 }) { problems.append("genre_onset_density is above the limit of 10000 genres of 1000 quantiles") }
            let unknown = q.keys.filter { genreID($0) == nil }
            if !unknown.isEmpty { problems.append("genre_onset_density names genres the prior does not have: \(unknown.sorted().prefix(5).joined(separator: ", ")) (list only its genres, or remove genre_onset_density)") }
            if q.values.contains(where: { $0.isEmpty || !$0.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= OnsetDensity.maxPerSecond }) || $0 != $0.sorted() }) {
                problems.append("genre_onset_density must hold, for each genre, rising onset densities from 0 to \(Int(OnsetDensity.maxPerSecond)) per second")
            }
        }
        if let bands = genreArtists {
            if bands.count > 10_000 || bands.values.contains(where: { $0.count > 10_000 }) { problems.append("genre_artists is above the limit of 10000 entries") }
            let unknown = bands.flatMap { g, a in (genreID(g) == nil ? [g] : []) + a.filter { artistID($0) == nil } }
            if !unknown.isEmpty { problems.append("genre_artists names labels the prior does not have: \(unknown.sorted().prefix(5).joined(separator: ", ")) (list only its genres and artists, or remove genre_artists)") }
        }
        let d = Double(dModel), params = Double(layers) * (4 * d * d + 2 * d * Double(mlpDim)) + 2 * Double(codebooks * (vocabSize + 1)) * d
            + Double(lyricsLayers) * (4 * Double(lyricsDim) * Double(lyricsDim))
        if params > 2e8 { problems.append(String(format: "these sizes make %.0f million parameters, above the 200 million gen loads", params / 1e6)) }
        return problems
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", codebooks, pattern, context, dModel = "d_model", layers, heads, mlpDim = "mlp_dim"
        case crossAttentionEvery = "cross_attention_every", lyricsLayers = "lyrics_layers", lyricsDim = "lyrics_dim"
        case lyricsHeads = "lyrics_heads", lyricsLength = "lyrics_length", genres, artists
        case timingBins = "timing_bins", maxSeconds = "max_seconds", sampleRate = "sample_rate", hop
        case instrumentalToken = "instrumental_token", barBins = "bar_bins", gridGuidance = "grid_guidance", gridCFG = "grid_cfg", instrumentalCFG = "instrumental_cfg"
        case stepLabels = "step_labels", genreArtists = "genre_artists", bandCFG = "band_cfg"
        case cfgPlausibility = "cfg_plausibility", chords, temperature
        case onsetDensity = "onset_density", genreOnsetDensity = "genre_onset_density"
        case bassCodebookSizes = "bass_codebook_sizes"
    }
}

/// The prior's rows of codes per frame and the codec's codebooks they stand for: the first `main`
/// main codebooks, one row each, then the bass stream's first codebooks. A bass codebook of at most
/// V (`vocab_size`) codes is one row; a larger one (the stream's first, 4096 codes) is two rows,
/// its code c as ⌊c / r⌋ then c mod r with r = ⌈√size⌉, so every row's codes stay below V and one
/// embedding table and head serve them all. The delay pattern then puts the low half one step after
/// the high half, which it reads. A row may hold fewer than V codes (`sizes`): the sampler never
/// draws above them.
public struct PriorRowLayout: Equatable {
    public let codebooks: Int, vocabSize: Int, bassSizes: [Int]

    /// Rows of each bass codebook: 1, or 2 when it holds more than V codes.
    public var bassRowCounts: [Int] { bassSizes.map { $0 > vocabSize ? 2 : 1 } }
    public var bassRows: Int { bassRowCounts.reduce(0, +) }
    /// Main codebooks modelled: the rows before the bass stream's.
    public var main: Int { codebooks - bassRows }
    /// The codec rung the rows stand for.
    public var rung: CodecRung { CodecRung(main: main, bass: bassSizes.count) }
    static func radix(_ size: Int) -> Int { Int(Double(size).squareRoot().rounded(.up)) }

    /// Codes each row can hold (V for main rows).
    public var sizes: [Int] {
        [Int](repeating: vocabSize, count: main) + bassSizes.flatMap { size -> [Int] in
            guard size > vocabSize else { return [size] }
            let r = Self.radix(size)
            return [(size + r - 1) / r, r]
        }
    }

    /// Codes of the codec at `rung` (its main rows, then its bass rows) → the prior's rows.
    public func rows(codec codes: [[Int32]]) -> [[Int32]] {
        precondition(codes.count == main + bassSizes.count, "PriorRowLayout: \(codes.count) codec rows for \(main) main and \(bassSizes.count) bass")
        var out = Array(codes.prefix(main))
        for (j, size) in bassSizes.enumerated() {
            let c = codes[main + j]
            if size > vocabSize {
                let r = Int32(Self.radix(size))
                out.append(c.map { $0 / r }); out.append(c.map { $0 % r })
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// The prior's rows → codes of the codec at `rung`. A split code past its codebook's last (only
    /// possible where size is no square) is read as the last.
    public func codec(rows: [[Int32]]) -> [[Int32]] {
        precondition(rows.count == codebooks, "PriorRowLayout: \(rows.count) rows for \(codebooks)")
        var out = Array(rows.prefix(main)), i = main
        for size in bassSizes {
            if size > vocabSize {
                let r = Int32(Self.radix(size)), top = Int32(size - 1)
                out.append(zip(rows[i], rows[i + 1]).map { min($0 * r + $1, top) }); i += 2
            } else {
                out.append(rows[i]); i += 1
            }
        }
        return out
    }
}

/// Input-code noise for training (`gen train prior --input-noise`): each code a teacher-forced
/// window reads as input is replaced, with probability p, by a code drawn uniformly from its
/// codebook; the delay pattern's empty positions are left alone, and the targets stay the clean
/// codes. When sampling, the prior reads its own draws, some of them the tail of the distribution;
/// trained only on clean inputs it has never had to recover from one (exposure bias). Its own
/// generator, so a run's batches are the same with and without it.
public final class CodeCorruption {
    public let p: Float
    private var rng: RNG

    public init(p: Float, rng: RNG) {
        precondition(p >= 0 && p < 1, "input-code noise must be in [0, 1), got \(p)")
        self.p = p; self.rng = rng
    }

    /// Replaces codes 0..<vocabSize in place; anything else (an empty position's special code) is kept.
    /// With `rowSizes` (the codes each of the K rows can hold, steps of K codes), a row's replacement
    /// is drawn below its size.
    public func apply(_ codes: inout [Int], vocabSize: Int, rowSizes: [Int]? = nil) {
        guard p > 0 else { return }
        for i in codes.indices where codes[i] >= 0 && codes[i] < vocabSize && rng.uniform() < p {
            codes[i] = rng.int(below: rowSizes.map { $0[i % $0.count] } ?? vocabSize)
        }
    }
}

public struct PriorError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - conditioning

/// Characters as lyric tokens: pad, unknown, then printable ASCII (space … tilde). Newlines and
/// tabs read as spaces; anything else outside printable ASCII is `unknown`. A prior with
/// `instrumental_token` has one more id, `instrumental`: the whole lyric window of a span where
/// nobody sings, so that "no singing" is a condition of its own and not the same as "lyrics left
/// out" (the unconditioned half of guidance), which guidance could not steer away from.
public enum LyricsVocabulary {
    public static let pad = 0
    public static let unknown = 1
    /// pad, unknown and the 95 printable characters.
    public static let size = 2 + 95
    public static let instrumental = size

    public static func encode(_ text: String, maxLength: Int) -> [Int] {
        var ids: [Int] = []
        for s in text.unicodeScalars {
            if ids.count == maxLength { break }
            let v = s.value
            if v == 9 || v == 10 || v == 13 { ids.append(2) }          // whitespace → space
            else if (32...126).contains(v) { ids.append(2 + Int(v) - 32) }
            else { ids.append(unknown) }
        }
        return ids
    }

    /// The text of the lines sounding in [start, end) seconds, joined by spaces (Jukebox §4.2:
    /// each audio chunk reads the lyrics of its own time span).
    public static func window(_ lines: [LyricLine], from start: Double, to end: Double) -> String {
        lines.filter { $0.end > start && $0.start < end }.map(\.text).joined(separator: " ")
    }
}

/// The bar grid of a piece: how long a bar lasts and how many beats it holds, the bars counted
/// from the piece's start (a corpus clip's metadata: `bar_seconds`, `time_signature`; a user's
/// `--bpm` and `--time-signature`). A prior with `bar_bins` reads, for each step, the position of its
/// frame within the bar and the bar's place in an 8-bar phrase, and in its start state the bar's
/// length and beats: grooves change chords on bar lines, which a 6-s window can only guess at.
public struct BarGrid: Equatable, Sendable {
    public var barSeconds: Double
    public var beatsPerBar: Int

    /// Bars of the phrase a bar's index is counted in (the progressions are 4, 8 or 12 bars).
    public static let phraseBars = 8
    /// Bar-length bins, log-spaced over `barSecondsRange` (one more row for "no grid").
    public static let lengthBins = 16
    public static let barSecondsRange = 0.5...6.0
    /// Beats per bar 1…8 (one more row for "no grid").
    public static let maxBeats = 8

    public init(barSeconds: Double, beatsPerBar: Int) { self.barSeconds = barSeconds; self.beatsPerBar = beatsPerBar }

    /// A tempo in beats per minute and beats per bar (in 6/8 a beat is a dotted quarter, as MMA counts).
    public init(bpm: Double, beatsPerBar: Int) { self.init(barSeconds: Double(beatsPerBar) * 60 / bpm, beatsPerBar: beatsPerBar) }

    public var bpm: Double { Double(beatsPerBar) * 60 / barSeconds }

    /// Beats per bar of a time signature (`MusicRequest.beatsPerBar`: compound metres count dotted quarters).
    public static func beats(timeSignature: String) -> Int? { MusicRequest.beatsPerBar(timeSignature: timeSignature) }

    /// The grid of a corpus clip, when its metadata has one.
    public init?(barSeconds: Double?, timeSignature: String?) {
        guard let s = barSeconds, s.isFinite, s > 0, let t = timeSignature, let b = BarGrid.beats(timeSignature: t) else { return nil }
        self.init(barSeconds: s, beatsPerBar: b)
    }

    /// A grid as the corpus plays `genre` (a catalogue genre's grooves, one drawn, its tempo drawn
    /// in its range); any catalogue genre's when `genre` is nil or not in the catalogue.
    public static func typical(genre: String?, rng: inout RNG) -> BarGrid {
        let genres = genre.flatMap { MusicCatalog.genre($0) }.map { [$0] } ?? MusicCatalog.genres
        let grooves = genres.flatMap(\.grooves)
        let g = grooves[rng.int(below: grooves.count)]
        let bpm = g.tempo.lowerBound + Double(rng.uniform()) * (g.tempo.upperBound - g.tempo.lowerBound)
        return BarGrid(bpm: bpm.rounded(), beatsPerBar: g.beatsPerBar)
    }

    /// Start-state rows: (bar length bin, beats row); the last row of each is "no grid".
    public static func startRows(_ grid: BarGrid?) -> (length: Int, beats: Int) {
        guard let g = grid else { return (lengthBins, maxBeats) }
        let lo = Foundation.log(barSecondsRange.lowerBound), hi = Foundation.log(barSecondsRange.upperBound)
        let x = (Foundation.log(g.barSeconds) - lo) / (hi - lo)
        return (min(lengthBins - 1, max(0, Int(x * Double(lengthBins)))), min(maxBeats, max(1, g.beatsPerBar)) - 1)
    }

    /// Per-step rows for the frame at `seconds` from the piece's start: (position in the bar of
    /// `bins` bins, bar within the phrase); the last row of each (`bins`, `phraseBars`) is "no grid".
    public static func stepRows(_ grid: BarGrid?, seconds: Double, bins: Int) -> (phase: Int, bar: Int) {
        guard let g = grid else { return (bins, phraseBars) }
        let bars = max(0, seconds) / g.barSeconds
        let whole = bars.rounded(.down)
        return (min(bins - 1, Int((bars - whole) * Double(bins))), Int(whole.truncatingRemainder(dividingBy: Double(phraseBars))))
    }
}

/// What the user asks for: labels for a whole piece. nil (or empty lyrics) is "unconditioned".
public struct PriorLabels: Equatable {
    public var artist: Int?
    public var genre: Int?
    public var lyrics: [LyricLine]
    /// The bar grid; nil lets `Prior.sample` draw one per sample as the corpus plays the genre.
    public var grid: BarGrid?

    /// With a genre and no artist: whether each piece draws one of the genre's bands (a prior with
    /// `genre_artists`); false keeps the artist unconditioned (`gen music --artist any`).
    public var drawsBand: Bool
    /// The chords (read by priors with `chords`); nil lets `Prior.sample` draw a progression per
    /// sample as the corpus plays the genre.
    public var chords: ChordTrack?
    /// Onsets per second (read by priors with `onset_density`); nil lets `Prior.sample` draw one per
    /// sample as the corpus plays the genre.
    public var density: Double?

    public init(artist: Int? = nil, genre: Int? = nil, lyrics: [LyricLine] = [], grid: BarGrid? = nil, drawsBand: Bool = true,
                chords: ChordTrack? = nil, density: Double? = nil) {
        self.artist = artist; self.genre = genre; self.lyrics = lyrics; self.grid = grid; self.drawsBand = drawsBand
        self.chords = chords; self.density = density
    }
}

/// What the prior reads for one window of one sequence.
public struct PriorConditions: Equatable {
    /// 0..<artists.count, or artists.count for "unconditioned".
    public var artist: Int
    /// 0..<genres.count, or genres.count for "unconditioned".
    public var genre: Int
    /// Character ids of the window's lyrics (LyricsVocabulary); empty means no lyrics.
    public var lyrics: [Int]
    /// Length of the whole piece in codes.
    public var totalTokens: Int
    /// Absolute index of the code that window position 0 predicts.
    public var offsetTokens: Int
    /// The piece's bar grid (read by priors with `bar_bins`); nil is "no grid".
    public var grid: BarGrid?
    /// The piece's chords on that grid (read by priors with `chords`); nil is "no chords".
    public var chords: ChordTrack?
    /// The window's onsets per second (read by priors with `onset_density`); nil is "no density".
    public var density: Double?

    public init(artist: Int, genre: Int, lyrics: [Int], totalTokens: Int, offsetTokens: Int, grid: BarGrid? = nil, chords: ChordTrack? = nil,
                density: Double? = nil) {
        self.artist = artist; self.genre = genre; self.lyrics = lyrics
        self.totalTokens = totalTokens; self.offsetTokens = offsetTokens; self.grid = grid; self.chords = chords; self.density = density
    }
}

extension PriorConfig {
    /// The conditions of the window that starts at code `offsetTokens` of a piece of `totalTokens` codes.
    /// A window with no lyric line in it (or a piece without lyrics) reads the instrumental token
    /// when this prior has one.
    public func conditions(_ labels: PriorLabels, totalTokens: Int, offsetTokens: Int) -> PriorConditions {
        let start = Double(offsetTokens) / tokensPerSecond, end = Double(offsetTokens + context) / tokensPerSecond
        let text = LyricsVocabulary.window(labels.lyrics, from: start, to: end)
        let ids = LyricsVocabulary.encode(text, maxLength: lyricsLength)
        return PriorConditions(artist: labels.artist ?? unconditionedArtist, genre: labels.genre ?? unconditionedGenre,
                               lyrics: ids.isEmpty && readsInstrumental ? [LyricsVocabulary.instrumental] : ids,
                               totalTokens: totalTokens, offsetTokens: offsetTokens, grid: labels.grid, chords: labels.chords,
                               density: labels.density)
    }

    /// Label dropout for training: with probability `all` every label is left out at once (the
    /// unconditioned model that classifier-free guidance steers away from, as audiocraft's
    /// cfg dropout); otherwise artist, genre and lyrics are each left out with probability p, so the
    /// model also learns p(codes) without any one of them.
    public func dropLabels(_ c: PriorConditions, probability p: Float, all: Float = 0, rng: inout RNG) -> PriorConditions {
        var out = c
        if rng.uniform() < all {
            out.artist = unconditionedArtist; out.genre = unconditionedGenre; out.lyrics = []; out.chords = nil; out.density = nil
            if guidesGrid { out.grid = nil }
            return out
        }
        if rng.uniform() < p { out.artist = unconditionedArtist }
        if rng.uniform() < p { out.genre = unconditionedGenre }
        if rng.uniform() < p { out.lyrics = [] }
        if guidesGrid && rng.uniform() < p { out.grid = nil }
        // Drawn last, so a prior without chords sees the same dropout stream as before they existed.
        if readsChords && rng.uniform() < p { out.chords = nil }
        if readsOnsetDensity && rng.uniform() < p { out.density = nil }
        return out
    }

    /// The same window with every label left out (the unconditioned half of guidance), the chords
    /// and the onset density included. The bar grid is left out too when it is guided (`grid_guidance`); otherwise it is
    /// timing, as total length and offset are, and both halves keep it.
    /// `keepingGrid` keeps it even then (the middle row of compositional guidance: the grid without the labels).
    public func unconditioned(_ c: PriorConditions, keepingGrid: Bool = false) -> PriorConditions {
        PriorConditions(artist: unconditionedArtist, genre: unconditionedGenre, lyrics: [], totalTokens: c.totalTokens, offsetTokens: c.offsetTokens,
                        grid: guidesGrid && !keepingGrid ? nil : c.grid)
    }

    /// (total length, offset, fraction elapsed) buckets for the code at absolute index `position`.
    public func timingBuckets(totalTokens: Int, position: Int) -> (total: Int, offset: Int, fraction: Int) {
        func bucket(_ x: Double) -> Int { min(timingBins - 1, max(0, Int(x * Double(timingBins)))) }
        return (bucket(Double(totalTokens) / tokensPerSecond / maxSeconds),
                bucket(Double(position) / tokensPerSecond / maxSeconds),
                bucket(Double(position) / Double(max(totalTokens, 1))))
    }
}

// MARK: - lyrics encoder

/// Character embedding + positions + encoder layers + final LayerNorm (Jukebox §4.2's lyrics encoder).
public final class LyricsEncoder {
    public let characterEmbedding: Embedding   // (lyric vocab, E)
    public let positionEmbedding: Embedding    // (lyrics_length, E)
    /// Non-causal pre-LN transformer blocks over the characters (NN's TransformerBlock, no cross-attention).
    public let layers: [TransformerBlock]
    public let finalNorm: LayerNorm

    init(config c: PriorConfig, scope: Scope, rng: inout RNG) {
        characterEmbedding = Embedding(c.lyricsVocabularySize, c.lyricsDim, scope: scope.child("char_embedding"), rng: &rng)
        positionEmbedding = Embedding(c.lyricsLength, c.lyricsDim, scope: scope.child("position_embedding"), rng: &rng)
        layers = (0..<c.lyricsLayers).map {
            TransformerBlock(dModel: c.lyricsDim, heads: c.lyricsHeads, scope: scope.child("layers").child($0), rng: &rng)
        }
        finalNorm = LayerNorm(c.lyricsDim, scope: scope.child("final_norm"))
    }

    /// ids (B·S, padded with LyricsVocabulary.pad) → (B, S, E)
    func callAsFunction(_ ids: [Int], batch: Int, length s: Int, keyMask: [Bool]) -> Tensor {
        var h = characterEmbedding(ids, shape: [batch, s]) + positionEmbedding(Array(0..<s), shape: [1, s])
        for layer in layers { h = layer(h, causal: false, keyMask: keyMask) }
        return finalNorm(h)
    }
}

/// Cross-attention keys and values of one layer for one lyrics window: computed once per
/// window and reused at every decoding step.
public typealias LyricsKV = AttentionKV

// MARK: - model

/// Weights and the forward pass. Checkpoint keys are given next to each property.
public final class Prior {
    public let config: PriorConfig
    public let params = ParameterStore()
    /// "token_embedding.weight" (K·V + K, C): row k·V + code for a code of codebook k, row K·V + k
    /// for codebook k's special "empty" code. Its first K·V rows are also the output head's
    /// weights (tied, as in GPT-2 and MusicGen's reference code): a code that repeats from one frame
    /// to the next, the commonest event at 86 frames/s, is then a short path from input to output.
    public let tokenEmbedding: Embedding
    public let positionEmbedding: Embedding      // "position_embedding.weight" (context, C)
    public let artistEmbedding: Embedding        // "artist_embedding.weight" (artists + 1, C)
    public let genreEmbedding: Embedding         // "genre_embedding.weight" (genres + 1, C)
    public let totalLengthEmbedding: Embedding   // "timing.total_length.weight" (bins, C)
    public let offsetEmbedding: Embedding        // "timing.offset.weight" (bins, C)
    public let fractionEmbedding: Embedding      // "timing.fraction.weight" (bins, C)
    /// The bar grid's embeddings, when the config has `bar_bins`: "bar.phase.weight" (bar_bins + 1, C),
    /// "bar.index.weight" (phrase bars + 1, C), "bar.length.weight" (length bins + 1, C),
    /// "bar.beats.weight" (max beats + 1, C); the last row of each is "no grid".
    public let barEmbeddings: (phase: Embedding, bar: Embedding, length: Embedding, beats: Embedding)?
    /// With `step_labels`: "step_labels.genre.weight" (genres + 1, C) and "step_labels.artist.weight"
    /// (artists + 1, C), added to every step's input; the last row of each is "unconditioned".
    public let stepLabelEmbeddings: (genre: Embedding, artist: Embedding)?
    /// With `chords`: "chord.root.weight" (13, C) and "chord.quality.weight" (qualities + 1, C), the
    /// chord sounding at each step's frame added to its input; the last row of each is "no chord".
    public let chordEmbeddings: (root: Embedding, quality: Embedding)?
    /// With `onset_density`: "onset_density.weight" (bins + 1, C), the window's onset density added
    /// to every step's input; the last row is "no density".
    public let densityEmbedding: Embedding?
    public let lyricsEncoder: LyricsEncoder      // "lyrics_encoder.*"
    public let blocks: [TransformerBlock]        // "layers.i.*"; cross-attention in "layers.i.cross.*"
    public let finalNorm: LayerNorm              // "final_norm.*"
    public let headBias: Tensor                  // "head.bias" (K·V): codebook k's logits are k·V ..< (k + 1)·V
    /// The head's weights in half precision while sampling steps read half precision
    /// (`useHalfPrecisionSteps`); nil otherwise.
    private(set) var headHalf: HalfMatrix?
    /// Whether sampling steps read half-precision copies of the weights and KV caches.
    public var halfPrecisionSteps: Bool { headHalf != nil }

    /// `randomInit` false: the weights unfilled, for a prior about to be loaded (`load(directory:)`:
    /// drawing 7 M random values nobody reads cost every `gen music` 30 ms).
    public init(config: PriorConfig, seed: UInt64 = 0, randomInit: Bool = true) {
        config.requireValid("prior")
        self.config = config
        var rng = RNG(seed: seed)
        let root = Scope(params, randomInit: randomInit), c = config.dModel
        tokenEmbedding = Embedding(config.codebooks * (config.vocabSize + 1), c, scope: root.child("token_embedding"), rng: &rng)
        headBias = root.child("head").param("bias", Tensor(zeros: [config.codebooks * config.vocabSize]))
        positionEmbedding = Embedding(config.context, c, scope: root.child("position_embedding"), rng: &rng)
        artistEmbedding = Embedding(config.artists.count + 1, c, scope: root.child("artist_embedding"), rng: &rng)
        genreEmbedding = Embedding(config.genres.count + 1, c, scope: root.child("genre_embedding"), rng: &rng)
        totalLengthEmbedding = Embedding(config.timingBins, c, scope: root.child("timing.total_length"), rng: &rng)
        offsetEmbedding = Embedding(config.timingBins, c, scope: root.child("timing.offset"), rng: &rng)
        fractionEmbedding = Embedding(config.timingBins, c, scope: root.child("timing.fraction"), rng: &rng)
        if let bins = config.barBins {
            let bar = root.child("bar")
            barEmbeddings = (Embedding(bins + 1, c, scope: bar.child("phase"), rng: &rng),
                             Embedding(BarGrid.phraseBars + 1, c, scope: bar.child("index"), rng: &rng),
                             Embedding(BarGrid.lengthBins + 1, c, scope: bar.child("length"), rng: &rng),
                             Embedding(BarGrid.maxBeats + 1, c, scope: bar.child("beats"), rng: &rng))
        } else {
            barEmbeddings = nil
        }
        stepLabelEmbeddings = config.readsStepLabels
            ? (Embedding(config.genres.count + 1, c, scope: root.child("step_labels").child("genre"), rng: &rng),
               Embedding(config.artists.count + 1, c, scope: root.child("step_labels").child("artist"), rng: &rng))
            : nil
        chordEmbeddings = config.readsChords
            ? (Embedding(ChordTrack.rootRows, c, scope: root.child("chord").child("root"), rng: &rng),
               Embedding(ChordTrack.qualityRows, c, scope: root.child("chord").child("quality"), rng: &rng))
            : nil
        densityEmbedding = config.readsOnsetDensity
            ? Embedding(OnsetDensity.rows, c, scope: root.child("onset_density"), rng: &rng) : nil
        lyricsEncoder = LyricsEncoder(config: config, scope: root.child("lyrics_encoder"), rng: &rng)
        blocks = (0..<config.layers).map { i in
            TransformerBlock(dModel: c, heads: config.heads, mlpDim: config.mlpDim,
                             crossDim: config.hasCrossAttention(layer: i) ? config.lyricsDim : nil,
                             scope: root.child("layers").child(i), rng: &rng)
        }
        finalNorm = LayerNorm(c, scope: root.child("final_norm"))
    }

    // MARK: conditioning

    /// Start state: artist + genre + total-length embedding (+ bar length and beats with a bar grid), (B, 1, C).
    func startState(_ conditions: [PriorConditions]) -> Tensor {
        let b = conditions.count
        let total = conditions.map { config.timingBuckets(totalTokens: $0.totalTokens, position: 0).total }
        let x = artistEmbedding(conditions.map(\.artist), shape: [b, 1]) + genreEmbedding(conditions.map(\.genre), shape: [b, 1])
            + totalLengthEmbedding(total, shape: [b, 1])
        guard let bar = barEmbeddings else { return x }
        let rows = conditions.map { BarGrid.startRows($0.grid) }
        return x + bar.length(rows.map(\.length), shape: [b, 1]) + bar.beats(rows.map(\.beats), shape: [b, 1])
    }

    /// Sampling steps (`feed` of a few positions) read half-precision copies of every weight matrix
    /// of the decoder and of the head, and of the KV caches' keys and values, half the bytes of F32:
    /// a step's time is reading them. Window prefixes, training and evaluation keep F32. Set it
    /// before sampling starts (not while another thread samples this prior); run states made
    /// afterwards follow it.
    public func useHalfPrecisionSteps(_ on: Bool = true) {
        for block in blocks { for layer in block.linears { layer.keepHalfPrecision(on) } }
        headHalf = on ? GradMode.withoutGrad { HalfMatrix(headWeight()) } : nil
    }

    /// The output head's weights (K·V, C): the code rows of the token embedding (tied).
    public func headWeight() -> Tensor { slice(tokenEmbedding.table, axis: 0, 0..<(config.codebooks * config.vocabSize)) }

    /// Final hidden states (B, n, C) → logits (B, n, K·V); `weight` is `headWeight()`, passed in
    /// by a caller that holds it for many steps.
    func head(_ h: Tensor, weight: Tensor? = nil) -> Tensor { linear(h, weight: weight ?? headWeight(), bias: headBias) }

    /// The summed code embeddings of steps (B·m·K, codes 0...V) → (B, m, C).
    func embedSteps(_ steps: [Int], batch b: Int, count m: Int) -> Tensor {
        let k = config.codebooks, v = config.vocabSize
        let ids = steps.enumerated().map { $0.element < v ? $0.element + ($0.offset % k) * v : k * v + $0.offset % k }
        let e = tokenEmbedding(ids, shape: [b, m, k])                  // (B, m, K, C)
        return k == 1 ? reshape(e, [b, m, config.dModel]) : sum(e, axis: 2)
    }

    /// Window inputs at positions p0..<p0+n → (B, n, C). `steps` (B·m·K) are the steps held by the
    /// positions max(p0, 1)..<p0+n (m = n − 1 when p0 = 0, the start state taking position 0).
    func embedInputs(steps: [Int], from p0: Int, count n: Int, conditions: [PriorConditions]) -> Tensor {
        let b = conditions.count, m = p0 == 0 ? n - 1 : n
        precondition(n >= 1 && p0 + n <= config.context, "prior: positions \(p0)..<\(p0 + n) exceed the context \(config.context)")
        precondition(steps.count == b * m * config.codebooks, "prior: \(steps.count) codes for \(b) sequences × \(m) steps × \(config.codebooks) codebooks")
        var x: Tensor
        if p0 == 0 {
            let start = startState(conditions)
            x = m > 0 ? concat([start, embedSteps(steps, batch: b, count: m)], axis: 1) : start
        } else {
            x = embedSteps(steps, batch: b, count: n)
        }
        x = x + positionEmbedding(Array(p0..<(p0 + n)), shape: [1, n])
        var offsets = [Int](), fractions = [Int](), phases = [Int](), bars = [Int](), roots = [Int](), qualities = [Int]()
        offsets.reserveCapacity(b * n); fractions.reserveCapacity(b * n)
        for c in conditions {
            for p in p0..<(p0 + n) {
                let t = config.timingBuckets(totalTokens: c.totalTokens, position: c.offsetTokens + p)
                offsets.append(t.offset); fractions.append(t.fraction)
                if let bins = config.barBins {
                    // The step position p predicts holds codebook 1 of frame offset + p.
                    let r = BarGrid.stepRows(c.grid, seconds: Double(c.offsetTokens + p) / config.tokensPerSecond, bins: bins)
                    phases.append(r.phase); bars.append(r.bar)
                }
                if chordEmbeddings != nil {
                    let r = ChordTrack.rows(c.chords, grid: c.grid, seconds: Double(c.offsetTokens + p) / config.tokensPerSecond)
                    roots.append(r.root); qualities.append(r.quality)
                }
            }
        }
        x = x + offsetEmbedding(offsets, shape: [b, n]) + fractionEmbedding(fractions, shape: [b, n])
        if let labels = stepLabelEmbeddings {
            // One row per sequence, broadcast over its n positions.
            x = x + labels.genre(conditions.map(\.genre), shape: [b, 1]) + labels.artist(conditions.map(\.artist), shape: [b, 1])
        }
        if let chord = chordEmbeddings { x = x + chord.root(roots, shape: [b, n]) + chord.quality(qualities, shape: [b, n]) }
        // One row per sequence, broadcast over its n positions.
        if let density = densityEmbedding { x = x + density(conditions.map { OnsetDensity.row($0.density) }, shape: [b, 1]) }
        guard let bar = barEmbeddings else { return x }
        return x + bar.phase(phases, shape: [b, n]) + bar.bar(bars, shape: [b, n])
    }

    /// Encodes each sequence's lyric window and projects it to every cross-attending layer's keys
    /// and values. → one entry per layer, nil where the layer has no cross-attention.
    public func lyricsKV(_ conditions: [PriorConditions]) -> [LyricsKV?] {
        let b = conditions.count
        let s = max(1, conditions.map(\.lyrics.count).max() ?? 0)
        precondition(s <= config.lyricsLength, "prior: lyric window of \(s) characters exceeds lyrics_length \(config.lyricsLength)")
        var ids = [Int](repeating: LyricsVocabulary.pad, count: b * s), mask = [Bool](repeating: false, count: b * s)
        for (i, c) in conditions.enumerated() {
            for (j, id) in c.lyrics.enumerated() { ids[i * s + j] = id; mask[i * s + j] = true }
        }
        let encoded = lyricsEncoder(ids, batch: b, length: s, keyMask: mask)   // (B, S, E)
        return blocks.map { $0.cross?.keysValues(encoded, mask: mask) }
    }

    // MARK: forward

    /// The decoder over window inputs x (B, n, C) → final hidden states (B, n, C). With `caches`
    /// (one per layer), x holds only the new positions and attends to everything cached.
    func decode(_ x: Tensor, lyrics: [LyricsKV?], caches: [KVCache]?, dropout: ResidualDropout? = nil) -> Tensor {
        var h = x
        for (i, block) in blocks.enumerated() { h = block(h, cross: lyrics[i], cache: caches?[i], dropout: dropout) }
        return finalNorm(h)
    }

    /// Teacher forcing: B windows of T steps, steps (B·T·K) with T ≤ context, → logits (B, T, K·V);
    /// the logits at position t predict step t from the start state and steps[..<t]. `dropout`:
    /// residual dropout in the decoder's blocks (`gen train prior --dropout`, training steps only).
    /// `corruption`: input-code noise (`gen train prior --input-noise`, training steps only): the
    /// steps read as inputs have some codes replaced, the targets scored against them do not.
    /// `inputs`: the codes read as inputs in place of the steps' own (B·(T − 1)·K, window by window,
    /// each window's first T − 1 steps), the targets still the steps (scheduled sampling,
    /// `PriorTrainer.selfSampledInputs`).
    public func callAsFunction(_ steps: [Int], conditions: [PriorConditions], dropout: ResidualDropout? = nil,
                               corruption: CodeCorruption? = nil, inputs replaced: [Int]? = nil) -> Tensor {
        let b = conditions.count, k = config.codebooks
        precondition(b > 0 && steps.count % (b * k) == 0 && steps.count > 0, "prior: \(steps.count) codes do not split into \(b) windows of \(k)-code steps")
        let t = steps.count / (b * k)
        precondition(replaced.map { $0.count == b * (t - 1) * k } ?? true, "prior: \(replaced?.count ?? 0) input codes for \(b * (t - 1) * k)")
        var inputs = replaced ?? Self.teacherInputs(steps, windows: b, codebooks: k)
        corruption?.apply(&inputs, vocabSize: config.vocabSize, rowSizes: config.rows.sizes)
        let x = embedInputs(steps: inputs, from: 0, count: t, conditions: conditions)
        return head(decode(x, lyrics: lyricsKV(conditions), caches: nil, dropout: dropout))
    }

    /// The codes teacher forcing reads as inputs: each of the B windows' first T − 1 steps.
    public static func teacherInputs(_ steps: [Int], windows b: Int, codebooks k: Int) -> [Int] {
        let t = steps.count / (b * k)
        var inputs: [Int] = []
        inputs.reserveCapacity(b * (t - 1) * k)
        for i in 0..<b { inputs += steps[(i * t * k)..<((i * t + t - 1) * k)] }
        return inputs
    }

    /// The scored targets of steps: the special "empty" code (and any negative code) is ignored (−100).
    public func targets(_ steps: [Int]) -> [Int] { steps.map { $0 >= 0 && $0 < config.vocabSize ? $0 : -100 } }

    /// Mean next-code cross-entropy (nats per code) of B windows, steps (B·T·K), empty codes unscored.
    public func loss(_ steps: [Int], conditions: [PriorConditions], dropout: ResidualDropout? = nil,
                     corruption: CodeCorruption? = nil, inputs: [Int]? = nil) -> Tensor {
        let logits = self(steps, conditions: conditions, dropout: dropout, corruption: corruption, inputs: inputs)   // (B, T, K·V)
        return crossEntropy(reshape(logits, [steps.count, config.vocabSize]), targets: targets(steps))
    }

    // MARK: checkpoints

    /// config.json + model.safetensors.
    public func save(directory dir: String, metadata: [String: String] = [:]) throws {
        try ModelFolder.save(dir, config: config, params: params, metadata: metadata)
    }

    /// A model folder, loaded strictly: every tensor present with its shape, nothing else.
    public static func load(directory dir: String) throws -> Prior { try loadWithMetadata(directory: dir).prior }

    /// `load`, also returning the weights file's metadata (step and the codec's fingerprint),
    /// so callers that need it do not read the weights a second time.
    public static func loadWithMetadata(directory dir: String) throws -> (prior: Prior, metadata: [String: String]) {
        let config = try ConfigFile.read(PriorConfig.self, from: dir + "/config.json")
        let problems = config.validate()
        if !problems.isEmpty {
            throw CheckpointError(path: dir + "/config.json", message: "invalid prior config: " + problems.joined(separator: "; "))
        }
        let path = dir + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CheckpointError(path: path, message: "no weights beside config.json; train with `gen train prior` or restore the file.")
        }
        let model = Prior(config: config, randomInit: false)
        let weights = try SafeTensorsFile.read(path)
        try model.params.load(weights, path: path, requireFinite: true)
        return (model, weights.metadata)
    }

    /// This prior with the instrumental token added (`instrumental_token`), for a fine-tune that
    /// teaches it: every weight kept, the character embedding grown by one row, a copy of the
    /// space's. Lyric windows that are not empty give the same outputs as before; the prior itself
    /// when it already has the token.
    public func withInstrumentalToken() throws -> Prior {
        guard !config.readsInstrumental else { return self }
        var c = config
        c.instrumentalToken = true
        var file = params.safetensors(metadata: [:])
        let name = "lyrics_encoder.char_embedding.weight", e = c.lyricsDim
        guard let table = file.tensors[name], table.shape == [LyricsVocabulary.size, e] else {
            throw PriorError("this prior has no character embedding of \(LyricsVocabulary.size) × \(e) to grow by the instrumental token.")
        }
        let rows = try table.floats(), space = LyricsVocabulary.encode(" ", maxLength: 1)[0]
        file.tensors[name] = SafeTensor(floats: rows + rows[(space * e)..<((space + 1) * e)], shape: [c.lyricsVocabularySize, e])
        let grown = Prior(config: c)
        try grown.params.load(file, path: name)
        return grown
    }
}

extension Prior {
    /// This prior with the bar grid added (`bar_bins`), for a fine-tune that teaches it: every
    /// weight kept, the grid's embeddings at zero, so it starts out giving exactly the outputs it
    /// gave; the prior itself when it already reads a grid.
    public func withBarGrid(bins: Int = 24) throws -> Prior {
        guard config.barBins == nil else { return self }
        return try grown(path: "bar grid", change: { $0.barBins = bins },
                         zeroTables: [("bar.phase", bins + 1), ("bar.index", BarGrid.phraseBars + 1),
                                      ("bar.length", BarGrid.lengthBins + 1), ("bar.beats", BarGrid.maxBeats + 1)])
    }

    /// This prior's weights in a prior built from the `change`d config, which adds the embedding
    /// tables `zeroTables` (name without ".weight", rows; d_model wide), each all zeros: the grown
    /// prior gives exactly the outputs this one gave until training moves them.
    private func grown(path: String, change: (inout PriorConfig) -> Void, zeroTables: [(String, Int)]) throws -> Prior {
        var c = config
        change(&c)
        var file = params.safetensors(metadata: [:])
        for (name, rows) in zeroTables {
            file.tensors[name + ".weight"] = SafeTensor(floats: [Float](repeating: 0, count: rows * c.dModel), shape: [rows, c.dModel])
        }
        let grown = Prior(config: c)
        try grown.params.load(file, path: path)
        return grown
    }

    /// This prior with step labels added (`step_labels`), for a fine-tune that teaches them: every
    /// weight kept, the new genre and artist tables at zero, so it starts out giving exactly the
    /// outputs it gave; the prior itself when it already reads them.
    public func withStepLabels() throws -> Prior {
        guard !config.readsStepLabels else { return self }
        return try grown(path: "step labels", change: { $0.stepLabels = true },
                         zeroTables: [("step_labels.genre", config.genres.count + 1), ("step_labels.artist", config.artists.count + 1)])
    }

    /// This prior with chord conditioning added (`chords`), for a fine-tune that teaches it: every
    /// weight kept, the chord embeddings at zero, so it starts out giving exactly the outputs it
    /// gave; the prior itself when it already reads chords. Needs the bar grid the chords sit on.
    public func withChords() throws -> Prior {
        guard !config.readsChords else { return self }
        guard config.barBins != nil else { throw PriorError("chords are placed on the bar grid: add the grid first (--bar-grid).") }
        return try grown(path: "chords", change: { $0.chords = true },
                         zeroTables: [("chord.root", ChordTrack.rootRows), ("chord.quality", ChordTrack.qualityRows)])
    }

    /// This prior with onset-density conditioning added (`onset_density`), for a fine-tune that
    /// teaches it: every weight kept, the density table at zero, so it starts out giving exactly the
    /// outputs it gave; the prior itself when it already reads it.
    public func withOnsetDensity() throws -> Prior {
        guard !config.readsOnsetDensity else { return self }
        return try grown(path: "onset density", change: { $0.onsetDensity = true }, zeroTables: [("onset_density", OnsetDensity.rows)])
    }

    /// This prior with the codec's first bass-stream codebooks added as rows of its own
    /// (`bass_codebook_sizes`, `PriorRowLayout`), for a fine-tune that teaches them: every weight
    /// kept, the new rows' token embeddings (tied to the head) at zero, so the main codebooks' logits
    /// are exactly what they were until training moves them; the new rows start out uniform over the
    /// codes they can hold, the codes above that at a logit bias of −30 (the sampler never draws them).
    public func withBassCodebooks(sizes: [Int]) throws -> Prior {
        guard config.bassCodebookSizes == nil else {
            if config.bassCodebookSizes == sizes { return self }
            throw PriorError("this prior already models bass codebooks of \(config.bassCodebookSizes!) codes; it cannot be grown to \(sizes)")
        }
        var c = config
        c.addBassCodebooks(sizes)
        let problems = c.validate()
        if !problems.isEmpty { throw PriorError("cannot add bass codebooks \(sizes): " + problems.joined(separator: "; ")) }
        var file = params.safetensors(metadata: [:])
        let k = config.codebooks, k2 = c.codebooks, v = config.vocabSize, d = config.dModel
        guard let table = try file.tensors["token_embedding.weight"]?.floats(), table.count == (k * v + k) * d,
              let bias = try file.tensors["head.bias"]?.floats(), bias.count == k * v else {
            throw PriorError("this prior's token embedding and head are not \(k) codebooks of \(v) codes wide")
        }
        // Code rows of every codebook (q·V + code), then one "empty" row per codebook (K·V + q).
        var grownTable = [Float](repeating: 0, count: (k2 * v + k2) * d)
        grownTable.replaceSubrange(0..<(k * v * d), with: table[0..<(k * v * d)])
        grownTable.replaceSubrange((k2 * v * d)..<((k2 * v + k) * d), with: table[(k * v * d)...])
        var grownBias = bias + [Float](repeating: 0, count: (k2 - k) * v)
        for (q, size) in c.rows.sizes.enumerated() where q >= k { for j in size..<v { grownBias[q * v + j] = -30 } }
        file.tensors["token_embedding.weight"] = SafeTensor(floats: grownTable, shape: [k2 * v + k2, d])
        file.tensors["head.bias"] = SafeTensor(floats: grownBias, shape: [k2 * v])
        let grown = Prior(config: c)
        try grown.params.load(file, path: "bass codebooks")
        return grown
    }

    /// This prior's weights under a config that differs only in how they are used (such as
    /// `grid_guidance`): the same tensors, loaded strictly into a prior built from `change`d config.
    public func reconfigured(_ change: (inout PriorConfig) -> Void) throws -> Prior {
        var c = config
        change(&c)
        let copy = Prior(config: c)
        try copy.params.load(params.safetensors(metadata: [:]), path: "reconfigured prior")
        return copy
    }
}

// MARK: - baselines

/// The baselines the prior's held-out cross-entropy is reported against (issue 5, "Learning"), in
/// bits per code: the plug-in (maximum-likelihood) unigram and bigram entropies of the held-out
/// codes themselves, and the cross-entropies of unigram and bigram models fitted on the training
/// codes. With 1024 codes the plug-in bigram entropy of ~10⁵ codes is far below the true
/// conditional entropy (most pairs are seen once or twice); the leave-one-out bigram entropy of
/// the same codes and the models fitted on the training codes are the fair baselines.
public enum CodeEntropy {
    public static func bits(nats: Float) -> Float { nats / Float(Foundation.log(2.0)) }

    /// H(X) of the pooled code counts.
    public static func unigramBits(_ sequences: [[Int]], vocabSize: Int) -> Double {
        var counts = [Double](repeating: 0, count: vocabSize)
        for s in sequences { for c in s { counts[c] += 1 } }
        return entropyBits(counts)
    }

    /// H(X_t | X_{t−1}) over the pairs inside each sequence: Σ_a p(a) H(X | a).
    public static func bigramBits(_ sequences: [[Int]], vocabSize: Int) -> Double {
        var pairs = [Int: [Double]]()
        var total = 0.0
        for s in sequences where s.count > 1 {
            for t in 1..<s.count {
                pairs[s[t - 1], default: [Double](repeating: 0, count: vocabSize)][s[t]] += 1
                total += 1
            }
        }
        guard total > 0 else { return 0 }
        return pairs.values.reduce(0.0) { h, row in h + row.reduce(0, +) / total * entropyBits(row) }
    }

    /// Code and pair counts of some sequences (pairs inside each sequence), counted once and
    /// shared by the fitted models and the leave-one-out estimate below.
    public struct Counts {
        public let vocabSize: Int
        var codes: [Double]
        var pairs: [Int: [Int: Double]] = [:]
        /// Pairs starting with each code.
        var contexts: [Int: Double] = [:]
        var total: Double

        public init(_ sequences: [[Int]], vocabSize: Int) {
            self.vocabSize = vocabSize
            codes = [Double](repeating: 0, count: vocabSize)
            for s in sequences {
                for c in s { codes[c] += 1 }
                if s.count > 1 { for t in 1..<s.count { pairs[s[t - 1], default: [:]][s[t], default: 0] += 1 } }
            }
            contexts = pairs.mapValues { $0.values.reduce(0, +) }
            total = codes.reduce(0, +)
        }

        /// The add-one unigram probability of `code`, leaving out `leftOut` of its own counts.
        func unigram(_ code: Int, leavingOut leftOut: Double = 0) -> Double {
            (codes[code] - leftOut + 1) / (total - leftOut + Double(vocabSize))
        }
    }

    /// Witten-Bell interpolation: P(b | a) = (c(a, b) + T(a)·P(b)) / (c(a) + T(a)), T(a) the number
    /// of distinct codes seen after a; an unseen context falls back to the unigram P(b).
    static func wittenBell(pair: Double, context: Double, types: Double, unigram: Double) -> Double {
        context > 0 ? (pair + types * unigram) / (context + types) : unigram
    }

    /// Cross-entropy in bits per code of `test` under a unigram model fitted on `train`
    /// (add-one smoothing, so unseen codes keep a probability).
    public static func unigramModelBits(train: [[Int]], test: [[Int]], vocabSize: Int) -> Double {
        unigramModelBits(train: Counts(train, vocabSize: vocabSize), test: test)
    }

    public static func unigramModelBits(train: Counts, test: [[Int]]) -> Double {
        var bits = 0.0, n = 0
        for s in test { for c in s { bits -= Foundation.log2(train.unigram(c)); n += 1 } }
        return n > 0 ? bits / Double(n) : 0
    }

    /// Cross-entropy in bits per code of `test` (its pairs inside each sequence; each sequence's
    /// first code under the unigram) under a bigram model fitted on `train`, Witten-Bell
    /// interpolated with the add-one unigram. No parameter is tuned on `test`.
    public static func bigramModelBits(train: [[Int]], test: [[Int]], vocabSize: Int) -> Double {
        bigramModelBits(train: Counts(train, vocabSize: vocabSize), test: test)
    }

    public static func bigramModelBits(train: Counts, test: [[Int]]) -> Double {
        var bits = 0.0, n = 0
        for s in test {
            for t in s.indices {
                var q = train.unigram(s[t])
                if t > 0, let row = train.pairs[s[t - 1]] {
                    q = wittenBell(pair: row[s[t]] ?? 0, context: train.contexts[s[t - 1]]!, types: Double(row.count), unigram: q)
                }
                bits -= Foundation.log2(q); n += 1
            }
        }
        return n > 0 ? bits / Double(n) : 0
    }

    /// The bigram entropy of the codes estimated without letting a pair predict itself: each pair
    /// inside each sequence is scored under the Witten-Bell bigram of `bigramModelBits` estimated
    /// from all the *other* pairs and codes of the same sequences (leave-one-out). The plug-in
    /// `bigramBits` counts each pair in its own prediction, which on a million possible pairs and
    /// ~10⁵ codes makes it far too low; this is the held-out codes' own bigram entropy, fairly.
    public static func bigramLeaveOneOutBits(_ sequences: [[Int]], vocabSize: Int) -> Double {
        let counts = Counts(sequences, vocabSize: vocabSize)
        var bits = 0.0, n = 0
        for s in sequences where s.count > 1 {
            for t in 1..<s.count {
                let a = s[t - 1], b = s[t], row = counts.pairs[a]!
                let pair = row[b]! - 1
                let q = wittenBell(pair: pair, context: counts.contexts[a]! - 1, types: Double(row.count) - (pair == 0 ? 1 : 0),
                                   unigram: counts.unigram(b, leavingOut: 1))
                bits -= Foundation.log2(q); n += 1
            }
        }
        return n > 0 ? bits / Double(n) : 0
    }

    static func entropyBits(_ counts: [Double]) -> Double {
        let n = counts.reduce(0, +)
        guard n > 0 else { return 0 }
        return counts.reduce(0.0) { h, c in c > 0 ? h - c / n * Foundation.log2(c / n) : h }
    }
}
