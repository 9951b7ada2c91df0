// FastSpeech.swift — the acoustic model, after FastSpeech 2 (Ren et al. 2021, §2 and Fig. 1):
// phoneme encoder (FFT blocks) → speaker embedding → variance adaptor (duration, pitch and energy
// predictors; length regulator) → mel decoder (FFT blocks) → 80-bin log-mel.
// Pitch and energy are phoneme-level (averaged over each phone's frames), as in ming024's variant.
import Engine
import Foundation
import NN

public struct FastSpeechConfig: Codable, Equatable, ValidatedConfig {
    public var vocabSize: Int
    public var speakers: [String]
    public var dModel = 128
    public var heads = 2
    public var encoderLayers = 4
    public var decoderLayers = 4
    public var ffnDim = 512
    public var ffnKernels = [3, 1]
    public var predictorChannels = 128
    public var predictorKernel = 3
    public var nMels = 80
    public var dropout: Float = 0.1
    /// Per-speaker log-F0 mean and standard deviation: the pitch targets are z-scores of log F0.
    public var pitchMean: [Float]
    public var pitchStd: [Float]
    public var energyMean: Float
    public var energyStd: Float
    /// Restores the predicted mel's fine detail (MelPostfilter.swift); absent in models trained
    /// before it, fitted by `gen train postfilter`.
    public var postfilter: MelPostfilter?

    public init(vocabSize: Int, speakers: [String], pitchMean: [Float], pitchStd: [Float],
                energyMean: Float, energyStd: Float) {
        self.vocabSize = vocabSize; self.speakers = speakers
        self.pitchMean = pitchMean; self.pitchStd = pitchStd
        self.energyMean = energyMean; self.energyStd = energyStd
    }

    /// Checks the relations the model relies on, so a hand-edited or corrupt config.json is an
    /// error naming the key rather than a crash while building the layers.
    public func validate() -> [String] {
        var problems: [String] = []
        if vocabSize < PhoneSet.standard.count { problems.append("vocab_size \(vocabSize) is below the phone set's \(PhoneSet.standard.count)") }
        if speakers.isEmpty { problems.append("speakers is empty") }
        if pitchMean.count != speakers.count || pitchStd.count != speakers.count {
            problems.append("pitch_mean and pitch_std need one value per speaker (\(speakers.count))")
        }
        if dModel < 2 || heads < 1 || dModel % heads != 0 { problems.append("d_model \(dModel) must be a positive multiple of heads \(heads)") }
        if dModel % 2 != 0 { problems.append("d_model must be even (sinusoidal positions)") }
        if encoderLayers < 1 || decoderLayers < 1 { problems.append("encoder_layers and decoder_layers must be at least 1") }
        if ffnDim < 1 || predictorChannels < 1 || nMels != 80 { problems.append("ffn_dim and predictor_channels must be positive and n_mels 80") }
        if ffnKernels.isEmpty || ffnKernels.count > 2 || ffnKernels.contains(where: { $0 < 1 || $0 % 2 == 0 }) {
            problems.append("ffn_kernels must be one or two odd sizes, e.g. [3, 1]")
        }
        if predictorKernel < 1 || predictorKernel % 2 == 0 { problems.append("predictor_kernel must be odd") }
        if let postfilter { problems += postfilter.problems(speakers: speakers, nMels: nMels) }
        if !(0..<1).contains(dropout) { problems.append("dropout must be in [0, 1)") }
        // Upper bounds, checked before anything is sized by these numbers.
        let limits: [(String, Int, Int)] = [("vocab_size", vocabSize, 65_536), ("speakers", speakers.count, 10_000),
                                            ("d_model", dModel, 4096), ("heads", heads, 64), ("encoder_layers", encoderLayers, 64),
                                            ("decoder_layers", decoderLayers, 64), ("ffn_dim", ffnDim, 16_384),
                                            ("ffn_kernels", ffnKernels.max() ?? 1, 31), ("predictor_channels", predictorChannels, 4096),
                                            ("predictor_kernel", predictorKernel, 31)]
        for (name, value, limit) in limits where value > limit { problems.append("\(name) \(value) is above the limit \(limit)") }
        if problems.isEmpty {
            let d = Double(dModel), params = Double(encoderLayers + decoderLayers) * (4 * d * d + 2 * d * Double(ffnDim) * Double(ffnKernels.max() ?? 1))
            if params > 2e8 { problems.append(String(format: "these sizes make %.0f million parameters, above the 200 million gen loads", params / 1e6)) }
        }
        return problems
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", speakers, dModel = "d_model", heads
        case encoderLayers = "encoder_layers", decoderLayers = "decoder_layers"
        case ffnDim = "ffn_dim", ffnKernels = "ffn_kernels"
        case predictorChannels = "predictor_channels", predictorKernel = "predictor_kernel"
        case nMels = "n_mels", dropout
        case pitchMean = "pitch_mean", pitchStd = "pitch_std", energyMean = "energy_mean", energyStd = "energy_std"
        case postfilter
    }
}

