// Mel.swift: mel filterbank and log-mel features.
// The filterbank is librosa.filters.mel with its defaults (htk=False, norm="slaney"): the Slaney
// mel scale from Malcolm Slaney's Auditory Toolbox (1998), linear at 200/3 Hz per mel below
// 1 kHz and logarithmic above, with triangles scaled to equal area (2 / bandwidth). HiFi-GAN
// (Kong et al. 2020) and FastSpeech 2 (Ren et al. 2021) build their mels this way, and take
// log(max(mel, 1e-5)) of a magnitude (not power) spectrogram, which `logMel` reproduces.
//
// Letters: T frames, F = nFFT/2 + 1 linear bins, M mel bands.

import Foundation

/// The project's one fixed mel setting, plus what else a mel needs to know about its STFT.
public struct MelConfig: Sendable, Equatable {
    public var sampleRate: Int
    public var nFFT: Int
    public var winLength: Int
    public var hop: Int
    public var nMels: Int
    public var fMin: Double
    public var fMax: Double

    public init(sampleRate: Int = 22050, nFFT: Int = 1024, winLength: Int = 1024, hop: Int = 256,
                nMels: Int = 80, fMin: Double = 0, fMax: Double = 8000) {
        self.sampleRate = sampleRate
        self.nFFT = nFFT
        self.winLength = winLength
        self.hop = hop
        self.nMels = nMels
        self.fMin = fMin
        self.fMax = fMax
    }

    /// 22050 Hz, n_fft 1024, window 1024, hop 256, 80 mels, 0–8000 Hz (DESIGN.md "Fixed choices").
    public static let standard = MelConfig()

    public var stft: STFTConfig { STFTConfig(nFFT: nFFT, winLength: winLength, hop: hop, center: true) }
}

public struct MelFilterbank: Sendable {
    public let config: MelConfig
    public let bins: Int
    /// Triangular filters, shape (M, F), Slaney area-normalised.
    public let weights: [Float]   // (M, F)
    /// Each filter's non-zero bins, so `apply` skips the zeros (a filter spans a few percent of F).
    let support: [Range<Int>]     // (M)
    /// Band edges and centres in Hz: hzPoints[m + 1] is the centre of band m.
    public let hzPoints: [Double] // (M + 2)
    /// Largest eigenvalue of Wᵀ W: the step size 1/λ keeps the projected gradient in pseudoInverse stable.
    let lipschitz: Float
    let stft: STFT

    public var nMels: Int { config.nMels }
    public var sampleRate: Int { config.sampleRate }

    /// The filterbank of `MelConfig.standard`, built once per process and shared by every user of
    /// that config (vocoders, the mel projection, copy synthesis, corpus features).
    public static let standard = MelFilterbank(config: .standard)

    public init(config: MelConfig = .standard) {
        precondition(config.nMels >= 1, "MelFilterbank: nMels=\(config.nMels) must be at least 1")
        precondition(config.fMin >= 0 && config.fMax > config.fMin && config.fMax <= Double(config.sampleRate) / 2,
                     "MelFilterbank: need 0 <= fMin < fMax <= sampleRate/2, got fMin=\(config.fMin) fMax=\(config.fMax) at \(config.sampleRate) Hz")
        self.config = config
        let nb = config.nFFT / 2 + 1
        let nm = config.nMels
        self.bins = nb

        // Band edges equally spaced in mel, from fMin to fMax, nMels + 2 points.
        let lo = MelFilterbank.hzToMel(config.fMin), hi = MelFilterbank.hzToMel(config.fMax)
        var points = [Double](repeating: 0, count: nm + 2)
        for i in 0..<(nm + 2) { points[i] = MelFilterbank.melToHz(lo + (hi - lo) * Double(i) / Double(nm + 1)) }
        self.hzPoints = points

        var w = [Float](repeating: 0, count: nm * nb)   // (M, F)
        var support = [Range<Int>](repeating: 0..<0, count: nm)
        for m in 0..<nm {
            let left = points[m], centre = points[m + 1], right = points[m + 2]
            let areaNorm = 2 / (right - left)
            var first = nb, last = -1
            for f in 0..<nb {
                let hz = Double(f) * Double(config.sampleRate) / Double(config.nFFT)
                let rising = (hz - left) / (centre - left)
                let falling = (right - hz) / (right - centre)
                let v = max(0, min(rising, falling)) * areaNorm
                if v > 0 {
                    w[m * nb + f] = Float(v)
                    first = min(first, f); last = max(last, f)
                }
            }
            support[m] = last >= first ? first..<(last + 1) : 0..<0
        }
        self.weights = w
        self.support = support
        self.lipschitz = MelFilterbank.largestEigenvalue(weights: w, support: support, bins: nb)
        self.stft = STFT(config: config.stft)
    }

