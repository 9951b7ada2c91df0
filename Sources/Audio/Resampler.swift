// Resampler: sample-rate conversion with libsamplerate's band-limited sinc converters.
// Used to bring flite's 16 kHz voices to the models' 22050 Hz (DESIGN.md, "Fixed choices") and
// to write output at any requested rate. The sinc filters low-pass below the lower Nyquist, so
// downsampling does not alias.

import CSampleRate

public enum Resampler {
    public enum Quality {
        case best, medium, fastest   // SRC_SINC_BEST_QUALITY, SRC_SINC_MEDIUM_QUALITY, SRC_SINC_FASTEST

        var converter: Int32 {
            switch self {
            case .best: return Int32(SRC_SINC_BEST_QUALITY)
            case .medium: return Int32(SRC_SINC_MEDIUM_QUALITY)
            case .fastest: return Int32(SRC_SINC_FASTEST)
            }
        }
    }

    /// Resamples interleaved samples (frames * channels). The result has exactly
    /// round(frames * to / from) frames, so lengths are predictable for callers that align
    /// audio with frame counts (mel hops, phone durations).
    public static func resample(_ samples: [Float], channels: Int = 1, from: Int, to: Int,
                                quality: Quality = .best) throws -> [Float] {
        guard from > 0 else { throw AudioError.invalidSampleRate(rate: from) }
        guard to > 0 else { throw AudioError.invalidSampleRate(rate: to) }
        let context = "resampling \(from) Hz → \(to) Hz"
        try AudioBuffer.checkFrames(samples.count, channels: channels, context: context)
        if from == to || samples.isEmpty { return samples }
        let ratio = Double(to) / Double(from)
        guard src_is_valid_ratio(ratio) != 0 else {
            throw AudioError.resampleFailed(reason: "the ratio \(to)/\(from) = \(ratio) is outside libsamplerate's range")
        }

        let inFrames = samples.count / channels
        let outFrames = Int((Double(inFrames) * ratio).rounded())
        var error: Int32 = 0
        guard let state = src_new(quality.converter, Int32(channels), &error) else {
            throw AudioError.resampleFailed(reason: String(cString: src_strerror(error)))
        }
        defer { src_delete(state) }

        // One src_process call with end_of_input set may still hold frames back in the
        // filter's delay line, so keep calling until the input is used and nothing new comes out.
        var out = [Float](repeating: 0, count: (outFrames + 64) * channels)   // (frames * channels)
        var produced = 0
        var consumed = 0
        try samples.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                while produced < outFrames {
                    var data = SRC_DATA()
                    data.data_in = src.baseAddress! + consumed * channels
                    data.input_frames = inFrames - consumed
                    data.data_out = dst.baseAddress! + produced * channels
                    data.output_frames = (dst.count / channels) - produced
                    data.end_of_input = 1
                    data.src_ratio = ratio
                    let rc = src_process(state, &data)
                    if rc != 0 { throw AudioError.resampleFailed(reason: String(cString: src_strerror(rc))) }
                    consumed += data.input_frames_used
                    produced += data.output_frames_gen
                    if data.output_frames_gen == 0 && data.input_frames_used == 0 { break }
                }
            }
        }
        // libsamplerate's total can differ from the rounded length by a frame; trim or
        // zero-pad (the pad is past the end of the signal, where silence is the right value).
        out.removeLast(out.count - min(produced, outFrames) * channels)
        if produced < outFrames {
            out.append(contentsOf: repeatElement(0, count: (outFrames - produced) * channels))
        }
        return out
    }

    public static func resample(_ buffer: AudioBuffer, to rate: Int, quality: Quality = .best) throws -> AudioBuffer {
        let out = try resample(buffer.samples, channels: buffer.channels, from: buffer.sampleRate, to: rate,
                               quality: quality)
        return AudioBuffer(samples: out, sampleRate: rate, channels: buffer.channels)
    }
}

extension AudioFile {
    /// Any audio libsndfile reads, as mono samples at `sampleRate` (channels averaged, resampled
    /// with libsamplerate when the file's rate differs); `maxSeconds` stops reading there.
    public static func readMono(_ path: String, sampleRate: Int, maxSeconds: Double? = nil, longest: Double? = nil) throws -> [Float] {
        var audio = try read(path, maxSeconds: maxSeconds, longest: longest).mono()
        if audio.sampleRate != sampleRate { audio = try Resampler.resample(audio, to: sampleRate) }
        return audio.samples
    }
}
