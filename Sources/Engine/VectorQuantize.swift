// VectorQuantize.swift — the VQ-VAE bottleneck (van den Oord et al. 2017) with the codebook learned
// by exponential moving averages (appendix A.1 there; Razavi et al. 2019, VQ-VAE-2) and Jukebox's
// dead-code restarts (Dhariwal et al. 2020, §3.2, "random restarts for embeddings").
//
// Forward: each input row picks its nearest code; the output carries the code's value but passes
// its gradient straight through to the input (x + sg(q − x)). The commitment loss
// mean ‖x − sg(q)‖² pulls the encoder towards its codes. The codebook gets no gradient: in
// training, each call moves it towards the mean of the inputs assigned to each code.
//
// Letters: N input rows, D code dimension, K codebook size.
import Foundation

public struct VQOutput {
    /// (N, D): forward value = the nearest code; gradient = identity to the input (straight-through).
    public var quantized: Tensor
    /// (N): index of the nearest code for each row.
    public var codes: [Int]
    /// Scalar mean over all N·D elements of (x − sg(q))²; its gradient reaches x only.
    public var commitLoss: Tensor
    /// Number of distinct codes used in this batch.
    public var usage: Int
    /// exp(entropy) of this batch's code histogram: K when all codes are used evenly, 1 when one is.
    public var perplexity: Float
}

public final class VectorQuantizer {
    public let codebookSize: Int
    public let dim: Int
    /// EMA decay of the cluster statistics (0 replaces them with this batch's).
    public var decay: Float
    /// Laplace smoothing of the cluster sizes, so a code with no members never divides by zero.
    public var eps: Float
    /// Codes whose EMA cluster size falls below this are restarted on random inputs (0 disables).
    public var restartThreshold: Float

    /// (K, D) codes. Never trainable (requiresGrad false): the EMA sets it. When replacing it by hand,
    /// set `embedSum` = codebook · clusterSize too, or the next EMA step pulls it back.
    public var codebook: Tensor
    /// (K) EMA of how many inputs each code received per batch.
    public var clusterSize: [Float]
    /// (K, D) EMA of the sum of the inputs assigned to each code.
    public var embedSum: [Float]

    /// Codes start as N(0, 1) draws with an EMA history of `restartThreshold` members each (one, as
    /// in Jukebox), so any code unused in the first training batch decays below the threshold and
    /// is restarted on real inputs: the codebook is effectively initialised from data.
    /// `randomInit` false: the codebook unfilled and no EMA sum yet, for a codebook about to be
    /// loaded (a loaded codec sets its EMA sums from the loaded codebooks: `RVQCodec.loadWeights`).
    public init(codebookSize: Int, dim: Int, decay: Float = 0.99, eps: Float = 1e-5,
                restartThreshold: Float = 1.0, randomInit: Bool = true, rng: inout RNG) {
        precondition(codebookSize > 0 && dim > 0, "VectorQuantizer: codebookSize \(codebookSize) and dim \(dim) must be positive")
        precondition(decay >= 0 && decay < 1, "VectorQuantizer: decay \(decay) must be in [0, 1)")
        self.codebookSize = codebookSize
        self.dim = dim
        self.decay = decay
        self.eps = eps
        self.restartThreshold = restartThreshold
        codebook = randomInit ? Tensor(randn: [codebookSize, dim], rng: &rng) : Tensor(unfilled: [codebookSize, dim])
        // A history of exactly the threshold: every code the first batch leaves unused falls below
        // it and moves onto that batch's inputs, whatever the threshold (1 as in Jukebox).
        let start: Float = restartThreshold > 0 ? restartThreshold : 1
        clusterSize = [Float](repeating: start, count: codebookSize)
        embedSum = randomInit ? codebook.data.map { $0 * start } : []
    }

    // MARK: forward

