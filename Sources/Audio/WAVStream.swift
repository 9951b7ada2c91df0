// WAVStream.swift — a 16-bit PCM WAV written to stdout as it is produced (`gen speech -o -`), so
// an hour of speech piped into a player never sits in memory whole. The header goes out with the
// first samples, its sizes set to 0xFFFFFFFF ("length unknown", as sox and ffmpeg write to pipes);
// when stdout is a regular file (`-o - > out.wav`) `finish()` seeks back and writes the real sizes.
// Nothing at all is written before the first samples, so an error found before any audio (empty
// text, unknown voice) leaves stdout empty.
import Foundation

public final class WAVStream {
    public let sampleRate: Int
    public let channels: Int
    public private(set) var frames = 0
    private var started = false
    /// Where the header starts, when the output is a seekable file that is not in append mode.
    private var headerOffset: off_t?
    private let output: UnsafeMutablePointer<FILE>
    /// No header at all: headerless 16-bit little-endian PCM (`--output-raw`).
    public let raw: Bool

    /// Writes to `output` (stdout unless a test gives another stream). Every append is flushed,
    /// so a player at the other end of a pipe hears each sentence as soon as it is made.
    public init(sampleRate: Int, channels: Int = 1, raw: Bool = false, output: UnsafeMutablePointer<FILE> = stdout) throws {
        guard sampleRate > 0 && sampleRate <= Int(Int32.max) else { throw AudioError.invalidSampleRate(rate: sampleRate) }
        self.sampleRate = sampleRate; self.channels = max(channels, 1); self.raw = raw; self.output = output
    }

    /// The 44-byte header of a PCM16 WAV holding `dataBytes` bytes of samples (nil: unknown).
    public static func header(sampleRate: Int, channels: Int, dataBytes: Int?) -> [UInt8] {
        func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func u16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        let unknown = 0xFFFF_FFFF
        let data = dataBytes.map { $0 <= unknown - 36 ? $0 : unknown } ?? unknown
        let riff = data == unknown ? unknown : data + 36
        return Array("RIFF".utf8) + u32(riff) + Array("WAVE".utf8)
            + Array("fmt ".utf8) + u32(16) + u16(1) + u16(channels) + u32(sampleRate)
            + u32(sampleRate * channels * 2) + u16(channels * 2) + u16(16)
            + Array("data".utf8) + u32(data)
    }

    /// Appends interleaved samples, quantised as the .wav writer does (`AudioFile.pcm16`); NaN or
    /// infinite values are refused before anything is written.
    public func append(_ samples: [Float]) throws {
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioError.nonFiniteSample(context: "stdout", index: frames * channels + bad, value: samples[bad])
        }
        if !started && raw { started = true }
        if !started {
            let at = ftello(output), appending = fcntl(fileno(output), F_GETFL) & O_APPEND != 0
            headerOffset = at >= 0 && !appending ? at : nil
            try put(Self.header(sampleRate: sampleRate, channels: channels, dataBytes: nil))
            started = true
        }
        var bytes = [UInt8](repeating: 0, count: samples.count * 2)
        for (i, v) in AudioFile.pcm16(samples).enumerated() {
            bytes[2 * i] = UInt8(truncatingIfNeeded: v); bytes[2 * i + 1] = UInt8(truncatingIfNeeded: v >> 8)
        }
        try put(bytes)
        guard fflush(output) == 0 else { throw failure("flush failed") }
        frames += samples.count / channels
    }

    /// Flushes, and writes the real sizes into the header when the output can seek back.
    public func finish() throws {
        if raw { guard fflush(output) == 0 else { throw failure("flush failed") }; return }
        if !started { try put(Self.header(sampleRate: sampleRate, channels: channels, dataBytes: 0)); started = true; return }
        guard fflush(output) == 0 else { throw failure("flush failed") }
        // A pipe (or a file opened for appending): the sizes stay "unknown".
        guard let at = headerOffset else { return }
        let end = ftello(output)
        guard end >= at + 44, fseeko(output, at, SEEK_SET) == 0 else { return }
        try put(Self.header(sampleRate: sampleRate, channels: channels, dataBytes: frames * channels * 2))
        guard fseeko(output, end, SEEK_SET) == 0, fflush(output) == 0 else { throw failure("could not seek back to the end") }
    }

    private func put(_ bytes: [UInt8]) throws {
        let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, output) }
        guard written == bytes.count else { throw failure("stdout accepted \(written) of \(bytes.count) bytes") }
    }

    private func failure(_ what: String) -> AudioError {
        if errno == EPIPE { return .brokenPipe }
        return AudioError.writeFailed(path: "-", reason: "\(what) (\(String(cString: strerror(errno)))); the program reading the pipe stopped early")
    }
}
