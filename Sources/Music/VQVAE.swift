// VQVAE.swift — the music codec, after Jukebox (Dhariwal et al. 2020, §2.2 and §3): a
// hierarchy of independent VQ-VAEs on 22050 Hz mono audio. Each level has its own strided conv1d
// encoder with dilated residual blocks, its own EMA codebook with dead-code restarts
// (Engine.VectorQuantizer) and its own mirrored decoder (transposed convs + residual blocks), so
// each level encodes the waveform to its hop and decodes back on its own. The loss is a waveform
// L1 term plus a multi-resolution STFT term (spectral convergence + log-magnitude L1, Yamamoto et
// al. 2020 "Parallel WaveGAN" §2.3; n_fft 2048/1024/512 as Jukebox) plus the commitment loss.
// The STFT magnitude is differentiable two ways: a conv1d with fixed cos/sin kernels (the plain
// reference) and an FFT forward/backward pair (the fast path the loss uses); tests tie them.
//
// Encoding and decoding work on arbitrary lengths (padded to a multiple of the hop, trimmed back)
// and in hop-aligned chunks with receptive-field margins, so memory stays bounded for long files
// and the chunked codes equal the whole-signal codes.
//
// Letters: B batch, C channels (width), D code dimension, K codebook size, T samples,
// Q code positions (T / hop), F frequency bins, S STFT frames.
import Base
import DSP
import Engine
import Foundation
import NN

// MARK: - config

/// One level: an independent VQ-VAE with hop = Π strides.
public struct VQVAELevelConfig: Codable, Equatable {
    /// Downsampling factor of each encoder stage (each 2 or 4), first stage first.
    public var strides: [Int]
    /// Channels of every conv inside the level.
    public var width: Int = 32
    /// Dilated residual blocks per stage; block j has dilation growth^j.
    public var depth: Int = 4
    public var dilationGrowth: Int = 3
    public var codebookSize: Int = 1024
    public var codeDim: Int = 64

    public init(strides: [Int], width: Int = 32, depth: Int = 4, dilationGrowth: Int = 3,
                codebookSize: Int = 1024, codeDim: Int = 64) {
        self.strides = strides; self.width = width; self.depth = depth; self.dilationGrowth = dilationGrowth
        self.codebookSize = codebookSize; self.codeDim = codeDim
    }

    /// Samples per code.
    public var hop: Int { strides.reduce(1, *) }

    /// Encoder receptive field in samples: 1 + Σ (k − 1)·dilation·(input jump) over the convs.
    /// Finite for every config that passes `VQVAEConfig.validate` (its bounds keep this far from overflow).
    public var receptiveField: Int {
        var rf = 1, jump = 1
        for s in strides {
            rf += (2 * s - 1) * jump
            jump *= s
            for j in 0..<depth { rf += 2 * intPow(dilationGrowth, j) * jump }
        }
        return rf + 2 * jump
    }

    enum CodingKeys: String, CodingKey {
        case strides, width, depth, dilationGrowth = "dilation_growth", codebookSize = "codebook_size", codeDim = "code_dim"
    }
}

public struct VQVAEConfig: Codable, Equatable {
    public var sampleRate = 22050
    /// Finest first. Default hops 32 and 128 (Jukebox's two upper levels). The first stage
    /// downsamples by 4, not Jukebox's 2: measured on this CPU (2 cores, batch 8 × 1 s), a training
    /// step of the hop-32 level takes 0.7–1.0 s with strides [4, 4, 2] against 2.7 s with [2, 4, 4]
    /// (hop 128: 0.65 s against 1.5 s), because the residual blocks run at a quarter of the rate.
    public var levels: [VQVAELevelConfig] = [VQVAELevelConfig(strides: [4, 4, 2]),
                                              VQVAELevelConfig(strides: [4, 4, 4, 2])]
    public var commitment: Float = 0.02
    public var emaDecay: Float = 0.99
    /// Codes whose EMA usage falls below this many rows per batch are restarted on random inputs.
    public var restartThreshold: Float = 1.0
    public var waveformWeight: Float = 1.0
    public var spectralWeight: Float = 1.0
    /// n_fft of each STFT resolution; the hop is n_fft / 4 and the window a periodic Hann of n_fft.
    public var stftSizes = [2048, 1024, 512]
    /// Chunk length for encoding and decoding long files.
    public var chunkSeconds: Double = 10

