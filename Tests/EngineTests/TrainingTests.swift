// TrainingTests.swift — the engine learns: a tiny MLP and a tiny causal transformer, trained with
// AdamW on fixed seeds, must drive their losses down. The thresholds are not tuned numbers: each
// task has a known floor (0 for a learnable deterministic map, log(V) for a uniform guesser) and
// the test asks for a large fraction of the gap to be closed.
import Foundation
import Engine
import NN
import XCTest

final class TrainingTests: XCTestCase {
    /// Two-layer MLP regressing y = sin(3x₀)·x₁ on 256 fixed points. A constant predictor scores
    /// the variance of y (≈ 0.17 here); the test asks for < 15% of the starting loss.
    func testMLPLossFalls() {
        var rng = RNG(seed: 42)
        let n = 256
        let x = Tensor(uniform: [n, 2], low: -1, high: 1, rng: &rng)
        let y = Tensor(shape: [n, 1], data: (0..<n).map { i in Foundation.sin(3 * x.data[2 * i]) * x.data[2 * i + 1] })
        let store = ParameterStore()
        let scope = Scope(store)
        let l1 = Linear(2, 32, scope: scope.child("l1"), rng: &rng)
        let l2 = Linear(32, 1, scope: scope.child("l2"), rng: &rng)
        let opt = AdamW(store, config: AdamWConfig(learningRate: 1e-2, weightDecay: 0))
        var losses: [Float] = []
        for _ in 0..<300 {
            let loss = mseLoss(l2(tanh(l1(x))), y)
            losses.append(loss.item)
            store.zeroGrad()
            loss.backward()
            opt.update()
        }
        XCTAssertLessThan(losses.last!, 0.15 * losses.first!, "MLP loss went \(losses.first!) → \(losses.last!)")
    }

    /// A 2-layer causal transformer learns to continue a fixed cyclic sequence over V = 8 tokens.
    /// Next-token cross-entropy starts near log 8 ≈ 2.08; a model that learned the cycle scores ≈ 0.
    func testTinyTransformerLossFalls() {
        var rng = RNG(seed: 3)
        let v = 8, t = 16, b = 4, d = 32
        let store = ParameterStore()
        let scope = Scope(store)
        let tok = Embedding(v, d, scope: scope.child("tok"), rng: &rng)
        let pos = Embedding(t, d, scope: scope.child("pos"), rng: &rng)
        let blocks = (0..<2).map { TransformerBlock(dModel: d, heads: 2, scope: scope.child("blocks").child($0), rng: &rng) }
        let norm = LayerNorm(d, scope: scope.child("norm"))
        let head = Linear(d, v, scope: scope.child("head"), rng: &rng)
        let cycle = [3, 1, 4, 1, 5, 2, 6, 0, 7]  // period 9 over 8 symbols: "1" is followed by 4 or 5, so context matters
        let schedule = LRSchedule(peak: 3e-3, warmupSteps: 10, totalSteps: 150)
        let opt = AdamW(store, config: AdamWConfig(weightDecay: 0.01))
        var losses: [Float] = []
        for step in 0..<150 {
            var ids: [Int] = [], targets: [Int] = []
            for _ in 0..<b {
                let start = rng.int(below: cycle.count)
                let seq = (0...t).map { cycle[(start + $0) % cycle.count] }
                ids += seq[0..<t]; targets += seq[1...t]
            }
            var h = tok(ids, shape: [b, t]) + pos(Array(0..<t), shape: [t])
            for blk in blocks { h = blk(h) }
            let logits = head(norm(h))
            let loss = crossEntropy(reshape(logits, [b * t, v]), targets: targets)
            losses.append(loss.item)
            store.zeroGrad()
            loss.backward()
            clipGradNorm(store, maxNorm: 1)
            opt.update(lr: schedule.rate(at: step))
        }
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        XCTAssertGreaterThan(first, 1.5, "initial loss should be near log 8")
        XCTAssertLessThan(last, 0.3, "transformer loss went \(first) → \(last)")
    }