    /// Quantises x (N, D). With `training`, also updates the codebook by EMA and restarts dead codes
    /// (drawing from `rng`); `quantized` and `commitLoss` use the codebook as it was before the update.
    public func callAsFunction(_ x: Tensor, training: Bool, rng: inout RNG) -> VQOutput {
        precondition(x.rank == 2 && x.shape[1] == dim, "VectorQuantizer: input must be (N, \(dim)), got \(x.shape)")
        let n = x.shape[0]
        let codes = nearest(x)
        let q = lookup(codes: codes)  // (N, D)
        var counts = [Int](repeating: 0, count: codebookSize)  // (K)
        for c in codes { counts[c] += 1 }

        // Straight-through: the value of q, the gradient of x.
        let quantized = Tensor.result(shape: x.shape, data: q.data, parents: [x]) { o in x.accumulateGrad(o.grad!) }
        // q is a constant here (requiresGrad false), so this is mean (x − sg(q))² with gradient to x only.
        let commitLoss = mseLoss(x, q)

        var entropy: Double = 0
        for c in counts where c > 0 {
            let p = Double(c) / Double(max(n, 1))
            entropy -= p * Foundation.log(p)
        }
        let output = VQOutput(quantized: quantized, codes: codes, commitLoss: commitLoss,
                              usage: counts.filter { $0 > 0 }.count, perplexity: Float(Foundation.exp(entropy)))
        if training && n > 0 { updateCodebook(x, codes: codes, counts: counts, rng: &rng) }
        return output
    }

    // MARK: nearest-code search

    /// Index of the nearest code (squared Euclidean) for each row of x (N, D); ties go to the lower index.
    /// ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖², and ‖x‖² is the same for every code of a row, so the argmin
    /// needs only ‖c‖² − 2 x·c: one sgemm per block of rows, then a parallel argmin.
    public func nearest(_ x: Tensor) -> [Int] {
        precondition(x.rank == 2 && x.shape[1] == dim, "VectorQuantizer.nearest: input must be (N, \(dim)), got \(x.shape)")
        let n = x.shape[0], k = codebookSize, d = dim
        var codeNorms = [Float](repeating: 0, count: k)  // (K) ‖c‖²
        for j in 0..<k {
            var s: Float = 0
            for i in 0..<d { let v = codebook.data[j * d + i]; s += v * v }
            codeNorms[j] = s
        }
        // Rows are processed in blocks so the (rows, K) score matrix stays a few MB at most.
        let blockRows = max(1, min(n, (1 << 20) / k))
        var scores = [Float](repeating: 0, count: blockRows * k)  // (rows, K)
        var codes = [Int](repeating: 0, count: n)                 // (N)
        x.withValues { xp in codebook.withValues { cp in
        scores.withUnsafeMutableBufferPointer { sp in codes.withUnsafeMutableBufferPointer { out in
            var start = 0
            while start < n {
                let rows = min(blockRows, n - start)
                // scores (rows, K) = −2 · x (rows, D) · cᵀ (D, K)
                sgemm(xp.baseAddress! + start * d, cp.baseAddress!, sp.baseAddress!, m: rows, n: k, k: d,
                      transB: true, alpha: -2)
                parallelFor(rows, minChunk: max(1, 16_384 / k)) { range in
                    for r in range {
                        let row = sp.baseAddress! + r * k
                        var best = 0, bestScore = Float.infinity
                        for j in 0..<k {
                            let s = row[j] + codeNorms[j]
                            if s < bestScore { bestScore = s; best = j }
                        }
                        out[start + r] = best
                    }
                }
                start += rows
            }
        } } } }
        return codes
    }

    /// The codes' values, (N, D), as a constant tensor.
    public func lookup(codes: [Int]) -> Tensor {
        let d = dim
        var out = [Float](repeating: 0, count: codes.count * d)  // (N, D)
        codebook.withValues { cp in out.withUnsafeMutableBufferPointer { op in
            for (i, c) in codes.enumerated() {
                precondition(c >= 0 && c < codebookSize, "VectorQuantizer.lookup: code \(c) at position \(i) is outside 0..<\(codebookSize)")
                (op.baseAddress! + i * d).update(from: cp.baseAddress! + c * d, count: d)
            }
        } }
        return Tensor(shape: [codes.count, d], data: out)
    }

