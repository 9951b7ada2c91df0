// AudioFile: reading any format libsndfile reads, and writing WAV, FLAC and OGG Vorbis.
// Writes are atomic (temporary file in the same directory, then rename(2)), so an interrupted
// run never leaves a half-written file under the final name (DESIGN.md, "Exit codes").
// "-" as an output path streams a WAV to stdout, built in memory through libsndfile's virtual I/O.

import Base
import CSndFile
import Foundation

/// Output container chosen from a path's extension.
public enum AudioFileFormat {
    /// .raw: headerless 16-bit little-endian PCM (Piper's --output-raw, aplay -f S16_LE).
    case wav, flac, ogg, raw

    public init(path: String) throws {
        let name = PathName.last(path)
        // A leading dot marks a hidden file (".wav" is a name, not an extension).
        let dot = name.dropFirst().lastIndex(of: ".")
        let ext = dot.map { String(name[name.index(after: $0)...]) } ?? ""
        switch ext.lowercased() {
        case "wav": self = .wav
        case "flac": self = .flac
        case "ogg": self = .ogg
        case "raw", "pcm": self = .raw
        default: throw AudioError.unknownExtension(path: path, ext: ext)
        }
    }
}

/// How samples are stored. Only WAV honours `.float32`; FLAC is always 16-bit PCM and OGG is
/// Vorbis, which has no sample encoding of its own.
public enum SampleEncoding {
    case pcm16, float32
}

public enum AudioFile {

    // MARK: - read

    /// Reads a whole file (or only its first `maxSeconds`) as interleaved Float32 in [-1, 1),
    /// keeping its rate and channels. A file longer than `longest` seconds, or holding more than
    /// `mostSamples` samples (its frames × channels), is refused (`AudioError.tooLong`) after reading
    /// no more than that: what bounds the memory of a command that holds a whole input.
    public static func read(_ path: String, maxSeconds: Double? = nil, longest: Double? = nil, mostSamples: Int? = nil) throws -> AudioBuffer {
        // libsndfile reports all of these as one vague "System error", so check them first.
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw AudioError.fileNotFound(path: path)
        }
        if isDir.boolValue { throw AudioError.isDirectory(path: path) }
        guard access(path, R_OK) == 0 else {
            throw AudioError.readFailed(path: path, reason: "permission denied (fix it with chmod, or read a copy)")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
           size.intValue == 0 {
            throw AudioError.emptyFile(path: path)
        }

        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let code = sf_error(nil)
            let reason = sndfileMessage(sf_strerror(nil))
            if code == Int32(SF_ERR_UNRECOGNISED_FORMAT) {
                throw AudioError.unrecognisedFormat(path: path, reason: reason)
            }
            throw AudioError.readFailed(path: path, reason: reason)
        }
        defer { sf_close(file) }

