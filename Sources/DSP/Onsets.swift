// Onsets.swift — note and drum onsets of a signal, after librosa's onset_strength and onset_detect
// (Böck & Widmer 2013's spectral flux on a log-mel spectrogram, with its peak picking): the flux
// is the mean over mel bands of each band's rise in dB from one frame to the next, and an onset
// is a frame whose flux is the largest of the 30 ms before it, rises `delta` above the mean of
// the 100 ms around it (on the envelope scaled to 0…1) and comes at least 30 ms after the last.
// The music prior's onset density (drum strokes and note attacks per second) is counted with it.

import Foundation

public enum Onsets {
    /// The spectral-flux envelope, one value per frame of `mel`'s hop (frame t centred on sample t·hop);
    /// 0 within half a window of either end.
    public static func strength(_ samples: [Float], mel: MelFilterbank = .standard) -> [Float] {
        guard samples.count >= 2 else { return [] }
        let magnitude = mel.stft.magnitude(samples)
        let bins = mel.config.stft.bins, frames = magnitude.count / bins
        guard frames >= 2 else { return [Float](repeating: 0, count: frames) }
        var power = magnitude
        for i in power.indices { power[i] *= power[i] }
        let m = mel.apply(power), bands = mel.nMels
        // dB against the loudest band-frame, floored 80 dB below it (librosa's power_to_db, top_db 80).
        let top = m.max() ?? 0
        guard top > 0 else { return [Float](repeating: 0, count: frames) }
        let floor = 10 * log10(top) - 80
        let db = m.map { max(10 * log10(max($0, 1e-10)), floor) }
        var flux = [Float](repeating: 0, count: frames)
        // Only frames whose window, and the previous frame's, lie inside the signal: the centred
        // STFT's reflected padding makes a rise at both ends that no note played (a steady tone
        // would get an onset in its last frame).
        let n = mel.config.stft.nFFT, hop = mel.config.hop
        for t in 1..<frames where (t - 1) * hop >= n / 2 && t * hop + n / 2 <= samples.count {
            var s: Float = 0
            for b in 0..<bands { s += max(0, db[t * bands + b] - db[(t - 1) * bands + b]) }
            flux[t] = s / Float(bands)
        }
        return flux
    }

    /// Onset times in seconds (librosa's onset_detect defaults, scaled to this hop). A peak must also
    /// rise by `minimumRise` dB averaged over the bands: the envelope is scaled by its own maximum,
    /// and a signal without any attack (a steady tone) would otherwise have its rounding noise scaled up
    /// into onsets.
    public static func times(_ samples: [Float], mel: MelFilterbank = .standard, delta: Float = 0.07,
                             minimumRise: Float = 0.5) -> [Double] {
        let env = strength(samples, mel: mel)
        let frameSeconds = Double(mel.config.hop) / Double(mel.sampleRate)
        return peaks(env, frameSeconds: frameSeconds, delta: delta).filter { env[$0] >= minimumRise }.map { Double($0) * frameSeconds }
    }

    /// Frames of `envelope` that are onsets: the envelope scaled to 0…1, a frame is an onset when it is
    /// the maximum of the 30 ms up to it, at least `delta` above the mean of the 100 ms on each side,
    /// and 30 ms or more after the previous onset.
    public static func peaks(_ envelope: [Float], frameSeconds: Double, delta: Float = 0.07) -> [Int] {
        guard let lo = envelope.min(), let hi = envelope.max(), hi > lo else { return [] }
        let env = envelope.map { ($0 - lo) / (hi - lo) }
        func frames(_ seconds: Double) -> Int { Int((seconds / frameSeconds).rounded()) }
        let preMax = frames(0.03), preAvg = frames(0.1), postAvg = frames(0.1) + 1, wait = frames(0.03)
        // Prefix sums for the running mean.
        var prefix = [Double](repeating: 0, count: env.count + 1)
        for (i, e) in env.enumerated() { prefix[i + 1] = prefix[i] + Double(e) }
        var out: [Int] = [], last = -Int.max / 2
        for t in env.indices {
            let a = max(0, t - preMax)
            guard env[a...t].max() == env[t] else { continue }
            let lo = max(0, t - preAvg), hi = min(env.count, t + postAvg)
            let mean = (prefix[hi] - prefix[lo]) / Double(hi - lo)
            guard Double(env[t]) >= mean + Double(delta), t - last > wait else { continue }
            out.append(t); last = t
        }
        return out
    }
}
