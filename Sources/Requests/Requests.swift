// Requests.swift — what a music or speech request means, and every limit on it, in one place.
// `gen music` / `gen speech` flags and `gen batch` prompt lines fill the same types and call the
// same `validate`, so a value is accepted or refused with the same words wherever it comes from;
// the sampler checks its own options against these ranges too. Problems name each field the way
// the caller spells it (`--top-k` on the command line, "top_k" in a prompt line).
import Foundation

/// The fields a request can get wrong, for `validate(naming:)`.
public enum RequestField: String, CaseIterable, Sendable {
    case text, voice, speed, pitch, vocoder, sentenceSilence = "sentence_silence", vocoderIterations = "vocoder_iterations"
    case refineIterations = "refine_iterations", postfilter
    case genre, artist, lyrics, duration, temperature, topK = "top_k", topP = "top_p", cfg, instrumentalCFG = "instrumental_cfg"
    case cfgPlausibility = "cfg_plausibility"
    case samples, primeSeconds = "prime_seconds"
    case bpm, timeSignature = "time_signature", chords, onsetDensity = "onset_density"
    case rate

    /// The command-line flag: --top-k.
    public var flag: String { "--" + rawValue.replacingOccurrences(of: "_", with: "-") }
    /// The prompt-line key: "top_k".
    public var key: String { "\"\(rawValue)\"" }
}

public struct MusicRequest: Equatable, Sendable {
    public var genre: String?
    public var artist: String?
    /// Inline lyrics (lines separated by newlines).
    public var lyrics: String?
    /// A lyrics file (in a prompt file: already resolved against the prompt file's folder).
    public var lyricsFile: String?
    public var duration: Double = 20
    /// nil: the prior's default (its config's `temperature`, else `defaultTemperature`).
    public var temperature: Float? = nil
    public var topK: Int = MusicRequest.defaultTopK
    public var topP: Float = 0
    /// Classifier-free guidance coefficient over every label (audiocraft's cfg_coef; 1 is off).
    public var cfg: Float = MusicRequest.defaultCFG
    /// Guidance toward instrumental music for a piece without lyrics (1 is off; nil: the prior's
    /// `instrumental_cfg`, 2 for the shipped prior, off where a config sets none): a sung row steered away from.
    public var instrumentalCFG: Float? = nil
    /// The plausibility constraint on guided sampling (0 is off; nil: the prior's
    /// `cfg_plausibility`, off for the shipped prior): only codes the conditioned model gives at
    /// least this fraction of its likeliest code's probability are drawn.
    public var cfgPlausibility: Float? = nil
    public var samples: Int = 1
    /// Seconds of a prime (audio or codes to continue from) to use; nil without one.
    public var primeSeconds: Double? = nil
    /// Output sample rate (nil: the codec's).
    public var rate: Int? = nil
    /// Tempo in beats per minute and the time signature (a prior with a bar grid plays to them;
    /// nil: drawn as the corpus plays the genre, or 120 beats per minute with only a time signature).
    public var bpm: Double? = nil
    public var timeSignature: String? = nil
    /// Chords bar by bar ("C | Am | Dm7 G7 | C"; a prior with chords plays them, repeating; nil: one
    /// of the genre's progressions in a drawn key). Parsed where the prior is known (MusicRender).
    public var chords: String? = nil
    /// Onsets (drum strokes and note attacks) per second, for a prior trained with the onset density;
    /// nil: drawn per piece as the corpus plays the genre.
    public var onsetDensity: Double? = nil
    public init() {}

    /// The onset densities a request may ask for (the prior's table ends at 8 per second).
    public static let onsetDensityRange: ClosedRange<Double> = 0...8

    /// A chord line is under this many bytes (64 bars of 8 chords fit many times over).
    public static let maxChordsBytes = 4_000

    public static let bpmRange: ClosedRange<Double> = 20...400

    /// Beats per bar of a time signature as MMA plays it: "4/4" → 4, "3/4" → 3; compound metres
    /// ("6/8", "9/8", "12/8") count dotted quarters → 2, 3, 4. nil unless N/D with N in 1...32
    /// and D one of 1, 2, 4, 8, 16.
    public static func beatsPerBar(timeSignature: String) -> Int? {
        let parts = timeSignature.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let n = Int(parts[0]), let d = Int(parts[1]), (1...32).contains(n), [1, 2, 4, 8, 16].contains(d) else { return nil }
        return d == 8 && n % 3 == 0 && n > 3 ? n / 3 : n
    }

