// AdversarialRun.swift — the discriminator phase of a training run (a vocoder's or a codec's
// decoder): its settings as the trainers take them, and the discriminators with their own
// optimizer and checkpoint files in the run folder, so `--resume` continues the game.
import Engine
import Foundation

/// `--adversarial-weight`, `--discriminator-lr`, `--discriminator-batch` and the discriminators' sizes.
public struct AdversarialSettings: Equatable {
    /// Weight of the adversarial terms (LSGAN + 2 × feature matching; 0: no discriminators).
    /// The reconstruction losses stay: the adversary only sharpens what they leave blurred, phase most.
    public var weight: Float = 0
    /// Peak learning rate of the discriminators (HiFi-GAN: 2e-4), on the generator's schedule.
    public var learningRate: Float = 2e-4
    /// Segments of each batch the discriminators see (the first ones; the batch is random).
    public var batch = 4
    public var layout = DiscriminatorLayout()

    public init() {}

    public var enabled: Bool { weight > 0 }

    public func problems() -> [String] {
        var p = rangeProblem("--adversarial-weight", weight, 0...100) + rangeProblem("--discriminator-batch", batch, 1...256)
        if !(learningRate > 0 && learningRate <= 1) { p.append("--discriminator-lr must be in (0, 1], got \(learningRate)") }
        return p
    }
}

/// The discriminators of a run, their optimizer (AdamW, β 0.8/0.99 as HiFi-GAN), and their files in
/// the run folder (`discriminator.safetensors` with the step in its metadata,
/// `discriminator_state.safetensors` with the moments).
public final class AdversarialRun {
    public let d: Discriminators
    public let opt: AdamW
    let weights: String, state: String
    /// What the generator is ("vocoder", "codec"), for messages and the weights' metadata.
    let generator: String

    public init(folder: TrainingFolder, layout: DiscriminatorLayout, seed: UInt64, learningRate: Float, generator: String = "vocoder") {
        d = Discriminators(layout, seed: seed &+ 0x6A09E667)
        opt = AdamW(d.params, config: AdamWConfig(learningRate: learningRate, beta1: 0.8, beta2: 0.99, eps: 1e-8, weightDecay: 0.01))
        weights = folder.path + "/discriminator.safetensors"
        state = folder.path + "/discriminator_state.safetensors"
        self.generator = generator
    }

    /// The run of `settings` (nil when its weight is 0), resumed at the generator's `step` when
    /// `resume`; its size is logged.
    public static func start(_ settings: AdversarialSettings, folder: TrainingFolder, seed: UInt64, generator: String,
                             resume: Bool, step: Int, log: (String) -> Void) throws -> AdversarialRun? {
        guard settings.enabled else { return nil }
        let run = AdversarialRun(folder: folder, layout: settings.layout, seed: seed, learningRate: settings.learningRate, generator: generator)
        if resume { try run.resume(step: step, log: log) }
        log(String(format: "discriminators: %d parameters (periods %@, resolutions %@), adversarial weight %g",
                   run.d.params.parameterCount, settings.layout.periods.map(String.init).joined(separator: "/"),
                   settings.layout.resolutions.map(String.init).joined(separator: "/"), settings.weight))
        return run
    }

    /// Loads the discriminators saved at the generator's `step`; without them (a run that had none,
    /// or a shipped model) they start afresh, which the log says.
    public func resume(step: Int, log: (String) -> Void) throws {
        guard FileManager.default.fileExists(atPath: weights) else {
            log("no discriminators in the run folder: they start afresh at step \(step)"); return
        }
        let w = try SafeTensorsFile.read(weights)
        guard w.metadata["step"] == String(step) else {
            throw CheckpointError(path: weights, message: "the discriminators are from step \(w.metadata["step"] ?? "?"), the \(generator) from step \(step); "
                                  + "delete \(weights) to restart them.")
        }
        try d.params.load(w, path: weights)
        if FileManager.default.fileExists(atPath: state) { try opt.restore(from: try SafeTensorsFile.read(state), path: state) }
    }

    public func save(step: Int) throws {
        try d.params.save(to: weights, metadata: ["step": String(step), "model": "\(generator)-discriminators"])
        try opt.stateFile(step: step).write(to: state)
    }

    /// One LSGAN step of the discriminators on `real` and (detached) `generated` audio (B, 1, L),
    /// then the generator's adversarial loss + 2 × feature matching against the updated
    /// discriminators (for `backward`).
    public func step(real: Tensor, generated: Tensor, learningRate: Float) -> (loss: Tensor, discriminator: Float, generator: Float, featureMatching: Float) {
        let dLoss = AdversarialLoss.discriminator(real: d(real), fake: d(generated.detached()))
        d.params.zeroGrad()
        dLoss.backward()
        opt.update(lr: learningRate)
        d.params.zeroGrad()
        let realOut = GradMode.withoutGrad { d(real) }
        let fakeOut = d(generated)
        let adv = AdversarialLoss.generator(fake: fakeOut), fm = AdversarialLoss.featureMatching(real: realOut, fake: fakeOut)
        return (adv + fm * 2, dLoss.item, adv.item, fm.item)
    }

    /// `step` on the first `settings.batch` segments of a batch, at the discriminators' peak rate
    /// scaled as the generator's schedule is (`scheduleFraction` = its rate now / its peak).
    public func step(_ settings: AdversarialSettings, real: Tensor, generated: Tensor,
                     scheduleFraction: Float) -> (loss: Tensor, discriminator: Float, generator: Float, featureMatching: Float) {
        let k = min(settings.batch, real.shape[0])
        return step(real: slice(real, axis: 0, 0..<k), generated: slice(generated, axis: 0, 0..<k),
                    learningRate: scheduleFraction * settings.learningRate)
    }

    /// The generator's backward through the discriminators, their weights frozen (a third of their
    /// backward saved: no weight gradients nobody would use).
    public func backward(_ loss: Tensor) { d.frozen { loss.backward() } }
}
