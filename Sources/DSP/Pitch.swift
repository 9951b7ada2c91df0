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
    /// `known`, when given, is this tracker's contour of `x` with the same settings at another hop: a
    /// frame centred where one of its frames is centred takes that frame's f0 (a frame's f0 depends
    /// only on its centre), and only the others are computed.
    public static func yin(_ x: [Float], sampleRate: Int, hopSeconds: Double, frames: Int,
                           fMin: Double = 60, fMax: Double = 500, threshold: Float = 0.15, fromLagOne: Bool = false,
                           known: (contour: [Float], hopSeconds: Double)? = nil) -> [Float] {
        let sr = Double(sampleRate)
        let maxLag = Int(sr / fMin), searchLag = max(2, Int(sr / fMax)), minLag = fromLagOne ? 1 : searchLag
        let window = maxLag  // difference sums over `window` samples at each lag
        func centre(_ i: Int, _ hopSeconds: Double) -> Int { Int((Double(i) * hopSeconds * sr).rounded()) }
        var f0 = [Float](repeating: 0, count: frames)
        var todo = [Int]()
        for i in 0..<frames {
            if let (contour, knownHop) = known, knownHop > 0 {
                let c = centre(i, hopSeconds), j = Int((Double(c) / (knownHop * sr)).rounded())
                if j < contour.count && centre(j, knownHop) == c { f0[i] = contour[j]; continue }
            }
            todo.append(i)
        }
        let n = x.count
        let workers = max(1, min(DSPParallelism.maxWidth, todo.count))
        f0.withUnsafeMutableBufferPointer { out in
        DSPParallelism.forEach(workers) { worker in
            var d = [Float](repeating: 0, count: maxLag + 1)
            var difference = DifferenceFunction(window: window, maxLag: maxLag)
            for k in stride(from: worker, to: todo.count, by: workers) {
                let i = todo[k]
                let start = centre(i, hopSeconds) - (window + maxLag) / 2
                if start < 0 || start + window + maxLag >= n { continue }
                // step 2: difference function d(τ) = Σ (x_j − x_{j+τ})²
                let silence = 1e-6 * Float(window)
                let energy = x.withUnsafeBufferPointer { difference.compute($0.baseAddress! + start, minLag: minLag, into: &d, silence: silence) }
                if energy < silence { continue }
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

/// YIN's difference function d(τ) = Σ_{j<window} (x_j − x_{j+τ})² for τ up to `maxLag`, computed as
/// e(0) + e(τ) − 2 r(τ): the energies e(τ) = Σ_{j<window} x²_{j+τ} from running sums, the cross term
/// r(τ) = Σ_{j<window} x_j x_{j+τ} as one FFT correlation of the window (zero-padded, so nothing
/// wraps) with the window + maxLag samples it is compared with: three FFTs of the next power of two
/// above window + maxLag in place of window · maxLag products. Measured on `gen speech` with the
/// vocoder's source phase (63 s of speech, one thread): YIN went from 31% of the run's samples to
/// under 2%, the run from 3.1 to 2.0 s. Scratch is kept between calls: one per thread.
struct DifferenceFunction {
    let window: Int, maxLag: Int
    private let plan: FFTPlan
    private var head: [Float], span: [Float], correlation: [Float]
    private var headRe: [Float], headIm: [Float], spanRe: [Float], spanIm: [Float]
    private var power: [Double]       // power[m] = Σ_{j<m} x²_j

    init(window: Int, maxLag: Int) {
        self.window = window; self.maxLag = maxLag
        var size = 1
        while size < window + maxLag { size *= 2 }
        plan = FFTPlan.shared(n: max(size, 2))
        head = [Float](repeating: 0, count: plan.n); span = head; correlation = head
        headRe = [Float](repeating: 0, count: plan.realBins); headIm = headRe; spanRe = headRe; spanIm = headRe
        power = [Double](repeating: 0, count: window + maxLag + 1)
    }

    /// Writes d(τ) for τ in minLag...maxLag into `d` (maxLag + 1 values) from the window + maxLag
    /// samples at `x`; returns the window's energy e(0). d is left untouched where e(0) is 0 or
    /// below `silence` (a window the caller skips: its FFTs are not spent).
    mutating func compute(_ x: UnsafePointer<Float>, minLag: Int, into d: inout [Float], silence: Float = 0) -> Float {
        let total = window + maxLag, bins = plan.realBins
        for j in 0..<total { power[j + 1] = power[j] + Double(x[j]) * Double(x[j]) }
        guard power[window] > 0, Float(power[window]) >= silence else { return Float(power[window]) }
        for j in 0..<plan.n { span[j] = j < total ? x[j] : 0; head[j] = j < window ? x[j] : 0 }
        Self.transform(plan, head, &headRe, &headIm)
        Self.transform(plan, span, &spanRe, &spanIm)
        for k in 0..<bins {     // conj(head) · span: the correlation's spectrum
            let re = headRe[k] * spanRe[k] + headIm[k] * spanIm[k], im = headRe[k] * spanIm[k] - headIm[k] * spanRe[k]
            headRe[k] = re; headIm[k] = im
        }
        headRe.withUnsafeMutableBufferPointer { re in
            headIm.withUnsafeMutableBufferPointer { im in
                correlation.withUnsafeMutableBufferPointer { plan.irfft(re: re, im: im, output: $0) }
            }
        }
        for tau in minLag...maxLag {
            let e = power[window] + (power[tau + window] - power[tau])
            d[tau] = Float(max(0, e - 2 * Double(correlation[tau])))
        }
        return Float(power[window])
    }

    private static func transform(_ plan: FFTPlan, _ x: [Float], _ re: inout [Float], _ im: inout [Float]) {
        x.withUnsafeBufferPointer { xp in
            re.withUnsafeMutableBufferPointer { r in im.withUnsafeMutableBufferPointer { plan.rfft(xp, re: r, im: $0) } }
        }
    }
}
