// Tests for VectorQuantize.swift: the nearest-code search against brute force, the straight-through
// and commitment gradients in closed form, the EMA update against cluster means computed here, and
// dead-code restarts on a toy dataset of separated blobs.
import Foundation
import XCTest
@testable import Engine

/// A quantizer whose codebook (and EMA sums, so the next update starts from it) is set by hand.
private func quantizer(codes: [Float], dim: Int, decay: Float = 0.99, restartThreshold: Float = 1) -> VectorQuantizer {
    var rng = RNG(seed: 0)
    let vq = VectorQuantizer(codebookSize: codes.count / dim, dim: dim, decay: decay, restartThreshold: restartThreshold, rng: &rng)
    vq.codebook = Tensor(shape: [codes.count / dim, dim], data: codes)
    vq.embedSum = codes  // clusterSize starts at ones, so embedSum = codebook · 1
    return vq
}

/// Points around `centres` (K, D): row r sits near centre r mod K with N(0, std²) noise.
private func blobs(_ centres: [Float], dim: Int, rows: Int, std: Float, rng: inout RNG) -> Tensor {
    let k = centres.count / dim
    var data = [Float](repeating: 0, count: rows * dim)
    for r in 0..<rows {
        let c = rng.int(below: k)
        for i in 0..<dim { data[r * dim + i] = centres[c * dim + i] + std * rng.normal() }
    }
    return Tensor(shape: [rows, dim], data: data)
}

final class VectorQuantizeTests: XCTestCase {
    // Expected: brute-force argmin over every code of Σ (x − c)², in Double. 2048 codes make the
    // search use 512-row blocks, so 1100 rows cross two block boundaries. Rows whose best and
    // second-best distances lie within 1e-4 are true near-ties, where Float32 rounding may pick
    // either; for those only the distance is compared.
    func testNearestMatchesBruteForce() {
        var rng = RNG(seed: 1)
        let vq = VectorQuantizer(codebookSize: 2048, dim: 3, rng: &rng)
        let x = Tensor(randn: [1100, 3], rng: &rng)
        let codes = vq.nearest(x)
        let c = vq.codebook.data, xs = x.data
        var nearTies = 0
        for r in 0..<1100 {
            var best = -1, bestDist = Double.infinity, secondDist = Double.infinity
            var chosenDist = 0.0
            for j in 0..<2048 {
                var dist = 0.0
                for i in 0..<3 { let e = Double(xs[r * 3 + i]) - Double(c[j * 3 + i]); dist += e * e }
                if j == codes[r] { chosenDist = dist }
                if dist < bestDist { secondDist = bestDist; bestDist = dist; best = j } else if dist < secondDist { secondDist = dist }
            }
            if secondDist - bestDist < 1e-4 {
                nearTies += 1
                XCTAssertEqual(chosenDist, bestDist, accuracy: 1e-4, "row \(r)")
            } else {
                XCTAssertEqual(codes[r], best, "row \(r)")
            }
        }
        XCTAssertLessThan(nearTies, 20, "too many near-ties for the comparison to mean much")
    }

    // Expected by construction: quantized = x + sg(q − x), so d Σ w ⊙ quantized / dx = w exactly,
    // and β · mean (x − sg(q))² adds β · 2(x − q)/(N·D). The codebook gets no gradient at all.
    func testStraightThroughAndCommitmentGradientsInClosedForm() {
        let vq = quantizer(codes: [1, 0, 0, 1, -1, -1], dim: 2)
        var rng = RNG(seed: 2)
        let x = Tensor(randn: [5, 2], rng: &rng, requiresGrad: true)
        let w = Tensor(randn: [5, 2], rng: &rng)
        let out = vq(x, training: false, rng: &rng)
        let q = vq.lookup(codes: out.codes)
        XCTAssertEqual(out.quantized.data, q.data, "forward value is the nearest code")
        let beta: Float = 0.25
        let loss = add(sum(mul(out.quantized, w)), scale(out.commitLoss, beta))
        loss.backward()
        for i in 0..<10 {
            let expected = w.data[i] + beta * 2 * (x.data[i] - q.data[i]) / 10
            XCTAssertEqual(x.grad![i], expected, accuracy: 1e-6, "element \(i)")
        }
        var commit: Float = 0
        for i in 0..<10 { commit += (x.data[i] - q.data[i]) * (x.data[i] - q.data[i]) / 10 }
        XCTAssertEqual(out.commitLoss.item, commit, accuracy: 1e-6)
        XCTAssertFalse(vq.codebook.requiresGrad)
        XCTAssertNil(vq.codebook.grad)
    }

