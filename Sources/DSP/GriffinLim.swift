// GriffinLim.swift: phase reconstruction from a magnitude spectrogram.
// Fast Griffin-Lim (Perraudin, Balazs & Søndergaard, "A fast Griffin-Lim algorithm", WASPAA 2013,
// Algorithm 2): alternate the projection onto consistent spectrograms, P_C1 = stft ∘ istft, with
// the projection onto the target magnitude, P_C2, and extrapolate each step with momentum α:
//     c_n = P_C1(P_C2(t_{n-1})),   t_n = c_n + α (c_n − c_{n−1}).
// Only the phase of t_n is used, so t_n is computed up to the positive factor 1 + α as
// c_n − α/(1+α)·c_{n−1} (the form librosa uses). α = 0 is the original Griffin & Lim (1984).
//
// Letters: T frames, F = nFFT/2 + 1 bins, M mel bands.

import Base
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

        // One pass per frame does the work of both projections: after the frame's rfft gives c_n,
        // t_n = c_n − β c_{n−1} and the next target |S|·t_n/|t_n| are formed in the same loop.
        // x = istft(target) is written straight into the reflect-padded buffer stft(x) reads.
        let n = stft.config.nFFT, hop = stft.config.hop
        let pad = stft.config.center ? n / 2 : 0
        let full = (frames - 1) * hop + n                       // = inner + 2·pad
        let beta = momentum / (1 + momentum)
        let cells = frames * nb
        let targetRe = UnsafeMutablePointer<Float>.allocate(capacity: cells)     // (T, F) |S|·phase, the next istft's input
        let targetIm = UnsafeMutablePointer<Float>.allocate(capacity: cells)     // (T, F)
        let previousRe = UnsafeMutablePointer<Float>.allocate(capacity: cells)   // (T, F) c_{n−1}, zero before the first step
        let previousIm = UnsafeMutablePointer<Float>.allocate(capacity: cells)   // (T, F)
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: full)           // (L + N) overlap-add sums
        let x = UnsafeMutablePointer<Float>.allocate(capacity: full)             // (L + N) x, reflect-padded
        defer {
            for p in [targetRe, targetIm, previousRe, previousIm, acc, x] { p.deallocate() }
        }
        previousRe.initialize(repeating: 0, count: cells)
        previousIm.initialize(repeating: 0, count: cells)
        acc.initialize(repeating: 0, count: full)
        x.initialize(repeating: 0, count: full)
        initialTarget(magnitude, re: targetRe, im: targetIm)

        func synthesise(into y: UnsafeMutablePointer<Float>, count: Int) {
            acc.update(repeating: 0, count: full)
            stft.overlapAdd(re: targetRe, im: targetIm, frames: frames, into: acc)
            stft.normalise(acc, frames: frames, start: pad, count: count, into: y)
        }

        magnitude.withUnsafeBufferPointer { mp in
            stft.window.withUnsafeBufferPointer { wp in
                let mag = mp.baseAddress!, w = wp.baseAddress!
                for _ in 0..<iterations {
                    synthesise(into: x + pad, count: inner)
                    if pad > 0 { fillReflectedEdges(x, length: inner, pad: pad) }
                    stft.forEachChunk(frames: frames) { range in
                        let temp = UnsafeMutablePointer<Float>.allocate(capacity: n)   // (N) rfft scratch
                        defer { temp.deallocate() }
                        for t in range {
                            let row = t * nb
                            stft.plan.rfft(x + t * hop, window: w, re: targetRe + row, im: targetIm + row, temp: temp)   // c_n
                            GriffinLim.project(re: targetRe + row, im: targetIm + row,
                                               previousRe: previousRe + row, previousIm: previousIm + row,
                                               magnitude: mag + row, beta: beta, count: nb)
                        }
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: outLength)
        out.withUnsafeMutableBufferPointer { op in
            synthesise(into: op.baseAddress!, count: min(inner, outLength))
        }
        return out
    }

    /// One frame of the momentum step and the magnitude projection, in place:
    /// c = (re, im) on entry; t = c − β·previous; previous ← c; (re, im) ← magnitude · t / (|t| + 1e-16).
    @inline(__always)
    static func project(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>,
                        previousRe: UnsafeMutablePointer<Float>, previousIm: UnsafeMutablePointer<Float>,
                        magnitude: UnsafePointer<Float>, beta: Float, count: Int) {
        let b = SIMD4<Float>(repeating: beta), eps = SIMD4<Float>(repeating: 1e-16)
        var f = 0
        while f + 4 <= count {
            let cr = load4(re + f), ci = load4(im + f)
            let tr = cr - b * load4(previousRe + f), ti = ci - b * load4(previousIm + f)
            store4(cr, previousRe + f); store4(ci, previousIm + f)
            let s = load4(magnitude + f) / ((tr * tr + ti * ti).squareRoot() + eps)
            store4(tr * s, re + f); store4(ti * s, im + f)
            f += 4
        }
        while f < count {
            let cr = re[f], ci = im[f]
            let tr = cr - beta * previousRe[f], ti = ci - beta * previousIm[f]
            previousRe[f] = cr; previousIm[f] = ci
            let s = magnitude[f] / ((tr * tr + ti * ti).squareRoot() + 1e-16)
            re[f] = tr * s; im[f] = ti * s
            f += 1
        }
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

    /// |S|·e^{iφ} with the initial phases φ. A bin with zero magnitude gets 0 without evaluating
    /// its phase (the generator still steps, so other bins keep their phases): past fMax a
    /// mel-derived magnitude is all zeros, and cos/sin were a visible share of a short run.
    private func initialTarget(_ magnitude: [Float], re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>) {
        switch initialPhase {
        case .zero:
            for k in 0..<magnitude.count { re[k] = magnitude[k]; im[k] = 0 }
        case .random(let seed):
            var rng = SplitMix64(seed: seed)
            for k in 0..<magnitude.count {
                let phase = 2 * Double.pi * rng.nextUnitDouble()
                let mag = magnitude[k]
                if mag == 0 {
                    re[k] = 0; im[k] = 0
                } else {
                    re[k] = mag * Float(cos(phase))
                    im[k] = mag * Float(sin(phase))
                }
            }
        }
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

