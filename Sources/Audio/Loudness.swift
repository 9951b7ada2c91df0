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
        try checkFormat(sampleRate: sampleRate, channels: channels)
        return try measure(SampleSource(samples, channels: channels), sampleRate: sampleRate)
    }

    /// Rates and channel counts the meter takes.
    static func checkFormat(sampleRate: Int, channels: Int) throws {
        // (Under 16 Hz a 100 ms step would be a sample or none; libebur128 refused those rates too.)
        guard sampleRate >= 16 && sampleRate <= 2_822_400 else { throw AudioError.invalidSampleRate(rate: sampleRate) }
        guard (1...64).contains(channels) else {
            throw AudioError.invalidBuffer(context: "loudness", problem: "\(channels) channels", fix: "downmix to at most 64 channels")
        }
    }

    /// Interleaved samples to level: a source in memory, of whole frames.
    static func source(_ samples: [Float], sampleRate: Int, channels: Int) throws -> SampleSource {
        try checkFormat(sampleRate: sampleRate, channels: channels)
        guard samples.count % channels == 0 else {
            throw AudioError.invalidBuffer(context: "loudness", problem: "\(samples.count) samples for \(channels) channels", fix: "give whole frames")
        }
        return SampleSource(samples, channels: channels)
    }

    /// A source's loudness, read in blocks (so a long piece never needs a second copy).
    static func measure(_ source: SampleSource, sampleRate: Int) throws -> LoudnessMeasurement {
        var meter = LoudnessMeter(sampleRate: sampleRate, channels: source.channels)
        try source.forEachBlock { b in b.withUnsafeBufferPointer { meter.add($0.baseAddress!, frames: $0.count / source.channels) } }
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
        let x = try source(samples, sampleRate: sampleRate, channels: channels)
        return try normalize(x, sampleRate: sampleRate, measured: measure(x, sampleRate: sampleRate), target: target, ceiling: ceiling).collected()
    }

    /// The output stage of every command: `target` LUFS (nil: left as made), then `volume`
    /// (a factor; 1 leaves it). A volume above 1 after normalisation is limited again.
    public static func apply(_ samples: [Float], sampleRate: Int, channels: Int = 1, target: Double?, volume: Float = 1) throws -> [Float] {
        try apply(source(samples, sampleRate: sampleRate, channels: channels), sampleRate: sampleRate, measured: nil,
                  target: target, volume: volume).collected()
    }

    /// Peaks brought under `ceiling` dBTP by the look-ahead limiter, then by a static gain for
    /// what inter-sample peaks still exceed. Audio already under the ceiling is returned as is.
    public static func limited(_ samples: [Float], sampleRate: Int, channels: Int = 1, ceiling: Double) throws -> [Float] {
        try limit(source(samples, sampleRate: sampleRate, channels: channels), sampleRate: sampleRate, ceiling: ceiling,
                  truePeak: nil).samples.collected()
    }

    static func scaled(_ x: [Float], _ g: Float) -> [Float] { g == 1 ? x : x.map { $0 * g } }

    // The level stage, one implementation for audio in memory and spilled alike (`SampleSource`):
    // each limiter pass writes where its input lives, an array or a new spill.

    /// `apply` of a source (`measured`: its measurement, when the caller took it as the samples came).
    static func apply(_ source: SampleSource, sampleRate: Int, measured: LoudnessMeasurement?, target: Double?, volume: Float) throws -> SampleSource {
        var out = source
        if let target {
            out = try normalize(source, sampleRate: sampleRate, measured: measured ?? measure(source, sampleRate: sampleRate),
                                target: target, ceiling: truePeakCeiling)
        }
        if volume != 1 {
            out = out.scaled(volume)
            if volume > 1 { out = try limit(out, sampleRate: sampleRate, ceiling: truePeakCeiling, truePeak: nil).samples }
        }
        return out
    }

    /// `normalize` of a source whose measurement is `measured`.
    static func normalize(_ samples: SampleSource, sampleRate: Int, measured: LoudnessMeasurement, target: Double, ceiling: Double) throws -> SampleSource {
        var m = measured
        // Under one 400 ms gating block ("Hi." streamed alone) there is no integrated loudness:
        // the sound repeated to 1 s has the loudness of the sound itself.
        if m.integrated == nil, samples.frames > 0, samples.frames < sampleRate {
            let x = try samples.collected(), second = sampleRate * samples.channels
            var tiled: [Float] = []
            tiled.reserveCapacity(second + x.count)
            while tiled.count < second { tiled += x }
            m.integrated = try measure(SampleSource(tiled, channels: samples.channels), sampleRate: sampleRate).integrated
        }
        guard let level = m.integrated else { return try limit(samples, sampleRate: sampleRate, ceiling: ceiling, truePeak: m.truePeak).samples }
        // Limiting the peaks lowers the loudness a little (by several LU for music lifted 10 dB):
        // the gain is raised by what was lost and the original limited again, until within 0.1 LU.
        // A gain moves the true peak by as many dB, so the scaled audio needs no measuring before
        // the limiter; the limiter's own measurement of its output, when it took one, is reused.
        var gainDB = target - level
        var out = samples
        for _ in 0..<4 {
            out = samples   // the last pass's spill goes before the next is written
            let pass = try limit(samples.scaled(Float(pow(10, gainDB / 20))), sampleRate: sampleRate, ceiling: ceiling, truePeak: m.truePeak + gainDB)
            out = pass.samples
            // Unlimited, the audio is the original times the gain: its loudness is the target (up to
            // blocks crossing the −70 LUFS absolute gate, 50 dB under any speech or music).
            if !pass.changed { break }
            let after = try pass.measured ?? measure(out, sampleRate: sampleRate)
            guard let now = after.integrated, abs(now - target) > 0.1 else { break }
            gainDB += target - now
        }
        return out
    }

    /// `limited`, given the input's true peak when the caller knows it, and returning the
    /// measurement of the output when one was taken (nil: not measured) and whether it changed anything.
    static func limit(_ samples: SampleSource, sampleRate: Int, ceiling: Double,
                      truePeak: Double?) throws -> (samples: SampleSource, measured: LoudnessMeasurement?, changed: Bool) {
        var first: LoudnessMeasurement? = nil
        if truePeak == nil { first = try measure(samples, sampleRate: sampleRate) }
        let before = truePeak ?? first!.truePeak
        guard before > ceiling else { return (samples, first, false) }
        // Sample peaks at 0.5 dB under the ceiling leave room for the reconstructed waveform; where
        // its inter-sample peaks still overshoot (a hard edge), the margin grows by the overshoot.
        var margin = 0.5, after = before
        var out = samples
        for _ in 0..<3 {
            out = samples   // the last try's spill goes before the next is written
            var meter = LoudnessMeter(sampleRate: sampleRate, channels: samples.channels)
            out = try lookAheadLimit(samples, ceiling: Float(pow(10, (ceiling - margin) / 20)), halfWidth: max(1, sampleRate / 200)) { b in
                b.withUnsafeBufferPointer { meter.add($0.baseAddress!, frames: $0.count / samples.channels) }
            }
            let m = measurement(of: meter)
            after = m.truePeak
            if after <= ceiling { return (out, m, true) }
            margin += after - ceiling + 0.1
        }
        return (out.scaled(Float(pow(10, (ceiling - after) / 20))), nil, true)
    }

    /// Each frame scaled by the moving average (width `halfWidth` + 1) of the running minimum
    /// (width 2·`halfWidth` + 1) of the frames' gains min(1, ceiling/peak of the frame's
    /// channels): |x·g| ≤ ceiling everywhere, every channel of a frame scaled alike. Written where
    /// `x` lives (an array, or a new spill), each block also handed to `written`.
    static func lookAheadLimit(_ x: SampleSource, ceiling: Float, halfWidth l: Int, written: ([Float]) -> Void) throws -> SampleSource {
        guard x.spills else {
            var out: [Float] = []
            out.reserveCapacity(x.frames * x.channels)
            try limitBlocks(frames: x.frames, channels: x.channels, ceiling: ceiling, halfWidth: l, read: x.read) { out += $0; written($0) }
            return SampleSource(out, channels: x.channels)
        }
        let spill = try SampleSpill(channels: x.channels)
        try limitBlocks(frames: x.frames, channels: x.channels, ceiling: ceiling, halfWidth: l, read: x.read) { out in
            try out.withUnsafeBufferPointer { try spill.append($0) }
            written(out)
        }
        return SampleSource(spill)
    }

    /// `lookAheadLimit` of `frames` frames read on demand, handed to `emit` in blocks of
    /// `SampleSource.block` frames: a block reads the allowed gains of its frames' windows around it,
    /// and the running sums of the moving average go on from block to block, so every value is the
    /// whole signal's.
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

