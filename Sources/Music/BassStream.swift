// BassStream.swift — the codec's bass line, coded as a waveform (issue 13): the band below 345 Hz,
// at 22050 / 32 = 689 Hz, cut into the 8 samples of each 256-sample frame and coded by a residual
// vector quantizer of its own, whose codebooks are fitted to the training clips' bands by k-means.
//
// Why a second stream: the codec's iSTFT decoder keeps the notes above 345 Hz (held-out chroma of
// that band alone 0.965) and loses the bass line's pitch, because a 1024-point frame's bins are
// 21.5 Hz apart, coarser than a semitone there; and the bass decoder (BassDecoder.swift), which
// writes that band from the main codes, can only write what the codes carry: it lifts chroma from
// 0.931 to 0.948, where the original's band gives 0.995 (the codec card's oracle). A waveform has no
// bins to fall between, and at 689 Hz it is 8 numbers a frame: two codebooks of 1024 (20 bits a
// frame, 1.72 kbps) code it at about 12.5 dB SNR, which keeps each bass note's pitch. Measured
// (numpy prototype, 29 held-out MMA clips, CQT chroma): 6 main codebooks + 2 bass codebooks
// (6.89 kbps) 0.992, against 0.948 for 8 main codebooks with the bass decoder. The shipped stream
// has three (about 18 dB): the top rung, 5 main + 3 bass, gives 0.994 and less noise between the
// notes (models/codec/MODEL_CARD.md, "A third bass codebook"). Its codebooks hold 4096, 512 and
// 512 codes (12 + 9 + 9 bits, as many as three of 1024): the lowest rung with a bass codebook gets
// a cleaner bass line for 0.17 kbps more ("A 4096-code first bass codebook").
//
//   encode: x ─▶ ↓32 (BandSplit) ─▶ frame s: band[8s ..< 8s + 8] ─▶ residual VQ (B stages of n_k × 8)
//   decode: Σ codewords ─▶ band ─▶ y + ↑(band − ↓y): the decoded audio's band replaced
//
// The stream is a rung of the codec's bitrate ladder like any codebook (log2 n_k bits a frame); which
// main and bass codebooks each rung holds is `rungs` in the layout. The main codes, the codec id
// and the prior (which models the main codebooks) are untouched by it.
import DSP
import Engine
import Foundation

/// One rung of the codec's bitrate ladder: the first `main` codebooks of the residual quantizer
/// and the first `bass` codebooks of the bass stream.
public struct CodecRung: Codable, Equatable, CustomStringConvertible {
    public var main: Int
    public var bass: Int
    public init(main: Int, bass: Int = 0) { self.main = main; self.bass = bass }
    public var total: Int { main + bass }
    public var description: String { bass == 0 ? "\(main)" : "\(main) + \(bass) bass" }

    /// [main, bass] in config.json.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        main = try c.decode(Int.self); bass = try c.decode(Int.self)
        if !c.isAtEnd { throw DecodingError.dataCorruptedError(in: c, debugDescription: "a rung is [main, bass]: two numbers") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(main); try c.encode(bass)
    }
}

/// The bass stream's shape, `bass_stream` in a codec's config.json.
public struct BassStreamLayout: Codable, Equatable {
    /// The band's rate is sample_rate / down; hop / down band samples make one frame's vector.
    public var down = 32
    public var codebooks = 2
    /// Each codebook's size, when they differ (`codebook_sizes`; absent: every one `codebookSize`,
    /// which is then the first's). A bigger first codebook buys the lowest rung a cleaner bass
    /// line for the bits the later ones give up (the codec card, "A 4096-code first bass codebook").
    public var codebookSize = 1024
    public var codebookSizes: [Int]? = nil
    /// The size of codebook k, 0-based.
    public var stageSizes: [Int] { codebookSizes ?? Array(repeating: codebookSize, count: codebooks) }
    /// The ladder, lowest rung first: rung k (k codebooks in all) holds `rungs[k − 1]`.
    public var rungs: [CodecRung] = []
    /// Strength β of the decoder's Wiener postfilter on the coded band (nil: none): each bin of its
    /// STFT is scaled by max(0.1, 1 − β·N / |X|²), N the quantization noise the chosen codeword
    /// leaves on average (measured at the fit), so the noise floor between the bass notes falls.
    public var postfilter: Float? = nil