/// Two conv layers (kernel 3) with ReLU, LayerNorm and dropout, then a scalar per position
/// (FastSpeech 2 §2.3). Used for log-duration, pitch and energy.
public final class VariancePredictor {
    let conv1: Conv1d, norm1: LayerNorm, conv2: Conv1d, norm2: LayerNorm, out: Linear
    let dropout: Float

    init(_ c: FastSpeechConfig, scope: Scope, rng: inout RNG) {
        conv1 = Conv1d(c.dModel, c.predictorChannels, kernel: c.predictorKernel, scope: scope.child("conv1"), rng: &rng)
        norm1 = LayerNorm(c.predictorChannels, scope: scope.child("norm1"))
        conv2 = Conv1d(c.predictorChannels, c.predictorChannels, kernel: c.predictorKernel, scope: scope.child("conv2"), rng: &rng)
        norm2 = LayerNorm(c.predictorChannels, scope: scope.child("norm2"))
        out = Linear(c.predictorChannels, 1, scope: scope.child("out"), rng: &rng)
        dropout = c.dropout
    }

    /// h (B, N, C), mask (B, N, 1) of 0/1 → (B, N). Padding is zeroed before each conv.
    func callAsFunction(_ h: Tensor, mask: Tensor?, training: Bool, rng: inout RNG) -> Tensor {
        let input = mask.map { h * $0 } ?? h
        var x = transpose(relu(conv1(transpose(input, 1, 2))), 1, 2)      // (B, N, P)
        x = Engine.dropout(norm1(x), p: dropout, training: training, rng: &rng)
        if let mask { x = x * mask }
        x = transpose(relu(conv2(transpose(x, 1, 2))), 1, 2)
        x = Engine.dropout(norm2(x), p: dropout, training: training, rng: &rng)
        let y = out(x)                                                    // (B, N, 1)
        return reshape(y, [h.shape[0], h.shape[1]])
    }
}

/// Batched training targets (or inference controls), all padded to the longest item.
public struct FastSpeechBatch {
    public var tokens: [Int]         // (B, N)
    public var speakers: [Int]       // (B)
    public var phoneMask: [Bool]     // (B, N), true = real phone
    public var durations: [Int]      // (B, N) frames per phone
    public var pitch: [Float]        // (B, N) z-scored log F0 (0 for unvoiced / specials)
    public var energy: [Float]       // (B, N) z-scored log energy
    public var mel: [Float]          // (B, T, M) log-mel targets
    public var frameMask: [Bool]     // (B, T)
    public var batch: Int, phones: Int, frames: Int

    public init(tokens: [Int], speakers: [Int], phoneMask: [Bool], durations: [Int], pitch: [Float], energy: [Float],
                mel: [Float], frameMask: [Bool], batch: Int, phones: Int, frames: Int) {
        self.tokens = tokens; self.speakers = speakers; self.phoneMask = phoneMask; self.durations = durations
        self.pitch = pitch; self.energy = energy; self.mel = mel; self.frameMask = frameMask
        self.batch = batch; self.phones = phones; self.frames = frames
    }
}

public struct FastSpeechLosses {
    public var total: Tensor
    public var mel: Float, duration: Float, pitch: Float, energy: Float
}

public final class FastSpeech {
    public let config: FastSpeechConfig
    public let params = ParameterStore()
    let tokenEmbedding: Embedding, speakerEmbedding: Embedding
    let encoder: [FFTBlock], decoder: [FFTBlock]
    let durationPredictor: VariancePredictor, pitchPredictor: VariancePredictor, energyPredictor: VariancePredictor
    let pitchProjection: Linear, energyProjection: Linear
    let melOut: Linear

