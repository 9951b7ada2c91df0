// MelProjection.swift: brings a waveform's mel spectrogram to a target log-mel, keeping its phase.
// Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013; GriffinLim.swift) alternates a projection
// onto consistent spectrograms with one onto a known magnitude. A vocoder knows only the mel, so here
// the magnitude step is a mel one: each frame's bins are scaled by the gain that brings each of its
// mel bands to the target (band gains spread to the bins by the filters' weights, geometrically, so
// the detail inside a band, the harmonics, stays the vocoder's), then the consistency step
// x ← stft(istft(·)) and the momentum extrapolation t_n = c_n + α (c_n − c_{n−1}). Started from the
// vocoder's own spectrum instead of a random phase, it keeps the vocoder's phase and fixes what its
// magnitudes got wrong (the vocoder card: PESQ-wb and STOI up, log-mel distance below Griffin-Lim's).
//
// Letters: T frames, F = nFFT/2 + 1 bins, M mel bands, L samples.

import Base
import Foundation

public struct MelProjectionSettings: Codable, Equatable, Sendable {
    /// Projection steps; each costs one STFT and one inverse STFT of the signal.
    public var iterations = 8
    /// Fast Griffin-Lim's α (0: plain alternating projections).
    public var momentum: Float = 0.99
    /// No band's gain exceeds this many dB in one step, either way.
    public var maxGainDB: Float = 12
    /// Steps for copy synthesis (`gen vocode`), judged against the input's own waveform, where more
    /// steps keep paying (the vocoder card); absent: `iterations`.
    public var copyIterations: Int? = nil

    public init(iterations: Int = 8, momentum: Float = 0.99, maxGainDB: Float = 12, copyIterations: Int? = nil) {
        self.iterations = iterations
        self.momentum = momentum
        self.maxGainDB = maxGainDB
        self.copyIterations = copyIterations
    }

    /// The most iterations a config or flag may ask for.
    public static let iterationRange: ClosedRange<Int> = 0...64

    public func problems(prefix: String = "mel_projection.") -> [String] {
        var p: [String] = []
        for (name, n) in [("iterations", iterations), ("copy_iterations", copyIterations ?? iterations)] where !Self.iterationRange.contains(n) {
            p.append("\(prefix)\(name) must be in \(Self.iterationRange.lowerBound)...\(Self.iterationRange.upperBound), got \(n)")
        }
        if !(momentum >= 0 && momentum <= 1.5) { p.append("\(prefix)momentum must be in 0...1.5, got \(momentum)") }
        if !(maxGainDB > 0 && maxGainDB <= 40) { p.append("\(prefix)max_gain_db must be in (0, 40], got \(maxGainDB)") }
        return p
    }

    enum CodingKeys: String, CodingKey {
        case iterations, momentum, maxGainDB = "max_gain_db", copyIterations = "copy_iterations"
    }
}

public struct MelProjection: Sendable {
    public let settings: MelProjectionSettings
    public let filterbank: MelFilterbank
    /// For each bin, the bands that cover it and each one's share of the bin (the filter weights
    /// normalised to sum to 1 over the bands), `spreadWidth` entries a bin: bin f's at f·spreadWidth
    /// ..< (f + 1)·spreadWidth, padded with band 0 at weight 0 (a mel filterbank's triangles overlap
    /// in pairs, so 2 for the standard one, which `rescale` then reads without an inner loop).
    let spreadWidth: Int
    let spreadBand: [Int]       // (F · spreadWidth)
    let spreadWeight: [Float]   // (F · spreadWidth)
    /// Longer signals are projected in pieces of this many frames, with `context` frames of the
    /// signal either side (each step reaches nFFT/hop − 1 frames further; 64 covers 16 steps).
    static let chunkFrames = 1024
    static let context = 64

    public init(settings: MelProjectionSettings, filterbank: MelFilterbank = .standard) {
        self.settings = settings
        self.filterbank = filterbank
        let nb = filterbank.bins, nm = filterbank.nMels
        var entries: [[(band: Int, weight: Float)]] = []
        for f in 0..<nb {
            var total: Float = 0
            for m in 0..<nm { total += filterbank.weights[m * nb + f] }
            entries.append(total > 0 ? (0..<nm).filter { filterbank.weights[$0 * nb + f] > 0 }.map { ($0, filterbank.weights[$0 * nb + f] / total) } : [])
        }
        let width = max(1, entries.map(\.count).max() ?? 1)
        var band = [Int](repeating: 0, count: nb * width), weight = [Float](repeating: 0, count: nb * width)
        for (f, e) in entries.enumerated() {
            for (j, x) in e.enumerated() { band[f * width + j] = x.band; weight[f * width + j] = x.weight }
        }
        spreadWidth = width; spreadBand = band; spreadWeight = weight
    }

