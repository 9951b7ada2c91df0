// Vocals.swift — the sung-spoken lyric track of a clip: each lyric line is spoken by the artist's
// flite voice, pitched to the key and placed on the bar grid.
//
// Pitching is a plain speed change (the line is resampled as if flite had spoken it at another
// rate), so it shifts pitch and duration together. The shift moves the line's median F0 (YIN) to
// the nearest tone of the key's tonic triad, so it is never more than a few semitones and the
// voice stays natural. Each line starts exactly on a bar boundary and the next line starts on
// the first phrase boundary (every two bars) after it ends.
import Audio
import DSP
import Foundation
import Teacher

public struct LyricLine: Codable, Equatable, Sendable {
    public var text: String
    public var start: Double   // seconds from the start of the clip
    public var end: Double
}

enum Vocals {
    /// Seconds of the clip before the first line, in bars: one bar of introduction, two on longer clips.
    static func introBars(totalBars: Int) -> Int { totalBars >= 8 ? 2 : 1 }

    /// Spoken line → trimmed, key-pitched samples at `sampleRate`.
    static func line(_ text: String, voice: String, key: MusicKey, sampleRate: Int) throws -> [Float] {
        let spoken = try synthesize(text, voice: voice)
        let x = trimSilence(spoken.samples)
        let shift = semitoneShift(x, sampleRate: spoken.sampleRate, key: key)
        // Played back 2^(shift/12) times faster: the pitch rises by `shift` semitones.
        let ratio = pow(2, shift / 12)
        let asIfRate = Int((Double(spoken.sampleRate) * ratio).rounded())
        return try Resampler.resample(x, from: asIfRate, to: sampleRate)
    }

    private static let lock = NSLock()

    /// flite's excitation noise comes from libc rand(), so a line's audio would depend on what was
    /// spoken before it (and, with parallel workers, on timing). Reseeding before every line, under
    /// one lock, makes each line's audio a function of its text and voice alone.
    static func synthesize(_ text: String, voice: String) throws -> (samples: [Float], sampleRate: Int) {
        lock.lock(); defer { lock.unlock() }
        srand(1)
        return try Flite.synthesize(text: text, voice: voice)
    }

    /// Semitones that move the median voiced F0 of `x` onto the nearest tonic-triad tone of `key`.
    static func semitoneShift(_ x: [Float], sampleRate: Int, key: MusicKey) -> Double {
        let hop = 0.01
        let f0 = PitchTracker.yin(x, sampleRate: sampleRate, hopSeconds: hop, frames: Int(Double(x.count) / Double(sampleRate) / hop))
        let voiced = f0.filter { $0 > 0 }.sorted()
        guard !voiced.isEmpty else { return 0 }
        let median = Double(voiced[voiced.count / 2])
        let midi = 69 + 12 * log2(median / 440)
        let triad = [0, key.mode == .major ? 4 : 3, 7].map { (key.tonic + $0) % 12 }
        let nearest = Int(midi.rounded())
        let candidates = (nearest - 6...nearest + 6).filter { triad.contains((($0 % 12) + 12) % 12) }
        return candidates.map { Double($0) - midi }.min { abs($0) < abs($1) } ?? 0
    }

    /// Drops leading and trailing samples quieter than 2% of the peak (flite's pauses), so a line
    /// placed at a bar boundary starts singing there.
    static func trimSilence(_ x: [Float]) -> [Float] {
        let threshold = 0.02 * Normalize.peak(x)
        guard let first = x.firstIndex(where: { abs($0) > threshold }),
              let last = x.lastIndex(where: { abs($0) > threshold }) else { return x }
        return Array(x[first...last])
    }

    /// Lines from `generator`, spoken and placed on the bar grid of a clip of `frames` samples,
    /// until the next line would not end inside the clip: the vocal track (frames) and the lyrics.
    static func track(generator: inout LyricGenerator, voice: String, key: MusicKey, barSeconds: Double,
                      totalBars: Int, frames: Int, sampleRate: Int) throws -> (samples: [Float], lyrics: [LyricLine]) {
        var out = [Float](repeating: 0, count: frames)   // (frames)
        var lyrics: [LyricLine] = []
        let total = Double(frames) / Double(sampleRate)
        var bar = introBars(totalBars: totalBars)
        while bar < totalBars {
            let text = generator.nextLine()
            let audio = try line(text, voice: voice, key: key, sampleRate: sampleRate)
            let start = Double(bar) * barSeconds
            let seconds = Double(audio.count) / Double(sampleRate)
            // Leave a quarter second before the clip ends, so no line is cut.
            guard start + seconds <= total - 0.25 else { break }
            let offset = Int((start * Double(sampleRate)).rounded())
            for (i, v) in audio.enumerated() where offset + i < frames { out[offset + i] = v }
            lyrics.append(LyricLine(text: text, start: start, end: start + seconds))
            let barsSung = Int((seconds / barSeconds).rounded(.up))
            bar += max(2, barsSung + barsSung % 2)
        }
        return (out, lyrics)
    }
}