    public init() {}

    public init(levels: [VQVAELevelConfig], stftSizes: [Int] = [2048, 1024, 512]) {
        self.levels = levels; self.stftSizes = stftSizes
    }

    /// tokens/s × log2(K) for each level.
    public func bitrate(level: Int) -> Double {
        let l = levels[level]
        return Double(sampleRate) / Double(l.hop) * Foundation.log2(Double(l.codebookSize))
    }

    /// Problems that would make the model unbuildable; empty when the config is sound.
    public func validate() -> [String] {
        var problems: [String] = []
        if sampleRate != 22050 { problems.append("sample_rate must be 22050 (the models' fixed rate), got \(sampleRate)") }
        if levels.isEmpty { problems.append("levels is empty: give at least one level") }
        for (i, l) in levels.enumerated() {
            if l.strides.isEmpty || l.strides.contains(where: { $0 != 2 && $0 != 4 }) {
                problems.append("levels[\(i)].strides must be a non-empty list of 2s and 4s, got \(l.strides)")
            }
            if l.width < 1 || l.depth < 0 || l.dilationGrowth < 1 { problems.append("levels[\(i)]: width ≥ 1, depth ≥ 0 and dilation_growth ≥ 1 required") }
            if l.codebookSize < 2 || l.codeDim < 1 { problems.append("levels[\(i)]: codebook_size ≥ 2 and code_dim ≥ 1 required") }
            // Upper bounds, checked before anything is sized (or a dilation computed) from them.
            if l.strides.count > 8 || l.width > 1024 || l.depth > 16 || l.dilationGrowth > 16 || l.codebookSize > 65_536 || l.codeDim > 1024 {
                problems.append("levels[\(i)]: at most 8 strides, width 1024, depth 16, dilation_growth 16, codebook_size 65536 and code_dim 1024")
            } else if l.depth > 0 && Foundation.pow(Double(l.dilationGrowth), Double(l.depth - 1)) > 100_000 {
                problems.append("levels[\(i)]: dilation_growth^(depth − 1) must be at most 100000 (the largest dilation)")
            }
        }
        if levels.count > 8 { problems.append("at most 8 levels, got \(levels.count)") }
        if stftSizes.count > 8 || stftSizes.contains(where: { $0 > 16_384 }) { problems.append("at most 8 stft_sizes, each at most 16384") }
        if !(chunkSeconds <= 600) { problems.append("chunk_seconds must be at most 600") }
        if stftSizes.contains(where: { $0 < 8 || $0 & ($0 - 1) != 0 }) { problems.append("stft_sizes must be powers of two ≥ 8, got \(stftSizes)") }
        if !(0..<1).contains(emaDecay) { problems.append("ema_decay must be in [0, 1)") }
        if commitment < 0 || waveformWeight < 0 || spectralWeight < 0 { problems.append("loss weights must be non-negative") }
        if !(chunkSeconds >= 0.5) { problems.append("chunk_seconds must be at least 0.5") }
        return problems
    }

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate", levels, commitment, emaDecay = "ema_decay", restartThreshold = "restart_threshold"
        case waveformWeight = "waveform_weight", spectralWeight = "spectral_weight", stftSizes = "stft_sizes"
        case chunkSeconds = "chunk_seconds"
    }
}

public struct CodecError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - one level

/// Strided conv1d stages (kernel 2s, stride s: T → T/s exactly for even s), each followed by
/// dilated residual blocks, then a k3 conv to the code dimension. (B, 1, T) → (B, D, T/hop).
final class VQVAEEncoder {
    let downs: [Conv1d]
    let blocks: [[DilatedResBlock]]
    let out: Conv1d