    // MARK: EMA update and restarts

    /// clusterSize ← decay·clusterSize + (1 − decay)·counts, embedSum ← decay·embedSum + (1 − decay)·sums,
    /// codebook = embedSum / Laplace-smoothed clusterSize; then codes below `restartThreshold` move
    /// onto random inputs of this batch plus noise of std 0.01/√D (Jukebox's `_tile`), so they can
    /// win rows again. Restarted codes start a fresh history of `restartThreshold` members.
    private func updateCodebook(_ x: Tensor, codes: [Int], counts: [Int], rng: inout RNG) {
        let n = x.shape[0], k = codebookSize, d = dim
        var sums = [Float](repeating: 0, count: k * d)  // (K, D) Σ of the rows assigned to each code
        x.withValues { xp in sums.withUnsafeMutableBufferPointer { sp in
            for (i, c) in codes.enumerated() { vAdd(sp.baseAddress! + c * d, xp.baseAddress! + i * d, d) }
        } }
        for j in 0..<k { clusterSize[j] = decay * clusterSize[j] + (1 - decay) * Float(counts[j]) }
        for i in 0..<(k * d) { embedSum[i] = decay * embedSum[i] + (1 - decay) * sums[i] }

        // Laplace smoothing: (size + eps) / (total + K·eps) · total keeps the total mass.
        var total: Double = 0
        for s in clusterSize { total += Double(s) }
        var newCodes = [Float](repeating: 0, count: k * d)  // (K, D)
        for j in 0..<k {
            let smoothed = Float((Double(clusterSize[j]) + Double(eps)) / (total + Double(k) * Double(eps)) * total)
            let inv = smoothed > 0 ? 1 / smoothed : 0
            for i in 0..<d { newCodes[j * d + i] = embedSum[j * d + i] * inv }
        }

        let noiseStd = 0.01 / Float(d).squareRoot()
        for j in 0..<k where clusterSize[j] < restartThreshold {
            let r = rng.int(below: n)
            for i in 0..<d {
                let v = x.data[r * d + i] + noiseStd * rng.normal()
                newCodes[j * d + i] = v
                embedSum[j * d + i] = v * restartThreshold
            }
            clusterSize[j] = restartThreshold
        }
        codebook = Tensor(shape: [k, d], data: newCodes)
    }
}

// MARK: - residual vector quantization

/// What a residual quantizer's forward returns.
public struct RVQOutput {
    /// (N, D): forward value = the sum of the chosen codewords of the active stages; gradient =
    /// identity to the input (straight-through).
    public var quantized: Tensor
    /// codes[k][n]: stage k's code for row n, for the active stages only.
    public var codes: [[Int]]
    /// Σ over active stages of mean (r_k − sg(q_k))², r_k the residual stage k quantizes; its
    /// gradient reaches the input.
    public var commitLoss: Tensor
    /// Per active stage: distinct codes used in this batch, and the perplexity of their histogram.
    public var usage: [Int]
    public var perplexity: [Float]

    /// `x` (N, D) through no stage at all: itself, with no codes and no commitment (a decoder
    /// trained on what the encoder gives before quantization: the autoencoder's own ceiling).
    public static func unquantized(_ x: Tensor) -> RVQOutput {
        RVQOutput(quantized: x, codes: [], commitLoss: Tensor(scalar: 0), usage: [], perplexity: [])
    }
}

/// Residual vector quantization (Zeghidour et al. 2021, SoundStream §3.2; Défossez et al. 2022,
/// EnCodec): stage 0 quantizes the input, each later stage quantizes what the stages before it
/// left (r_{k+1} = r_k − q_k), and the output is Σ q_k. Each stage is an EMA codebook with dead-code
/// restarts (`VectorQuantizer`). Decoding with only the first k stages is a coarser code of the
/// same latent, which quantizer dropout in training teaches the decoder to use.
public final class ResidualVectorQuantizer {
    public let stages: [VectorQuantizer]
    public var dim: Int { stages[0].dim }
    /// The first stage's size (every stage's, unless built with `codebookSizes`).
    public var codebookSize: Int { stages[0].codebookSize }

