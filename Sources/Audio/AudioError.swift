// AudioError: every failure of reading, writing or resampling audio. Each description says
// which path or value was wrong and what the user can do about it, because the CLI prints it
// as the whole error message.

public enum AudioError: Error, CustomStringConvertible {
    case fileNotFound(path: String)
    case isDirectory(path: String)
    case emptyFile(path: String)
    case unrecognisedFormat(path: String, reason: String)
    case noAudio(path: String)
    case readFailed(path: String, reason: String)
    case unknownExtension(path: String, ext: String)
    case directoryMissing(path: String, directory: String)
    case directoryNotWritable(path: String, directory: String)
    case writeFailed(path: String, reason: String)
    case formatLimit(path: String, reason: String)
    case emptyBuffer(context: String)
    case nonFiniteSample(context: String, index: Int, value: Float)
    case invalidBuffer(context: String, problem: String, fix: String)
    case invalidSampleRate(rate: Int)
    case resampleFailed(reason: String)
    /// Something other than a writable file is where the output goes (a folder of that name, a
    /// file where its folder should be).
    case pathInTheWay(path: String, problem: String)
    /// An input longer than the command takes in one file (`seconds` at the file's rate and channels).
    case tooLong(path: String, seconds: Double)
    /// The program reading stdout closed the pipe (`gen speech -o - | head -c 100`): not an error
    /// of gen's; the command line stops quietly, as a Unix filter does.
    case brokenPipe

    static let readableFormats = "wav, flac, ogg/vorbis, aiff, au, caf, w64, rf64, and other libsndfile formats"

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "cannot read '\(path)': no such file. Check the path (it is relative to the current directory)."
        case .isDirectory(let path):
            return "cannot read '\(path)': it is a directory, not an audio file. Pass the path of a file inside it."
        case .emptyFile(let path):
            return "cannot read '\(path)': the file is empty (0 bytes). Re-create it; an interrupted copy or render leaves such files."
        case .unrecognisedFormat(let path, let reason):
            return "cannot read '\(path)': libsndfile does not recognise this format (\(reason)); supported: "
                + "\(Self.readableFormats). Convert it first, e.g. `ffmpeg -i '\(path)' out.wav` or `sox '\(path)' out.wav`."
        case .noAudio(let path):
            return "cannot read '\(path)': it holds no audio frames (a header only, or truncated). Re-create or re-download it."
        case .readFailed(let path, let reason):
            return "cannot read '\(path)': \(reason). The file may be damaged or truncated; re-create it or convert it with ffmpeg/sox."
        case .unknownExtension(let path, let ext):
            let problem = ext.isEmpty ? "the name has no extension to choose a format by" : "extension '.\(ext)' is not an output format"
            return "cannot write '\(path)': \(problem). Use .wav, .flac, .ogg or .raw (headerless 16-bit PCM), or '-' for WAV on stdout."
        case .directoryMissing(let path, let directory):
            return "cannot write '\(path)': directory '\(directory)' does not exist. Create it first (mkdir -p '\(directory)') or choose another output path."
        case .directoryNotWritable(let path, let directory):
            return "cannot write '\(path)': directory '\(directory)' is not writable. Fix its permissions or choose another output directory."
        case .pathInTheWay(let path, let problem):
            return "cannot write '\(path)': \(problem)."
        case .tooLong(let path, let seconds):
            return String(format: "'%@' lasts more than %.0f s, the most this command takes in one file (its memory grows with the length). "
                          + "Cut it into parts, e.g. `sox IN OUT trim 0 %.0f`.", path, seconds, seconds)
        case .brokenPipe:
            return "the program reading stdout closed the pipe"
        case .writeFailed(let path, let reason):
            if path == "-" { return "cannot write to stdout: \(reason)." }
            return "cannot write '\(path)': \(reason). Check free disk space and permissions; "
                + "any earlier file under that name is unchanged."
        case .formatLimit(let path, let reason):
            return "cannot write '\(path)': \(reason). Write .wav instead (any rate and channel count), "
                + "or resample/downmix first."
        case .emptyBuffer(let context):
            return "cannot write \(context): the audio has no samples. Generate at least one frame before saving."
        case .nonFiniteSample(let context, let index, let value):
            return "cannot write \(context): sample \(index) is \(value), not a finite number, so nothing was written. "
                + "Check the input audio (samples far beyond ±1 overflow), the level flags, and the model "
                + "(restore a model that makes NaN; for gen music a different --seed or a lower --temperature may help)."
        case .invalidBuffer(let context, let problem, let fix):
            return "invalid audio for \(context): \(problem). Fix: \(fix)."
        case .invalidSampleRate(let rate):
            return "invalid sample rate \(rate) Hz: it must be a positive whole number (e.g. 16000, 22050, 44100, 48000)."
        case .resampleFailed(let reason):
            return "resampling failed: \(reason). Use sample rates whose ratio lies between 1/256 and 256."
        }
    }
}