    // Closed form: 4 codes each taken by exactly 2 of 8 rows is a uniform histogram, so usage is 4
    // and perplexity exp(ln 4) = 4; one code taking every row gives usage 1, perplexity 1.
    func testUsageAndPerplexity() {
        let codes: [Float] = [0, 0, 5, 0, 0, 5, 5, 5]
        let vq = quantizer(codes: codes, dim: 2)
        var rng = RNG(seed: 3)
        let even = vq(Tensor(shape: [8, 2], data: codes + codes), training: false, rng: &rng)
        XCTAssertEqual(even.codes, [0, 1, 2, 3, 0, 1, 2, 3])
        XCTAssertEqual(even.usage, 4)
        XCTAssertEqual(even.perplexity, 4, accuracy: 1e-5)
        let single = vq(Tensor(filling: 0.1, shape: [6, 2]), training: false, rng: &rng)
        XCTAssertEqual(single.usage, 1)
        XCTAssertEqual(single.perplexity, 1, accuracy: 1e-6)
    }

    // Expected: with decay 0 the EMA statistics become this batch's counts and sums, so each code
    // becomes the mean of the rows assigned to it (computed here from the returned codes). Laplace
    // smoothing rescales a cluster of n_k rows by (n_k + eps)/(N + K·eps)·N / n_k, within
    // (K + 1)·eps = 5e-5 of 1 for n_k ≥ 1; the tolerance is 1e-4 relative to values of O(1).
    func testZeroDecayMakesCodesTheClusterMeans() {
        let vq = quantizer(codes: [1, 1, -1, 1, -1, -1, 1, -1], dim: 2, decay: 0, restartThreshold: 0)
        var rng = RNG(seed: 4)
        let x = Tensor(uniform: [64, 2], low: -2, high: 2, rng: &rng)
        let out = vq(x, training: true, rng: &rng)
        XCTAssertEqual(out.usage, 4, "every quadrant should hold some of the 64 points")
        for k in 0..<4 {
            let members = out.codes.indices.filter { out.codes[$0] == k }
            XCTAssertEqual(vq.clusterSize[k], Float(members.count), accuracy: 1e-6)
            for i in 0..<2 {
                let mean = members.map { Double(x.data[$0 * 2 + i]) }.reduce(0, +) / Double(members.count)
                XCTAssertEqual(Double(vq.codebook.data[k * 2 + i]), mean, accuracy: 1e-4, "code \(k) dim \(i)")
            }
        }
    }

    // Expected: 8 blobs (std 0.1) on a circle of radius 5, and a codebook that starts with all 8
    // codes at the same far point (20, 20), so every row ties and goes to code 0: usage 1. Without
    // restarts the idle codes never move and usage stays 1. With restarts (threshold 1) every code
    // whose EMA size drops below 1 jumps onto a random input, where it wins at least that row; code
    // 0's inflated size decays below 1 within ~35 steps at decay 0.9, so after 60 steps all 8 codes
    // are in use. The same seed must reproduce the same codebook bit for bit.
    func testDeadCodesAreRestartedAndUsageRises() {
        var centres = [Float]()
        for i in 0..<8 {
            let angle = Float(i) * 2 * .pi / 8
            centres += [5 * Foundation.cos(angle), 5 * Foundation.sin(angle)]
        }
        func train(restartThreshold: Float, seed: UInt64) -> (first: Int, last: Int, codebook: [Float]) {
            let vq = quantizer(codes: [Float](repeating: 20, count: 16), dim: 2, decay: 0.9, restartThreshold: restartThreshold)
            var rng = RNG(seed: seed)
            var first = 0, last = 0
            for step in 0..<60 {
                let x = blobs(centres, dim: 2, rows: 128, std: 0.1, rng: &rng)
                let out = vq(x, training: true, rng: &rng)
                if step == 0 { first = out.usage }
                last = out.usage
            }
            return (first, last, vq.codebook.data)
        }
        let frozen = train(restartThreshold: 0, seed: 5)
        XCTAssertEqual(frozen.first, 1)
        XCTAssertEqual(frozen.last, 1, "without restarts the idle codes stay idle")
        let restarted = train(restartThreshold: 1, seed: 5)
        XCTAssertEqual(restarted.first, 1)
        XCTAssertEqual(restarted.last, 8, "restarts should bring every code into use")
        XCTAssertEqual(train(restartThreshold: 1, seed: 5).codebook, restarted.codebook, "restarts must be deterministic given the rng")
    }