    /// Longest piece, in seconds.
    public static let maxDuration = 600.0
    /// Lyrics (inline or a file) are under this many bytes.
    public static let maxLyricsBytes = 100_000
    /// Pieces sampled at once (each is held in memory until written).
    public static let maxSamples = 16
    /// Classifier-free guidance: 1 is off. The default was chosen with `make eval-music`
    /// (models/prior/MODEL_CARD.md gives the values tried and what each measured).
    public static let defaultCFG: Float = 3
    public static let cfgRange: ClosedRange<Float> = 1...10
    /// The plausibility constraint's α: 0 is off; 1 would keep only the likeliest conditioned code.
    public static let plausibilityRange: Range<Float> = 0..<1
    /// MusicGen's sampling defaults (temperature 1, top-k 250): with the 4-codebook prior, the
    /// narrower 0.95 / 64 froze into held notes without onsets (models/prior/MODEL_CARD.md). A
    /// prior's config may set its own temperature (`PriorConfig.temperature`).
    public static let defaultTemperature: Float = 1
    public static let defaultTopK = 250
    /// The artist name that asks for no artist (the prior's unconditioned label); left out, a piece
    /// asked for by genre is played by one of the genre's bands.
    public static let anyArtist = "any"
    /// Whether `name` is `anyArtist`, in any case.
    public static func isAnyArtist(_ name: String?) -> Bool { name?.lowercased() == anyArtist }
    /// What an unknown-artist message offers besides the artists.
    public static let anyArtistHint = "\"any\" for no artist"
    /// The largest top-k a prompt may ask for (any vocabulary is smaller).
    public static let maxTopK = Int(Int32.max)

    /// Every problem with these values, each naming its field through `name`.
    public func validate(naming name: (RequestField) -> String = { $0.flag }) -> [String] {
        var p: [String] = []
        if !(duration > 0 && duration <= Self.maxDuration) {
            p.append("\(name(.duration)) must be more than 0 and at most \(Int(Self.maxDuration)) seconds, got \(format(duration))")
        }
        p += Self.samplingProblems(temperature: temperature ?? Self.defaultTemperature, topK: topK, topP: topP, naming: name)
        if !Self.cfgRange.contains(cfg) {
            p.append("\(name(.cfg)) must be between \(Int(Self.cfgRange.lowerBound)) (off) and \(Int(Self.cfgRange.upperBound)), got \(format(Double(cfg)))")
        }
        if let s = instrumentalCFG, !Self.cfgRange.contains(s) {
            p.append("\(name(.instrumentalCFG)) must be between \(Int(Self.cfgRange.lowerBound)) (off) and \(Int(Self.cfgRange.upperBound)), got \(format(Double(s)))")
        }
        if let a = cfgPlausibility, !Self.plausibilityRange.contains(a) {
            p.append("\(name(.cfgPlausibility)) must be at least 0 (off) and below 1, got \(format(Double(a)))")
        }
        if !(1...Self.maxSamples).contains(samples) {
            p.append("\(name(.samples)) must be between 1 and \(Self.maxSamples) (each piece is held in memory until written), got \(samples)")
        }
        if let s = primeSeconds, !(s > 0 && s < duration) {
            p.append("\(name(.primeSeconds)) must be more than 0 and less than \(name(.duration)) (\(format(duration))), got \(format(s))")
        }
        p += outputRateProblems(rate, naming: name)
        p += Self.gridProblems(bpm: bpm, timeSignature: timeSignature, naming: name)
        if let c = chords {
            if c.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { p.append("\(name(.chords)) is empty; give chords bar by bar such as \"C | Am | Dm7 G7 | C\", or leave it out") }
            if c.utf8.count >= Self.maxChordsBytes { p.append("\(name(.chords)) must be under \(Self.maxChordsBytes) bytes, got \(c.utf8.count)") }
        }
        if let d = onsetDensity, !Self.onsetDensityRange.contains(d) {
            p.append("\(name(.onsetDensity)) must be between \(Int(Self.onsetDensityRange.lowerBound)) and \(Int(Self.onsetDensityRange.upperBound)) onsets per second, got \(format(d))")
        }
        if lyrics != nil && lyricsFile != nil { p.append("give \(name(.lyrics)) or a lyrics file, not both") }
        if let l = lyrics {
            if l.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { p.append("\(name(.lyrics)) is empty; leave it out for music without lyrics") }
            if l.utf8.count >= Self.maxLyricsBytes { p.append("\(name(.lyrics)) must be under 100 KB, got \(l.utf8.count) bytes") }
        }
        return p
    }