        let channels = Int(info.channels)
        guard channels >= 1, info.samplerate > 0 else {
            throw AudioError.readFailed(path: path,
                                        reason: "its header says \(info.channels) channels at \(info.samplerate) Hz")
        }
        // Read in chunks until libsndfile stops: a damaged header may claim more (or fewer)
        // frames than the file holds, so info.frames is only a capacity hint.
        let chunkFrames = 65536
        var samples: [Float] = []   // (frames * channels)
        if info.frames > 0 && info.frames < Int64(1 << 28) {
            samples.reserveCapacity(Int(info.frames) * channels)
        }
        var chunk = [Float](repeating: 0, count: chunkFrames * channels)
        // A prefix (a prime for `gen music`) reads no further than it needs.
        var remaining = maxSeconds.map { max(0, Int(($0 * Double(info.samplerate)).rounded(.up))) } ?? Int.max
        // The most frames a refusing limit allows, and one more to tell "too long" from "just fits".
        let allowed = min(longest.map { Int(($0 * Double(info.samplerate)).rounded(.down)) } ?? Int.max,
                          mostSamples.map { $0 / channels } ?? Int.max)
        if allowed < Int.max { remaining = min(remaining, allowed + 1) }
        while remaining > 0 {
            let want = min(chunkFrames, remaining)
            let got = chunk.withUnsafeMutableBufferPointer {
                sf_readf_float(file, $0.baseAddress, sf_count_t(want))
            }
            if got <= 0 { break }
            samples.append(contentsOf: chunk[0..<(Int(got) * channels)])
            remaining -= Int(got)
        }
        let err = sf_error(file)
        if err != 0 {
            throw AudioError.readFailed(path: path, reason: sndfileMessage(sf_error_number(err)))
        }
        guard !samples.isEmpty else { throw AudioError.noAudio(path: path) }
        if samples.count / channels > allowed { throw AudioError.tooLong(path: path, seconds: Double(allowed) / Double(info.samplerate)) }
        // Only floating-point files can hold NaN or infinity, and nothing downstream can use them
        // (they would surface at the output as the generator's fault).
        let subtype = Int(info.format) & Int(SF_FORMAT_SUBMASK)
        if subtype == Int(SF_FORMAT_FLOAT) || subtype == Int(SF_FORMAT_DOUBLE),
           let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioError.readFailed(path: path, reason: "sample \(bad / channels) (channel \(bad % channels + 1)) is \(samples[bad]), "
                                        + "and audio holds only finite values")
        }
        return AudioBuffer(samples: samples, sampleRate: Int(info.samplerate), channels: channels)
    }

    // MARK: - write

    /// Writes `buffer` to `path` in the format its extension names, atomically; "-" writes a
    /// WAV to stdout. 16-bit PCM and Vorbis output are clipped to [-1, 1]; float WAV is not.
    public static func write(_ buffer: AudioBuffer, to path: String, encoding: SampleEncoding = .pcm16) throws {
        if path == "-" {
            let bytes = try wavData(buffer, encoding: encoding)
            try writeToStdout(bytes)
            return
        }
        // Every check that can fail without touching the disk comes before the temp file.
        let format = try AudioFileFormat(path: path)
        try buffer.validate(for: "'\(path)'")
        let tmp = try temporaryPath(for: path)
        do {
            try encode(buffer, format: sfFormat(format, encoding), context: path) { info in
                sf_open(tmp, Int32(SFM_WRITE), &info)
            }
            guard TemporaryFiles.commit(tmp, to: path) else {
                throw AudioError.writeFailed(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            TemporaryFiles.discard(tmp)
            throw error
        }
    }

    /// The bytes of a whole WAV file, encoded in memory (no file is touched).
    public static func wavData(_ buffer: AudioBuffer, encoding: SampleEncoding = .pcm16) throws -> [UInt8] {
        try buffer.validate(for: "WAV data")
        let memory = MemoryFile()
        var io = MemoryFile.virtualIO
        let user = Unmanaged.passUnretained(memory).toOpaque()
        try withExtendedLifetime(memory) {
            try encode(buffer, format: sfFormat(.wav, encoding), context: "WAV data") { info in
                sf_open_virtual(&io, Int32(SFM_WRITE), &info, user)
            }
        }
        return memory.bytes
    }

    // MARK: - helpers

    /// Checks that `path` can be written (its folder exists and is writable, no folder has its
    /// name) and returns a hidden temporary name beside it, for writing and then renaming.
    /// Throws the error writing `path` would meet first: a missing or read-only folder, or a
    /// folder under that name. Nothing is created.
    public static func checkWritable(_ path: String) throws {
        TemporaryFiles.finished(try temporaryPath(for: path))
    }

    static func temporaryPath(for path: String) throws -> String {
        let directory = parentDirectory(of: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw AudioError.directoryMissing(path: path, directory: directory)
        }
        guard isDir.boolValue else { throw AudioError.pathInTheWay(path: path, problem: "'\(directory)' is a file, not a folder: choose a path in a folder") }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw AudioError.directoryNotWritable(path: path, directory: directory)
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw AudioError.pathInTheWay(path: path, problem: "a folder already has that name: choose another file name")
        }
        return TemporaryFiles.name(for: path)
    }

    static func sfFormat(_ format: AudioFileFormat, _ encoding: SampleEncoding) -> Int32 {
        switch (format, encoding) {
        case (.wav, .pcm16): return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        case (.wav, .float32): return Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
        case (.flac, _): return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
        case (.ogg, _): return Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
        case (.raw, _): return Int32(SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE)
        }
    }

    /// Opens a libsndfile writer with `open`, writes every frame and closes it, turning each
    /// libsndfile failure into an AudioError naming `context`. The buffer is already validated.
    static func encode(_ buffer: AudioBuffer, format: Int32, context: String,
                       open: (inout SF_INFO) -> OpaquePointer?) throws {
        guard buffer.sampleRate <= Int(Int32.max), buffer.channels <= Int(Int32.max) else {
            throw AudioError.invalidSampleRate(rate: buffer.sampleRate)
        }
        var info = SF_INFO()
        info.samplerate = Int32(buffer.sampleRate)
        info.channels = Int32(buffer.channels)
        info.format = format
        guard sf_format_check(&info) != 0 else {
            throw AudioError.formatLimit(
                path: context,
                reason: "libsndfile cannot store \(buffer.channels) channels at \(buffer.sampleRate) Hz as \(formatName(format)) "
                    + "(FLAC takes 1-8 channels up to 655350 Hz)")
        }
        guard let file = open(&info) else {
            throw AudioError.writeFailed(path: context, reason: sndfileMessage(sf_strerror(nil)))
        }
        var needsClose = true
        defer { if needsClose { sf_close(file) } }

        try writeFrames(buffer.samples, channels: buffer.channels, to: file, format: format, context: context)
        sf_write_sync(file)
        needsClose = false
        let rc = sf_close(file)
        guard rc == 0 else {
            throw AudioError.writeFailed(path: context, reason: sndfileMessage(sf_error_number(rc)))
        }
    }

    /// Appends interleaved samples to an open libsndfile writer in `format`'s sample encoding.
    static func writeFrames(_ samples: [Float], channels: Int, to file: OpaquePointer, format: Int32, context: String) throws {
        let frames = sf_count_t(samples.count / max(channels, 1))
        let written: sf_count_t
        switch Int(format) & Int(SF_FORMAT_SUBMASK) {
        case Int(SF_FORMAT_PCM_16):
            // Quantise here rather than in libsndfile: with SFC_SET_CLIPPING its WAV path
            // floors x·32768 (a -0.5 LSB bias, up to 1 LSB error) while its FLAC path rounds,
            // so the same buffer would decode differently from .wav and .flac. Rounding x·32768
            // and clamping to the Int16 range clips to [-1, 1] and matches libsndfile's
            // y / 32768 on read, so the round-trip error is at most half a step.
            let pcm = pcm16(samples)
            written = pcm.withUnsafeBufferPointer { sf_writef_short(file, $0.baseAddress, frames) }
        case Int(SF_FORMAT_VORBIS):
            // Vorbis takes floats as they are; clamp so every decoder sees the same peaks.
            let clipped = samples.map { max(-1, min(1, $0)) }
            written = clipped.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, frames) }
        default:
            // Float WAV stores values beyond ±1 faithfully, so nothing is clipped.
            written = samples.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, frames) }
        }
        guard written == frames else {
            throw AudioError.writeFailed(
                path: context, reason: "wrote \(written) of \(frames) frames: \(sndfileMessage(sf_strerror(file)))")
        }
    }

    /// 16-bit samples as every PCM16 output here stores them: x·32768 rounded to nearest (ties to
    /// even) and clamped to the Int16 range.
    static func pcm16(_ samples: [Float]) -> [Int16] {
        samples.map { x -> Int16 in
            let scaled = (x * 32768).rounded(.toNearestOrEven)
            return Int16(max(-32768, min(32767, scaled)))
        }
    }

    static func formatName(_ format: Int32) -> String {
        switch Int(format) & Int(SF_FORMAT_TYPEMASK) {
        case Int(SF_FORMAT_FLAC): return "FLAC"
        case Int(SF_FORMAT_OGG): return "Ogg Vorbis"
        default: return "WAV"
        }
    }

    /// libsndfile's messages end in a full stop; drop it so they sit inside our sentences.
    static func sndfileMessage(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown libsndfile error" }
        var message = String(cString: text).trimmingCharacters(in: .whitespaces)
        while message.hasSuffix(".") { message.removeLast() }
        return message
    }

    static func parentDirectory(of path: String) -> String {
        let dir = PathName.parent(path)
        return dir.isEmpty ? "." : dir
    }

    static func writeToStdout(_ bytes: [UInt8]) throws {
        let written = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, stdout) }
        guard written == bytes.count, fflush(stdout) == 0 else {
            if errno == EPIPE { throw AudioError.brokenPipe }
            throw AudioError.writeFailed(
                path: "-", reason: "stdout accepted \(written) of \(bytes.count) bytes (\(String(cString: strerror(errno))))"
                    + "; the program reading the pipe stopped early")
        }
    }
}