    init(_ c: VQVAELevelConfig, scope: Scope, rng: inout RNG) {
        var downs: [Conv1d] = [], blocks: [[DilatedResBlock]] = []
        var cin = 1
        for (i, s) in c.strides.enumerated() {
            downs.append(Conv1d(cin, c.width, kernel: 2 * s, stride: s, padding: s / 2, scope: scope.child("down").child(i), rng: &rng))
            blocks.append((0..<c.depth).map { j in
                DilatedResBlock(channels: c.width, dilation: intPow(c.dilationGrowth, j), scope: scope.child("res").child(i).child(j), rng: &rng)
            })
            cin = c.width
        }
        self.downs = downs; self.blocks = blocks
        out = Conv1d(c.width, c.codeDim, kernel: 3, scope: scope.child("out"), rng: &rng)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (down, res) in zip(downs, blocks) {
            h = down(h)
            for block in res { h = block(h) }
        }
        return out(h)
    }
}

/// The mirror: k3 conv from the code dimension, then per stage (coarsest first) residual blocks
/// with descending dilations and a transposed conv (kernel 2s, stride s: Q → Q·s), then a k3
/// conv to one channel. (B, D, Q) → (B, 1, Q·hop).
final class VQVAEDecoder {
    let input: Conv1d
    let blocks: [[DilatedResBlock]]
    let ups: [ConvTranspose1d]
    let out: Conv1d

    init(_ c: VQVAELevelConfig, scope: Scope, rng: inout RNG) {
        input = Conv1d(c.codeDim, c.width, kernel: 3, scope: scope.child("in"), rng: &rng)
        var blocks: [[DilatedResBlock]] = [], ups: [ConvTranspose1d] = []
        for (i, s) in c.strides.enumerated().reversed() {
            blocks.append((0..<c.depth).reversed().map { j in
                DilatedResBlock(channels: c.width, dilation: intPow(c.dilationGrowth, j), scope: scope.child("res").child(i).child(j), rng: &rng)
            })
            ups.append(ConvTranspose1d(c.width, c.width, kernel: 2 * s, stride: s, padding: s / 2, scope: scope.child("up").child(i), rng: &rng))
        }
        self.blocks = blocks; self.ups = ups
        out = Conv1d(c.width, 1, kernel: 3, scope: scope.child("out"), rng: &rng)
    }

    func callAsFunction(_ z: Tensor) -> Tensor {
        var h = input(z)
        for (res, up) in zip(blocks, ups) {
            for block in res { h = block(h) }
            h = up(h)
        }
        return out(h)
    }
}

func intPow(_ base: Int, _ exp: Int) -> Int { (0..<exp).reduce(1) { acc, _ in acc * base } }

/// One independent VQ-VAE: encoder → codebook → decoder.
public final class VQVAELevel {
    public let config: VQVAELevelConfig
    let encoder: VQVAEEncoder
    let decoder: VQVAEDecoder
    public let quantizer: VectorQuantizer

    init(_ c: VQVAELevelConfig, model: VQVAEConfig, scope: Scope, rng: inout RNG) {
        config = c
        encoder = VQVAEEncoder(c, scope: scope.child("encoder"), rng: &rng)
        decoder = VQVAEDecoder(c, scope: scope.child("decoder"), rng: &rng)
        quantizer = VectorQuantizer(codebookSize: c.codebookSize, dim: c.codeDim, decay: model.emaDecay,
                                    restartThreshold: model.restartThreshold, rng: &rng)
    }

    public var hop: Int { config.hop }

    /// Encoder latents as rows: x (B, 1, T) → (B·Q, D), with B and Q.
    func latentRows(_ x: Tensor) -> (rows: Tensor, batch: Int, positions: Int) {
        let z = encoder(x)  // (B, D, Q)
        let b = z.shape[0], d = z.shape[1], q = z.shape[2]
        return (reshape(transpose(z, 1, 2), [b * q, d]), b, q)
    }

    /// Decodes code vectors (B·Q, D) laid out batch-major → (B, 1, Q·hop).
    func decodeRows(_ rows: Tensor, batch: Int, positions: Int) -> Tensor {
        let zq = transpose(reshape(rows, [batch, positions, config.codeDim]), 1, 2)  // (B, D, Q)
        return decoder(zq)
    }

    /// Encoder receptive field in samples (VQVAELevelConfig.receptiveField).
    public var receptiveField: Int { config.receptiveField }

