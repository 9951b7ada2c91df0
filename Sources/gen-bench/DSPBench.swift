// DSPBench.swift — STFT, log-mel and Griffin-Lim speed as real-time factors on 10 s of 22050 Hz audio.
import DSP
import Foundation

func benchDSP() {
    let seconds = 10.0, sr = 22050
    var rng = SystemRandomNumberGenerator()
    let x = (0..<Int(seconds) * sr).map { i in
        0.3 * Float(sin(2 * Double.pi * 220 * Double(i) / Double(sr))) + Float.random(in: -0.05...0.05, using: &rng)
    }
    let stft = STFT(config: STFTConfig())
    let bank = MelFilterbank()
    let tStft = time(3) { _ = stft.forward(x) }
    let tMel = time(3) { _ = bank.logMel(audio: x) }
    let mel = bank.logMel(audio: x)
    let gl = GriffinLim(iterations: 60)
    let tGL = time(1) { _ = gl.reconstruct(logMel: mel, filterbank: bank, length: x.count) }
    print("STFT 1024/256 of 10 s:       \(fmt(tStft * 1000)) ms   RTF \(fmt(tStft / seconds, 4))")
    print("log-mel (80) of 10 s:        \(fmt(tMel * 1000)) ms   RTF \(fmt(tMel / seconds, 4))")
    print("Griffin-Lim 60 it, 10 s:     \(fmt(tGL * 1000)) ms   RTF \(fmt(tGL / seconds, 4))  (seconds of compute per second of audio)")
}
