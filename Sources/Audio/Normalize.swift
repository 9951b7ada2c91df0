// Normalize: peak measurement and peak normalisation in dBFS (0 dBFS = full scale, |x| = 1).

import Foundation

public enum Normalize {
    /// The largest absolute sample value; 0 for empty input. NaN samples are skipped.
    public static func peak(_ samples: [Float]) -> Float {
        var p: Float = 0
        for x in samples where abs(x) > p { p = abs(x) }
        return p
    }

    /// Scales the samples so their peak sits at `dBFS` (default -1 dBFS leaves headroom so a
    /// lossy encoder or a resampler's overshoot does not clip). Silent input stays silent,
    /// because there is no gain that lifts zeros to a peak.
    public static func toPeak(_ samples: [Float], dBFS: Float = -1) -> [Float] {
        let p = peak(samples)
        guard p > 0 else { return samples }
        let target = Float(pow(10, Double(dBFS) / 20))
        let gain = target / p
        return samples.map { $0 * gain }
    }
}