    public init() {}

    enum CodingKeys: String, CodingKey {
        case down, codebooks, codebookSize = "codebook_size", codebookSizes = "codebook_sizes", rungs, postfilter
    }

    /// The ladder a trained stream of `bass` codebooks gets beside `main` main codebooks: a main
    /// codebook first, then the bass and main codebooks in turn until the bass stream is used up,
    /// then main codebooks up to `main` codebooks in all (the main quantizer's last `bass` ones are
    /// left out, so the top rung's bitrate stays the main quantizer's). With 8 and 3 (the shipped
    /// codec): 1, 1 + 1, 2 + 1, 2 + 2, 3 + 2, 3 + 3, 4 + 3, 5 + 3.
    public static func interleavedRungs(main: Int, bass: Int) -> [CodecRung] {
        precondition(main > bass && bass >= 1, "BassStreamLayout.interleavedRungs: \(main) main and \(bass) bass codebooks")
        var r = [CodecRung(main: 1)]
        while r.last!.total < main {
            let last = r.last!
            r.append(last.bass < min(last.main, bass) ? CodecRung(main: last.main, bass: last.bass + 1) : CodecRung(main: last.main + 1, bass: last.bass))
        }
        return r
    }

    func problems(hop: Int, mainCodebooks: Int) -> [String] {
        var p: [String] = []
        if !(2...256).contains(down) || hop % down != 0 || !(1...64).contains(hop / down) {
            p.append("bass_stream.down must divide the hop into 1...64 band samples (hop \(hop)), got \(down)")
        }
        // What the count sizes is checked only against a valid count (one wrong number, one message).
        guard (1...8).contains(codebooks) else { return p + ["bass_stream.codebooks must be in 1...8, got \(codebooks)"] }
        if !(2...65_536).contains(codebookSize) { p.append("bass_stream.codebook_size must be in 2...65536, got \(codebookSize)") }
        if let sizes = codebookSizes {
            if sizes.count != codebooks || sizes.contains(where: { !(2...65_536).contains($0) }) || sizes.first != codebookSize {
                p.append("bass_stream.codebook_sizes must give each of the \(codebooks) codebooks a size in 2...65536, the first equal to codebook_size (\(codebookSize)), got \(sizes)")
            }
        }
        if let b = postfilter, !(b >= 0 && b <= 100) { p.append("bass_stream.postfilter must be in 0...100, got \(b)") }
        if rungs.isEmpty || rungs.count > 64 { p.append("bass_stream.rungs must list 1 to 64 rungs, got \(rungs.count)") }
        for (i, r) in rungs.enumerated() where !(r.main >= 1 && r.main <= mainCodebooks) || !(r.bass >= 0 && r.bass <= codebooks) {
            p.append("bass_stream.rungs[\(i)] = [\(r.main), \(r.bass)] needs 1...\(mainCodebooks) main and 0...\(codebooks) bass codebooks")
        }
        if zip(rungs, rungs.dropFirst()).contains(where: { $1.total <= $0.total || $1.main < $0.main || $1.bass < $0.bass }) {
            p.append("bass_stream.rungs must grow rung by rung (each holds the one before it and more)")
        }
        return p
    }
}

public final class BassStream {
    public let layout: BassStreamLayout
    public let quantizer: ResidualVectorQuantizer
    /// Per stage, per codeword: the mean squared residual (per vector) that the vectors choosing it
    /// leave after that stage, measured at the fit: the postfilter's noise estimate.
    public let distortion: [Tensor]
    let split: BandSplit
    /// Band samples per frame: the vector each code stands for.
    public let perFrame: Int

    public init(layout: BassStreamLayout, hop: Int, seed: UInt64 = 0) {
        self.layout = layout
        perFrame = hop / layout.down
        var rng = RNG(seed: seed)
        quantizer = ResidualVectorQuantizer(codebookSizes: layout.stageSizes, dim: perFrame, rng: &rng)
        distortion = layout.stageSizes.map { Tensor(zeros: [$0]) }
        split = BandSplit(factor: layout.down)
    }

