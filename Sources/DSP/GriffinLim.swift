// GriffinLim.swift: phase reconstruction from a magnitude spectrogram.
// Fast Griffin-Lim (Perraudin, Balazs & Søndergaard, "A fast Griffin-Lim algorithm", WASPAA 2013,
// Algorithm 2): alternate the projection onto consistent spectrograms, P_C1 = stft ∘ istft, with
// the projection onto the target magnitude, P_C2, and extrapolate each step with momentum α:
//     c_n = P_C1(P_C2(t_{n-1})),   t_n = c_n + α (c_n − c_{n−1}).
// Only the phase of t_n is used, so t_n is computed up to the positive factor 1 + α as
// c_n − α/(1+α)·c_{n−1} (the form librosa uses). α = 0 is the original Griffin & Lim (1984).
//
// Letters: T frames, F = nFFT/2 + 1 bins, M mel bands.

import Foundation

public struct GriffinLim: Sendable {
    public enum InitialPhase: Sendable, Equatable {
        case zero
        /// Phases uniform in [0, 2π) from a SplitMix64 stream, so a seed always gives the same audio.
        case random(seed: UInt64)
    }

    public var iterations: Int
    public var momentum: Float
    public var initialPhase: InitialPhase
    public let stft: STFT

    public init(stft: STFTConfig = STFTConfig(), iterations: Int = 60, momentum: Float = 0.99,
                initialPhase: InitialPhase = .random(seed: 0)) {
        precondition(iterations >= 0, "GriffinLim: iterations=\(iterations) must be >= 0")
        precondition(momentum >= 0, "GriffinLim: momentum=\(momentum) must be >= 0 (0 is plain Griffin-Lim)")
        self.stft = STFT(config: stft)
        self.iterations = iterations
        self.momentum = momentum
        self.initialPhase = initialPhase
    }

    /// Waveform whose STFT magnitude approximates `magnitude` (T, F). `length` defaults to (T − 1)·hop.
    public func reconstruct(magnitude: [Float], length: Int? = nil) -> [Float] {
        let nb = stft.bins
        precondition(magnitude.count % nb == 0,
                     "GriffinLim: \(magnitude.count) values is not a whole number of \(nb)-bin frames (nFFT=\(stft.config.nFFT))")
        let frames = magnitude.count / nb
        let inner = stft.naturalLength(frames: frames)   // length whose STFT has exactly T frames
        let outLength = length ?? inner
        if frames == 0 { return [Float](repeating: 0, count: outLength) }

        var angles = initialAngles(count: frames * nb)   // (T, F) unit phasors
        var previous = Spectrogram(frames: frames, bins: nb) // c_{n-1}, zero before the first step
        let beta = momentum / (1 + momentum)

        for _ in 0..<iterations {
            let x = stft.inverse(applyMagnitude(magnitude, angles, frames: frames), length: inner)
            let rebuilt = stft.forward(x)                  // c_n
            // t_n ∝ c_n − β c_{n−1}, then keep only its phase.
            rebuilt.re.withUnsafeBufferPointer { cr in
                rebuilt.im.withUnsafeBufferPointer { ci in
                    previous.re.withUnsafeBufferPointer { pr in
                        previous.im.withUnsafeBufferPointer { pi in
                            angles.re.withUnsafeMutableBufferPointer { ar in
                                angles.im.withUnsafeMutableBufferPointer { ai in
                                    for k in 0..<(frames * nb) {
                                        let r = cr[k] - beta * pr[k], i = ci[k] - beta * pi[k]
                                        let norm = (r * r + i * i).squareRoot() + 1e-16
                                        ar[k] = r / norm
                                        ai[k] = i / norm
                                    }
                                }
                            }
                        }
                    }
                }
            }
            previous = rebuilt
        }

        let x = stft.inverse(applyMagnitude(magnitude, angles, frames: frames), length: inner)
        if outLength == inner { return x }
        var out = [Float](repeating: 0, count: outLength)
        for i in 0..<min(outLength, inner) { out[i] = x[i] }
        return out
    }

    /// Waveform from a HiFi-GAN log-mel (T, M): exp, the filterbank's pseudo-inverse to a linear
    /// magnitude, then Griffin-Lim with the filterbank's own STFT setting.
    public func reconstruct(logMel: [Float], filterbank: MelFilterbank, length: Int? = nil) -> [Float] {
        let mel = logMel.map { exp($0) }                       // (T, M)
        let linear = filterbank.pseudoInverse(mel)             // (T, F)
        let matching = stft.config == filterbank.config.stft
            ? self
            : GriffinLim(stft: filterbank.config.stft, iterations: iterations, momentum: momentum, initialPhase: initialPhase)
        return matching.reconstruct(magnitude: linear, length: length)
    }

    // MARK: helpers

    private func applyMagnitude(_ magnitude: [Float], _ angles: Spectrogram, frames: Int) -> Spectrogram {
        var s = Spectrogram(frames: frames, bins: angles.bins)
        for k in 0..<magnitude.count {
            s.re[k] = magnitude[k] * angles.re[k]
            s.im[k] = magnitude[k] * angles.im[k]
        }
        return s
    }

    private func initialAngles(count: Int) -> Spectrogram {
        let nb = stft.bins
        var s = Spectrogram(frames: count / nb, bins: nb)
        switch initialPhase {
        case .zero:
            for k in 0..<count { s.re[k] = 1 }
        case .random(let seed):
            var rng = SplitMix64(seed: seed)
            for k in 0..<count {
                let phase = 2 * Double.pi * rng.nextUnitDouble()
                s.re[k] = Float(cos(phase))
                s.im[k] = Float(sin(phase))
            }
        }
        return s
    }
}

/// ‖target − estimate‖_F / ‖target‖_F over two magnitude spectrograms of the same shape
/// (Sturmel & Daudet 2011, "Signal reconstruction from STFT magnitude: a state of the art").
/// Accumulates in Double; returns 0 for two all-zero inputs and +∞ for a zero target only.
public func spectralConvergence(target: [Float], estimate: [Float]) -> Float {
    precondition(target.count == estimate.count,
                 "spectralConvergence: target has \(target.count) values, estimate \(estimate.count); compare spectrograms of the same shape")
    var diff = 0.0, ref = 0.0
    for k in 0..<target.count {
        let d = Double(target[k]) - Double(estimate[k])
        diff += d * d
        ref += Double(target[k]) * Double(target[k])
    }
    if ref == 0 { return diff == 0 ? 0 : .infinity }
    return Float((diff / ref).squareRoot())
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny seeded generator, so phases do not depend on the platform RNG.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) from the top 53 bits.
    mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }
}