    public convenience init(stages count: Int, codebookSize: Int, dim: Int, decay: Float = 0.99, restartThreshold: Float = 1.0,
                            randomInit: Bool = true, rng: inout RNG) {
        self.init(codebookSizes: Array(repeating: codebookSize, count: count), dim: dim, decay: decay, restartThreshold: restartThreshold,
                  randomInit: randomInit, rng: &rng)
    }

    /// Stages of the given sizes, in order (the codec's bass stream may give its first more codes).
    /// `randomInit` false: codebooks about to be loaded (`VectorQuantizer.init`).
    public init(codebookSizes: [Int], dim: Int, decay: Float = 0.99, restartThreshold: Float = 1.0, randomInit: Bool = true, rng: inout RNG) {
        precondition(!codebookSizes.isEmpty, "ResidualVectorQuantizer: needs at least one stage")
        stages = codebookSizes.map {
            VectorQuantizer(codebookSize: $0, dim: dim, decay: decay, restartThreshold: restartThreshold, randomInit: randomInit, rng: &rng)
        }
    }

    /// Quantizes x (N, D) with the first `active` stages. With `training`, each active stage
    /// updates its codebook from the residual it saw (before-update codebooks give the output).
    public func callAsFunction(_ x: Tensor, active: Int, training: Bool, rng: inout RNG) -> RVQOutput {
        precondition((1...stages.count).contains(active), "ResidualVectorQuantizer: active stages \(active) outside 1...\(stages.count)")
        var residual = x.detached()
        var total = [Float](repeating: 0, count: x.count)   // (N, D) Σ q_k
        var commit: Tensor? = nil
        var codes: [[Int]] = [], usage: [Int] = [], perplexity: [Float] = []
        // The commitment of stage k is on r_k = x − Σ_{j<k} q_j, which carries x's gradient.
        var tracked = x
        for k in 0..<active {
            let out = stages[k](residual, training: training, rng: &rng)
            let q = Tensor(shape: x.shape, data: out.quantized.data)   // the chosen codewords (the forward value)
            let c = mseLoss(tracked, q)
            commit = commit.map { $0 + c } ?? c
            for i in 0..<total.count { total[i] += q.data[i] }
            tracked = tracked - q
            residual = Tensor(shape: x.shape, data: zip(residual.data, q.data).map { $0 - $1 })
            codes.append(out.codes); usage.append(out.usage); perplexity.append(out.perplexity)
        }
        let quantized = Tensor.result(shape: x.shape, data: total, parents: [x]) { o in x.accumulateGrad(o.grad!) }
        return RVQOutput(quantized: quantized, codes: codes, commitLoss: commit!, usage: usage, perplexity: perplexity)
    }

    /// Codes of x (N·D values, row-major) for the first `active` stages: codes[k][n]. No updates.
    public func encode(_ x: [Float], rows: Int, active: Int) -> [[Int]] {
        var residual = Tensor(shape: [rows, dim], data: x)
        var codes: [[Int]] = []
        for k in 0..<active {
            let c = stages[k].nearest(residual)
            let q = stages[k].lookup(codes: c)
            residual = Tensor(shape: residual.shape, data: zip(residual.data, q.data).map { $0 - $1 })
            codes.append(c)
        }
        return codes
    }

    /// Σ_k codebook_k[codes[k][n]] → (N·D) values; any number of stages up to all of them.
    public func decode(_ codes: [[Int]]) -> [Float] {
        precondition(!codes.isEmpty && codes.count <= stages.count, "ResidualVectorQuantizer.decode: \(codes.count) stages of codes for \(stages.count)")
        let rows = codes[0].count
        var total = [Float](repeating: 0, count: rows * dim)
        for (k, c) in codes.enumerated() {
            let q = stages[k].lookup(codes: c).data
            for i in 0..<total.count { total[i] += q[i] }
        }
        return total
    }
}
