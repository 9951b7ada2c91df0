// CopySynthesis.swift — `gen vocode`: any audio libsndfile reads → 22050 Hz mono → the project's
// 80-bin log-mel → a vocoder → audio. How the vocoder is evaluated (PESQ/STOI against the input),
// and useful on its own for checking a voice.
import Audio
import DSP
import Foundation

public enum CopySynthesis {
    /// Longest input, in seconds (memory grows with the length: about 50 MB per minute at 48 kHz stereo).
    public static let maxSeconds = 3600.0
    /// Audio is vocoded in blocks of this many mel frames (about 24 s), so the spectra held at once stay small.
    static let blockFrames = 2048

    /// The 22050 Hz mono samples of `path`.
    public static func load(_ path: String) throws -> [Float] {
        let mono = try AudioFile.read(path, longest: maxSeconds).mono()
        let rate = MelConfig.standard.sampleRate
        return mono.sampleRate == rate ? mono.samples : try Resampler.resample(mono.samples, from: mono.sampleRate, to: rate)
    }

    /// Mel analysis and resynthesis of 22050 Hz `audio`: the output has the input's length. Long
    /// audio goes in blocks of `blockFrames` frames whose mels see one FFT window past each edge, so
    /// the blocks join without a seam.
    public static func resynthesize(_ audio: [Float], vocoder: Vocoder) -> [Float] {
        let hop = MelConfig.standard.hop, n = MelConfig.standard.nFFT
        let fb = MelFilterbank.standard
        guard !audio.isEmpty else { return [] }
        var out = [Float](repeating: 0, count: audio.count)
        let block = blockFrames * hop, margin = 8 * n
        var start = 0
        while start < audio.count {
            let end = min(start + block, audio.count)
            // Analyse [start − margin, end + margin) and keep [start, end): frames near the block's
            // edges then see the same samples as in one whole-file analysis (away from the file's ends).
            let lo = max(0, start - margin), hi = min(audio.count, end + margin)
            let piece = Array(audio[lo..<hi])
            let mel = fb.logMel(audio: piece)
            let frames = mel.count / fb.nMels
            let y = vocoder.waveform(logMel: mel, frames: frames, length: piece.count)
            for t in start..<end where t - lo < y.count { out[t] = y[t - lo] }
            start = end
        }
        return out
    }
}