    /// The same projection with other settings: the filterbank and its spread tables are kept, not rebuilt.
    public func with(settings other: MelProjectionSettings) -> MelProjection {
        MelProjection(settings: other, filterbank: filterbank, spreadWidth: spreadWidth, spreadBand: spreadBand, spreadWeight: spreadWeight)
    }

    private init(settings: MelProjectionSettings, filterbank: MelFilterbank, spreadWidth: Int, spreadBand: [Int], spreadWeight: [Float]) {
        self.settings = settings; self.filterbank = filterbank
        self.spreadWidth = spreadWidth; self.spreadBand = spreadBand; self.spreadWeight = spreadWeight
    }

    /// `y` with its mel brought toward `logMel` (T, M; ln of the magnitude mel, `MelFilterbank.logMel`'s
    /// scale), the same length. Frame t of the mel is centred on sample t·hop; frames past either
    /// end are ignored, and bins outside every filter keep their magnitude.
    public func apply(_ y: [Float], logMel: [Float]) -> [Float] {
        let nm = filterbank.nMels, hop = filterbank.config.hop
        precondition(logMel.count % nm == 0, "MelProjection: \(logMel.count) values is not a whole number of \(nm)-band frames")
        let frames = logMel.count / nm
        guard settings.iterations > 0, frames > 0, y.count > filterbank.config.nFFT else { return y }
        if frames <= Self.chunkFrames + 2 * Self.context { return project(y[...], target: logMel[...]) }
        // In pieces: frames a..<b kept, read with `context` frames of signal and target either side.
        var out = [Float](repeating: 0, count: y.count)
        var a = 0
        while a * hop < y.count {
            let b = min(a + Self.chunkFrames, frames)
            let s = max(0, a - Self.context), e = min(frames, b + Self.context)
            let first = s * hop, last = e == frames ? y.count : min(y.count, (e - 1) * hop)
            let piece = project(y[first..<last], target: logMel[(s * nm)..<(e * nm)])
            let keepEnd = b == frames ? y.count : min(y.count, b * hop)
            for i in (a * hop)..<keepEnd { out[i] = piece[i - first] }
            if b == frames { break }
            a = b
        }
        return out
    }

    /// The projection of one piece; its frame t is the target's row t.
    func project(_ y: ArraySlice<Float>, target: ArraySlice<Float>) -> [Float] {
        let stft = filterbank.stft, nm = filterbank.nMels
        let length = y.count
        var x = stft.forward(Array(y))
        let frames = min(x.frames, target.count / nm)
        let rows = Array(target.prefix(frames * nm))   // (T, M)
        var previous: Spectrogram? = nil
        for step in 0..<settings.iterations {
            // The magnitude to correct is the last consistent spectrum's (c_{n−1}; at first the input's
            // own); the phase is the extrapolated t_n's, as in fast Griffin-Lim.
            rescale(&x, magnitudeOf: previous, target: rows, frames: frames)
            let signal = stft.inverse(x, length: length)
            if step == settings.iterations - 1 { return signal }
            let c = stft.forward(signal)
            if let p = previous { extrapolate(&x, from: c, previous: p) } else { x = c }
            previous = c
        }
        return Array(y)
    }