    /// `randomInit` false: unfilled, for weights about to be loaded (`ModelFolder.load`).
    public init(config c: FastSpeechConfig, seed: UInt64 = 1, randomInit: Bool = true) {
        config = c
        var rng = RNG(seed: seed)
        let s = Scope(params, randomInit: randomInit)
        tokenEmbedding = Embedding(c.vocabSize, c.dModel, std: 0.3, scope: s.child("token_embedding"), rng: &rng)
        speakerEmbedding = Embedding(c.speakers.count, c.dModel, std: 0.3, scope: s.child("speaker_embedding"), rng: &rng)
        let kernels = (c.ffnKernels[0], c.ffnKernels.count > 1 ? c.ffnKernels[1] : 1)
        encoder = (0..<c.encoderLayers).map {
            FFTBlock(dModel: c.dModel, heads: c.heads, ffnDim: c.ffnDim, kernels: kernels, dropout: c.dropout,
                     scope: s.child("encoder").child($0), rng: &rng)
        }
        durationPredictor = VariancePredictor(c, scope: s.child("duration_predictor"), rng: &rng)
        pitchPredictor = VariancePredictor(c, scope: s.child("pitch_predictor"), rng: &rng)
        energyPredictor = VariancePredictor(c, scope: s.child("energy_predictor"), rng: &rng)
        pitchProjection = Linear(1, c.dModel, scope: s.child("pitch_projection"), rng: &rng)
        energyProjection = Linear(1, c.dModel, scope: s.child("energy_projection"), rng: &rng)
        decoder = (0..<c.decoderLayers).map {
            FFTBlock(dModel: c.dModel, heads: c.heads, ffnDim: c.ffnDim, kernels: kernels, dropout: c.dropout,
                     scope: s.child("decoder").child($0), rng: &rng)
        }
        melOut = Linear(c.dModel, c.nMels, scope: s.child("mel_out"), rng: &rng)
    }

    /// Encoder + speaker: tokens (B, N) → (B, N, C)
    func encode(tokens: [Int], speakers: [Int], mask: [Bool], batch b: Int, phones n: Int,
                training: Bool, rng: inout RNG) -> Tensor {
        var h = tokenEmbedding(tokens, shape: [b, n]) + sinusoidalPositions(n, config.dModel)
        for block in encoder { h = block(h, keyMask: mask, training: training, rng: &rng) }
        return h + speakerEmbedding(speakers, shape: [b, 1])
    }

    /// Length-regulated frames → mel: (B, T, C) → (B, T, M)
    func decode(_ frames: Tensor, mask: [Bool], training: Bool, rng: inout RNG) -> Tensor {
        var h = frames + sinusoidalPositions(frames.shape[1], config.dModel)
        for block in decoder { h = block(h, keyMask: mask, training: training, rng: &rng) }
        return melOut(h)
    }

    /// Teacher-forced forward (ground-truth durations, pitch and energy) and the four losses:
    /// masked L1 on the mel, MSE on log(1 + duration), pitch and energy.
    public func losses(_ batch: FastSpeechBatch, training: Bool, rng: inout RNG) -> FastSpeechLosses {
        let b = batch.batch, n = batch.phones, t = batch.frames
        let h = encode(tokens: batch.tokens, speakers: batch.speakers, mask: batch.phoneMask, batch: b, phones: n,
                       training: training, rng: &rng)
        let phoneWeights = batch.phoneMask.map { $0 ? Float(1) : 0 }
        let mask = maskTensor(batch.phoneMask, shape: [b, n, 1])
        let logDur = durationPredictor(h, mask: mask, training: training, rng: &rng)     // (B, N)
        let pitchPred = pitchPredictor(h, mask: mask, training: training, rng: &rng)
        let energyPred = energyPredictor(h, mask: mask, training: training, rng: &rng)
        let durTarget = Tensor(shape: [b, n], data: batch.durations.map { Foundation.log(1 + Float($0)) })
        let pitchTarget = Tensor(shape: [b, n, 1], data: batch.pitch)
        let energyTarget = Tensor(shape: [b, n, 1], data: batch.energy)
        let adapted = h + pitchProjection(pitchTarget) + energyProjection(energyTarget)
        let frames = repeatByCounts(adapted, counts: batch.durations, maxLength: t)
        let mel = decode(frames, mask: batch.frameMask, training: training, rng: &rng)
        let melWeights = batch.frameMask.flatMap { [Float](repeating: $0 ? 1 : 0, count: config.nMels) }
        let melLoss = l1Loss(mel, Tensor(shape: [b, t, config.nMels], data: batch.mel), mask: melWeights)
        let durLoss = mseLoss(logDur, durTarget, mask: phoneWeights)
        let pitchLoss = mseLoss(pitchPred, reshape(pitchTarget, [b, n]), mask: phoneWeights)
        let energyLoss = mseLoss(energyPred, reshape(energyTarget, [b, n]), mask: phoneWeights)
        let total = melLoss + durLoss + scale(pitchLoss, 0.1) + scale(energyLoss, 0.1)
        return FastSpeechLosses(total: total, mel: melLoss.item, duration: durLoss.item,
                                pitch: pitchLoss.item, energy: energyLoss.item)
    }

