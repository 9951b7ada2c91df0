// SourcePhase.swift — phase for voiced speech from a source-filter model, as flite's own voices make
// it: a pulse at every pitch period (the glottal source) through the minimum-phase filter of the
// frame's spectral envelope. A frame-rate vocoder predicts magnitudes well and phases poorly above
// about 1 kHz, where it smears the harmonics into a buzz; this keeps its magnitudes and, in the frames
// YIN calls voiced and below `maxHz`, gives each bin the phase of
//
//     E_t(k) · exp(i · φ_min,t(k)),
//
// E_t the STFT of a unit pulse train at the tracked f0 (a pulse wherever the integrated f0 completes
// a cycle) and φ_min,t the minimum phase of the frame's magnitude, from its real cepstrum folded onto
// the positive quefrencies and smoothed to the first `lifter` of them (Oppenheim & Schafer, §13.8):
//
//     c = irfft(ln |X_t|),  φ_min = Im rfft(c · w),  w = 1, 2, …, 2, 1, 0, … (w[lifter] = 1).
//
// The magnitudes are kept, so the mel is the vocoder's; the phase is what changes. Measured on gen's
// speech in models/vocoder/MODEL_CARD.md: in the vocoder's 1024-point frames DNSMOS OVRL and P.808
// rise on every voice and PocketSphinx's WER on slt by 0.04; in 512-point frames slt's WER is kept
// but rms's OVRL gain goes and its WER rises by 0.016 on held-out sentences; in frames of 3 periods
// of the median f0, slt's WER still rises (0.024 on 2,244 words) and rms's and awb's do not
// measurably, hence `maxMedianF0Hz`; given only to the harmonics that stand out of the noise
// (`harmonicDB`), slt's WER no longer rises (+0.000 and +0.010 on two sets), so every voice gets it.
import Base
import Foundation

public struct SourcePhaseSettings: Codable, Equatable, Sendable {
    /// Cepstral coefficients kept for the envelope (quefrencies below lifter / sample rate).
    public var lifter = 30
    /// Bins below this frequency take the source's phase; above it the vocoder's own.
    public var maxHz: Double = 3000
    /// YIN's search range for f0.
    public var fMinHz: Double = 60
    public var fMaxHz: Double = 400
    /// YIN's threshold on the normalised difference: higher calls more frames voiced.
    public var threshold: Float = 0.35
    /// Unvoiced gaps of at most this many frames (of this STFT's hop) inside a voiced stretch are bridged.
    public var maxGapFrames = 4
    /// The STFT the phase is rebuilt in, hop a quarter of it; absent: the vocoder's own (1024, hop
    /// 256). A shorter frame follows the envelope closer in time: with 1024 the source phase cost
    /// slt's PocketSphinx WER about 0.04 on two sentence sets, with 512 nothing (the vocoder card).
    public var nFFT: Int? = nil
    /// When set, each utterance's STFT is sized to hold this many periods of its median f0 (the
    /// smallest power of two from 256 to 4096 that does; `frameSize`), overriding `nFFT`, with
    /// `maxGapFrames` counted in the vocoder's hops: a high voice gets short frames that follow its
    /// formants, a low one frames long enough to resolve its harmonics.
    public var framePeriods: Double? = nil
    /// When set, an utterance whose median f0 (YIN's voiced frames) is above this keeps the vocoder's
    /// phase. Measured on gen's voices (the vocoder card): the source phase raised DNSMOS on rms (median
    /// f0 about 100 Hz) and awb (about 128 Hz) at no measurable cost in PocketSphinx's WER, and cost
    /// slt (about 172 Hz) 2.4 points of WER; 150 kept it for the first two only, until `harmonicDB`
    /// took that cost away (the shipped config no longer sets it).
    public var maxMedianF0Hz: Double? = nil
    /// When set, a harmonic's bins (those nearer to h·f0 than to any other multiple) take the source's
    /// phase only where the vocoder's magnitude peaks there by at least this many dB over the valleys
    /// half a harmonic either side: the bands of a voiced frame that are noise (a breathy or fricative
    /// part, as a harmonic-plus-noise model's maximum voiced frequency marks) keep the vocoder's phase
    /// instead of being turned into a buzz. Absent: every bin below `maxHz` of a voiced frame.
    public var harmonicDB: Double? = nil
    /// When set, `harmonicDB` applies only to utterances whose median f0 (YIN's voiced frames) is at
    /// least this. Measured on gen's voices (the vocoder card): in slt's short frames (about 172 Hz, 512
    /// points at 3 periods) the mask keeps the source phase's naturalness and takes away its cost in
    /// PocketSphinx's WER; in rms's and awb's 1024-point frames it lowers DNSMOS, and they lost no WER
    /// without it, so 150 leaves them as they were.
    public var harmonicMinF0Hz: Double? = nil

