// LevelledOutput.swift — an output file of any length, brought to its loudness as a whole, in
// bounded memory. `Loudness.apply` measures and limits a whole utterance at once, so the level does
// not pump between its sentences; held in memory, that costs about 1 GB an hour of speech, and a
// short hostile text (100,000 SSML breaks of 10 s) asks for days of samples. Up to `memoryLimit`
// samples the output stays in memory and goes through `Loudness.apply` as before; past it the
// samples spill to a temporary file, measured as they arrive, and the level stage runs over the
// file block by block: `Loudness.apply` over a `SampleSource`, the one level stage for audio in
// memory and spilled alike, so the same samples (held equal by
// AudioTests.testLevelledOutputSpillsToTheSameSamples).
import Base
import Foundation

/// Samples in a temporary file: appended, then read back in any order (a spill of long output).
/// The file is removed when the spill is dropped, and by an interrupt before that.
final class SampleSpill {
    let channels: Int
    private(set) var frames = 0
    private let folder: String
    private let file: UnsafeMutablePointer<FILE>

    init(channels: Int) throws {
        self.channels = channels
        do { folder = try TemporaryFiles.folder(kind: "spill") } catch {
            throw AudioError.writeFailed(path: NSTemporaryDirectory(), reason: "no folder for the temporary spill of a long output (\(error.localizedDescription)); set TMPDIR to a writable folder with room")
        }
        guard let f = fopen(folder + "/samples.f32", "w+b") else {
            let reason = String(cString: strerror(errno))
            TemporaryFiles.removeFolder(folder)
            throw AudioError.writeFailed(path: folder + "/samples.f32", reason: reason)
        }
        file = f
    }

    deinit {
        fclose(file)
        TemporaryFiles.removeFolder(folder)
    }

    func append(_ samples: UnsafeBufferPointer<Float>) throws {
        guard samples.count > 0 else { return }
        // Flushed at once, so a full disk is reported here, with its reason, and not at the read back.
        guard fseeko(file, 0, SEEK_END) == 0, fwrite(samples.baseAddress!, 4, samples.count, file) == samples.count, fflush(file) == 0 else {
            throw AudioError.writeFailed(path: folder + "/samples.f32", reason: "the temporary spill of a long output: \(String(cString: strerror(errno))) (free some space in \(NSTemporaryDirectory()), or set TMPDIR to a folder with room)")
        }
        frames += samples.count / channels
    }

    /// Frames [start, start + count), interleaved.
    func read(_ start: Int, _ count: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: count * channels)
        guard count > 0 else { return out }
        let ok = out.withUnsafeMutableBufferPointer { p in
            fseeko(file, off_t(start * channels * 4), SEEK_SET) == 0 && fread(p.baseAddress!, 4, p.count, file) == p.count
        }
        guard ok else { throw AudioError.readFailed(path: folder + "/samples.f32", reason: "the temporary spill of a long output could not be read back") }
        return out
    }
}

/// An output's samples, appended in chunks (`append`), then given back at the asked loudness in
/// blocks (`finish`): in memory up to `memoryLimit` samples, spilled to a temporary file past it.
public final class LevelledOutput {
    /// The rate of the samples given back (after `convert`).
    public let sampleRate: Int
    public let channels: Int
    let target: Double?
    let volume: Float
    let memoryLimit: Int
    /// What the samples go through before the level stage (a change of rate): all held samples at
    /// once in memory, each appended chunk on its own once spilled.
    let convert: ([Float]) throws -> [Float]
    private var held: [Float] = []
    private var spill: SampleSpill?
    private var meter: LoudnessMeter

    /// The rate of the samples appended (before `convert`).
    let inputRate: Int
    private var appended = 0
    /// The longest output, in seconds: past it `append` throws `TooLong` (the spill would fill
    /// the disk, and a WAV file stops at 4 GB: 27 hours of 16-bit mono at 22,050 Hz). At most
    /// 2^30 samples whatever the rate (a spill of 4 GB, a 16-bit WAV of 2 GB).
    public let maxSeconds: Double
    static let maxSamples = 1 << 30

    /// An output that would pass `maxSeconds`.
    public struct TooLong: Error, CustomStringConvertible {
        public let maxSeconds: Double
        public init(maxSeconds: Double) { self.maxSeconds = maxSeconds }
        public var description: String {
            "the output would be longer than " + (maxSeconds >= 3600 ? String(format: "%g hours", (maxSeconds / 360).rounded() / 10)
                                                                      : String(format: "%g seconds", maxSeconds))
        }
    }

    /// `memoryLimit`: samples kept in memory (10 minutes of mono 22,050 Hz audio by default, 53 MB).
    public init(sampleRate: Int, channels: Int = 1, target: Double?, volume: Float = 1, memoryLimit: Int = 600 * 22_050,
                maxSeconds: Double = 12 * 3600, inputRate: Int? = nil, convert: @escaping ([Float]) throws -> [Float] = { $0 }) throws {
        guard sampleRate >= 16 && sampleRate <= 2_822_400 else { throw AudioError.invalidSampleRate(rate: sampleRate) }
        self.sampleRate = sampleRate; self.channels = channels
        self.target = target; self.volume = volume; self.memoryLimit = memoryLimit; self.convert = convert
        precondition(memoryLimit >= sampleRate * channels, "hold at least a second: shorter audio is levelled in memory (Loudness.normalize)")
        self.maxSeconds = min(maxSeconds, Double(LevelledOutput.maxSamples / channels) / Double(sampleRate))
        self.inputRate = inputRate ?? sampleRate
        meter = LoudnessMeter(sampleRate: sampleRate, channels: channels)
    }

    /// Whether the samples went to a temporary file.
    public var spilled: Bool { spill != nil }

    /// Appends whole frames at the rate `convert` takes (the caller's own rate). Once the output
    /// has spilled, each chunk is converted on its own (a change of rate then starts afresh at
    /// each chunk, as a stream's sentences do: give whole sentences).
    public func append(_ samples: [Float]) throws {
        guard samples.count % channels == 0 else {
            throw AudioError.invalidBuffer(context: "levelled output", problem: "\(samples.count) samples for \(channels) channels", fix: "append whole frames")
        }
        // Counted before any conversion: the rates differ by a factor, the limit by the same one.
        appended += samples.count
        guard Double(appended / channels) <= maxSeconds * Double(inputRate) else { throw TooLong(maxSeconds: maxSeconds) }
        if spill == nil && held.count + samples.count <= memoryLimit { held += samples; return }
        if spill == nil {
            spill = try SampleSpill(channels: channels)
            try toSpill(convert(held))
            held = []
        }
        try toSpill(convert(samples))
    }

    private func toSpill(_ samples: [Float]) throws {
        try samples.withUnsafeBufferPointer { p in
            try spill!.append(p)
            if p.count > 0 { meter.add(p.baseAddress!, frames: p.count / channels) }
        }
    }

    /// Hands the levelled samples to `sink` in order (one block when held in memory).
    public func finish(_ sink: ([Float]) throws -> Void) throws {
        guard let spill else {
            try sink(try Loudness.apply(convert(held), sampleRate: sampleRate, channels: channels, target: target, volume: volume))
            return
        }
        let out = try Loudness.apply(SampleSource(spill), sampleRate: sampleRate, measured: Loudness.measurement(of: meter),
                                     target: target, volume: volume)
        try out.forEachBlock(sink)
    }
}
