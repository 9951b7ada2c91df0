// AudioBuffer: interleaved Float32 frames with their sample rate and channel count.
// Layout: samples[frame * channels + channel], so one frame's channels sit side by side,
// which is what libsndfile's *f_float calls and libsamplerate's SRC_DATA expect.

public struct AudioBuffer {
    public var samples: [Float]   // (frames * channels), interleaved
    public var sampleRate: Int
    public var channels: Int

    /// Builds a buffer without checking it: callers may hold data they have not yet validated,
    /// so the checks (channels ≥ 1, whole frames, finite samples) happen where the buffer is
    /// written or resampled, and fail there with an `AudioError` instead of a crash here.
    public init(samples: [Float], sampleRate: Int, channels: Int = 1) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.channels = channels
    }

    public var frames: Int { samples.count / max(channels, 1) }

    public var duration: Double {
        sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0
    }

    /// The channel average of each frame. A mono buffer comes back unchanged.
    public func mono() -> AudioBuffer {
        guard channels > 1 else { return self }
        let c = channels
        let n = frames
        var out = [Float](repeating: 0, count: n)   // (frames)
        let scale = 1 / Float(c)
        samples.withUnsafeBufferPointer { src in
            for t in 0..<n {
                var sum: Float = 0
                for ch in 0..<c { sum += src[t * c + ch] }
                out[t] = sum * scale
            }
        }
        return AudioBuffer(samples: out, sampleRate: sampleRate, channels: 1)
    }
}

extension AudioBuffer {
    /// Throws unless `count` interleaved samples make whole frames of `channels` ≥ 1 channels.
    static func checkFrames(_ count: Int, channels: Int, context: String) throws {
        guard channels >= 1 else {
            throw AudioError.invalidBuffer(context: context, problem: "it has \(channels) channels",
                                           fix: "use 1 (mono) or more channels")
        }
        guard count % channels == 0 else {
            throw AudioError.invalidBuffer(
                context: context,
                problem: "\(count) samples do not make whole frames of \(channels) channels",
                fix: "pass interleaved samples whose count is a multiple of the channel count")
        }
    }

    /// Throws unless the buffer can be handed to libsndfile or libsamplerate as it is.
    /// `context` names the file or operation so the message says where the bad buffer went.
    func validate(for context: String) throws {
        try Self.checkFrames(samples.count, channels: channels, context: context)
        guard sampleRate > 0 else {
            throw AudioError.invalidBuffer(context: context, problem: "its sample rate is \(sampleRate) Hz",
                                           fix: "set a positive sample rate such as 22050")
        }
        guard !samples.isEmpty else { throw AudioError.emptyBuffer(context: context) }
        if let i = samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioError.nonFiniteSample(context: context, index: i, value: samples[i])
        }
    }
}
