// OnsetDensity.swift — how busy a window of music is: its onsets (drum strokes and note attacks,
// `DSP.Onsets`, librosa's detector) per second, as a prior with `onset_density` reads it at every
// step. The prior's card measured why it is here: the priors' pieces held 9–30% fewer onsets than
// real clips of the same genres (blues, country and march most), and ran more harmonic than real
// for it. Training reads each window's own density, counted on the corpus audio; a piece asked for
// without one draws a density per piece between the quantiles of its genre's training windows
// (`PriorConfig.genreOnsetDensity`), as the bar grid and the band are drawn.
import DSP
import Engine
import Foundation
import Requests

public enum OnsetDensity {
    /// Bins of `binWidth` onsets per second from 0 up to `maxPerSecond` (where the requests' range
    /// ends: 16 bins); a density at or above it reads the last.
    public static let binWidth = 0.5
    public static var maxPerSecond: Double { MusicRequest.onsetDensityRange.upperBound }
    public static var bins: Int { Int((maxPerSecond / binWidth).rounded()) }
    /// Embedding rows: the bins and "no density".
    public static var rows: Int { bins + 1 }
    /// Quantiles kept per genre (0 %, 10 %, …, 100 %).
    public static let quantileCount = 11

    /// The embedding row of a density; the last row for nil ("no density").
    public static func row(_ density: Double?) -> Int {
        guard let d = density, d.isFinite else { return bins }
        return min(bins - 1, max(0, Int(d / binWidth)))
    }

    /// Onsets per second of `onsets` (seconds, sorted) in [start, end).
    public static func density(_ onsets: [Double], from start: Double, to end: Double) -> Double {
        guard end > start else { return 0 }
        var lo = 0, hi = onsets.count
        while lo < hi { let m = (lo + hi) / 2; if onsets[m] < start { lo = m + 1 } else { hi = m } }
        var n = 0, i = lo
        while i < onsets.count && onsets[i] < end { n += 1; i += 1 }
        return Double(n) / (end - start)
    }

    /// The onset times of a clip's audio, in seconds from its start.
    public static func onsets(_ samples: [Float], sampleRate: Int) -> [Double] {
        let mel = sampleRate == MelConfig.standard.sampleRate ? MelFilterbank.standard
            : MelFilterbank(config: MelConfig(sampleRate: sampleRate))
        return Onsets.times(samples, mel: mel)
    }

    /// `quantileCount` evenly spaced quantiles of `values` (linear between order statistics), rounded
    /// to 0.01 and kept within 0…maxPerSecond; nil for no values.
    public static func quantiles(_ values: [Double]) -> [Double]? {
        let v = values.filter(\.isFinite).sorted()
        guard !v.isEmpty else { return nil }
        return (0..<quantileCount).map { i in
            let q = interpolated(v, at: Double(i) / Double(quantileCount - 1))
            return min(maxPerSecond, max(0, (q * 100).rounded() / 100))
        }
    }

    /// A density drawn between the quantiles `q` (uniform in quantile, linear between them).
    public static func draw(_ q: [Double], rng: inout RNG) -> Double {
        interpolated(q, at: Double(rng.uniform()))
    }

    /// The value a fraction `u` (0…1) of the way along the sorted `v`, linear between its entries
    /// (0 for no entries).
    static func interpolated(_ v: [Double], at u: Double) -> Double {
        guard v.count > 1 else { return v.first ?? 0 }
        let x = u * Double(v.count - 1), j = min(v.count - 2, Int(x.rounded(.down)))
        return v[j] + (x - Double(j)) * (v[j + 1] - v[j])
    }
}