    /// Code positions each side that can influence a code (encoder) or a decoded sample (decoder),
    /// rounded up with one spare: the margin a chunk needs for its centre to match the whole signal.
    public var marginCodes: Int {
        // Decoder reach in codes: each layer reaches (k − 1)/2 · dilation of its own steps, and its
        // steps are 1/U codes after U-fold upsampling so far; a transposed conv reaches one input step.
        var reach = 1.0, upsampled = 1.0
        for s in config.strides.reversed() {
            for j in 0..<config.depth { reach += Double(intPow(config.dilationGrowth, j)) / upsampled }
            reach += 1 / upsampled
            upsampled *= Double(s)
        }
        reach += 1 / upsampled
        let encoder = (receptiveField + hop - 1) / hop
        return max(encoder, Int(reach.rounded(.up))) + 1
    }
}

// MARK: - model

public struct VQVAELevelLosses {
    public var reconstruction: Tensor   // waveform + spectral terms (carries gradient)
    public var commit: Tensor
    public var waveform: Float, spectralConvergence: Float, logMagnitude: Float
    public var usage: Int, perplexity: Float
    public var codes: [Int]
}

public final class VQVAE {
    public let config: VQVAEConfig
    public let params = ParameterStore()
    public let levels: [VQVAELevel]
    public private(set) lazy var stftBases: [STFTBasis] = config.stftSizes.map { STFTBasis(nFFT: $0) }

    public init(config: VQVAEConfig, seed: UInt64 = 0) {
        precondition(config.validate().isEmpty, "VQVAE: invalid config: \(config.validate().joined(separator: "; "))")
        self.config = config
        var rng = RNG(seed: seed)
        let root = Scope(params)
        levels = config.levels.enumerated().map { i, c in VQVAELevel(c, model: config, scope: root.child("levels").child(i), rng: &rng) }
    }

    public var sampleRate: Int { config.sampleRate }

    /// Losses of one level on a batch x (B, 1, T), T a multiple of the level's hop. With
    /// `training`, the codebook takes its EMA step (and restarts) from this batch.
    public func losses(_ x: Tensor, level: Int, training: Bool, rng: inout RNG) -> VQVAELevelLosses {
        let lv = levels[level]
        precondition(x.rank == 3 && x.shape[1] == 1 && x.shape[2] % lv.hop == 0,
                     "VQVAE.losses: x must be (B, 1, T) with T a multiple of \(lv.hop), got \(x.shape)")
        let (rows, b, q) = lv.latentRows(x)
        let vq = lv.quantizer(rows, training: training, rng: &rng)
        let y = lv.decodeRows(vq.quantized, batch: b, positions: q)  // (B, 1, T)
        let wave = l1Loss(y, x)
        let spec = multiResolutionSTFTLoss(y, x, bases: stftBases)
        let recon = wave * config.waveformWeight + (spec.convergence + spec.logMagnitude) * config.spectralWeight
        return VQVAELevelLosses(reconstruction: recon, commit: vq.commitLoss, waveform: wave.item,
                                spectralConvergence: spec.convergence.item, logMagnitude: spec.logMagnitude.item,
                                usage: vq.usage, perplexity: vq.perplexity, codes: vq.codes)
    }

    // MARK: encode / decode

    /// Number of codes for `length` samples at a level: ⌈length / hop⌉, at least 1.
    public func codeCount(length: Int, level: Int) -> Int { max(1, (length + levels[level].hop - 1) / levels[level].hop) }

    /// Codes of a window of samples already padded to a multiple of the hop.
    func encodeWindow(_ window: [Float], level: Int) -> [Int] {
        GradMode.withoutGrad {
            let lv = levels[level]
            let (rows, _, _) = lv.latentRows(Tensor(shape: [1, 1, window.count], data: window))
            return lv.quantizer.nearest(rows)
        }
    }

    /// Decoded samples of a window of codes, (codes · hop).
    func decodeWindow(_ codes: [Int], level: Int) -> [Float] {
        GradMode.withoutGrad {
            let lv = levels[level]
            return lv.decodeRows(lv.quantizer.lookup(codes: codes), batch: 1, positions: codes.count).data
        }
    }

