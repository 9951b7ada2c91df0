// Pitch.swift — fundamental frequency per frame with YIN (de Cheveigné & Kawahara 2002, steps 1–5):
// difference function, cumulative-mean normalisation, absolute threshold, parabolic interpolation.
// FastSpeech 2's variance adaptor predicts this contour (averaged per phone) from the phonemes.
import Foundation

public enum PitchTracker {
    /// F0 in Hz for frames centred at `i · hopSeconds` (i in 0..<frames); 0 marks unvoiced frames.
    /// The analysis window spans two periods of `fMin`. `fromLagOne` normalises the difference
    /// function by its mean over every lag from 1, as YIN's step 3 does (de Cheveigné & Kawahara
    /// eq. 8); without it (FastSpeech's pitch targets, unchanged) the mean starts at the shortest
    /// lag searched. On gen's own speech the two gave the same voicing and f0 (a port of both in
    /// numpy against pYIN: models/vocoder/MODEL_CARD.md, the source phase).
    public static func yin(_ x: [Float], sampleRate: Int, hopSeconds: Double, frames: Int,
                           fMin: Double = 60, fMax: Double = 500, threshold: Float = 0.15, fromLagOne: Bool = false) -> [Float] {
        let sr = Double(sampleRate)
        let maxLag = Int(sr / fMin), searchLag = max(2, Int(sr / fMax)), minLag = fromLagOne ? 1 : searchLag
        let window = maxLag  // difference sums over `window` samples at each lag
        var f0 = [Float](repeating: 0, count: frames)
        let n = x.count
        let workers = max(1, min(DSPParallelism.maxWidth, frames))
        f0.withUnsafeMutableBufferPointer { out in
        DSPParallelism.forEach(workers) { worker in
            var d = [Float](repeating: 0, count: maxLag + 1)
            var i = worker
            while i < frames {
                defer { i += workers }
                let centre = Int((Double(i) * hopSeconds * sr).rounded())
                let start = centre - (window + maxLag) / 2
                if start < 0 || start + window + maxLag >= n { continue }
                // step 2: difference function d(τ) = Σ (x_j − x_{j+τ})²
                var energy: Float = 0
                x.withUnsafeBufferPointer { xp in
                    let base = xp.baseAddress! + start
                    for j in 0..<window { energy += base[j] * base[j] }
                    for tau in minLag...maxLag {
                        var s: Float = 0
                        for j in 0..<window { let diff = base[j] - base[j + tau]; s += diff * diff }
                        d[tau] = s
                    }
                }
                if energy < 1e-6 * Float(window) { continue }  // silence
                // step 3: cumulative mean normalised difference d'(τ) = d(τ) · τ / Σ_{1..τ} d
                // (the sum starts at minLag: 1 with fromLagOne, else the shortest lag searched)
                var running: Float = 0
                var best = -1
                for tau in minLag...maxLag {
                    running += d[tau]
                    d[tau] = running > 0 ? d[tau] * Float(tau - minLag + 1) / running : 1
                }
                // step 4: first dip below the threshold, followed to its local minimum
                var tau = searchLag + 1
                while tau < maxLag {
                    if d[tau] < threshold {
                        while tau + 1 < maxLag && d[tau + 1] < d[tau] { tau += 1 }
                        best = tau
                        break
                    }
                    tau += 1
                }
                if best < 0 { continue }
                // step 5: parabolic interpolation around the minimum
                let a = d[best - 1], b = d[best], c = d[best + 1]
                let denom = a - 2 * b + c
                let shift = denom != 0 ? 0.5 * (a - c) / denom : 0
                out[i] = Float(sr / (Double(best) + Double(max(-1, min(1, shift)))))
            }
        }
        }
        return f0
    }
}