    // MARK: residual VQ

    /// Three stages of 16 codes in 4 dimensions; stage k's codes are N(0, 0.5^k), so later
    /// stages are finer, as trained residual codebooks are.
    private func residual() -> ResidualVectorQuantizer {
        var rng = RNG(seed: 4)
        let rvq = ResidualVectorQuantizer(stages: 3, codebookSize: 16, dim: 4, rng: &rng)
        for (k, stage) in rvq.stages.enumerated() {
            let scale = Float(Foundation.pow(0.5, Double(k)))
            stage.codebook = Tensor(shape: [16, 4], data: (0..<64).map { _ in scale * rng.normal() })
            stage.embedSum = stage.codebook.data
        }
        return rvq
    }

    // Expected, by the definition of residual VQ: stage k quantizes r_k = x − Σ_{j<k} q_j with its
    // nearest code (checked against VectorQuantizer.nearest on r_k computed here); the output is
    // Σ_k q_k (the residual identity: decode(codes) gives the same values); its gradient is the
    // identity to x (straight-through), and β · Σ_k mean (r_k − q_k)² adds β · Σ_k 2(r_k − q_k)/(N·D).
    func testResidualIdentityAndStraightThroughGradient() {
        let rvq = residual()
        var rng = RNG(seed: 5)
        let x = Tensor(randn: [40, 4], rng: &rng, requiresGrad: true)
        let w = Tensor(randn: [40, 4], rng: &rng)
        let out = rvq(x, active: 3, training: false, rng: &rng)
        var r = x.data, expectedGrad = w.data, commit: Float = 0
        let beta: Float = 0.5
        for k in 0..<3 {
            let codes = rvq.stages[k].nearest(Tensor(shape: [40, 4], data: r))
            XCTAssertEqual(out.codes[k], codes, "stage \(k) codes")
            let q = rvq.stages[k].lookup(codes: codes).data
            for i in 0..<160 {
                expectedGrad[i] += beta * 2 * (r[i] - q[i]) / 160
                commit += (r[i] - q[i]) * (r[i] - q[i]) / 160
                r[i] -= q[i]
            }
        }
        let decoded = rvq.decode(out.codes)
        for i in 0..<160 {
            XCTAssertEqual(out.quantized.data[i], decoded[i], accuracy: 1e-6, "Σ codewords, element \(i)")
            XCTAssertEqual(x.data[i] - out.quantized.data[i], r[i], accuracy: 1e-5, "what is left is the last residual")
        }
        XCTAssertEqual(rvq.encode(x.data, rows: 40, active: 3), out.codes)
        XCTAssertEqual(out.commitLoss.item, commit, accuracy: 1e-5)
        add(sum(mul(out.quantized, w)), scale(out.commitLoss, beta)).backward()
        for i in 0..<160 { XCTAssertEqual(x.grad![i], expectedGrad[i], accuracy: 1e-5, "gradient element \(i)") }
        // Each stage leaves less: the residual after k stages shrinks as k grows (codebooks of
        // falling scale, each stage picking the nearest code, which the zero-ish code bounds).
        var norms: [Float] = []
        for k in 1...3 {
            let q = rvq.decode(Array(out.codes.prefix(k)))
            norms.append(zip(x.data, q).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
        }
        XCTAssertLessThan(norms[2], norms[0], "residual energy by stages: \(norms)")
    }

    // Expected: the first k stages' codes do not depend on how many stages follow (greedy
    // residual coding), so encoding with k stages is a prefix of encoding with all of them, and
    // training with k active stages updates only those k codebooks.
    func testPrefixesAndOnlyActiveStagesTrain() {
        let rvq = residual()
        var rng = RNG(seed: 6)
        let x = Tensor(randn: [30, 4], rng: &rng)
        let all = rvq.encode(x.data, rows: 30, active: 3)
        for k in 1...3 { XCTAssertEqual(rvq.encode(x.data, rows: 30, active: k), Array(all.prefix(k))) }
        let before = rvq.stages.map(\.codebook.data)
        _ = rvq(x, active: 1, training: true, rng: &rng)
        XCTAssertNotEqual(rvq.stages[0].codebook.data, before[0])
        XCTAssertEqual(rvq.stages[1].codebook.data, before[1])
        XCTAssertEqual(rvq.stages[2].codebook.data, before[2])
    }
}