    /// Code windows: [start, end) kept, [a, b) computed, in code positions.
    func chunks(codes total: Int, level: Int, chunkCodes: Int?) -> [(start: Int, end: Int, a: Int, b: Int)] {
        let lv = levels[level]
        let size = max(1, chunkCodes ?? Int(config.chunkSeconds * Double(config.sampleRate)) / lv.hop)
        let margin = lv.marginCodes
        return stride(from: 0, to: total, by: size).map { start in
            let end = min(total, start + size)
            return (start, end, max(0, start - margin), min(total, end + margin))
        }
    }

    /// Codes of `samples` (22050 Hz mono, any length ≥ 0) at `level`: ⌈n / hop⌉ of them (zero
    /// padding at the end). Works in hop-aligned chunks of `chunkCodes` codes (config's
    /// chunk_seconds when nil) with `marginCodes` of real context each side, so memory is bounded
    /// and the codes equal the whole-signal codes.
    public func encode(_ samples: [Float], level: Int, chunkCodes: Int? = nil) -> [Int32] {
        let hop = levels[level].hop
        let total = codeCount(length: samples.count, level: level)
        var out: [Int32] = []
        out.reserveCapacity(total)
        for c in chunks(codes: total, level: level, chunkCodes: chunkCodes) {
            var window = [Float](repeating: 0, count: (c.b - c.a) * hop)  // zeros past the end of the signal
            let lo = c.a * hop, hi = min(samples.count, c.b * hop)
            if lo < hi { window.replaceSubrange(0..<(hi - lo), with: samples[lo..<hi]) }
            let codes = encodeWindow(window, level: level)
            out.append(contentsOf: codes[(c.start - c.a)..<(c.end - c.a)].map { Int32($0) })
        }
        return out
    }

    /// Decodes `codes` of `level` chunk by chunk, handing each piece of audio to `sink` in order;
    /// `length` (≤ codes · hop) trims the padding off the end. Codes must lie in 0..<K.
    public func decode(_ codes: [Int32], level: Int, length: Int? = nil, chunkCodes: Int? = nil,
                       sink: ([Float]) throws -> Void) rethrows {
        let hop = levels[level].hop
        let k = levels[level].config.codebookSize
        precondition(codes.allSatisfy { $0 >= 0 && Int($0) < k }, "VQVAE.decode: codes outside 0..<\(k); validate the codes file first")
        let limit = min(length ?? codes.count * hop, codes.count * hop)
        for c in chunks(codes: codes.count, level: level, chunkCodes: chunkCodes) {
            let audio = decodeWindow(codes[c.a..<c.b].map { Int($0) }, level: level)
            let lo = c.start * hop, hi = min(c.end * hop, limit)
            if lo >= hi { break }
            let offset = (c.start - c.a) * hop
            try sink(Array(audio[(offset)..<(offset + hi - lo)]))
        }
    }

    /// Decodes to one array of `length` samples (codes · hop when nil).
    public func decode(_ codes: [Int32], level: Int, length: Int? = nil, chunkCodes: Int? = nil) -> [Float] {
        var out: [Float] = []
        decode(codes, level: level, length: length, chunkCodes: chunkCodes) { out.append(contentsOf: $0) }
        return out
    }

    // MARK: checkpoints

    /// Codebook tensors saved beside the parameters: "levels.i.vq.codebook" (K, D).
    public func codebookName(_ level: Int) -> String { "levels.\(level).vq.codebook" }

    public func weightsFile(metadata: [String: String] = [:]) -> SafeTensorsFile {
        var file = params.safetensors(metadata: metadata)
        for (i, lv) in levels.enumerated() {
            file.tensors[codebookName(i)] = SafeTensor(floats: lv.quantizer.codebook.data, shape: lv.quantizer.codebook.shape)
        }
        return file
    }

    /// Loads parameters and codebooks strictly: every tensor present with its shape, nothing else.
    public func loadWeights(_ file: SafeTensorsFile, path: String) throws {
        try params.load(file, path: path, buffers: levels.indices.map { (codebookName($0), levels[$0].quantizer.codebook) })
        for lv in levels {
            let values = lv.quantizer.codebook.data
            lv.quantizer.embedSum = values.enumerated().map { j, v in v * lv.quantizer.clusterSize[j / lv.config.codeDim] }
        }
    }

