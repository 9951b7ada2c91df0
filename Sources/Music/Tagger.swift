// Tagger.swift — `gen tag`'s model: a spectrogram transformer after AST (Gong et al. 2021) and
// PaSST (Koutini et al. 2022). The 80-band log-mel of gen's speech and music models (22050 Hz,
// hop 256) is cut into 16 × 16 patches without overlap (PaSST-N), each flattened and embedded by
// one linear layer; separate trainable frequency and time position embeddings are added (PaSST
// §3.1, so a crop of any length uses the first time positions); a CLS token is prepended; a
// pre-LN transformer encoder (NN.TransformerBlock without the causal mask) reads them; heads on the
// final CLS state give genre (softmax), artist (softmax) and vocals (one logit, a sigmoid).
//
// Patchout (PaSST §3.2): in training, whole time columns and frequency rows of patches
// (structured) and single patches (unstructured) are left out of the sequence before the
// encoder. The position embeddings of the kept patches are the ones they had, so the model sees
// the same patch at the same place with or without patchout; a shorter sequence is cheaper.
//
// Letters: B batch, T mel frames, M mel bands (80), N patches, C width.
import Audio
import DSP
import Engine
import Foundation
import NN

public struct TaggerConfig: Codable, Equatable, ValidatedConfig {
    public var sampleRate = 22050
    public var nMels = 80
    /// Patch size in mel bands and frames (square, no overlap).
    public var patch = 16
    /// Frames per window (53 patches of 16 = 848 frames, 9.85 s): training crops and tagging windows.
    public var windowFrames = 848
    public var dModel = 192
    public var layers = 4
    public var heads = 4
    public var mlpDim = 768
    /// Log-mel standardisation (computed on the training clips).
    public var melMean: Float = -5
    public var melStd: Float = 2.5
    /// The training clips' mean integrated loudness (LUFS): audio to tag is brought to it first, so
    /// a piece at -16 LUFS (gen's outputs) reads like the corpus (about -20.6). nil: as it comes.
    public var inputLoudness: Float? = nil
    public var genres: [String] = []
    public var artists: [String] = []

    public init() {}

    public var freqPatches: Int { nMels / max(patch, 1) }
    public var timePatches: Int { windowFrames / max(patch, 1) }
    public var patchSize: Int { patch * patch }

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate", nMels = "n_mels", patch, windowFrames = "window_frames", dModel = "d_model", layers, heads
        case mlpDim = "mlp_dim", melMean = "mel_mean", melStd = "mel_std", inputLoudness = "input_loudness", genres, artists
    }

    /// Every problem with these numbers (each sizes something before the model is built).
    public func validate() -> [String] {
        var p: [String] = []
        if sampleRate != MelConfig.standard.sampleRate { p.append("sample_rate must be \(MelConfig.standard.sampleRate) (the mel of gen's models)") }
        if nMels != MelConfig.standard.nMels { p.append("n_mels must be \(MelConfig.standard.nMels)") }
        if !(2...64).contains(patch) || nMels % patch != 0 { p.append("patch must be 2…64 and divide n_mels (\(nMels)), got \(patch)") }
        if !(1...8192).contains(windowFrames) || windowFrames % max(patch, 1) != 0 { p.append("window_frames must be 1…8192 and a multiple of patch, got \(windowFrames)") }
        if !(8...2048).contains(dModel) || !(1...64).contains(heads) || dModel % max(heads, 1) != 0 { p.append("d_model (8…2048) must be a multiple of heads (1…64)") }
        if !(1...48).contains(layers) { p.append("layers must be 1…48, got \(layers)") }
        if !(1...16384).contains(mlpDim) { p.append("mlp_dim must be 1…16384, got \(mlpDim)") }
        if !(melStd.isFinite && melStd > 0 && melMean.isFinite) { p.append("mel_mean and mel_std must be finite, mel_std positive") }
        if let l = inputLoudness, !(l >= -70 && l <= 0) { p.append("input_loudness must be between -70 and 0 LUFS, got \(l)") }
        if genres.isEmpty || genres.count > 10_000 || artists.count > 10_000 { p.append("genres (1…10000) and artists (0…10000) must be listed") }
        return p
    }
}

/// Which patches of a (freqPatches × timePatches) grid a forward pass keeps.
public struct PatchSelection: Equatable {
    /// Kept patches as (frequency row, time column), in row-major order of the grid.
    public var kept: [(f: Int, t: Int)]
    public static func == (a: PatchSelection, b: PatchSelection) -> Bool { a.kept.elementsEqual(b.kept) { $0 == $1 } }

    /// Every patch of an f × t grid.
    public static func all(freq f: Int, time t: Int) -> PatchSelection {
        PatchSelection(kept: (0..<f).flatMap { fi in (0..<t).map { (fi, $0) } })
    }