    /// The band of `samples` as S frame vectors (S·perFrame values, frame-major), zeros past its end.
    public func vectors(_ samples: [Float], frames s: Int) -> [Float] {
        var band = split.decimate(samples)                         // ⌈L / down⌉ ≤ S · perFrame samples
        band += [Float](repeating: 0, count: max(0, s * perFrame - band.count))
        return Array(band.prefix(s * perFrame))
    }

    /// Codes (count, S) of the band of `samples` (S frames, as the main codes have).
    public func encode(_ samples: [Float], frames s: Int, count: Int) -> [[Int32]] {
        precondition((1...layout.codebooks).contains(count), "BassStream.encode: \(count) codebooks outside 1...\(layout.codebooks)")
        return quantizer.encode(vectors(samples, frames: s), rows: s, active: count).map { $0.map(Int32.init) }
    }

    /// Replaces the band below 11025 / down Hz of `audio` with the one the codes (k, S) hold.
    public func apply(codes: [[Int32]], audio y: inout [Float]) {
        guard let s = codes.first?.count, s > 0, !y.isEmpty else { return }
        var coded = quantizer.decode(codes.map { $0.map(Int.init) })   // (S · perFrame)
        if let beta = layout.postfilter, beta > 0 { coded = postfiltered(coded, codes: codes, beta: beta) }
        let decoded = split.decimate(y)                                 // ⌈L / down⌉ ≤ S · perFrame
        let correction = (0..<decoded.count).map { coded[$0] - decoded[$0] }
        let up = split.interpolate(correction, length: y.count)
        for i in y.indices { y[i] += up[i] }
    }

    /// The Wiener postfilter: the coded band's STFT (n_fft 8 frames' vectors, hop 2 of them, Hann),
    /// each bin scaled by max(0.1, 1 − β·N / |X|²), where N = the last stage's codeword distortion
    /// of the frame, per sample, times the window's energy (white noise's expected |X|²).
    func postfiltered(_ band: [Float], codes: [[Int32]], beta: Float) -> [Float] {
        let n = 8 * perFrame, hop = 2 * perFrame
        let stft = STFT(config: STFTConfig(nFFT: n, winLength: n, hop: hop, center: true))
        var spec = stft.forward(band)
        let last = codes.count - 1, d = distortion[last].data, frames = codes[last].count
        let windowEnergy = Float(n) * 3 / 8   // Σ w² of a periodic Hann of n points
        for t in 0..<spec.frames {
            let frame = min(frames - 1, t * hop / perFrame)
            let noise = beta * d[Int(codes[last][frame])] / Float(perFrame) * windowEnergy
            for f in 0..<spec.bins {
                let i = t * spec.bins + f
                let power = spec.re[i] * spec.re[i] + spec.im[i] * spec.im[i]
                let g = max(0.1, 1 - noise / max(power, 1e-20))
                spec.re[i] *= g; spec.im[i] *= g
            }
        }
        return stft.inverse(spec, length: band.count)
    }

    /// Fingerprint of what the bass codes mean (the layout's framing and the codebooks), checked
    /// against a codes file's `bass_stream_id`.
    public var streamID: String {
        // (codebook_sizes joins the fingerprint only where the sizes differ, so a uniform stream keeps its id.)
        struct Space: Encodable { var down: Int, codebooks: Int, codebookSize: Int, codebookSizes: [Int]? }
        let sizes = layout.stageSizes, mixed = Set(sizes).count > 1 ? sizes : nil
        let store = ParameterStore()
        return "bass-" + store.fingerprint(config: Space(down: layout.down, codebooks: layout.codebooks, codebookSize: layout.codebookSize, codebookSizes: mixed),
                                           buffers: quantizer.stages.map(\.codebook))
    }

    public func codebookName(_ k: Int) -> String { "bass_stream.\(k).codebook" }
    public func distortionName(_ k: Int) -> String { "bass_stream.\(k).distortion" }

    // MARK: fitting