    /// A model folder: config.json + model.safetensors.
    public static func load(directory dir: String) throws -> VQVAE {
        let config = try ConfigFile.read(VQVAEConfig.self, from: dir + "/config.json")
        let problems = config.validate()
        if !problems.isEmpty {
            throw CheckpointError(path: dir + "/config.json", message: "invalid codec config: " + problems.joined(separator: "; "))
        }
        let model = VQVAE(config: config)
        let path = dir + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CheckpointError(path: path, message: "no weights beside config.json; train with `gen train codec` or restore the file.")
        }
        try model.loadWeights(SafeTensorsFile.read(path), path: path)
        return model
    }

    /// Fingerprint of config + weights + codebooks (64-bit FNV-1a, hex): codes are only meaningful
    /// to the exact model that made them.
    public var modelID: String { "vqvae-" + params.fingerprint(config: config, buffers: levels.map(\.quantizer.codebook)) }

    /// Fingerprint of one level alone (its config, weights and codebook): the levels are
    /// independent, so the codes of level L stay valid while another level is retrained, and a
    /// prior checks this instead of the whole model's id.
    public func levelID(_ level: Int) -> String {
        var h = FNV1a64()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        (try? encoder.encode(levels[level].config)).map { d in d.withUnsafeBytes { h.mix($0) } }
        withUnsafeBytes(of: config.sampleRate) { h.mix($0) }
        let prefix = "levels.\(level)."
        for (name, t) in zip(params.names, params.tensors) where name.hasPrefix(prefix) { t.data.withUnsafeBytes { h.mix($0) } }
        levels[level].quantizer.codebook.data.withUnsafeBytes { h.mix($0) }
        return "vqvae-level\(level)-" + h.hex
    }
}

// MARK: - codes file

/// `gen encode` output: safetensors with one I32 tensor "level_i" of shape (Q_i) per level, and
/// metadata format, format_version, model_id, sample_rate, length (samples at sample_rate),
/// levels, hops and codebook_sizes (comma-separated, one per level of the model).
public struct CodesFile {
    public static let format = "gen-vqvae-codes"
    public static let version = "1"

    public var modelID: String
    public var sampleRate: Int
    public var length: Int
    public var hops: [Int]
    public var codebookSizes: [Int]
    /// Level → codes.
    public var codes: [Int: [Int32]]

    public init(modelID: String, sampleRate: Int, length: Int, hops: [Int], codebookSizes: [Int], codes: [Int: [Int32]]) {
        self.modelID = modelID; self.sampleRate = sampleRate; self.length = length
        self.hops = hops; self.codebookSizes = codebookSizes; self.codes = codes
    }

    /// Encodes `samples` (22050 Hz mono) at every level of `model` (or only `levels`).
    public init(encoding samples: [Float], model: VQVAE, levels: [Int]? = nil) {
        let which = levels ?? Array(model.levels.indices)
        var codes: [Int: [Int32]] = [:]
        for l in which { codes[l] = model.encode(samples, level: l) }
        self.init(modelID: model.modelID, sampleRate: model.sampleRate, length: samples.count,
                  hops: model.levels.map(\.hop), codebookSizes: model.levels.map(\.config.codebookSize), codes: codes)
    }

    public static func tensorName(_ level: Int) -> String { "level_\(level)" }

