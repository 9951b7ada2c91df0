// MusicClips.swift — the audio of a music corpus's clips and the windows the trainers and probes
// take from them: random training windows (clips picked in proportion to their length) and
// fixed held-out windows.
import Audio
import Engine
import Foundation

public enum MusicClips {
    /// Clips of one split, read as mono at `sampleRate` (downmixed and resampled when needed).
    public static func load(_ dir: String, split: String, sampleRate: Int) throws -> [[Float]] {
        let lines = try MusicCorpus.loadMetadata(dir).filter { $0.split == split }
        return try lines.map { try AudioFile.readMono(MusicCorpus.resolve($0.file, in: dir), sampleRate: sampleRate) }
    }

    /// B random windows of `length` samples (zero-padded when a clip is shorter), clips picked in
    /// proportion to their length. → (B, 1, length)
    public static func randomBatch(_ clips: [[Float]], batch: Int, length: Int, rng: inout RNG) -> Tensor {
        let total = clips.reduce(0) { $0 + max($1.count, 1) }
        var data = [Float](repeating: 0, count: batch * length)
        for b in 0..<batch {
            var r = rng.int(below: max(total, 1)), c = 0
            while c < clips.count - 1 && r >= max(clips[c].count, 1) { r -= max(clips[c].count, 1); c += 1 }
            let clip = clips[c]
            let start = clip.count > length ? rng.int(below: clip.count - length + 1) : 0
            let n = min(length, clip.count - start)
            if n > 0 { data.replaceSubrange((b * length)..<(b * length + n), with: clip[start..<(start + n)]) }
        }
        return Tensor(shape: [batch, 1, length], data: data)
    }

    /// Fixed held-out windows: window k of every clip in turn, until `count` are taken.
    public static func evalWindows(_ clips: [[Float]], count: Int, length: Int) -> [[Float]] {
        var out: [[Float]] = []
        var k = 0
        while out.count < count {
            var added = false
            for clip in clips where out.count < count && k * length < clip.count {
                var w = [Float](repeating: 0, count: length)
                let n = min(length, clip.count - k * length)
                w.replaceSubrange(0..<n, with: clip[(k * length)..<(k * length + n)])
                out.append(w); added = true
            }
            if !added { break }
            k += 1
        }
        return out
    }
}
