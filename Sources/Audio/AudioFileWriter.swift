// AudioFileWriter.swift — streaming output for long renders (a 20,000-word text, hours of music):
// samples are appended chunk by chunk to a hidden temporary file, which is renamed to the final
// name only by `finish()`. A writer dropped or cancelled before that removes its temporary file,
// so an interrupted or failed run never leaves a partial file under the final name.
import Base
import CSndFile
import Foundation

public final class AudioFileWriter {
    public let path: String
    public let sampleRate: Int
    public let channels: Int
    public private(set) var frames = 0
    private let format: Int32
    private let tmp: String
    private var file: OpaquePointer?

    public init(path: String, sampleRate: Int, channels: Int = 1, encoding: SampleEncoding = .pcm16) throws {
        guard path != "-" else {
            throw AudioError.invalidBuffer(context: "'-'", problem: "a streaming writer needs a file path",
                                           fix: "collect the samples and use AudioFile.write for stdout")
        }
        guard sampleRate > 0 && sampleRate <= Int(Int32.max) else { throw AudioError.invalidSampleRate(rate: sampleRate) }
        self.path = path; self.sampleRate = sampleRate; self.channels = channels
        format = AudioFile.sfFormat(try AudioFileFormat(path: path), encoding)
        tmp = try AudioFile.temporaryPath(for: path)
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format
        guard sf_format_check(&info) != 0 else {
            TemporaryFiles.finished(tmp)
            throw AudioError.formatLimit(path: path, reason: "libsndfile cannot store \(channels) channels at \(sampleRate) Hz as \(AudioFile.formatName(format))")
        }
        guard let f = sf_open(tmp, Int32(SFM_WRITE), &info) else {
            TemporaryFiles.finished(tmp)
            throw AudioError.writeFailed(path: path, reason: AudioFile.sndfileMessage(sf_strerror(nil)))
        }
        file = f
    }

    /// Appends interleaved samples; NaN or infinite values are refused.
    public func append(_ samples: [Float]) throws {
        guard let file else { throw AudioError.writeFailed(path: path, reason: "the writer is already closed") }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            cancel()
            throw AudioError.nonFiniteSample(context: "'\(path)'", index: frames * channels + bad, value: samples[bad])
        }
        do {
            try AudioFile.writeFrames(samples, channels: channels, to: file, format: format, context: path)
        } catch {
            cancel()
            throw error
        }
        frames += samples.count / max(channels, 1)
    }

    /// Closes the file and renames it to `path`.
    public func finish() throws {
        guard let f = file else { throw AudioError.writeFailed(path: path, reason: "the writer is already closed") }
        file = nil
        sf_write_sync(f)
        let rc = sf_close(f)
        guard rc == 0, frames > 0, TemporaryFiles.commit(tmp, to: path) else {
            let reason = rc != 0 ? AudioFile.sndfileMessage(sf_error_number(rc))
                : frames == 0 ? "no audio was written" : "rename failed: \(String(cString: strerror(errno)))"
            TemporaryFiles.discard(tmp)
            throw AudioError.writeFailed(path: path, reason: reason)
        }
    }

    /// Abandons the output: closes and deletes the temporary file.
    public func cancel() {
        if let f = file { sf_close(f); file = nil; TemporaryFiles.discard(tmp) }
    }

    deinit { cancel() }
}
