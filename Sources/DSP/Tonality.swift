// Tonality.swift — whether the notes survive a codec: chroma similarity and spectral flatness of a
// decoded signal against its reference. The codec trainer's held-out yardstick and the tests' bound;
// the independent measure stays ../shared/eval/music_fidelity.py (librosa's CQT chroma).
//
// Chroma here: |STFT| with n_fft 4096 (5.4 Hz bins at 22050 Hz), bins between 65 Hz (C2) and 5 kHz
// folded into 12 pitch classes by their nearest equal-tempered pitch (A4 = 440 Hz), one vector
// per hop-1024 frame. Frames quieter than 5% of the reference's loudest RMS frame are skipped, as
// music_fidelity.py does.
import Foundation

public struct TonalityScore: Equatable {
    /// Mean per-frame cosine similarity of the 12-bin chroma, reference vs test (1 = same pitch classes).
    public var chroma: Float
    /// Mean spectral flatness below 4 kHz of the test over that of the reference (1 = as tonal).
    public var flatnessRatio: Float
}

public enum Tonality {
    static let stft = STFT(nFFT: 4096, winLength: 4096, hop: 1024, center: true)

    /// Pitch class (0 = C) of each bin in the chroma's range, −1 outside it.
    static func pitchClasses(sampleRate: Int) -> [Int] {
        (0..<stft.bins).map { k in
            let f = Double(k) * Double(sampleRate) / Double(stft.config.nFFT)
            guard f >= 65, f <= 5000 else { return -1 }
            let midi = Int((69 + 12 * Foundation.log2(f / 440)).rounded())
            return ((midi % 12) + 12) % 12
        }
    }

    /// Chroma similarity and flatness ratio of `test` against `reference` (same rate, cut to the shorter).
    public static func score(reference: [Float], test: [Float], sampleRate: Int = 22050) -> TonalityScore {
        let n = min(reference.count, test.count)
        let a = stft.magnitude(Array(reference.prefix(n))), b = stft.magnitude(Array(test.prefix(n)))   // (T, F)
        let f = stft.bins, frames = a.count / f
        let classes = pitchClasses(sampleRate: sampleRate)
        let flatTop = Int(4000 / (Double(sampleRate) / Double(stft.config.nFFT)))
        // Loudness per frame, from the reference's magnitudes (Parseval up to a constant).
        let energy = (0..<frames).map { t in (0..<f).reduce(Float(0)) { $0 + a[t * f + $1] * a[t * f + $1] }.squareRoot() }
        let loudest = energy.max() ?? 0
        var cos: Double = 0, flatA: Double = 0, flatB: Double = 0, live = 0
        for t in 0..<frames where energy[t] > 0.05 * loudest && loudest > 0 {
            var ca = [Double](repeating: 0, count: 12), cb = ca
            for k in 0..<f where classes[k] >= 0 {
                ca[classes[k]] += Double(a[t * f + k]); cb[classes[k]] += Double(b[t * f + k])
            }
            let dot = zip(ca, cb).reduce(0) { $0 + $1.0 * $1.1 }
            let na = ca.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = cb.reduce(0) { $0 + $1 * $1 }.squareRoot()
            cos += dot / (na * nb + 1e-9)
            flatA += flatness(a, frame: t, bins: f, top: flatTop)
            flatB += flatness(b, frame: t, bins: f, top: flatTop)
            live += 1
        }
        guard live > 0 else { return TonalityScore(chroma: 1, flatnessRatio: 1) }
        return TonalityScore(chroma: Float(cos / Double(live)), flatnessRatio: Float(flatB / max(flatA, 1e-12)))
    }

    /// Geometric over arithmetic mean of the power spectrum, bins 1..<top of one frame.
    static func flatness(_ m: [Float], frame t: Int, bins f: Int, top: Int) -> Double {
        var logSum: Double = 0, sum: Double = 0
        for k in 1..<top {
            let p = Double(m[t * f + k]) * Double(m[t * f + k]) + 1e-10
            logSum += Foundation.log(p); sum += p
        }
        let count = Double(top - 1)
        return Foundation.exp(logSum / count) / (sum / count)
    }
}