    /// The variance adaptor's predictions for one utterance (inference): log(1 + frames),
    /// z-scored pitch (shifted by `pitchShift` semitones) and energy per token, plus the encoder output.
    public func variances(tokens: [Int], speaker: Int, pitchShift: Float = 0)
        -> (logDurations: [Float], pitch: [Float], energy: [Float], hidden: Tensor) {
        GradMode.withoutGrad {
            var rng = RNG(seed: 0)
            let n = tokens.count
            let h = encode(tokens: tokens, speakers: [speaker], mask: [Bool](repeating: true, count: n), batch: 1, phones: n,
                           training: false, rng: &rng)                                   // (1, N, C)
            let logDur = durationPredictor(h, mask: nil, training: false, rng: &rng).data // (N)
            var pitch = pitchPredictor(h, mask: nil, training: false, rng: &rng).data
            let energy = energyPredictor(h, mask: nil, training: false, rng: &rng).data
            // A shift of s semitones adds s·ln2/12 to log F0, i.e. that over the speaker's std in z-units.
            let shift = pitchShift * Float(M_LN2) / 12 / max(config.pitchStd[speaker], 1e-3)
            for i in 0..<n { pitch[i] += shift }
            return (logDur, pitch, energy, h)
        }
    }

    /// Inference for one utterance: token ids → log-mel (T, M) and the frames per token.
    /// `speed` divides the durations; `pitchShift` is in semitones. Given `durations` (frames per
    /// token, e.g. a corpus's own) replace the predicted ones, so the mel lines up with known audio.
    public func synthesize(tokens: [Int], speaker: Int, speed: Float = 1, pitchShift: Float = 0, durations given: [Int]? = nil)
        -> (mel: [Float], frames: Int, durations: [Int]) {
        let v = variances(tokens: tokens, speaker: speaker, pitchShift: pitchShift)
        return GradMode.withoutGrad {
            var rng = RNG(seed: 0)
            let n = tokens.count
            let durations = given ?? v.logDurations.map { FastSpeech.frames(logDuration: $0, speed: speed) }
            let total = max(durations.reduce(0, +), 1)
            let adapted = v.hidden + pitchProjection(Tensor(shape: [1, n, 1], data: v.pitch))
                + energyProjection(Tensor(shape: [1, n, 1], data: v.energy))
            let frames = repeatByCounts(adapted, counts: durations, maxLength: total)   // (1, T, C)
            let mel = decode(frames, mask: [Bool](repeating: true, count: total), training: false, rng: &rng)
            return (mel.data, total, durations)
        }
    }
}

extension FastSpeech {
    /// Longest a single phone may last, in frames (2.3 s): guards inference against a diverged
    /// predictor asking for millions of frames.
    public static let maxFramesPerPhone = 200

    /// Frames for one phone from the predicted log(1 + duration), divided by `speed`.
    public static func frames(logDuration: Float, speed: Float) -> Int {
        guard logDuration.isFinite else { return 0 }
        let d = (Foundation.exp(min(logDuration, 10)) - 1) / max(speed, 0.05)
        return min(max(0, Int(d.rounded())), maxFramesPerPhone)
    }
}

/// Sinusoidal position table (Vaswani et al. 2017, §3.5): (T, C), broadcast over the batch.
/// Row `pos` depends on pos and C alone, so the rows are computed once per C and kept (up to
/// `SinusoidalPositions.cachedRows`; longer tables are computed whole): a sentence's table cost
/// 2·T·C/2 libm calls in Double each time, a tenth of FastSpeech's time on one sentence.
public func sinusoidalPositions(_ t: Int, _ c: Int) -> Tensor {
    Tensor(shape: [t, c], data: SinusoidalPositions.shared.rows(t, c))
}

final class SinusoidalPositions: @unchecked Sendable {
    static let shared = SinusoidalPositions()
    static let cachedRows = 16_384
    private let lock = NSLock()
    private var tables: [Int: [Float]] = [:]   // C → the first rows, (rows, C)

    /// The first t rows for width c.
    func rows(_ t: Int, _ c: Int) -> [Float] {
        guard t <= Self.cachedRows, c > 0 else { return Self.table(from: 0, to: t, c) }
        lock.lock(); defer { lock.unlock() }
        var table = tables[c] ?? []
        if table.count < t * c {
            table += Self.table(from: table.count / c, to: max(t, min(2 * table.count / c, Self.cachedRows)), c)
            tables[c] = table
        }
        return Array(table.prefix(t * c))
    }

    /// Rows lo..<hi of the table for width c.
    static func table(from lo: Int, to hi: Int, _ c: Int) -> [Float] {
        let divisors = (0..<(c / 2)).map { Foundation.pow(10000, Double(2 * $0) / Double(c)) }   // the same as per position
        var table = [Float](repeating: 0, count: max(0, hi - lo) * c)
        for pos in lo..<max(lo, hi) {
            for i in 0..<(c / 2) {
                let angle = Double(pos) / divisors[i]
                table[(pos - lo) * c + 2 * i] = Float(Foundation.sin(angle))
                table[(pos - lo) * c + 2 * i + 1] = Float(Foundation.cos(angle))
            }
        }
        return table
    }
}