    /// Patchout: whole time columns dropped with probability `time`, whole frequency rows with
    /// `freq`, then single patches with `random`; at least one patch always stays.
    public static func patchout(freq f: Int, time t: Int, dropTime: Float, dropFreq: Float, dropRandom: Float, rng: inout RNG) -> PatchSelection {
        let columns = (0..<t).filter { _ in rng.uniform() >= dropTime }
        let rows = (0..<f).filter { _ in rng.uniform() >= dropFreq }
        var kept: [(f: Int, t: Int)] = []
        for fi in rows.isEmpty ? [0] : rows {
            for ti in columns.isEmpty ? [0] : columns where rng.uniform() >= dropRandom { kept.append((fi, ti)) }
        }
        if kept.isEmpty { kept = [(rows.first ?? 0, columns.first ?? 0)] }
        return PatchSelection(kept: kept)
    }
}

/// A batch's targets as distributions: genre (B × genres) and artist (B × artists) rows, all zero
/// where the label is unknown (not scored), and the probability of vocals per example.
public struct TaggerTargets {
    public var genre: [Float], artist: [Float], vocals: [Float]

    public init(genres: [Int], artists: [Int], vocals: [Bool], config: TaggerConfig) {
        func oneHot(_ labels: [Int], _ n: Int) -> [Float] {
            var rows = [Float](repeating: 0, count: labels.count * n)
            for (i, l) in labels.enumerated() where l >= 0 && l < n { rows[i * n + l] = 1 }
            return rows
        }
        genre = oneHot(genres, config.genres.count)
        artist = oneHot(artists, config.artists.count)
        self.vocals = vocals.map { $0 ? 1 : 0 }
    }

    /// Mixup (Zhang et al. 2018, as PaSST trains): example i becomes λᵢ·i + (1 − λᵢ)·partner[i],
    /// targets alike. A label unknown on either side leaves that row unscored.
    public func mixed(with partner: [Int], weights lambda: [Float]) -> TaggerTargets {
        func mix(_ rows: [Float]) -> [Float] {
            guard !vocals.isEmpty else { return rows }
            let n = rows.count / vocals.count   // labels per example
            var out = rows
            for i in lambda.indices {
                let a = rows[(i * n)..<((i + 1) * n)], b = rows[(partner[i] * n)..<((partner[i] + 1) * n)]
                let known = a.contains { $0 != 0 } && b.contains { $0 != 0 }
                for j in 0..<n { out[i * n + j] = known ? lambda[i] * a[i * n + j] + (1 - lambda[i]) * b[partner[i] * n + j] : 0 }
            }
            return out
        }
        var t = self
        t.genre = mix(genre); t.artist = mix(artist)
        t.vocals = lambda.indices.map { lambda[$0] * vocals[$0] + (1 - lambda[$0]) * vocals[partner[$0]] }
        return t
    }
}

/// The tagger's outputs for a batch: logits per head and the final CLS states.
public struct TaggerOutput {
    public var genre: Tensor      // (B, genres)
    public var artist: Tensor?    // (B, artists), nil when the config lists none
    public var vocals: Tensor     // (B, 1)
    public var embedding: Tensor  // (B, C)
}

public final class Tagger {
    public let config: TaggerConfig
    public let params = ParameterStore()
    public let patchEmbed: Linear            // "patch_embed.*": (patch², C)
    public let freqPosition: Embedding       // "freq_position.weight" (freqPatches, C)
    public let timePosition: Embedding       // "time_position.weight" (timePatches, C)
    public let cls: Embedding                // "cls.weight" (1, C)
    public let blocks: [TransformerBlock]    // "layers.i.*"
    public let finalNorm: LayerNorm          // "final_norm.*"
    public let genreHead: Linear, vocalsHead: Linear
    public let artistHead: Linear?

    public init(config: TaggerConfig, seed: UInt64 = 0) {
        config.requireValid("tagger")
        self.config = config
        var rng = RNG(seed: seed)
        let root = Scope(params), c = config.dModel
        patchEmbed = Linear(config.patchSize, c, scope: root.child("patch_embed"), rng: &rng)
        freqPosition = Embedding(config.freqPatches, c, scope: root.child("freq_position"), rng: &rng)
        timePosition = Embedding(config.timePatches, c, scope: root.child("time_position"), rng: &rng)
        cls = Embedding(1, c, scope: root.child("cls"), rng: &rng)
        blocks = (0..<config.layers).map {
            TransformerBlock(dModel: c, heads: config.heads, mlpDim: config.mlpDim, scope: root.child("layers").child($0), rng: &rng)
        }
        finalNorm = LayerNorm(c, scope: root.child("final_norm"))
        genreHead = Linear(c, config.genres.count, scope: root.child("genre_head"), rng: &rng)
        artistHead = config.artists.isEmpty ? nil : Linear(c, config.artists.count, scope: root.child("artist_head"), rng: &rng)
        vocalsHead = Linear(c, 1, scope: root.child("vocals_head"), rng: &rng)
    }

