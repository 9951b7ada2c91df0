// SourcePhaseTests.swift — the source-filter phase of voiced frames (DSP/SourcePhase.swift).
@testable import DSP
import Foundation
import XCTest

final class SourcePhaseTests: XCTestCase {
    /// One second at `sr` of a 5-harmonic tone at `f0` (harmonic h at amplitude 0.2 / h).
    static func tone(_ f0: Double, sampleRate sr: Int) -> [Float] {
        (0..<sr).map { j -> Float in
            let t = Double(j) / Double(sr)
            return Float((1...5).reduce(0.0) { $0 + sin(2 * Double.pi * f0 * Double($1) * t) / Double($1) } * 0.2)
        }
    }

    /// `count` samples of uniform noise in ±`amplitude` from a fixed LCG: the same noise every run.
    static func noise(count: Int, seed: UInt64, amplitude: Float) -> [Float] {
        var state = seed
        return (0..<count).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23) * amplitude
        }
    }

    // Expected: the one-pole filter H(z) = 1 / (1 − a z⁻¹), |a| < 1, is minimum phase, so its phase is
    // the minimum phase of its magnitude: arg H(e^{iω}) = −atan2(a sin ω, 1 − a cos ω) (closed form).
    // The folded cepstrum of ln|H| recovers it; the cepstrum decays as aⁿ/n, so keeping every
    // quefrency below n/2 leaves only float rounding (and the aliasing of a^512, nil).
    func testMinimumPhaseOfAOnePoleFilterIsItsPhase() {
        let n = 1024, plan = FFTPlan(n: n)
        for a in [0.5, -0.8, 0.9] {
            let logMagnitude = (0...(n / 2)).map { k -> Float in
                let w = 2 * Double.pi * Double(k) / Double(n)
                return Float(-0.5 * Foundation.log(1 - 2 * a * cos(w) + a * a))
            }
            let phase = SourcePhase.minimumPhase(logMagnitude: logMagnitude, plan: plan, lifter: n / 2 - 1)
            var worst = 0.0
            for k in 0...(n / 2) {
                let w = 2 * Double.pi * Double(k) / Double(n)
                worst = max(worst, abs(Double(phase[k]) + atan2(a * sin(w), 1 - a * cos(w))))
            }
            XCTAssertLessThan(worst, 2e-3, "a = \(a)")
        }
        // A flat magnitude has zero minimum phase, whatever the lifter.
        let flat = SourcePhase.minimumPhase(logMagnitude: [Float](repeating: 0.7, count: n / 2 + 1), plan: plan, lifter: 30)
        XCTAssertLessThan(flat.map(abs).max()!, 1e-5)
    }

    // Expected: the table's two products are the definition `minimumPhase` computes by FFTs (the
    // folded, liftered cepstrum's sine transform), so the two agree to float rounding: within 1e-4
    // rad at every bin the source phase uses, on the one-pole filter above (closed form) and on the
    // log-magnitude of a voiced speech-like frame (harmonics of 130 Hz under a two-formant envelope,
    // 60 dB deep), for the STFT sizes the source phase picks and lifters 1, 30 and n/2 − 1.
    func testMinimumPhaseTableIsTheFFTDefinition() {
        for n in [256, 512, 1024, 2048] {
            let plan = FFTPlan(n: n), all = n / 2 + 1, bins = min(all, n * 3000 / 22050 + 1)
            let onePole = (0..<all).map { k -> Float in
                Float(-0.5 * Foundation.log(1 - 2 * 0.9 * cos(2 * Double.pi * Double(k) / Double(n)) + 0.81))
            }
            let voiced = (0..<all).map { k -> Float in
                let hz = Double(k) * 22050 / Double(n)
                let harmonic = pow(cos(Double.pi * hz / 130), 2)
                let envelope = exp(-pow((hz - 700) / 300, 2)) + 0.5 * exp(-pow((hz - 1800) / 400, 2))
                return Float(Foundation.log(1e-3 + envelope * harmonic))
            }
            for lifter in [1, 30, n / 2 - 1] {
                let table = SourcePhase.MinimumPhaseTable(n: n, lifter: lifter, bins: bins)
                for logMagnitude in [onePole, voiced] {
                    let reference = SourcePhase.minimumPhase(logMagnitude: logMagnitude, plan: plan, lifter: lifter)
                    var phase = [Float](repeating: .nan, count: (bins + 7) / 8 * 8)
                    table.phase(logMagnitude: logMagnitude, into: &phase)
                    let worst = (0..<bins).map { abs(phase[$0] - reference[$0]) }.max()!
                    XCTAssertLessThan(worst, 1e-4, "n \(n), lifter \(lifter)")
                }
            }
        }
    }

    // Expected, from the spectrum's construction: a 1024-point Hann STFT frame (21.5 Hz bins) of
    // harmonics of 172 Hz whose first 8 peak 40 dB over a flat floor (the floor plus 100× it) and whose
    // next ones are the floor alone (the mainlobe of a Hann window is ±2 bins, so the valleys half a
    // harmonic, 4 bins, away are the floor): the mask keeps harmonics 1–8 (every bin nearer to one of
    // them, bins 0…67) and drops the rest; with a 50 dB threshold it keeps nothing;
    // a harmonic peaking only 3.5 dB over the floor (the 5th: the floor plus half of it) drops out at
    // 6 dB while its neighbours stay, and comes back at 3 dB.
    func testHarmonicMaskKeepsTheHarmonicsThatStandOutOfTheNoise() {
        let n = 1024, sr = 22050.0, binHz = sr / Double(n), f0 = 172.0, bins = 200
        func spectrum(height: (Int) -> Double) -> [Float] {     // a harmonic's peak over the floor, in floors
            (0...(n / 2)).map { k -> Float in
                var m = 0.01
                for h in 1...40 {
                    let d = Double(k) - Double(h) * f0 / binHz           // bins from the harmonic
                    guard abs(d) < 2 else { continue }                    // Hann mainlobe: 0.5 + 0.5 cos(πd/2)
                    m += 0.01 * height(h) * (0.5 + 0.5 * cos(Double.pi * d / 2))
                }
                return Float(m)
            }
        }
        let clean = spectrum { $0 <= 8 ? 100 : 0 }
        let mask = SourcePhase.harmonicBins(magnitude: clean, f0: f0, binHz: binHz, bins: bins, minDB: 6)
        let lastVoiced = Int((8.5 * f0 / binHz).rounded(.down))   // bins up to 8.5 harmonics round to h ≤ 8
        XCTAssertEqual(mask.count, bins)
        XCTAssertTrue(mask[0...lastVoiced].allSatisfy { $0 }, "harmonics 1-8")
        XCTAssertFalse(mask[(lastVoiced + 1)...].contains(true), "above the 8th")
        XCTAssertFalse(SourcePhase.harmonicBins(magnitude: clean, f0: f0, binHz: binHz, bins: bins, minDB: 50).contains(true))
        let weak = SourcePhase.harmonicBins(magnitude: spectrum { $0 == 5 ? 0.5 : ($0 <= 8 ? 100 : 0) }, f0: f0, binHz: binHz, bins: bins, minDB: 6)
        let fifth = Int((4.5 * f0 / binHz).rounded(.up))...Int((5.5 * f0 / binHz).rounded(.down))
        XCTAssertFalse(weak[fifth].contains(true), "the 5th, 3.5 dB over the floor")
        XCTAssertTrue(weak[Int((4 * f0 / binHz).rounded())] && weak[Int((6 * f0 / binHz).rounded())], "the 4th and 6th")
        // A pitch whose last harmonics lie past the top bin (every bin asked for) still gets an answer.
        XCTAssertEqual(SourcePhase.harmonicBins(magnitude: clean, f0: 400, binHz: binHz, bins: clean.count, minDB: 6).count, clean.count)
        let weakAt3 = SourcePhase.harmonicBins(magnitude: spectrum { $0 == 5 ? 0.5 : ($0 <= 8 ? 100 : 0) }, f0: f0, binHz: binHz, bins: bins, minDB: 3)
        XCTAssertTrue(weakAt3[fifth].allSatisfy { $0 }, "the 5th at a 3 dB threshold")
    }

    // Expected: at a steady 100 Hz, 22050 Hz, pulses come every 220.5 samples (220 or 221 apart),
    // floor(n · 100 / 22050) of them up to rounding of the first; none in an unvoiced stretch.
    func testPulseTrainFollowsF0AndStopsWhenUnvoiced() {
        let hop = 256, frames = 40, length = (frames - 1) * hop
        let steady = SourcePhase.pulseTrain(f0: [Float](repeating: 100, count: frames), hop: hop, sampleRate: 22050, length: length)
        let at = steady.indices.filter { steady[$0] == 1 }
        XCTAssertEqual(Double(at.count), (Double(length) * 100 / 22050).rounded(.down), accuracy: 1)
        XCTAssertTrue(zip(at, at.dropFirst()).allSatisfy { [220, 221].contains($1 - $0) })
        var f0 = [Float](repeating: 100, count: frames)
        for t in 10..<30 { f0[t] = 0 }
        let gap = SourcePhase.pulseTrain(f0: f0, hop: hop, sampleRate: 22050, length: length)
        XCTAssertFalse(gap[(11 * hop)..<(29 * hop)].contains(1))
        XCTAssertTrue(gap[..<(9 * hop)].contains(1) && gap[(31 * hop)...].contains(1))
    }

    // Expected: noise and silence have no voiced frame, so they come back unchanged (bit for bit);
    // a voiced signal (a 150 Hz pulse train through a resonance at 600 Hz) keeps its length, its
    // energy within 1 dB and its pitch (YIN on the output within 2% of the input's), and only its
    // phase changes: the output differs from the input.
    func testVoicedSignalKeepsPitchAndEnergyNoiseIsUntouched() {
        for n in [1024, 512] { voicedSignalKeepsPitchAndEnergy(STFT(config: STFTConfig(nFFT: n, winLength: n, hop: n / 4))) }
    }

    private func voicedSignalKeepsPitchAndEnergy(_ stft: STFT) {
        let sr = 22050
        let s = SourcePhaseSettings()
        let noise = Self.noise(count: sr, seed: 12345, amplitude: 0.1)
        XCTAssertEqual(SourcePhase.apply(noise, sampleRate: sr, stft: stft, settings: s), noise)
        let silence = [Float](repeating: 0, count: sr)
        XCTAssertEqual(SourcePhase.apply(silence, sampleRate: sr, stft: stft, settings: s), silence)

        var voiced = [Float](repeating: 0, count: sr)
        var y1: Float = 0, y2: Float = 0
        let r: Float = 0.97, theta = Float(2 * Double.pi * 600 / Double(sr))
        for i in 0..<sr {
            let x: Float = i % 147 == 0 ? 1 : 0   // 22050 / 147 = 150 Hz
            let y = x + 2 * r * cos(theta) * y1 - r * r * y2
            voiced[i] = 0.05 * y; y2 = y1; y1 = y
        }
        let out = SourcePhase.apply(voiced, sampleRate: sr, stft: stft, settings: s)
        XCTAssertEqual(out.count, voiced.count)
        XCTAssertNotEqual(out, voiced)
        let energy = { (v: [Float]) in v.reduce(0) { $0 + Double($1 * $1) } }
        XCTAssertEqual(10 * log10(energy(out) / energy(voiced)), 0, accuracy: 1)
        let frames = sr / 256
        func medianF0(_ v: [Float]) -> Float {
            let f = PitchTracker.yin(v, sampleRate: sr, hopSeconds: 256.0 / Double(sr), frames: frames).filter { $0 > 0 }.sorted()
            return f.isEmpty ? 0 : f[f.count / 2]
        }
        XCTAssertEqual(medianF0(voiced), 150, accuracy: 3)
        XCTAssertEqual(medianF0(out), medianF0(voiced), accuracy: 0.02 * 150)
    }

    // Expected: gaps of up to maxGap unvoiced frames between voiced ones are bridged by linear
    // interpolation (100 → 130 over a 2-frame gap: 110, 120); longer gaps, and the unvoiced edges
    // of the utterance, stay unvoiced.
    func testVoicedContourBridgesShortGapsOnly() {
        let f0: [Float] = [0, 100, 0, 0, 130, 0, 0, 0, 0, 0, 90, 0]
        XCTAssertEqual(SourcePhase.voicedContour(f0, maxGap: 4), [0, 100, 110, 120, 130, 0, 0, 0, 0, 0, 90, 0])
        XCTAssertEqual(SourcePhase.voicedContour(f0, maxGap: 1), f0)
        // maxGap 5 bridges the 5-frame gap too: 130 → 90 in steps of 40 / 6.
        let bridged = SourcePhase.voicedContour(f0, maxGap: 5)
        for t in 5...9 { XCTAssertEqual(bridged[t], 130 - 40 * Float(t - 4) / 6, accuracy: 1e-4) }
        XCTAssertEqual(Array(bridged[0...4]), [0, 100, 110, 120, 130])
        XCTAssertEqual(Array(bridged[10...11]), [90, 0])
    }

    // Expected: the settings' ranges are checked (what a hostile config.json could set).
    func testSettingsRejectHostileValues() {
        var s = SourcePhaseSettings()
        XCTAssertTrue(s.problems(nFFT: 1024, sampleRate: 22050).isEmpty)
        s.lifter = 0; s.maxHz = .nan; s.fMinHz = 500; s.fMaxHz = 100; s.threshold = 1; s.maxGapFrames = -1
        XCTAssertEqual(s.problems(nFFT: 1024, sampleRate: 22050).count, 5)
        s = SourcePhaseSettings(); s.lifter = 512
        XCTAssertEqual(s.problems(nFFT: 1024, sampleRate: 22050).count, 1)
        s.nFFT = 512   // its own STFT: the lifter is checked against that (below 256)
        XCTAssertEqual(s.problems(nFFT: 1024, sampleRate: 22050).count, 1)
        s.lifter = 30
        XCTAssertTrue(s.problems(nFFT: 1024, sampleRate: 22050).isEmpty)
        s.nFFT = nil; s.framePeriods = 3
        XCTAssertTrue(s.problems(nFFT: 1024, sampleRate: 22050).isEmpty)
        s.lifter = 200   // fine for a 1024-point frame, not for the 256-point ones frame_periods may pick
        XCTAssertEqual(s.problems(nFFT: 1024, sampleRate: 22050).count, 1)
        s.lifter = 30
        for bad in [0.5, 17, .nan, -3] {
            s.framePeriods = bad
            XCTAssertEqual(s.problems(nFFT: 1024, sampleRate: 22050).count, 1, "frame_periods \(bad)")
        }
        s.framePeriods = nil
        for bad in [10, 2500, .nan, -150] {   // outside f_min_hz...f_max_hz (60...400)
            s.maxMedianF0Hz = bad
            XCTAssertEqual(s.problems(nFFT: 1024, sampleRate: 22050).count, 1, "max_median_f0_hz \(bad)")
        }
        s.maxMedianF0Hz = 150
        XCTAssertTrue(s.problems(nFFT: 1024, sampleRate: 22050).isEmpty)
        s.maxMedianF0Hz = nil
        for bad in [-1, 61, .nan] {
            s.harmonicDB = bad
            XCTAssertEqual(s.problems(nFFT: 1024, sampleRate: 22050).count, 1, "harmonic_db \(bad)")
        }
        s.harmonicDB = 6
        XCTAssertTrue(s.problems(nFFT: 1024, sampleRate: 22050).isEmpty)
        s.harmonicDB = nil
        for bad in [0, 1000, 128, 1 << 20, -512] {
            s.nFFT = bad
            XCTAssertEqual(s.problems(nFFT: 1024, sampleRate: 22050).count, 1, "n_fft \(bad)")
        }
    }

    // Expected: the frame holds `periods` periods of the median f0, rounded up to a power of two
    // (closed form: 3 · 22050 / 170 = 389 → 512; 3 · 22050 / 100 = 662 → 1024; 3 · 22050 / 62 =
    // 1067 → 2048; 1 · 22050 / 300 = 74 → the 256 floor); no voiced frame (silence) gives nil.
    func testFrameSizeHoldsThePeriodsOfTheMedianPitch() {
        let sr = 22050
        for (f0, periods, expected) in [(170.0, 3.0, 512), (100.0, 3.0, 1024), (62.0, 3.0, 2048), (300.0, 1.0, 256)] {
            let median = SourcePhase.medianF0(Self.tone(f0, sampleRate: sr), sampleRate: sr, hop: 256, settings: SourcePhaseSettings())
            XCTAssertEqual(median.map { SourcePhase.frameSize(medianF0: $0, sampleRate: sr, periods: periods) }, expected, "f0 \(f0)")
        }
        XCTAssertNil(SourcePhase.medianF0([Float](repeating: 0, count: sr), sampleRate: sr, hop: 256, settings: SourcePhaseSettings()))
    }

    // Expected: with max_median_f0_hz 150, a voice at 170 Hz (slt's median is about 172) comes back
    // sample for sample as it went in, and one at 100 Hz (rms's, about 100) gets the source phase
    // (changed, same length); so does the 170 Hz one once the gate is raised to 200. The medians
    // are YIN's on a 5-harmonic tone, which it tracks within a hertz (frameSize's test above).
    func testMedianPitchGateKeepsHighVoicesUnchanged() {
        let sr = 22050
        var s = SourcePhaseSettings(); s.framePeriods = 3; s.maxMedianF0Hz = 150
        let high = Self.tone(170, sampleRate: sr), low = Self.tone(100, sampleRate: sr)
        XCTAssertEqual(Double(SourcePhase.medianF0(high, sampleRate: sr, hop: 256, settings: s) ?? 0), 170, accuracy: 2)
        XCTAssertEqual(SourcePhase.apply(high, sampleRate: sr, hop: 256, fixed: nil, settings: s), high)
        let changed = SourcePhase.apply(low, sampleRate: sr, hop: 256, fixed: nil, settings: s)
        XCTAssertEqual(changed.count, low.count)
        XCTAssertGreaterThan(zip(changed, low).map { Swift.abs($0 - $1) }.max() ?? 0, 0.01)
        // The gate's pitch contour is reused by the STFT pass when their hops agree (100 Hz: 3
        // periods fit 1024 samples, hop 256): the output is the one tracking it afresh gives.
        XCTAssertEqual(SourcePhase.frameSize(medianF0: 100, sampleRate: sr, periods: 3), 1024)
        XCTAssertEqual(changed, SourcePhase.apply(low, sampleRate: sr, stft: STFT(config: STFTConfig(nFFT: 1024, winLength: 1024, hop: 256)), settings: s))
        s.maxMedianF0Hz = 200
        XCTAssertNotEqual(SourcePhase.apply(high, sampleRate: sr, hop: 256, fixed: nil, settings: s), high)
        // Silence has no median: unchanged whatever the gate.
        let silence = [Float](repeating: 0, count: sr)
        XCTAssertEqual(SourcePhase.apply(silence, sampleRate: sr, hop: 256, fixed: nil, settings: s), silence)
    }

    // Expected: with harmonic_min_f0_hz 150 and a threshold no harmonic can reach (100 dB: the tone,
    // 5 harmonics of amplitude at most 0.2, sits in uniform noise of amplitude 0.02, whose bins in a
    // 512-point Hann frame are about 0.16 against the first harmonic's 26, 44 dB), the 170 Hz voice
    // keeps its own phase in every bin, so it comes back exactly as the STFT's round trip alone returns
    // it, while the 100 Hz voice, below the mask's pitch, gets the source phase exactly as without any
    // mask; at a 6 dB threshold the 170 Hz voice's harmonics pass and it changes.
    func testHarmonicMaskAppliesFromItsPitchUp() {
        let sr = 22050
        let noise = Self.noise(count: 2 * sr, seed: 777, amplitude: 0.02)   // the first second for one voice, the next for the other
        let high = zip(Self.tone(170, sampleRate: sr), noise[..<sr]).map { $0 + $1 }
        let low = zip(Self.tone(100, sampleRate: sr), noise[sr...]).map { $0 + $1 }
        var plain = SourcePhaseSettings(); plain.framePeriods = 3
        var masked = plain; masked.harmonicDB = 100; masked.harmonicMinF0Hz = 150
        XCTAssertEqual(SourcePhase.apply(low, sampleRate: sr, hop: 256, fixed: nil, settings: masked),
                       SourcePhase.apply(low, sampleRate: sr, hop: 256, fixed: nil, settings: plain))
        let n = SourcePhase.frameSize(medianF0: 170, sampleRate: sr, periods: 3)
        XCTAssertEqual(n, 512)
        let stft = STFT(config: STFTConfig(nFFT: n, winLength: n, hop: n / 4))
        let roundTrip = stft.inverse(stft.forward(high), length: high.count)
        let kept = SourcePhase.apply(high, sampleRate: sr, hop: 256, fixed: nil, settings: masked)
        XCTAssertEqual(kept, roundTrip)
        masked.harmonicDB = 6
        let changed = SourcePhase.apply(high, sampleRate: sr, hop: 256, fixed: nil, settings: masked)
        XCTAssertGreaterThan(zip(changed, roundTrip).map { Swift.abs($0 - $1) }.max() ?? 0, 0.01)
    }
}
