// DiscriminatorTests.swift — the vocoder's adversaries (NN/Discriminators.swift). Expected values
// come from definitions, not stored numbers: the period fold is an index identity; LSGAN's losses
// and feature matching are closed forms of known logits and feature maps; the discriminators'
// gradients (to the waveform, which is what the generator learns from, and to their own weights)
// match central finite differences (tolerance as in EngineTests/OpGradientTests); and a
// discriminator trained on a fixed seed to tell a harmonic tone from noise of the same power must
// bring its loss below half of chance level (logits 0.5 for everything: 0.5 per discriminator).
import Engine
import Foundation
import NN
import XCTest

final class DiscriminatorTests: XCTestCase {
    static var tinyLayout: DiscriminatorLayout {
        var l = DiscriminatorLayout()
        l.periods = [2, 3]; l.periodChannels = [4, 6]; l.resolutions = [64]; l.resolutionChannels = 4
        return l
    }

    func testFoldPutsEveryPeriodInItsOwnColumn() {
        // x (2, 1, 11): period 3 keeps ⌊11/3⌋ = 3 rows; column j of item b holds x[b, j], x[b, j+3], x[b, j+6].
        let x = Tensor(shape: [2, 1, 11], data: (0..<22).map(Float.init))
        let f = PeriodDiscriminator.fold(x, period: 3)
        XCTAssertEqual(f.shape, [6, 1, 3])
        for b in 0..<2 { for j in 0..<3 { for i in 0..<3 {
            XCTAssertEqual(f.data[(b * 3 + j) * 3 + i], Float(b * 11 + i * 3 + j))
        } } }
    }

    func testLeastSquaresLossesAndFeatureMatchingInClosedForm() {
        // One discriminator, one hidden map: real logits 0.5, fake 0.25 →
        // D loss (0.5 − 1)² + 0.25² = 0.3125; G loss (0.25 − 1)² = 0.5625; FM mean |[1, 2] − [0, 4]| = 1.5.
        let real: [DiscriminatorOutput] = [[Tensor(shape: [1, 2], data: [1, 2]), Tensor(filling: 0.5, shape: [1, 1, 4])]]
        let fake: [DiscriminatorOutput] = [[Tensor(shape: [1, 2], data: [0, 4]), Tensor(filling: 0.25, shape: [1, 1, 4])]]
        XCTAssertEqual(AdversarialLoss.discriminator(real: real, fake: fake).item, 0.3125, accuracy: 1e-6)
        XCTAssertEqual(AdversarialLoss.generator(fake: fake).item, 0.5625, accuracy: 1e-6)
        XCTAssertEqual(AdversarialLoss.featureMatching(real: real, fake: fake).item, 1.5, accuracy: 1e-6)
        // Two discriminators add.
        XCTAssertEqual(AdversarialLoss.generator(fake: fake + fake).item, 1.125, accuracy: 1e-6)
    }

    /// The generator's loss (adversarial + feature matching) differentiated through every
    /// discriminator to the waveform, and the discriminators' own loss to their weights.
    func testGradientsMatchFiniteDifferences() {
        let d = Discriminators(Self.tinyLayout, seed: 3)
        var rng = RNG(seed: 4)
        let real = Tensor(randn: [2, 1, 256], std: 0.3, rng: &rng)
        let fake = Tensor(randn: [2, 1, 256], std: 0.3, rng: &rng)
        let realOut = GradMode.withoutGrad { d(real) }
        let toWave = d.frozen {
            gradCheck([fake], eps: 1e-3, maxPerInput: 48) {
                let out = d(fake)
                return AdversarialLoss.generator(fake: out) + AdversarialLoss.featureMatching(real: realOut, fake: out) * 2
            }
        }
        XCTAssertLessThan(toWave.maxError, 2e-2, "\(toWave)")
        let weights = [d.params["mpd.2.convs.0.weight"]!, d.params["mpd.3.post.weight"]!, d.params["mrd.64.convs.0.weight"]!]
        let toWeights = gradCheck(weights, eps: 1e-3, maxPerInput: 24) {
            AdversarialLoss.discriminator(real: d(real), fake: d(fake))
        }
        XCTAssertLessThan(toWeights.maxError, 2e-2, "\(toWeights)")
    }

    func testDiscriminatorLearnsToTellAToneFromNoise() {
        let d = Discriminators(Self.tinyLayout, seed: 5)
        let opt = AdamW(d.params, config: AdamWConfig(learningRate: 2e-3, beta1: 0.8, beta2: 0.99))
        var rng = RNG(seed: 6)
        var losses: [Float] = []
        for _ in 0..<300 {
            // Real: a random-pitch tone with three harmonics; fake: Gaussian noise of the same RMS.
            var tone = [Float](repeating: 0, count: 4 * 512)
            for b in 0..<4 {
                let f0 = 100 + 300 * rng.uniform(), phase = 6.28 * rng.uniform()
                for t in 0..<512 {
                    let w = 2 * Float.pi * f0 * Float(t) / 22050 + phase
                    tone[b * 512 + t] = 0.3 * (Foundation.sin(w) + 0.5 * Foundation.sin(2 * w) + 0.25 * Foundation.sin(3 * w))
                }
            }
            let real = Tensor(shape: [4, 1, 512], data: tone)
            let fake = Tensor(randn: [4, 1, 512], std: 0.24, rng: &rng)
            let loss = AdversarialLoss.discriminator(real: d(real), fake: d(fake))
            d.params.zeroGrad(); loss.backward(); opt.update()
            losses.append(loss.item)
        }
        // A discriminator that cannot tell them apart settles at logits 0.5: 0.25 + 0.25 per discriminator.
        let chance = 0.5 * Float(Self.tinyLayout.periods.count + Self.tinyLayout.resolutions.count)
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(10).reduce(0, +) / 10
        print("discriminator loss: first 5 steps \(first), last 10 \(last), chance \(chance)")
        XCTAssertLessThan(last, 0.5 * chance, "discriminator loss went from \(first) to \(last) (chance \(chance))")
    }

    func testFrozenRestoresTheWeightsTrainability() {
        let d = Discriminators(Self.tinyLayout)
        d.frozen { XCTAssertTrue(d.params.tensors.allSatisfy { !$0.requiresGrad }) }
        XCTAssertTrue(d.params.tensors.allSatisfy { $0.requiresGrad })
    }
}