    public init() {}

    /// `nFFT`: the vocoder's, used when the settings name none.
    public func problems(nFFT vocoderFFT: Int, sampleRate: Int) -> [String] {
        var p: [String] = []
        var nFFT = vocoderFFT
        if let n = self.nFFT {
            if (256...4096).contains(n) && n & (n - 1) == 0 { nFFT = n } else {
                p.append("source_phase.n_fft must be a power of two in 256...4096, got \(n)")
            }
        }
        if nFFT >= 256, !(lifter >= 1 && lifter <= nFFT / 2 - 1) { p.append("source_phase.lifter must be in 1...\(nFFT / 2 - 1), got \(lifter)") }
        if !(maxHz > 0 && maxHz <= Double(sampleRate) / 2) { p.append("source_phase.max_hz must be in (0, \(sampleRate / 2)], got \(maxHz)") }
        if !(fMinHz >= 20 && fMinHz < fMaxHz && fMaxHz <= 2000) {
            p.append("source_phase.f_min_hz and f_max_hz must satisfy 20 ≤ f_min < f_max ≤ 2000, got \(fMinHz) and \(fMaxHz)")
        }
        if !(threshold > 0 && threshold < 1) { p.append("source_phase.threshold must be in (0, 1), got \(threshold)") }
        if let f = framePeriods {
            if !(f >= 1 && f <= 16) { p.append("source_phase.frame_periods must be in 1...16, got \(f)") }
            if !(1...127).contains(lifter) { p.append("source_phase.lifter must be in 1...127 with frame_periods (frames as short as 256), got \(lifter)") }
        }
        if !(0...64).contains(maxGapFrames) { p.append("source_phase.max_gap_frames must be in 0...64, got \(maxGapFrames)") }
        if let h = harmonicDB, !(h >= 0 && h <= 60) { p.append("source_phase.harmonic_db must be in 0...60, got \(h)") }
        if let g = harmonicMinF0Hz, !(g >= fMinHz && g <= fMaxHz) {
            p.append("source_phase.harmonic_min_f0_hz must be within f_min_hz...f_max_hz (\(fMinHz)...\(fMaxHz)), got \(g)")
        }
        if let g = maxMedianF0Hz, !(g >= fMinHz && g <= fMaxHz) {
            p.append("source_phase.max_median_f0_hz must be within f_min_hz...f_max_hz (\(fMinHz)...\(fMaxHz)), got \(g)")
        }
        return p
    }

    enum CodingKeys: String, CodingKey {
        case lifter, maxHz = "max_hz", fMinHz = "f_min_hz", fMaxHz = "f_max_hz", threshold, maxGapFrames = "max_gap_frames", nFFT = "n_fft",
             framePeriods = "frame_periods", maxMedianF0Hz = "max_median_f0_hz", harmonicDB = "harmonic_db",
             harmonicMinF0Hz = "harmonic_min_f0_hz"
    }
}