    /// A tempo's and a time signature's problems: `validate`'s, and the bar grid's for callers that
    /// build one without a request (MusicRender's `barGrid`).
    public static func gridProblems(bpm: Double?, timeSignature: String?,
                                    naming name: (RequestField) -> String = { $0.flag }) -> [String] {
        var p: [String] = []
        if let b = bpm, !bpmRange.contains(b) {
            p.append("\(name(.bpm)) must be between \(Int(bpmRange.lowerBound)) and \(Int(bpmRange.upperBound)) beats per minute, got \(format(b))")
        }
        if let t = timeSignature, beatsPerBar(timeSignature: t) == nil {
            p.append("\(name(.timeSignature)) must be beats/note value such as 4/4, 3/4, 2/4 or 6/8, got '\(t)'")
        }
        // The bar grid takes bars of at most 60 s (at least 0.05 s, which no tempo in range reaches).
        if let b = bpm, bpmRange.contains(b), let t = timeSignature, let beats = beatsPerBar(timeSignature: t), Double(beats) * 60 / b > 60 {
            p.append("\(name(.timeSignature)) \(t) at \(name(.bpm)) \(format(b)) makes bars of \(format(Double(beats) * 60 / b)) s, and a bar lasts at most 60 s: "
                     + "raise the tempo to at least \(beats) or use fewer beats a bar")
        }
        return p
    }

    /// The sampler's own limits (also checked by the sampler itself, which other callers reach).
    public static func samplingProblems(temperature: Float, topK: Int, topP: Float,
                                        naming name: (RequestField) -> String = { $0.flag }) -> [String] {
        var p: [String] = []
        if !(temperature >= 0) || !temperature.isFinite { p.append("\(name(.temperature)) must be ≥ 0 (0 is greedy), got \(format(Double(temperature)))") }
        if topK < 0 || topK > maxTopK { p.append("\(name(.topK)) must be ≥ 0 (0 switches it off, 1 is greedy), got \(topK)") }
        if !(topP >= 0 && topP <= 1) { p.append("\(name(.topP)) must be between 0 and 1 (0 switches it off), got \(format(Double(topP)))") }
        return p
    }
}

public struct SpeechRequest: Equatable, Sendable {
    public var text: String
    public var voice = "slt"
    public var speed: Float = 1
    public var pitch: Float = 0
    /// "neural" or "griffin-lim" (the names of Speech.VocoderKind).
    public var vocoder = "neural"
    /// Silence between sentences, seconds.
    public var sentenceSilence: Double = 0.25
    /// Griffin-Lim's iterations (with that vocoder).
    public var vocoderIterations = 16
    /// Output sample rate (nil: the model's).
    public var rate: Int? = nil
    /// The neural vocoder's mel-projection steps (nil: its config's).
    public var refineIterations: Int? = nil
    /// Whether the speech model's mel postfilter runs (`--no-postfilter`: false).
    public var postfilter = true
    public init(text: String) { self.text = text }

    public static let speedRange: ClosedRange<Float> = 0.25...4
    public static let pitchRange: ClosedRange<Float> = -12...12
    /// Longest text of one request; longer text is split into lines.
    public static let maxCharacters = 10_000
    public static let vocoders = ["neural", "griffin-lim"]
    public static let sentenceSilenceRange: ClosedRange<Double> = 0...10
    public static let vocoderIterationsRange: ClosedRange<Int> = 1...500
    /// The neural vocoder's mel-projection steps: DSP's `MelProjectionSettings.iterationRange` (a test
    /// holds the two equal; this module depends on nothing).
    public static let refineIterationsRange: ClosedRange<Int> = 0...64

    /// Every problem with these values; `checkText` false leaves the text out (the command line
    /// speaks any length sentence by sentence, and reads its text after the flags are checked).
    public func validate(naming name: (RequestField) -> String = { $0.flag }, checkText: Bool = true) -> [String] {
        var p: [String] = []
        if checkText && text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { p.append("\(name(.text)) is empty: give some words to speak") }
        if checkText && text.count > Self.maxCharacters {
            p.append("\(name(.text)) is \(text.count) characters; split it into lines of at most \(Self.maxCharacters) characters (one utterance per line, e.g. one paragraph each)")
        }
        if !Self.speedRange.contains(speed) {
            p.append("\(name(.speed)) must be between \(format(Double(Self.speedRange.lowerBound))) and \(format(Double(Self.speedRange.upperBound))), got \(format(Double(speed)))")
        }
        if !Self.pitchRange.contains(pitch) {
            p.append("\(name(.pitch)) must be between \(Int(Self.pitchRange.lowerBound)) and \(Int(Self.pitchRange.upperBound)) semitones, got \(format(Double(pitch)))")
        }
        if !Self.vocoders.contains(vocoder) {
            p.append("unknown \(name(.vocoder)) '\(vocoder)'. Valid vocoders: \(Self.vocoders.joined(separator: ", "))")
        }
        if !Self.sentenceSilenceRange.contains(sentenceSilence) {
            p.append("\(name(.sentenceSilence)) must be between 0 and 10 seconds, got \(format(sentenceSilence))")
        }
        return p + Self.vocodingProblems(rate: rate, vocoderIterations: vocoderIterations, naming: name)
            + Self.refineProblems(refineIterations, vocoder: vocoder, naming: name)
    }