    public func safetensors() -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: [
            "format": Self.format, "format_version": Self.version, "model_id": modelID,
            "sample_rate": String(sampleRate), "length": String(length), "levels": String(hops.count),
            "hops": hops.map(String.init).joined(separator: ","),
            "codebook_sizes": codebookSizes.map(String.init).joined(separator: ","),
        ])
        for (l, c) in codes { file.tensors[Self.tensorName(l)] = SafeTensor(int32s: c, shape: [c.count]) }
        return file
    }

    /// Writes atomically (temporary file + rename).
    public func write(to path: String) throws { try safetensors().write(to: path) }

    /// Reads and checks a codes file's own consistency (not yet against a model).
    public static func read(_ path: String) throws -> CodesFile {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(path) } catch {
            throw CodecError("\(path) is not a readable codes file: \(error)")
        }
        return try checked(file, path: path)
    }

    /// A codes file held in memory (`source` names it in messages), checked as `read` checks it.
    public static func parse(_ bytes: [UInt8], source: String) throws -> CodesFile {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.parse(bytes, source: source) } catch {
            throw CodecError("\(source) is not a readable codes file: \(error)")
        }
        return try checked(file, path: source)
    }

    static func checked(_ file: SafeTensorsFile, path: String) throws -> CodesFile {
        func bad(_ why: String) -> CodecError { CodecError("\(path) is not a valid codes file: \(why). Re-create it with `gen encode`.") }
        let m = file.metadata
        guard m["format"] == format else { throw bad("its metadata has no format \"\(format)\"") }
        guard m["format_version"] == version else { throw bad("format_version \(m["format_version"] ?? "missing") is not \(version)") }
        guard let id = m["model_id"], !id.isEmpty else { throw bad("model_id is missing") }
        guard let rate = m["sample_rate"].flatMap(Int.init), rate > 0, rate <= 384_000 else { throw bad("sample_rate is missing or not a number in 1...384000") }
        // A day of audio at most: lengths beyond it only serve to overflow the frame arithmetic.
        guard let length = m["length"].flatMap(Int.init), length >= 0, length <= rate * 86_400 else {
            throw bad("length is missing or not a number of samples between 0 and a day's (\(rate * 86_400))")
        }
        func ints(_ key: String) throws -> [Int] {
            guard let s = m[key] else { throw bad("\(key) is missing") }
            let v = s.split(separator: ",").compactMap { Int($0) }
            guard !v.isEmpty, v.count <= 8, v.count == s.split(separator: ",").count, v.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else {
                throw bad("\(key) '\(s)' is not a list of at most 8 integers in 1...\(1 << 20)")
            }
            return v
        }
        let hops = try ints("hops"), sizes = try ints("codebook_sizes")
        guard hops.count == sizes.count else { throw bad("hops and codebook_sizes have different lengths") }
        var codes: [Int: [Int32]] = [:]
        for name in file.tensors.keys.sorted() {
            guard name.hasPrefix("level_"), let l = Int(name.dropFirst(6)), (0..<hops.count).contains(l) else {
                throw bad("unexpected tensor '\(name)' (expected level_0 … level_\(hops.count - 1))")
            }
            let t = file.tensors[name]!
            guard t.dtype == .i32, t.shape.count == 1 else { throw bad("tensor '\(name)' must be a 1-D I32 tensor, got \(t.dtype.rawValue) \(t.shape)") }
            let expected = max(1, (length + hops[l] - 1) / hops[l])
            guard t.shape[0] == expected else {
                throw bad("tensor '\(name)' holds \(t.shape[0]) codes, but length \(length) at hop \(hops[l]) needs \(expected)")
            }
            let v: [Int32]
            do { v = try t.int32s() } catch { throw bad("tensor '\(name)': \(error)") }
            if let i = v.firstIndex(where: { $0 < 0 || Int($0) >= sizes[l] }) {
                throw bad("tensor '\(name)' has code \(v[i]) at position \(i), outside 0..<\(sizes[l])")
            }
            codes[l] = v
        }
        guard !codes.isEmpty else { throw bad("it holds no level_N tensors") }
        return CodesFile(modelID: id, sampleRate: rate, length: length, hops: hops, codebookSizes: sizes, codes: codes)
    }

    /// Checks that `model` made these codes (same id, hops and codebook sizes).
    public func check(against model: VQVAE, path: String) throws {
        guard modelID == model.modelID else {
            throw CodecError("\(path) was encoded by codec model \(modelID), but the loaded codec is \(model.modelID). "
                             + "Decode it with the codec that made it (--models-dir), or re-encode the audio with this one.")
        }
        guard hops == model.levels.map(\.hop), codebookSizes == model.levels.map(\.config.codebookSize),
              sampleRate == model.sampleRate else {
            throw CodecError("\(path) has hops \(hops) and codebook sizes \(codebookSizes) at \(sampleRate) Hz; the codec has "
                             + "\(model.levels.map(\.hop)) and \(model.levels.map(\.config.codebookSize)). Re-encode the audio.")
        }
    }
}