public enum SourcePhase {
    /// `y` with the source-filter phase in its voiced frames below `maxHz` (module comment); the
    /// same length. Unchanged when no frame is voiced or `y` is shorter than one FFT frame.
    /// `pitch`, when given, is YIN's contour of `y` at `hop` samples (as `medianF0` returns it), so that a
    /// caller who tracked it already does not track it again: each frame of this STFT centred on one of
    /// its frames takes that frame's f0, and only the others are tracked.
    public static func apply(_ y: [Float], sampleRate: Int, stft: STFT, settings s: SourcePhaseSettings,
                             pitch: (contour: [Float], hop: Int)? = nil) -> [Float] {
        let n = stft.config.nFFT, hop = stft.config.hop
        guard y.count > n else { return y }
        let x = stft.forward(y)
        let frames = x.frames, bins = x.bins
        let tracked = yin(y, sampleRate: sampleRate, hop: hop, frames: frames, settings: s,
                          known: pitch.map { ($0.contour, Double($0.hop) / Double(sampleRate)) })
        let f0 = voicedContour(tracked, maxGap: s.maxGapFrames)
        guard f0.contains(where: { $0 > 0 }) else { return y }
        let e = stft.forward(pulseTrain(f0: f0, hop: hop, sampleRate: sampleRate, length: y.count))
        let maxBin = min(bins, Int((s.maxHz * Double(n) / Double(sampleRate)).rounded(.up)))   // bins below maxHz
        var out = x
        let table = MinimumPhaseTable.shared(n: n, lifter: s.lifter, bins: maxBin)
        // Each voiced frame is rewritten from x and e alone, so the frames are shared out over the
        // workers (interleaved, for balance); the output is the same to the bit as one loop.
        let voiced = (0..<frames).filter { f0[$0] > 0 }
        let blocks = max(1, min(DSPParallelism.maxWidth, voiced.count / 16))
        let lanes = (maxBin + 7) / 8 * 8
        x.re.withUnsafeBufferPointer { xrp in
        x.im.withUnsafeBufferPointer { xip in
        e.re.withUnsafeBufferPointer { erp in
        e.im.withUnsafeBufferPointer { eip in
        out.re.withUnsafeMutableBufferPointer { orp in
        out.im.withUnsafeMutableBufferPointer { oip in
            let xRe = xrp.baseAddress!, xIm = xip.baseAddress!, eRe = erp.baseAddress!, eIm = eip.baseAddress!
            let outRe = orp.baseAddress!, outIm = oip.baseAddress!
            DSPParallelism.forEach(blocks) { block in
                var magnitude = [Float](repeating: 0, count: bins), logMagnitude = magnitude
                var phase = [Float](repeating: 0, count: lanes), cosine = phase, sine = phase
                for i in stride(from: block, to: voiced.count, by: blocks) {
                    let t = voiced[i], o = t * bins
                    magnitude.withUnsafeMutableBufferPointer { FastMath.magnitude(re: xRe + o, im: xIm + o, into: $0.baseAddress!, count: bins) }
                    for k in 0..<bins { logMagnitude[k] = Foundation.log(max(magnitude[k], 1e-7)) }
                    table.phase(logMagnitude: logMagnitude, into: &phase)
                    FastMath.sinCos(phase, sin: &sine, cos: &cosine)
                    let voicedBins = s.harmonicDB.map { harmonicBins(magnitude: magnitude, f0: Double(f0[t]), binHz: Double(sampleRate) / Double(n), bins: maxBin, minDB: $0) }
                    // |X| · e^{i(arg E + φ)} = |X| · (E / |E|) · (cos φ + i sin φ)
                    for k in 0..<maxBin where voicedBins?[k] ?? true {
                        let er = eRe[o + k], ei = eIm[o + k], size = (er * er + ei * ei).squareRoot()
                        guard size > 1e-3 else { continue }
                        let scale = magnitude[k] / size
                        outRe[o + k] = scale * (er * cosine[k] - ei * sine[k])
                        outIm[o + k] = scale * (ei * cosine[k] + er * sine[k])
                    }
                }
            }
        }}}}}}
        return stft.inverse(out, length: y.count)
    }