    /// Standardised log-mel (T, M) of mono audio at the config's rate.
    public static func logMel(_ audio: [Float], config: TaggerConfig, filterbank: MelFilterbank) -> [Float] {
        filterbank.logMel(audio: audio).map { ($0 - config.melMean) / config.melStd }
    }

    /// The patches of one window: `mel` (T, M) with T ≥ windowFrames (the first windowFrames
    /// frames are used), flattened per patch (frequency-major inside a patch) in the order of `selection`.
    public func patches(_ mel: [Float], frames: Int, selection: PatchSelection) -> [Float] {
        let p = config.patch, m = config.nMels
        precondition(frames >= config.windowFrames && mel.count == frames * m, "patches: \(frames) frames of \(m) bands for a window of \(config.windowFrames)")
        var out = [Float](repeating: 0, count: selection.kept.count * p * p)
        var o = 0
        for (f, t) in selection.kept {
            for band in 0..<p {
                for frame in 0..<p { out[o + band * p + frame] = mel[(t * p + frame) * m + f * p + band] }
            }
            o += p * p
        }
        return out
    }

    /// The encoder's input for B windows: the CLS token, then each kept patch embedded with the
    /// position embeddings of its own frequency row and time column. → (B, 1 + N, C)
    public func tokens(_ windows: [[Float]], selection: PatchSelection) -> Tensor {
        let b = windows.count, n = selection.kept.count
        let flat = windows.flatMap { patches($0, frames: config.windowFrames, selection: selection) }
        var x = patchEmbed(Tensor(shape: [b, n, config.patchSize], data: flat))
        let fIds = Array(repeating: selection.kept.map(\.f), count: b).flatMap { $0 }
        let tIds = Array(repeating: selection.kept.map(\.t), count: b).flatMap { $0 }
        x = x + embedding(freqPosition.table, ids: fIds, shape: [b, n]) + embedding(timePosition.table, ids: tIds, shape: [b, n])
        return concat([embedding(cls.table, ids: [Int](repeating: 0, count: b), shape: [b, 1]), x], axis: 1)
    }

    /// B windows of standardised log-mel, each (windowFrames, M), with the same patch selection.
    public func callAsFunction(_ windows: [[Float]], selection: PatchSelection) -> TaggerOutput {
        let b = windows.count, c = config.dModel
        var h = tokens(windows, selection: selection)
        for block in blocks { h = block(h, causal: false) }
        let state = reshape(slice(finalNorm(h), axis: 1, 0..<1), [b, c])
        return TaggerOutput(genre: genreHead(state), artist: artistHead.map { $0(state) }, vocals: vocalsHead(state), embedding: state)
    }

    /// Mean loss of a batch: genre cross-entropy + artist cross-entropy (labels −1 are not scored)
    /// + vocals binary cross-entropy (the sigmoid written as a softmax over the logits [0, z]).
    public func loss(_ out: TaggerOutput, genres: [Int], artists: [Int], vocals: [Bool]) -> (total: Tensor, genre: Float, artist: Float, vocals: Float) {
        loss(out, targets: TaggerTargets(genres: genres, artists: artists, vocals: vocals, config: config))
    }

    /// The same loss against soft targets (mixup's blends of two examples' labels).
    public func loss(_ out: TaggerOutput, targets t: TaggerTargets) -> (total: Tensor, genre: Float, artist: Float, vocals: Float) {
        let b = t.vocals.count
        let g = softCrossEntropy(out.genre, targets: t.genre)
        var total = g
        var a: Float = 0
        if let logits = out.artist, t.artist.contains(where: { $0 != 0 }) {
            let l = softCrossEntropy(logits, targets: t.artist)
            total = total + l; a = l.item
        }
        let binary = concat([Tensor(zeros: [b, 1]), out.vocals], axis: 1)
        let v = softCrossEntropy(binary, targets: t.vocals.flatMap { [1 - $0, $0] })
        total = total + v
        return (total, g.item, a, v.item)
    }

    // MARK: tagging whole files

    /// Frames of the windows that tag a piece of `frames` frames: every half window, the last
    /// ending at the end (a piece shorter than a window is one window, padded with silence).
    public func windowStarts(frames: Int) -> [Int] {
        let w = config.windowFrames
        guard frames > w else { return [0] }
        var s = Array(stride(from: 0, through: frames - w, by: w / 2))
        if s.last! < frames - w { s.append(frames - w) }
        return s
    }