    public init(sampleRate: Int = 22050, nFFT: Int = 1024, nMels: Int = 80, fMin: Double = 0, fMax: Double = 8000) {
        self.init(config: MelConfig(sampleRate: sampleRate, nFFT: nFFT, winLength: nFFT, hop: nFFT / 4,
                                    nMels: nMels, fMin: fMin, fMax: fMax))
    }

    // MARK: mel scale (Slaney)

    static let slaneyLinearHzPerMel = 200.0 / 3
    static let slaneyBreakHz = 1000.0
    static let slaneyBreakMel = 15.0                 // 1000 / (200/3)
    static let slaneyLogStep = log(6.4) / 27         // 27 mel steps per factor 6.4 in frequency

    public static func hzToMel(_ hz: Double) -> Double {
        hz < slaneyBreakHz
            ? hz / slaneyLinearHzPerMel
            : slaneyBreakMel + log(hz / slaneyBreakHz) / slaneyLogStep
    }

    public static func melToHz(_ mel: Double) -> Double {
        mel < slaneyBreakMel
            ? mel * slaneyLinearHzPerMel
            : slaneyBreakHz * exp(slaneyLogStep * (mel - slaneyBreakMel))
    }

    // MARK: forward

    /// Mel spectrogram of a linear spectrogram: (T, F) → (T, M), mel[t, m] = Σ_f W[m, f] · S[t, f].
    public func apply(_ magnitude: [Float]) -> [Float] {
        precondition(magnitude.count % bins == 0,
                     "MelFilterbank.apply: \(magnitude.count) values is not a whole number of \(bins)-bin frames")
        let frames = magnitude.count / bins, nm = config.nMels, nb = bins
        var out = [Float](repeating: 0, count: frames * nm)   // (T, M)
        magnitude.withUnsafeBufferPointer { sp in
            weights.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    for t in 0..<frames { applyFrame(sp.baseAddress! + t * nb, weights: wp.baseAddress!, into: op.baseAddress! + t * nm) }
                }
            }
        }
        return out
    }

    /// One frame of `apply`: out[m] = Σ_f W[m, f] · magnitude[f], `weights` being `self.weights`'
    /// storage, summed over each filter's support in the order `apply` sums it.
    @inline(__always)
    func applyFrame(_ magnitude: UnsafePointer<Float>, weights: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        for m in 0..<config.nMels {
            let row = weights + m * bins
            var acc: Float = 0
            for f in support[m] { acc += row[f] * magnitude[f] }
            out[m] = acc
        }
    }

    /// Mel magnitude of audio at `config.sampleRate`: STFT magnitude through the filterbank, (T, M).
    public func melSpectrogram(audio: [Float]) -> [Float] {
        apply(stft.magnitude(audio))
    }

    /// HiFi-GAN's log-mel: ln(max(mel, 1e-5)) of the magnitude mel, shape (T, M).
    public func logMel(audio: [Float]) -> [Float] {
        melSpectrogram(audio: audio).map { log(max($0, MelFilterbank.logFloor)) }
    }

    /// The clamp below which `logMel` does not go: ln(1e-5) ≈ -11.51 is silence.
    public static let logFloor: Float = 1e-5

    // MARK: back to linear

    /// A non-negative linear magnitude (T, F) whose mel is close to `mel` (T, M), for Griffin-Lim.
    ///
    /// Start from the transpose-normalised estimate (each bin takes the average of its bands'
    /// per-unit-area levels, weighted by the filters), then take `iterations` projected-gradient
    /// steps on ½‖S Wᵀ − mel‖² subject to S ≥ 0 (a simple NNLS, as librosa's mel_to_stft solves).
    /// Bins outside [fMin, fMax] have no filter and stay 0.
    public func pseudoInverse(_ mel: [Float], iterations: Int = 20) -> [Float] {
        let nm = config.nMels, nb = bins
        precondition(mel.count % nm == 0, "MelFilterbank.pseudoInverse: \(mel.count) values is not a whole number of \(nm)-band frames")
        let frames = mel.count / nm
        var out = [Float](repeating: 0, count: frames * nb)   // (T, F)

        // Per-band area Σ_f W[m, f] and per-bin weight Σ_m W[m, f].
        var bandSum = [Float](repeating: 0, count: nm)   // (M)
        var binSum = [Float](repeating: 0, count: nb)    // (F)
        for m in 0..<nm {
            for f in support[m] {
                bandSum[m] += weights[m * nb + f]
                binSum[f] += weights[m * nb + f]
            }
        }
        let step = SIMD4<Float>(repeating: 1 / max(lipschitz, 1e-20))

        // Frames go through 4 at a time, one per SIMD lane: each lane runs exactly the per-frame
        // recurrence (same operations, same order), so the result does not depend on the grouping.
        // A last group with fewer than 4 frames runs its empty lanes on a zero target.
        let s = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: nb)          // (F) × 4 frames
        let grad = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: nb)       // (F) × 4 frames
        let target = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: nm)     // (M) × 4 frames
        let residual = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: nm)   // (M) × 4 frames
        defer { s.deallocate(); grad.deallocate(); target.deallocate(); residual.deallocate() }
        let lo = support.map { $0.lowerBound }, hi = support.map { $0.upperBound }

        mel.withUnsafeBufferPointer { mp in
            weights.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    let w = wp.baseAddress!
                    for t0 in stride(from: 0, to: frames, by: 4) {
                        let lanes = min(4, frames - t0)
                        for m in 0..<nm {
                            var v = SIMD4<Float>.zero
                            for l in 0..<lanes { v[l] = mp[(t0 + l) * nm + m] }
                            target[m] = v
                        }
                        s.update(repeating: .zero, count: nb)
                        for m in 0..<nm where bandSum[m] > 0 {
                            let level = target[m] / bandSum[m], row = w + m * nb
                            for f in lo[m]..<hi[m] { s[f] += row[f] * level }
                        }
                        for f in 0..<nb { s[f] = binSum[f] > 0 ? nonNegative(s[f] / binSum[f]) : .zero }

                        for _ in 0..<iterations {
                            for m in 0..<nm {
                                var acc = SIMD4<Float>.zero
                                let row = w + m * nb
                                for f in lo[m]..<hi[m] { acc += row[f] * s[f] }
                                residual[m] = acc - target[m]
                            }
                            grad.update(repeating: .zero, count: nb)
                            for m in 0..<nm {
                                let r = residual[m], row = w + m * nb
                                for f in lo[m]..<hi[m] { grad[f] += row[f] * r }
                            }
                            for f in 0..<nb { s[f] = nonNegative(s[f] - step * grad[f]) }
                        }
                        for l in 0..<lanes {
                            let row = op.baseAddress! + (t0 + l) * nb
                            for f in 0..<nb { row[f] = s[f][l] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// max(0, v) lane by lane, as Swift's max(0, x) treats each (NaN → 0), without the NaN
    /// handling of pointwiseMax that keeps it from vectorising.
    @inline(__always)
    private func nonNegative(_ v: SIMD4<Float>) -> SIMD4<Float> {
        SIMD4<Float>.zero.replacing(with: v, where: v .>= .zero)
    }

    /// Power iteration for the largest eigenvalue of Wᵀ W (equal to that of W Wᵀ, which is M×M and small).
    /// Only filters whose supports overlap have a nonzero product, so each row of W Wᵀ keeps just
    /// those entries (a few per band): the same sums as the dense product, whose other terms are
    /// exact zeros, in a hundredth of the time (it runs at every start of `gen speech`).
    static func largestEigenvalue(weights w: [Float], support: [Range<Int>], bins nb: Int) -> Float {
        let nm = support.count
        var rows = [[(column: Int, value: Double)]](repeating: [], count: nm)   // W Wᵀ, nonzero entries
        for a in 0..<nm {
            for b in 0..<nm {
                let lo = max(support[a].lowerBound, support[b].lowerBound)
                let hi = min(support[a].upperBound, support[b].upperBound)
                guard lo < hi else { continue }
                var acc = 0.0
                for f in lo..<hi { acc += Double(w[a * nb + f]) * Double(w[b * nb + f]) }
                if acc != 0 { rows[a].append((b, acc)) }
            }
        }
        var v = [Double](repeating: 1 / Double(nm).squareRoot(), count: nm)
        var u = [Double](repeating: 0, count: nm)
        var lambda = 0.0
        for _ in 0..<100 {
            for a in 0..<nm { u[a] = rows[a].reduce(0.0) { $0 + $1.value * v[$1.column] } }
            let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm == 0 { return 0 }
            lambda = norm
            for a in 0..<nm { v[a] = u[a] / norm }
        }
        return Float(lambda)
    }
}