    /// `y` with the source-filter phase as `settings` ask, for a vocoder of hop `hop` whose own STFT is
    /// `fixed` (used unless the settings size the frame by `framePeriods`): unchanged when no frame is
    /// voiced or the median f0 is above `maxMedianF0Hz`; the harmonic mask only from `harmonicMinF0Hz` up.
    public static func apply(_ y: [Float], sampleRate: Int, hop: Int, fixed: STFT?, settings given: SourcePhaseSettings) -> [Float] {
        var settings = given
        var contour: [Float]? = nil   // YIN's, at `hop`: reused below where the STFT's hop is the same
        if settings.framePeriods != nil || settings.maxMedianF0Hz != nil || (settings.harmonicDB != nil && settings.harmonicMinF0Hz != nil) {
            let tracked = yin(y, sampleRate: sampleRate, hop: hop, frames: 1 + y.count / hop, settings: settings)
            guard let m = median(voiced: tracked), m <= settings.maxMedianF0Hz ?? .infinity else { return y }
            if m < settings.harmonicMinF0Hz ?? 0 { settings.harmonicDB = nil }
            contour = tracked
            if let periods = settings.framePeriods {
                let n = frameSize(medianF0: m, sampleRate: sampleRate, periods: periods)
                var s = settings
                s.maxGapFrames = settings.maxGapFrames * hop / max(1, n / 4)   // the same span in this STFT's hops
                return apply(y, sampleRate: sampleRate, stft: STFT(config: STFTConfig(nFFT: n, winLength: n, hop: n / 4)), settings: s,
                             pitch: (tracked, hop))
            }
        }
        guard let fixed else { return y }
        return apply(y, sampleRate: sampleRate, stft: fixed, settings: settings, pitch: contour.map { ($0, hop) })
    }

    /// Which of the first `bins` bins belong to a harmonic of `f0` that stands out of the noise: bin k
    /// belongs to harmonic h = max(1, round(k·binHz / f0)), which counts as voiced when the largest
    /// magnitude within a bin of h·f0 is at least `minDB` above the mean of the magnitudes at
    /// (h − ½)·f0 and (h + ½)·f0 (the valleys, linearly interpolated between bins).
    public static func harmonicBins(magnitude: [Float], f0: Double, binHz: Double, bins: Int, minDB: Double) -> [Bool] {
        precondition(f0 > 0 && binHz > 0 && bins <= magnitude.count, "SourcePhase.harmonicBins: f0 \(f0), bin \(binHz) Hz, \(bins) of \(magnitude.count) bins")
        func at(_ hz: Double) -> Double {              // magnitude at a frequency, between bins
            let x = min(max(hz / binHz, 0), Double(magnitude.count - 1)), i = Int(x), w = x - Double(i)
            return Double(magnitude[i]) * (1 - w) + Double(magnitude[min(i + 1, magnitude.count - 1)]) * w
        }
        var voiced = [Bool?](repeating: nil, count: Int((Double(bins) * binHz / f0).rounded()) + 2)   // per harmonic
        return (0..<bins).map { k in
            let h = max(1, Int((Double(k) * binHz / f0).rounded()))
            if let v = voiced[h] { return v }
            let centre = Double(h) * f0 / binHz
            var peak = 0.0
            let top = min(magnitude.count - 1, Int(centre.rounded(.up)) + 1)   // a harmonic past the last bin: its last bins
            for j in min(max(0, Int(centre.rounded(.down)) - 1), top)...top { peak = max(peak, Double(magnitude[j])) }
            let valley = (at((Double(h) - 0.5) * f0) + at((Double(h) + 0.5) * f0)) / 2
            let v = 20 * Foundation.log10(max(peak, 1e-12) / max(valley, 1e-12)) >= minDB
            voiced[h] = v
            return v
        }
    }

    /// The median f0 (Hz) of YIN's voiced frames of `y` (hop `hop`); nil when none is voiced.
    public static func medianF0(_ y: [Float], sampleRate: Int, hop: Int, settings s: SourcePhaseSettings) -> Double? {
        median(voiced: yin(y, sampleRate: sampleRate, hop: hop, frames: 1 + y.count / hop, settings: s))
    }

    /// YIN's f0 contour of `y` (0 = unvoiced) at `hop`, as the settings ask.
    static func yin(_ y: [Float], sampleRate: Int, hop: Int, frames: Int, settings s: SourcePhaseSettings,
                    known: (contour: [Float], hopSeconds: Double)? = nil) -> [Float] {
        PitchTracker.yin(y, sampleRate: sampleRate, hopSeconds: Double(hop) / Double(sampleRate), frames: frames,
                         fMin: s.fMinHz, fMax: s.fMaxHz, threshold: s.threshold, fromLagOne: true, known: known)
    }

