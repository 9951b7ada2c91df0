// Loudness.swift — ITU-R BS.1770 / EBU R128 loudness (LoudnessMeter.swift, held to libebur128), and
// the output stage every command shares: normalise to a target integrated loudness (−16 LUFS by
// default, as podcast and streaming platforms ask) under a true-peak ceiling (−1 dBTP), then an
// optional volume factor.
//
// A gain that would push the true peak over the ceiling is kept, and the peaks are brought under
// it by a look-ahead limiter (a gain curve that is the running minimum of each sample's allowed
// gain over ±5 ms, smoothed by a moving average of half that width: every averaged value is at
// most the allowed gain of the sample it scales, so no sample exceeds the ceiling, and the curve
// has no steps that would click). Inter-sample peaks are then checked with the meter's 4×
// oversampled true peak; where they overshoot, the limiter runs again with a lower ceiling (and a
// static gain removes what three tries leave).
import Foundation

public struct LoudnessMeasurement: Equatable {
    /// Integrated loudness in LUFS (gated, BS.1770-4); nil when the signal is too short (under
    /// 400 ms) or too quiet (below the −70 LUFS absolute gate) to have one.
    public var integrated: Double?
    /// True peak in dBTP (4× oversampled); −∞ for digital silence.
    public var truePeak: Double
}

public enum Loudness {
    /// The target of every output unless --loudness says otherwise.
    public static let defaultTarget = -16.0
    /// The true-peak ceiling of normalised output, dBTP.
    public static let truePeakCeiling = -1.0
    /// Targets a user may ask for.
    public static let targetRange = -70.0 ... -5.0

    /// Integrated loudness and true peak (the largest of any channel) of interleaved samples.
    public static func measure(_ samples: [Float], sampleRate: Int, channels: Int = 1) throws -> LoudnessMeasurement {
        // (Under 16 Hz a 100 ms step would be a sample or none; libebur128 refused those rates too.)
        guard sampleRate >= 16 && sampleRate <= 2_822_400 else { throw AudioError.invalidSampleRate(rate: sampleRate) }
        guard (1...64).contains(channels) else {
            throw AudioError.invalidBuffer(context: "loudness", problem: "\(channels) channels", fix: "downmix to at most 64 channels")
        }
        var meter = LoudnessMeter(sampleRate: sampleRate, channels: channels)
        // In blocks, so a long piece never needs a second copy.
        let block = 1 << 16
        let frames = samples.count / channels
        samples.withUnsafeBufferPointer { p in
            var start = 0
            while start < frames {
                let n = min(block, frames - start)
                meter.add(p.baseAddress! + start * channels, frames: n)
                start += n
            }
        }
        return measurement(of: meter)
    }

    /// What `meter` read: the integrated loudness where there is one, and the true peak in dBTP.
    static func measurement(of meter: LoudnessMeter) -> LoudnessMeasurement {
        let (lufs, peak) = meter.result
        return LoudnessMeasurement(integrated: lufs.flatMap { $0.isFinite && $0 > -70 ? $0 : nil },
                                   truePeak: peak > 0 ? 20 * log10(Double(peak)) : -Double.infinity)
    }

    /// `samples` brought to `target` LUFS integrated, true peak at most `ceiling` dBTP. Audio
    /// without an integrated loudness (silence, under 400 ms) is only kept under the ceiling.
    public static func normalize(_ samples: [Float], sampleRate: Int, channels: Int = 1, target: Double = defaultTarget,
                                 ceiling: Double = truePeakCeiling) throws -> [Float] {
        var m = try measure(samples, sampleRate: sampleRate, channels: channels)
        // Under one 400 ms gating block ("Hi." streamed alone) there is no integrated loudness:
        // the sound repeated to 1 s has the loudness of the sound itself.
        let second = sampleRate * channels
        if m.integrated == nil, samples.count >= channels, samples.count < second {
            var tiled: [Float] = []
            tiled.reserveCapacity(second + samples.count)
            while tiled.count < second { tiled += samples }
            m.integrated = try measure(tiled, sampleRate: sampleRate, channels: channels).integrated
        }
        guard let measured = m.integrated else { return try limited(samples, sampleRate: sampleRate, channels: channels, ceiling: ceiling) }
        // Limiting the peaks lowers the loudness a little (by several LU for music lifted 10 dB):
        // the gain is raised by what was lost and the original limited again, until within 0.1 LU.
        // A gain moves the true peak by as many dB, so the scaled audio needs no measuring before
        // the limiter; the limiter's own measurement of its output, when it took one, is reused.
        var gainDB = target - measured
        var out = samples
        for _ in 0..<4 {
            let pass = try limit(scaled(samples, Float(pow(10, gainDB / 20))), sampleRate: sampleRate, channels: channels,
                                 ceiling: ceiling, truePeak: m.truePeak + gainDB)
            out = pass.samples
            // Unlimited, the audio is the original times the gain: its loudness is the target (up to
            // blocks crossing the −70 LUFS absolute gate, 50 dB under any speech or music).
            if !pass.changed { break }
            let after = try pass.measured ?? measure(out, sampleRate: sampleRate, channels: channels)
            guard let now = after.integrated, abs(now - target) > 0.1 else { break }
            gainDB += target - now
        }
        return out
    }

    /// The output stage of every command: `target` LUFS (nil: left as made), then `volume`
    /// (a factor; 1 leaves it). A volume above 1 after normalisation is limited again.
    public static func apply(_ samples: [Float], sampleRate: Int, channels: Int = 1, target: Double?, volume: Float = 1) throws -> [Float] {
        var out = samples
        if let target { out = try normalize(out, sampleRate: sampleRate, channels: channels, target: target) }
        if volume != 1 {
            out = scaled(out, volume)
            if volume > 1 { out = try limited(out, sampleRate: sampleRate, channels: channels, ceiling: truePeakCeiling) }
        }
        return out
    }