    /// The neural vocoder's mel-projection steps, shared with `gen vocode`: in range, and not asked of Griffin-Lim.
    public static func refineProblems(_ n: Int?, vocoder: String, naming name: (RequestField) -> String = { $0.flag }) -> [String] {
        guard let n else { return [] }
        if !refineIterationsRange.contains(n) {
            return ["\(name(.refineIterations)) must be between \(refineIterationsRange.lowerBound) and \(refineIterationsRange.upperBound), got \(n)"]
        }
        if vocoder == "griffin-lim" {
            return ["\(name(.refineIterations)) refines the neural vocoder's output; with the griffin-lim vocoder use \(name(.vocoderIterations))"]
        }
        return []
    }

    /// The limits a speech request shares with `gen vocode`: the output rate and Griffin-Lim's iterations.
    public static func vocodingProblems(rate: Int?, vocoderIterations: Int,
                                        naming name: (RequestField) -> String = { $0.flag }) -> [String] {
        var p = outputRateProblems(rate, naming: name)
        if !vocoderIterationsRange.contains(vocoderIterations) {
            p.append("\(name(.vocoderIterations)) must be between 1 and 500, got \(vocoderIterations)")
        }
        return p
    }
}

/// Output sample rates a request may ask for (libsamplerate converts to any of them).
public let outputRates: ClosedRange<Int> = 8000...192_000

func outputRateProblems(_ rate: Int?, naming name: (RequestField) -> String) -> [String] {
    guard let rate, !outputRates.contains(rate) else { return [] }
    return ["\(name(.rate)) must be between 8000 and 192000 Hz, got \(rate)"]
}

/// 20 → "20", 0.5 → "0.5": numbers in messages as the user wrote them.
func format(_ x: Double) -> String {
    x.isFinite && x == x.rounded() && Swift.abs(x) < 1e15 ? String(Int64(x)) : String(x)
}

/// A problem with a request or a file it names: `isUsage` for what the user should change (an
/// unknown label, a bad sampling setting; a folder, a pipe, too large, not UTF-8, empty: exit 2),
/// otherwise one of reading it or of the models (exit 3).
public struct RequestError: Error, CustomStringConvertible {
    public var message: String
    public var isUsage: Bool
    public static func usage(_ m: String) -> RequestError { RequestError(message: m, isUsage: true) }
    public static func io(_ m: String) -> RequestError { RequestError(message: m, isUsage: false) }
    public var description: String { message }
}

extension MusicRequest {
    /// A lyrics file's text, checked: readable (exit 3), a regular file, UTF-8, not empty and under
    /// 100 KB (exit 2). The file is stat'ed before it is opened, so a FIFO, a device such as /dev/zero
    /// or a folder is refused instead of blocking or being read without end, and at most 100 KB is read.
    /// `option` names where the path came from (`--lyrics`, `"lyrics_file"`).
    public static func readLyricsFile(_ path: String, option: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw RequestError.io("cannot read the lyrics file '\(path)': \(String(cString: strerror(errno))). Check the path.")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw RequestError.usage("the lyrics file '\(path)' is a folder; give a text file with one lyric line per line.")
        default:
            throw RequestError.usage("the lyrics file '\(path)' is not a regular file (a pipe, socket or device); "
                                 + "give a text file with one lyric line per line.")
        }
        if Int(info.st_size) >= MusicRequest.maxLyricsBytes {
            throw RequestError.usage("the lyrics file '\(path)' is \(info.st_size) bytes; lyrics must be under 100 KB (\(MusicRequest.maxLyricsBytes) bytes).")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw RequestError.io("cannot read the lyrics file '\(path)'. Check its permissions.")
        }
        defer { try? handle.close() }
        // Read no more than the limit: a file that grew since the stat is still caught.
        let data: Data
        do { data = try handle.read(upToCount: MusicRequest.maxLyricsBytes) ?? Data() } catch {
            throw RequestError.io("cannot read the lyrics file '\(path)': \(error)")
        }
        if data.count >= MusicRequest.maxLyricsBytes {
            throw RequestError.usage("the lyrics file '\(path)' is at least \(data.count) bytes; lyrics must be under 100 KB (\(MusicRequest.maxLyricsBytes) bytes).")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RequestError.usage("the lyrics file '\(path)' is not UTF-8 text. Convert it, e.g. `iconv -t UTF-8 \(path)`.")
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw RequestError.usage("the lyrics file '\(path)' is empty; leave out \(option) for music without lyrics.")
        }
        return text
    }
}