    /// The median of a contour's voiced frames; nil when none is voiced.
    static func median(voiced f0: [Float]) -> Double? {
        let v = f0.filter { $0 > 0 }.sorted()
        return v.isEmpty ? nil : Double(v[v.count / 2])
    }

    /// The STFT size under `framePeriods`: the smallest power of two in 256...4096 holding `periods`
    /// periods of `medianF0` (`medianF0(_:…)`, YIN's voiced frames).
    public static func frameSize(medianF0: Double, sampleRate: Int, periods: Double) -> Int {
        let samples = periods * Double(sampleRate) / medianF0
        var n = 256
        while Double(n) < samples && n < 4096 { n *= 2 }
        return n
    }

    /// `f0` (0 = unvoiced) with unvoiced gaps of at most `maxGap` frames between two voiced ones
    /// filled by linear interpolation: a pulse train stays continuous through a frame YIN missed
    /// inside a vowel, where switching between its phase and the vocoder's would click.
    public static func voicedContour(_ f0: [Float], maxGap: Int) -> [Float] {
        var out = f0
        var t = 0
        while t < out.count {
            guard out[t] == 0, t > 0, out[t - 1] > 0 else { t += 1; continue }
            var end = t
            while end < out.count && out[end] == 0 { end += 1 }
            if end < out.count && end - t <= maxGap {
                let a = out[t - 1], b = out[end], span = Float(end - t + 1)
                for j in t..<end { out[j] = a + (b - a) * Float(j - t + 1) / span }
            }
            t = end
        }
        return out
    }

    /// The minimum phase (radians, n/2 + 1 bins) of a frame whose log-magnitude is `logMagnitude`,
    /// from its real cepstrum folded onto quefrencies 1..<lifter (doubled) and `lifter` (once).
    public static func minimumPhase(logMagnitude: [Float], plan: FFTPlan, lifter: Int) -> [Float] {
        let bins = plan.n / 2 + 1
        precondition(logMagnitude.count == bins && lifter >= 1 && lifter < plan.n / 2,
                     "SourcePhase.minimumPhase: \(logMagnitude.count) bins for n = \(plan.n), lifter \(lifter)")
        var c = plan.irfft(re: logMagnitude, im: [Float](repeating: 0, count: bins))   // real cepstrum (n)
        for q in 1..<lifter { c[q] *= 2 }
        for q in (lifter + 1)..<plan.n { c[q] = 0 }
        return plan.rfft(c).im
    }

    /// The minimum phase of the first `bins` bins as `minimumPhase` defines it, by two small products
    /// instead of an inverse and a forward FFT: the folded, liftered cepstrum c_w has only `lifter` + 1
    /// non-zero quefrencies, so
    ///     c_w[q] = (w_q / n) · Σ_k s_k · ln|X(k)| · cos(2πqk/n)   (s_k = 1 at k = 0 and n/2, else 2)
    ///     φ(k) = −Σ_{q ≥ 1} c_w[q] · sin(2πqk/n)
    /// (w_q = 2 below the lifter, 1 at it; q = 0 adds no phase). Per frame lifter · (n/2 + 1 + bins)
    /// multiply-adds, all in eight lanes, with no allocation: less than the two FFTs it replaces.
    struct MinimumPhaseTable: Sendable {
        let n: Int, lifter: Int, bins: Int
        /// Row q − 1 (q = 1 ... lifter): (w_q s_k / n) · cos(2πqk/n) over the n/2 + 1 bins, padded to whole SIMD8s.
        let cosines: [Float]
        /// Row q − 1: −sin(2πqk/n) over the first `bins` bins, padded to whole SIMD8s.
        let sines: [Float]
        let cosineStride: Int, sineStride: Int

