// Discriminators.swift — the adversaries of a waveform generator, after HiFi-GAN (Kong et al. 2020)
// and UnivNet / Vocos: a multi-period discriminator reads the samples folded into columns of a
// period, so it sees the waveform itself, phase included; a multi-resolution one reads log-magnitude
// spectrograms. Both are small here (2 CPU cores): 1-D convolutions only, a period discriminator's
// (k, 1) kernels being a 1-D convolution over each column of the fold.
//
//   period p:   (B, 1, L) ─▶ fold (B·p, 1, L/p) ─▶ 4 × [conv k5 stride 3/3/3/1, leaky ReLU] ─▶ conv k3 → logits
//   resolution: (B, 1, L) ─▶ log|STFT| (B, F, S) ─▶ 3 × [conv k5/k5/k3, stride 1/2/1, leaky ReLU] ─▶ conv k3 → logits
//
// Every discriminator returns its feature maps, the logits last: the generator's feature-matching
// loss compares the maps of real and generated audio, its adversarial loss reads the logits.
// Losses are LSGAN's, as in HiFi-GAN.
import Engine
import Foundation

/// One discriminator's outputs: the feature map after each hidden layer, then the logits.
public typealias DiscriminatorOutput = [Tensor]

/// HiFi-GAN's discriminator of one period: the waveform as p interleaved columns.
public final class PeriodDiscriminator {
    public let period: Int
    let convs: [Conv1d]
    let post: Conv1d

    public init(period: Int, channels: [Int], scope s: Scope, rng: inout RNG) {
        precondition(period >= 1 && !channels.isEmpty, "PeriodDiscriminator: period \(period), channels \(channels)")
        self.period = period
        var cin = 1
        convs = channels.enumerated().map { i, c in
            defer { cin = c }
            return Conv1d(cin, c, kernel: 5, stride: i == channels.count - 1 ? 1 : 3, padding: 2, scope: s.child("convs").child(i), rng: &rng)
        }
        post = Conv1d(channels.last!, 1, kernel: 3, padding: 1, scope: s.child("post"), rng: &rng)
    }

    /// The fold: x (B, 1, L) → (B·p, 1, ⌊L/p⌋), column j holding samples j, j + p, j + 2p, …
    public static func fold(_ x: Tensor, period p: Int) -> Tensor {
        let b = x.shape[0], rows = x.shape[2] / p
        precondition(rows >= 1, "PeriodDiscriminator: \(x.shape[2]) samples are fewer than the period \(p)")
        let head = rows * p == x.shape[2] ? x : slice(x, axis: 2, 0..<(rows * p))
        return reshape(transpose(reshape(head, [b, rows, p]), 1, 2), [b * p, 1, rows])
    }

    public func callAsFunction(_ x: Tensor) -> DiscriminatorOutput {
        var h = PeriodDiscriminator.fold(x, period: period)
        var features: [Tensor] = []
        for conv in convs { h = leakyRelu(conv(h), slope: 0.1); features.append(h) }
        features.append(post(h))
        return features
    }
}

/// A discriminator of one STFT resolution (UnivNet's MRD, with the frequency bins as channels).
public final class SpectrogramDiscriminator {
    public let basis: STFTBasis
    let convs: [Conv1d]
    let post: Conv1d

    public init(nFFT: Int, channels: Int, scope s: Scope, rng: inout RNG) {
        basis = STFTBasis(nFFT: nFFT, hop: nFFT / 4)
        let shapes = [(basis.bins, 5, 1), (channels, 5, 2), (channels, 3, 1)]
        convs = shapes.enumerated().map { i, shape in
            Conv1d(shape.0, channels, kernel: shape.1, stride: shape.2, padding: shape.1 / 2, scope: s.child("convs").child(i), rng: &rng)
        }
        post = Conv1d(channels, 1, kernel: 3, padding: 1, scope: s.child("post"), rng: &rng)
    }

    public func callAsFunction(_ x: Tensor) -> DiscriminatorOutput {
        // |X| ≥ √eps = 3e-4, so the log is bounded below (−8.1).
        var h = log(stftMagnitudeFFT(x, basis: basis, padding: basis.nFFT / 2))   // (B, F, S)
        var features: [Tensor] = []
        for conv in convs { h = leakyRelu(conv(h), slope: 0.1); features.append(h) }
        features.append(post(h))
        return features
    }
}