    /// x[t, f] ← |s[t, f]| · gain[t, f] · x[t, f] / |x[t, f]| for the first `frames` frames (past
    /// them: the magnitude with x's phase), s being `source` (nil: x itself), gain the band gains
    /// toward `target`, spread to the bins. Frame by frame, on the workers: each frame's magnitude,
    /// mel and gains are made and used while they are in cache, with the arithmetic of
    /// `Spectrogram.magnitude` and `MelFilterbank.apply`, so the result is theirs bit for bit.
    func rescale(_ x: inout Spectrogram, magnitudeOf source: Spectrogram?, target: [Float], frames: Int) {
        let nb = filterbank.bins, nm = filterbank.nMels, all = x.frames, width = spreadWidth
        let limit = settings.maxGainDB / 20 * Float(M_LN10)
        let fb = filterbank
        func run(_ sre: UnsafePointer<Float>?, _ sim: UnsafePointer<Float>?) {
        target.withUnsafeBufferPointer { tp in
        fb.weights.withUnsafeBufferPointer { wp in
        spreadBand.withUnsafeBufferPointer { sb in
        spreadWeight.withUnsafeBufferPointer { sw in
        x.re.withUnsafeMutableBufferPointer { rp in
        x.im.withUnsafeMutableBufferPointer { ip in
            let re = rp.baseAddress!, im = ip.baseAddress!
            let fromRe = sre ?? UnsafePointer(re), fromIm = sim ?? UnsafePointer(im)
            parallelFor(all, minChunk: 32) { range in
                let mel = UnsafeMutablePointer<Float>.allocate(capacity: nm)        // (M) the frame's mel, then ln of each band's gain
                let mag = UnsafeMutablePointer<Float>.allocate(capacity: nb)        // (F) the source's magnitude
                let gain = UnsafeMutablePointer<Float>.allocate(capacity: nb)       // (F) each bin's gain, ln then linear
                defer { mel.deallocate(); mag.deallocate(); gain.deallocate() }
                for t in range {
                    let row = t * nb
                    FastMath.magnitude(re: fromRe + row, im: fromIm + row, into: mag, count: nb)
                    if t < frames {
                        fb.applyFrame(mag, weights: wp.baseAddress!, into: mel)
                        for m in 0..<nm {
                            let g = tp[t * nm + m] - log(max(mel[m], MelFilterbank.logFloor))
                            mel[m] = min(max(g, -limit), limit)
                        }
                        if width == 2 {
                            // (0 + a) + b = a + b, and a padded entry adds +0: the general loop's sums, bit for bit.
                            for f in 0..<nb { gain[f] = sw[2 * f] * mel[sb[2 * f]] + sw[2 * f + 1] * mel[sb[2 * f + 1]] }
                        } else {
                            for f in 0..<nb {
                                var lg: Float = 0
                                for k in (f * width)..<((f + 1) * width) { lg += sw[k] * mel[sb[k]] }
                                gain[f] = lg
                            }
                        }
                        FastMath.expInPlace(gain, count: nb)
                    } else {
                        gain.update(repeating: 1, count: nb)
                    }
                    MelProjection.setMagnitude(re: re + row, im: im + row, magnitude: mag, gain: gain, count: nb)
                }
            }
        }}}}}}
        }
        if let source {
            source.re.withUnsafeBufferPointer { r in source.im.withUnsafeBufferPointer { i in run(r.baseAddress!, i.baseAddress!) } }
        } else {
            run(nil, nil)
        }
    }

    /// x ← c + α (c − previous), in place, on the workers (each element as the plain loop makes it).
    func extrapolate(_ x: inout Spectrogram, from c: Spectrogram, previous p: Spectrogram) {
        let alpha = settings.momentum
        for (target, (now, before)) in [(\Spectrogram.re, (c.re, p.re)), (\Spectrogram.im, (c.im, p.im))] {
            x[keyPath: target].withUnsafeMutableBufferPointer { xp in
                now.withUnsafeBufferPointer { cp in
                    before.withUnsafeBufferPointer { pp in
                        let xs = xp.baseAddress!, cs = cp.baseAddress!, ps = pp.baseAddress!
                        parallelFor(xp.count, minChunk: 1 << 15) { range in
                            for k in range { xs[k] = cs[k] + alpha * (cs[k] - ps[k]) }
                        }
                    }
                }
            }
        }
    }

    /// (re, im) ← magnitude · gain · (re, im) / |(re, im)|.
    @inline(__always)
    static func setMagnitude(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>,
                             magnitude: UnsafePointer<Float>, gain: UnsafePointer<Float>, count: Int) {
        var f = 0
        let eps = SIMD8<Float>(repeating: 1e-16)
        while f + 8 <= count {
            let r = UnsafeRawPointer(re + f).loadUnaligned(as: SIMD8<Float>.self)
            let i = UnsafeRawPointer(im + f).loadUnaligned(as: SIMD8<Float>.self)
            let m = UnsafeRawPointer(magnitude + f).loadUnaligned(as: SIMD8<Float>.self)
            let g = UnsafeRawPointer(gain + f).loadUnaligned(as: SIMD8<Float>.self)
            let scale = m * g / ((r * r + i * i).squareRoot() + eps)
            UnsafeMutableRawPointer(re + f).storeBytes(of: r * scale, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(im + f).storeBytes(of: i * scale, as: SIMD8<Float>.self)
            f += 8
        }
        while f < count {
            let scale = magnitude[f] * gain[f] / ((re[f] * re[f] + im[f] * im[f]).squareRoot() + 1e-16)
            re[f] *= scale; im[f] *= scale
            f += 1
        }
    }
}
