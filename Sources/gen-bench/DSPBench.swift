// DSPBench.swift — FFT, STFT, log-mel and Griffin-Lim speed, as real-time factors on 10 s of 22050 Hz audio.
// The FFT line times the fast kernel against the plain radix-2 reference in the same run, so the
// ratio holds on a busy machine.
import DSP
import Foundation

func benchDSP() {
    benchFFT()
    let seconds = 10.0, sr = 22050
    var rng = SystemRandomNumberGenerator()
    let x = (0..<Int(seconds) * sr).map { i in
        0.3 * Float(sin(2 * Double.pi * 220 * Double(i) / Double(sr))) + Float.random(in: -0.05...0.05, using: &rng)
    }
    let stft = STFT(config: STFTConfig())
    let bank = MelFilterbank()
    let spec = stft.forward(x)
    let tStft = time(5) { _ = stft.forward(x) }
    let tIstft = time(5) { _ = stft.inverse(spec, length: x.count) }
    let tMel = time(3) { _ = bank.logMel(audio: x) }
    let mel = bank.logMel(audio: x)
    let gl = GriffinLim(iterations: 60)
    let tGL = time(2) { _ = gl.reconstruct(logMel: mel, filterbank: bank, length: x.count) }
    print("STFT 1024/256 of 10 s:       \(fmt(tStft * 1000, 2)) ms   RTF \(fmt(tStft / seconds, 5))")
    print("iSTFT 1024/256 of 10 s:      \(fmt(tIstft * 1000, 2)) ms   RTF \(fmt(tIstft / seconds, 5))")
    print("log-mel (80) of 10 s:        \(fmt(tMel * 1000)) ms   RTF \(fmt(tMel / seconds, 4))")
    print("Griffin-Lim 60 it, 10 s:     \(fmt(tGL * 1000)) ms   RTF \(fmt(tGL / seconds, 4))  (seconds of compute per second of audio)")
}

/// rfft and irfft of 1024 points, fast kernel vs reference kernel, per transform.
private func benchFFT() {
    let n = 1024, calls = 2000
    let plan = FFTPlan(n: n)
    let x = (0..<n).map { Float(sin(Double($0) * 0.3)) }
    var re = [Float](repeating: 0, count: n / 2 + 1), im = re, y = [Float](repeating: 0, count: n)
    func perCall(_ body: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>,
                          UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) -> Double {
        time(5) {
            x.withUnsafeBufferPointer { xp in re.withUnsafeMutableBufferPointer { r in im.withUnsafeMutableBufferPointer { i in
                y.withUnsafeMutableBufferPointer { o in for _ in 0..<calls { body(xp, r, i, o) } }
            } } }
        } / Double(calls)
    }
    let fast = perCall { x, r, i, _ in plan.rfft(x, re: r, im: i) }
    let reference = perCall { x, r, i, _ in plan.referenceRFFT(x, re: r, im: i) }
    // irfft overwrites its bins, so each call starts from a fresh copy (in both timings).
    let (specRe, specIm) = plan.rfft(x)
    let fastInv = perCall { _, r, i, o in
        _ = r.update(fromContentsOf: specRe); _ = i.update(fromContentsOf: specIm)
        plan.irfft(re: r, im: i, output: o)
    }
    let referenceInv = perCall { _, r, i, o in
        _ = r.update(fromContentsOf: specRe); _ = i.update(fromContentsOf: specIm)
        plan.referenceIRFFT(re: r, im: i, output: o)
    }
    print("rfft 1024:   \(fmt(fast * 1e6, 2)) µs   reference radix-2 \(fmt(reference * 1e6, 2)) µs   speedup \(fmt(reference / fast, 2))×")
    print("irfft 1024:  \(fmt(fastInv * 1e6, 2)) µs   reference radix-2 \(fmt(referenceInv * 1e6, 2)) µs   speedup \(fmt(referenceInv / fastInv, 2))×")
}