    /// `audio` at the training clips' loudness (unchanged without one, or for silence).
    public func levelled(_ audio: [Float]) -> [Float] {
        guard let target = config.inputLoudness,
              let measured = (try? Loudness.measure(audio, sampleRate: config.sampleRate))?.integrated else { return audio }
        let gain = Float(pow(10, (Double(target) - measured) / 20))
        return audio.map { $0 * gain }
    }

    /// A standardised log-mel (frames × M) padded with silence to at least one window.
    static func paddedToWindow(_ mel: [Float], config: TaggerConfig) -> (mel: [Float], frames: Int) {
        let frames = mel.count / config.nMels
        guard frames < config.windowFrames else { return (mel, frames) }
        let silence = (log(MelFilterbank.logFloor) - config.melMean) / config.melStd
        return (mel + [Float](repeating: silence, count: (config.windowFrames - frames) * config.nMels), config.windowFrames)
    }

    /// One window's outputs: the heads' probabilities and the CLS embedding.
    struct WindowOutput { var start: Int; var genre: [Float]; var artist: [Float]?; var vocals: Double; var embedding: [Float] }

    /// Runs every window of `windowStarts(frames:)` over a padded mel, `batch` windows at a time
    /// (memory does not grow with the length), handing each window's outputs to `body` in order.
    func forEachWindow(mel: [Float], frames: Int, batch: Int, _ body: (WindowOutput) -> Void) {
        let m = config.nMels, starts = windowStarts(frames: frames)
        let all = PatchSelection.all(freq: config.freqPatches, time: config.timePatches)
        let g = config.genres.count, a = config.artists.count, d = config.dModel
        var i = 0
        while i < starts.count {
            let group = Array(starts[i..<min(i + batch, starts.count)])
            i += group.count
            let windows = group.map { Array(mel[($0 * m)..<(($0 + config.windowFrames) * m)]) }
            GradMode.withoutGrad {
                let out = self(windows, selection: all)
                let genre = softmax(out.genre).data, artist = out.artist.map { softmax($0).data }
                for (j, start) in group.enumerated() {
                    body(WindowOutput(start: start, genre: Array(genre[(j * g)..<((j + 1) * g)]),
                                      artist: artist.map { Array($0[(j * a)..<((j + 1) * a)]) },
                                      vocals: 1 / (1 + exp(-Double(out.vocals.data[j]))),
                                      embedding: Array(out.embedding.data[(j * d)..<((j + 1) * d)])))
                }
            }
        }
    }

    /// Tags of a whole piece: each head's probabilities and the CLS embedding averaged over its
    /// windows (window by window in batches of `batch`, so memory does not grow with the length).
    public func tag(_ audio: [Float], filterbank: MelFilterbank, batch: Int = 8) -> TagResult {
        let (mel, frames) = Self.paddedToWindow(Self.logMel(levelled(audio), config: config, filterbank: filterbank), config: config)
        var genre = [Double](repeating: 0, count: config.genres.count), artist = [Double](repeating: 0, count: config.artists.count)
        var vocals = 0.0, embedding = [Double](repeating: 0, count: config.dModel), n = 0.0
        forEachWindow(mel: mel, frames: frames, batch: batch) { w in
            for (k, p) in w.genre.enumerated() { genre[k] += Double(p) }
            if let a = w.artist { for (k, p) in a.enumerated() { artist[k] += Double(p) } }
            vocals += w.vocals
            for (k, e) in w.embedding.enumerated() { embedding[k] += Double(e) }
            n += 1
        }
        return TagResult(genre: genre.map { $0 / n }, artist: artist.map { $0 / n }, vocals: vocals / n,
                         embedding: embedding.map { $0 / n }, windows: Int(n))
    }

    // MARK: checkpoints

    public func save(directory dir: String, metadata: [String: String] = [:]) throws {
        try ModelFolder.save(dir, config: config, params: params, metadata: metadata)
    }

    /// A model folder, loaded strictly (every tensor present with its shape, all finite).
    public static func load(directory dir: String) throws -> Tagger {
        try ModelFolder.load(dir, config: TaggerConfig.self,
                             missing: CheckpointError(path: dir, message: "no tagger here (config.json and model.safetensors); train one with `gen train tagger --data data/music --out \(dir)`"),
                             validate: { $0.validate() }, build: { Tagger(config: $0) }, params: \.params)
    }
}

/// What `gen tag` reports for one piece.
public struct TagResult {
    /// Probabilities in the order of the config's genres and artists.
    public var genre: [Double]
    public var artist: [Double]
    public var vocals: Double
    /// The CLS state averaged over windows (gen's own embedding space, for Fréchet distances).
    public var embedding: [Double]
    public var windows: Int
}