/// The sizes of a set of discriminators.
public struct DiscriminatorLayout: Codable, Equatable {
    /// Periods of the multi-period discriminator (HiFi-GAN's primes).
    public var periods = [2, 3, 5, 7, 11]
    /// Channels of each period discriminator's hidden layers (HiFi-GAN: 32, 128, 512, 1024; 2 cores: far fewer).
    public var periodChannels = [16, 32, 64, 64]
    /// STFT sizes of the multi-resolution discriminator (hop n_fft / 4).
    public var resolutions = [512, 1024, 2048]
    public var resolutionChannels = 32

    public init() {}

    enum CodingKeys: String, CodingKey {
        case periods, periodChannels = "period_channels", resolutions, resolutionChannels = "resolution_channels"
    }
}

/// Every discriminator of a GAN, with its own parameters (trained by its own optimizer).
public final class Discriminators {
    public let layout: DiscriminatorLayout
    public let params = ParameterStore()
    public let periods: [PeriodDiscriminator]
    public let resolutions: [SpectrogramDiscriminator]

    public init(_ l: DiscriminatorLayout = DiscriminatorLayout(), seed: UInt64 = 1) {
        layout = l
        var rng = RNG(seed: seed)
        let s = Scope(params)
        periods = l.periods.map { PeriodDiscriminator(period: $0, channels: l.periodChannels, scope: s.child("mpd").child($0), rng: &rng) }
        resolutions = l.resolutions.map { SpectrogramDiscriminator(nFFT: $0, channels: l.resolutionChannels, scope: s.child("mrd").child($0), rng: &rng) }
    }

    /// Every discriminator's output for waveforms x (B, 1, L).
    public func callAsFunction(_ x: Tensor) -> [DiscriminatorOutput] {
        periods.map { $0(x) } + resolutions.map { $0(x) }
    }

    /// Runs `body` with the discriminators' weights frozen: a backward inside it (the generator's)
    /// passes through them but computes no gradient for their weights.
    public func frozen<R>(_ body: () throws -> R) rethrows -> R {
        for t in params.tensors { t.requiresGrad = false }
        defer { for t in params.tensors { t.requiresGrad = true } }
        return try body()
    }
}

/// LSGAN's losses (Mao et al. 2017, HiFi-GAN's choice) and feature matching (Larsen et al. 2016).
public enum AdversarialLoss {
    /// The discriminators' loss: Σ_d mean((D(real) − 1)²) + mean(D(fake)²).
    public static func discriminator(real: [DiscriminatorOutput], fake: [DiscriminatorOutput]) -> Tensor {
        precondition(real.count == fake.count && !real.isEmpty, "AdversarialLoss: \(real.count) real and \(fake.count) fake outputs")
        return zip(real, fake).map { r, f in
            mseLoss(r.last!, Tensor(filling: 1, shape: r.last!.shape)) + mean(square(f.last!))
        }.reduce(Tensor(scalar: 0), +)
    }

    /// The generator's adversarial loss: Σ_d mean((D(fake) − 1)²).
    public static func generator(fake: [DiscriminatorOutput]) -> Tensor {
        fake.map { f in mseLoss(f.last!, Tensor(filling: 1, shape: f.last!.shape)) }.reduce(Tensor(scalar: 0), +)
    }

    /// Σ_d mean over its hidden layers of L1(features of fake, features of real); the real side is a
    /// constant (computed without gradient, or detached here).
    public static func featureMatching(real: [DiscriminatorOutput], fake: [DiscriminatorOutput]) -> Tensor {
        precondition(real.count == fake.count && !real.isEmpty, "AdversarialLoss: \(real.count) real and \(fake.count) fake outputs")
        return zip(real, fake).map { r, f in
            let layers = zip(r.dropLast(), f.dropLast()).map { rl, fl in l1Loss(fl, rl.detached()) }
            return layers.reduce(Tensor(scalar: 0), +) * (1 / Float(max(layers.count, 1)))
        }.reduce(Tensor(scalar: 0), +)
    }
}