        init(n: Int, lifter: Int, bins: Int) {
            precondition(lifter >= 1 && lifter < n / 2 && bins >= 1 && bins <= n / 2 + 1,
                         "MinimumPhaseTable: n \(n), lifter \(lifter), \(bins) bins")
            self.n = n; self.lifter = lifter; self.bins = bins
            let all = n / 2 + 1
            cosineStride = (all + 7) / 8 * 8; sineStride = (bins + 7) / 8 * 8
            var c = [Float](repeating: 0, count: lifter * cosineStride), sn = [Float](repeating: 0, count: lifter * sineStride)
            for q in 1...lifter {
                let w = q < lifter ? 2.0 : 1.0
                for k in 0..<all {
                    let angle = 2 * Double.pi * Double((q * k) % n) / Double(n)
                    c[(q - 1) * cosineStride + k] = Float(w * (k == 0 || k == n / 2 ? 1 : 2) * Foundation.cos(angle) / Double(n))
                    if k < bins { sn[(q - 1) * sineStride + k] = Float(-Foundation.sin(angle)) }
                }
            }
            cosines = c; sines = sn
        }

        /// φ for bins 0 ..< `bins` into `phase` (at least `bins` rounded up to 8 values) from the
        /// n/2 + 1 values of ln|X|.
        func phase(logMagnitude: [Float], into phase: inout [Float]) {
            precondition(logMagnitude.count == n / 2 + 1 && phase.count >= sineStride, "MinimumPhaseTable.phase: sizes")
            let all = n / 2 + 1
            logMagnitude.withUnsafeBufferPointer { lp in
            cosines.withUnsafeBufferPointer { cp in
            sines.withUnsafeBufferPointer { sp in
            phase.withUnsafeMutableBufferPointer { pp in
                let l = lp.baseAddress!, out = pp.baseAddress!
                for k in stride(from: 0, to: sineStride, by: 8) { UnsafeMutableRawPointer(out + k).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self) }
                for q in 0..<lifter {
                    let coefficient = SIMD8<Float>(repeating: FastMath.dot(l, cp.baseAddress! + q * cosineStride, all))
                    let sine = sp.baseAddress! + q * sineStride
                    for k in stride(from: 0, to: sineStride, by: 8) {
                        let acc = UnsafeRawPointer(out + k).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(out + k).storeBytes(of: acc + coefficient * UnsafeRawPointer(sine + k).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                    }
                }
            }}}}
        }

        private struct Size: Hashable { let n: Int, lifter: Int, bins: Int }
        private static let tables = Memo<Size, MinimumPhaseTable>(limit: 16)

        /// The table for (n, lifter, bins), made once and kept (a handful of sizes at most: one per
        /// STFT size the source phase picks).
        static func shared(n: Int, lifter: Int, bins: Int) -> MinimumPhaseTable {
            tables.value(Size(n: n, lifter: lifter, bins: bins)) { MinimumPhaseTable(n: n, lifter: lifter, bins: bins) }
        }
    }

    /// A unit pulse train of `length` samples whose rate follows `f0` (Hz per frame, frame t at
    /// sample t·hop, linearly interpolated between frames, held past the last; 0 = unvoiced): a
    /// pulse wherever the integrated f0 completes a cycle inside a voiced stretch, and at the first
    /// completed cycle after one starts.
    public static func pulseTrain(f0: [Float], hop: Int, sampleRate: Int, length: Int) -> [Float] {
        var out = [Float](repeating: 0, count: max(length, 0))
        guard let last = f0.indices.last else { return out }
        func at(_ v: (Int) -> Float, _ i: Int) -> Float {     // value at sample i, frames interpolated
            let pos = Double(i) / Double(hop), t = Int(pos)
            guard t < last else { return v(last) }
            let w = Float(pos - Double(t))
            return v(t) * (1 - w) + v(t + 1) * w
        }
        var cycles = 0.0, previousVoiced = false, previousCycle = 0.0
        for i in 0..<out.count {
            cycles += Double(at({ f0[$0] }, i)) / Double(sampleRate)
            let voiced = at({ f0[$0] > 0 ? 1 : 0 }, i) > 0.5
            let cycle = voiced ? cycles.rounded(.down) : 0
            if voiced && i > 0 && cycle > (previousVoiced ? previousCycle : 0) { out[i] = 1 }
            previousVoiced = voiced; previousCycle = cycle
        }
        return out
    }
}