/// Interleaved frames read on demand: an array in memory, a spill, or a view of either scaled by a gain.
struct SampleSource {
    let frames: Int
    let channels: Int
    /// Frames [start, start + count), interleaved.
    let read: (Int, Int) throws -> [Float]
    /// The array itself, for a source that is one (not a view of one).
    var samples: [Float]? = nil
    /// Whether the samples live in a spill: a limiter pass over them then writes a new spill.
    var spills = false
    /// A spill the source reads, kept alive while it does.
    var owner: AnyObject? = nil

    static let block = 1 << 16

    /// The whole frames of `samples`.
    init(_ samples: [Float], channels: Int) {
        self.frames = samples.count / channels
        self.channels = channels
        self.read = { Array(samples[($0 * channels)..<(($0 + $1) * channels)]) }
        self.samples = samples.count % channels == 0 ? samples : nil
    }

    init(_ spill: SampleSpill) {
        frames = spill.frames; channels = spill.channels; read = spill.read; spills = true; owner = spill
    }

    private init(frames: Int, channels: Int, read: @escaping (Int, Int) throws -> [Float], spills: Bool, owner: AnyObject?) {
        self.frames = frames; self.channels = channels; self.read = read; self.spills = spills; self.owner = owner
    }

    func forEachBlock(_ body: ([Float]) throws -> Void) throws {
        var start = 0
        while start < frames {
            let n = min(SampleSource.block, frames - start)
            try body(try read(start, n))
            start += n
        }
    }

    /// Every frame, in memory.
    func collected() throws -> [Float] { try samples ?? read(0, frames) }

    /// `Loudness.scaled`, block by block.
    func scaled(_ g: Float) -> SampleSource {
        g == 1 ? self : SampleSource(frames: frames, channels: channels, read: { try Loudness.scaled(read($0, $1), g) }, spills: spills, owner: owner)
    }
}