    static func scaled(_ x: [Float], _ g: Float) -> [Float] { g == 1 ? x : x.map { $0 * g } }

    /// Peaks brought under `ceiling` dBTP by the look-ahead limiter, then by a static gain for
    /// what inter-sample peaks still exceed. Audio already under the ceiling is returned as is.
    public static func limited(_ samples: [Float], sampleRate: Int, channels: Int = 1, ceiling: Double) throws -> [Float] {
        try limit(samples, sampleRate: sampleRate, channels: channels, ceiling: ceiling, truePeak: nil).samples
    }

    /// `limited`, given the input's true peak when the caller knows it, and returning the
    /// measurement of the output when one was taken (nil: not measured) and whether it changed anything.
    static func limit(_ samples: [Float], sampleRate: Int, channels: Int, ceiling: Double,
                      truePeak: Double?) throws -> (samples: [Float], measured: LoudnessMeasurement?, changed: Bool) {
        var first: LoudnessMeasurement? = nil
        if truePeak == nil { first = try measure(samples, sampleRate: sampleRate, channels: channels) }
        let before = truePeak ?? first!.truePeak
        guard before > ceiling else { return (samples, first, false) }
        // Sample peaks at 0.5 dB under the ceiling leave room for the reconstructed waveform; where
        // its inter-sample peaks still overshoot (a hard edge), the margin grows by the overshoot.
        var margin = 0.5, out = samples, after = before
        for _ in 0..<3 {
            out = lookAheadLimit(samples, channels: channels, ceiling: Float(pow(10, (ceiling - margin) / 20)), halfWidth: max(1, sampleRate / 200))
            let m = try measure(out, sampleRate: sampleRate, channels: channels)
            after = m.truePeak
            if after <= ceiling { return (out, m, true) }
            margin += after - ceiling + 0.1
        }
        return (scaled(out, Float(pow(10, (ceiling - after) / 20))), nil, true)
    }

    /// Each frame scaled by the moving average (width `halfWidth` + 1) of the running minimum
    /// (width 2·`halfWidth` + 1) of the frames' gains min(1, ceiling/peak of the frame's
    /// channels): |x·g| ≤ ceiling everywhere, every channel of a frame scaled alike.
    static func lookAheadLimit(_ x: [Float], channels: Int = 1, ceiling: Float, halfWidth l: Int) -> [Float] {
        let n = x.count / channels
        guard n > 0 else { return x }
        var out: [Float] = []
        out.reserveCapacity(x.count)
        limitBlocks(frames: n, channels: channels, ceiling: ceiling, halfWidth: l,
                    read: { Array(x[($0 * channels)..<(($0 + $1) * channels)]) }) { out += $0 }
        return out + x[(n * channels)...]   // (a partial last frame, as it was)
    }

    /// `lookAheadLimit` of `frames` frames read on demand, handed to `emit` in blocks of
    /// `SampleSource.block` frames: a block reads the allowed gains of its frames' windows around it,
    /// and the running sums of the moving average go on from block to block, so every value is the
    /// whole signal's. The one limiter, for audio in memory and spilled alike (`LevelledOutput`).
    static func limitBlocks(frames n: Int, channels: Int, ceiling: Float, halfWidth l: Int,
                            read: (Int, Int) throws -> [Float], emit: ([Float]) throws -> Void) rethrows {
        let h = l / 2
        var carry = 0.0   // the running sum of the minima before the block's first average
        var s = 0
        while s < n {
            let e = min(n, s + SampleSource.block)
            let ja = max(0, s - h), jb = min(n, e + h)          // the minima the block's averages read
            let aa = max(0, ja - l), ab = min(n, jb + l)        // the allowed gains those minima read
            let frames = try read(aa, ab - aa)
            let allowed = (0..<(ab - aa)).map { f -> Float in
                var p: Float = 0
                for c in 0..<channels { p = max(p, abs(frames[f * channels + c])) }
                return p > ceiling ? ceiling / p : 1
            }
            // The running minimum over [j − l, j + l] for j in [ja, jb), a monotonic deque.
            var minimum = [Float](repeating: 1, count: jb - ja)
            var deque = [Int](repeating: 0, count: ab - aa), head = 0, tail = 0
            var next = aa
            for j in ja..<jb {
                while next < n && next <= j + l {
                    while tail > head && allowed[deque[tail - 1] - aa] >= allowed[next - aa] { tail -= 1 }
                    deque[tail] = next; tail += 1; next += 1
                }
                while deque[head] < j - l { head += 1 }
                minimum[j - ja] = allowed[deque[head] - aa]
            }
            // Moving average over [i − h, i + h], h = l/2: every term is a minimum over a window
            // that holds i, so the average is at most allowed[i].
            var prefix = [Double](repeating: 0, count: jb - ja + 1)
            prefix[0] = carry
            for k in 0..<(jb - ja) { prefix[k + 1] = prefix[k] + Double(minimum[k]) }
            var out = [Float](repeating: 0, count: (e - s) * channels)
            for i in s..<e {
                let a = max(0, i - h), b = min(n, i + h + 1)
                let g = min(Float((prefix[b - ja] - prefix[a - ja]) / Double(b - a)), allowed[i - aa])
                for c in 0..<channels { out[(i - s) * channels + c] = frames[(i - aa) * channels + c] * g }
            }
            carry = prefix[max(0, e - h) - ja]
            try emit(out)
            s = e
        }
    }
}