    /// What each stage leaves of a set of band vectors: the residual's energy against the vectors'
    /// own (dB), the distinct codes the vectors use, and the perplexity of their code histogram.
    public struct StageScore { public var residualDB: Float; public var usage: Int; public var perplexity: Float }

    /// Each stage in turn on what the ones before left of `vectors` (N·perFrame values, frame-major).
    public func scores(_ vectors: [Float]) -> [StageScore] {
        let d = perFrame, n = vectors.count / d
        var residual = Tensor(shape: [n, d], data: vectors)
        var rng = RNG(seed: 0)   // unused: no training, so no restarts
        return quantizer.stages.map { stage in
            let r = stage(residual, training: false, rng: &rng)
            residual = Tensor(shape: [n, d], data: zip(residual.data, r.quantized.data).map { $0 - $1 })
            return Self.score(r, residual: residual.data, of: vectors)
        }
    }

    /// A stage's score from its output and what it left of `vectors`.
    static func score(_ r: VQOutput, residual: [Float], of vectors: [Float]) -> StageScore {
        func energy(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) } }
        let db = 10 * Foundation.log10(max(energy(residual), 1e-30) / max(energy(vectors), 1e-30))
        return StageScore(residualDB: Float(db), usage: r.usage, perplexity: r.perplexity)
    }

    /// Fits the codebooks to `vectors` (N·perFrame values, frame-major) by k-means, stage by stage on
    /// what the stages before left (Lloyd's iterations: every vector to its nearest codeword, every
    /// codeword to the mean of its vectors; a codeword left without vectors moves onto a random
    /// one, as the codec's EMA codebooks restart dead codes), and records each codeword's mean
    /// residual (`distortion`). Deterministic for a seed. Returns the fitted stages' `scores` on the
    /// same vectors (taken as each stage is fitted); an interrupt (`TrainingInterrupt`) ends it early, with none.
    public func fit(_ vectors: [Float], iterations: Int, seed: UInt64, progress: (Int, Int, Float) -> Void = { _, _, _ in }) -> [StageScore] {
        let d = perFrame, n = vectors.count / d
        let sizes = layout.stageSizes
        precondition(n >= sizes.max()! && vectors.count == n * d, "BassStream.fit: \(n) vectors for \(sizes.max()!) codes")
        var rng = RNG(seed: seed)
        var residual = Tensor(shape: [n, d], data: vectors)
        var fitted: [StageScore] = []
        for (k, stage) in quantizer.stages.enumerated() {
            let decay = stage.decay, threshold = stage.restartThreshold
            // decay 0: each call sets every codeword to the mean of its vectors (a Lloyd step);
            // threshold 0.5: a codeword with no vector restarts on a random one.
            stage.decay = 0; stage.restartThreshold = 0.5
            stage.clusterSize = [Float](repeating: 0, count: sizes[k])   // the first call restarts every unused code
            for it in 0..<iterations {
                if TrainingInterrupt.signal != nil { return [] }   // Ctrl-C: the caller writes nothing
                let out = stage(residual, training: true, rng: &rng)
                progress(k, it, out.perplexity)
            }
            stage.decay = decay; stage.restartThreshold = threshold
            let out = stage(residual, training: false, rng: &rng)
            residual = Tensor(shape: [n, d], data: zip(residual.data, out.quantized.data).map { $0 - $1 })
            fitted.append(Self.score(out, residual: residual.data, of: vectors))
            var sums = [Double](repeating: 0, count: sizes[k]), counts = [Double](repeating: 0, count: sizes[k])
            for (i, c) in out.codes.enumerated() {
                var e: Double = 0
                for j in 0..<d { let r = Double(residual.data[i * d + j]); e += r * r }
                sums[c] += e; counts[c] += 1
            }
            let mean = sums.reduce(0, +) / Double(max(n, 1))   // a codeword no vector chose gets the stage's mean
            distortion[k].data = (0..<sizes[k]).map { Float(counts[$0] > 0 ? sums[$0] / counts[$0] : mean) }
        }
        return fitted   // the stages as fitted, as `scores(vectors)` would give them again
    }
}