/// A growable byte array behind libsndfile's virtual I/O, so a WAV can be built in memory.
/// libsndfile seeks back to patch the RIFF and data sizes on close, so writes may overwrite.
final class MemoryFile {
    var bytes: [UInt8] = []
    var position = 0

    static func from(_ user: UnsafeMutableRawPointer?) -> MemoryFile {
        Unmanaged<MemoryFile>.fromOpaque(user!).takeUnretainedValue()
    }

    static let virtualIO = SF_VIRTUAL_IO(
        get_filelen: { user in sf_count_t(MemoryFile.from(user).bytes.count) },
        seek: { offset, whence, user in
            let m = MemoryFile.from(user)
            let base: Int
            switch whence {
            case SEEK_SET: base = 0
            case SEEK_CUR: base = m.position
            case SEEK_END: base = m.bytes.count
            default: return -1
            }
            let target = base + Int(offset)
            guard target >= 0 else { return -1 }
            m.position = target
            return sf_count_t(target)
        },
        read: { ptr, count, user in
            let m = MemoryFile.from(user)
            let n = max(0, min(Int(count), m.bytes.count - m.position))
            if n > 0, let ptr {
                m.bytes.withUnsafeBytes { src in
                    ptr.copyMemory(from: src.baseAddress! + m.position, byteCount: n)
                }
            }
            m.position += n
            return sf_count_t(n)
        },
        write: { ptr, count, user in
            let m = MemoryFile.from(user)
            let n = Int(count)
            guard n > 0, let ptr else { return 0 }
            if m.position > m.bytes.count {
                m.bytes.append(contentsOf: repeatElement(0, count: m.position - m.bytes.count))
            }
            let src = UnsafeRawBufferPointer(start: ptr, count: n)
            let overlap = min(n, m.bytes.count - m.position)
            if overlap > 0 {
                m.bytes.replaceSubrange(m.position..<(m.position + overlap), with: src[0..<overlap])
            }
            if overlap < n { m.bytes.append(contentsOf: src[overlap...]) }
            m.position += n
            return count
        },
        tell: { user in sf_count_t(MemoryFile.from(user).position) }
    )
}