    /// Warm-up is linear to the peak, cosine ends at minRatio·peak: closed-form values.
    func testScheduleShape() {
        let s = LRSchedule(peak: 1, warmupSteps: 10, totalSteps: 110, minRatio: 0.1)
        XCTAssertEqual(s.rate(at: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 9), 1, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 60), 0.55, accuracy: 1e-6)   // halfway: 0.1 + 0.9·0.5
        XCTAssertEqual(s.rate(at: 110), 0.1, accuracy: 1e-6)
    }

    /// One AdamW step from zero moments moves every weight by exactly lr·sign(g) (bias-corrected
    /// m/√v = g/|g|), plus decoupled decay lr·wd·w — Loshchilov & Hutter, Algorithm 2.
    func testAdamWFirstStepClosedForm() {
        let store = ParameterStore()
        let w = store.register("w", Tensor(shape: [2, 2], data: [1, -2, 3, -4]))
        w.grad = [0.5, -0.1, 0, 2]
        let opt = AdamW(store, config: AdamWConfig(learningRate: 0.1, eps: 1e-10, weightDecay: 0.5))
        opt.update()
        let expected: [Float] = [1 - 0.1 - 0.05, -2 + 0.1 + 0.1, 3 - 0.15, -4 - 0.1 + 0.2]
        for (a, e) in zip(w.data, expected) { XCTAssertEqual(a, e, accuracy: 1e-5) }
    }

    /// Clipping scales to the requested global norm: grads (3, 4) have norm 5.
    func testClipGradNorm() {
        let store = ParameterStore()
        let a = store.register("a", Tensor(zeros: [1])), b = store.register("b", Tensor(zeros: [1]))
        a.grad = [3]; b.grad = [4]
        XCTAssertEqual(clipGradNorm(store, maxNorm: 1), 5, accuracy: 1e-6)
        XCTAssertEqual(a.grad![0], 0.6, accuracy: 1e-4)
        XCTAssertEqual(b.grad![0], 0.8, accuracy: 1e-4)
    }

    /// Under withoutGrad no op records a tape, even when its inputs are parameters.
    func testNoGradModeRecordsNoTape() {
        let w = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let y = GradMode.withoutGrad { sum(w * w) }
        XCTAssertFalse(y.requiresGrad)
        let z = sum(w * w)
        XCTAssertTrue(z.requiresGrad)
    }

    /// The switch nests, is restored on a throw, and belongs to its thread: another thread records
    /// while this one does not (gen batch's workers and the parallel loops run on other threads).
    func testGradSwitchNestsAndIsPerThread() {
        struct Stop: Error {}
        XCTAssertTrue(GradMode.isEnabled)
        GradMode.withoutGrad {
            GradMode.withoutGrad { XCTAssertFalse(GradMode.isEnabled) }
            XCTAssertFalse(GradMode.isEnabled, "the inner scope's end must not switch gradients back on")
            final class Seen: @unchecked Sendable { var enabled = false }   // written before the signal, read after
            let other = Seen(), done = DispatchSemaphore(value: 0)
            Thread { other.enabled = GradMode.isEnabled; done.signal() }.start()
            done.wait()
            XCTAssertTrue(other.enabled, "another thread is not inside this thread's scope")
        }
        XCTAssertThrowsError(try GradMode.withoutGrad { throw Stop() })
        XCTAssertTrue(GradMode.isEnabled)
    }

    /// Same seed, same numbers; different seed, different numbers.
    func testRNGIsReproducible() {
        var a = RNG(seed: 9), b = RNG(seed: 9), c = RNG(seed: 10)
        let xa = (0..<5).map { _ in a.normal() }, xb = (0..<5).map { _ in b.normal() }, xc = (0..<5).map { _ in c.normal() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
        var r = RNG(seed: 1)
        let u = (0..<20000).map { _ in Double(r.normal()) }
        let m = u.reduce(0, +) / Double(u.count)
        let varc = u.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(u.count)
        XCTAssertEqual(m, 0, accuracy: 0.03)       // 3σ of the mean of 20000 N(0,1) is 0.021
        XCTAssertEqual(varc, 1, accuracy: 0.05)
    }

    /// Gamma(k, 1) has mean k and variance k; Beta(a, a) has mean 1/2 and variance 1 / (4(2a + 1))
    /// (closed forms). With 20,000 draws the mean's tolerance is 4 standard errors, the variances' 5–7.
    func testGammaAndBetaMatchTheirMoments() {
        func moments(_ xs: [Double]) -> (Double, Double) {
            let m = xs.reduce(0, +) / Double(xs.count)
            return (m, xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count))
        }
        var r = RNG(seed: 3)
        for k: Float in [0.3, 1, 2.5] {
            let (m, v) = moments((0..<20000).map { _ in Double(r.gamma(shape: k)) })
            XCTAssertEqual(m, Double(k), accuracy: 4 * Double(k).squareRoot() / 141, "Gamma(\(k)) mean")
            XCTAssertEqual(v, Double(k), accuracy: 0.1 * Double(k) + 0.02, "Gamma(\(k)) variance")
        }
        let xs = (0..<20000).map { _ in Double(r.beta(0.3, 0.3)) }
        let (m, v) = moments(xs)
        XCTAssertEqual(m, 0.5, accuracy: 0.012)   // σ = 0.395, standard error 0.0028
        XCTAssertEqual(v, 1 / (4 * 1.6), accuracy: 0.006)
        XCTAssertTrue(xs.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}
