// PromptFile.swift — the prompt files `gen batch` renders (DESIGN.md "Prompt files"), parsed and
// checked line by line before anything renders:
//
//   .jsonl  one JSON object per line:
//           {"kind":"music","genre":"jazz","artist":"…","lyrics":"…" | "lyrics_file":"…","duration":20,
//            "seed":1,"temperature":1,"top_k":250,"top_p":0,"out":"jazz-1.wav"}
//           {"kind":"speech","text":"…","voice":"slt","speed":1.0,"pitch":0,"seed":1,"out":"hello.wav"}
//   .txt    one speech utterance per line, in the default voice.
//
// Blank lines are skipped everywhere. Keys are strict (an unknown key or a wrong type is an error
// naming the key and the valid ones); a null value means "not given". Paths in a prompt file
// (lyrics_file) are resolved relative to that file; `out` is relative to the output folder, must
// stay inside it and be unique in the batch. A line without `out` writes `<file stem>-<line>.wav`;
// when two prompt files of a batch share a name (a/set.jsonl, b/set.jsonl), each is known by the
// shortest trailing part of its path that tells them apart ("a/set.jsonl" → stem "a-set"), which
// keeps their default outputs and derived seeds apart. Speech text is at most 10,000 characters.
// Every prompt line, valid or not, has an ordinal (its position in the whole batch), which is what
// shards split on, so a shard's lines do not depend on which models a machine happens to have.
//
// What needs the models (is this voice, genre or artist known?) is checked by `PromptVocabulary`.
import Base
@_exported import Requests
import Audio
import Foundation

public enum PromptJob: Equatable, Sendable {
    case music(MusicPrompt)
    case speech(SpeechPrompt)

    public var kind: String {
        switch self { case .music: return "music"; case .speech: return "speech" }
    }

    /// The speech request, nil for music.
    public var speech: SpeechPrompt? { if case .speech(let s) = self { return s } else { return nil } }
    public var isMusic: Bool { if case .music = self { return true } else { return false } }
}

/// A prompt line's request: the library's request types, whose `validate` owns every limit.
public typealias MusicPrompt = MusicRequest
public typealias SpeechPrompt = SpeechRequest

/// One valid prompt line: what to render, with which seed, into which file.
public struct BatchItem: Equatable, Sendable {
    /// The prompt file as named on the command line, and the 1-based line in it.
    public var file: String
    public var line: Int
    /// Position among all prompt lines of the batch (0-based), the key of `Shard`.
    public var ordinal: Int
    /// The line as written.
    public var source: String
    public var job: PromptJob
    public var seed: UInt64
    /// True when the seed came from `BatchSeed.derive`, false when the line set it.
    public var seedIsDerived: Bool
    /// Output path relative to the output folder, normalised ("a/./b.wav" → "a/b.wav").
    public var out: String

    public var location: String { "\(file):\(line)" }
}

/// A line that cannot render, reported as `file:line: reason`.
public struct PromptProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var ordinal: Int
    public var reason: String
    public init(file: String, line: Int, ordinal: Int, reason: String) {
        self.file = file; self.line = line; self.ordinal = ordinal; self.reason = reason
    }
    public var location: String { "\(file):\(line)" }
    public var description: String { "\(location): \(reason)" }
}

/// A whole-file failure (missing, unreadable, not a prompt file): the batch cannot start.
public struct PromptFileError: Error, CustomStringConvertible {
    public enum Kind: Sendable { case usage, io }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// The lines of every prompt file of a batch, in order.
public struct PromptSet {
    public var items: [BatchItem] = []
    public var problems: [PromptProblem] = []
    /// Number of prompt lines (valid or not), i.e. the next ordinal.
    public var lineCount = 0

    public init() {}

    /// The most prompt text read from stdin (`gen batch -`).
    public static let maxStdinBytes = 64_000_000

    /// Reads and parses `paths` in order ("-": JSON Lines on stdin). `batchSeed` seeds the lines that set no seed.
    public static func load(_ paths: [String], batchSeed: UInt64) throws -> PromptSet {
        var set = PromptSet()
        let names = PromptSet.names(for: paths)
        if paths.filter({ $0 == "-" }).count > 1 {
            throw PromptFileError(kind: .usage, message: "'-' (JSON Lines on stdin) can be given once.")
        }
        for (path, name) in zip(paths, names) {
            if path == "-" {
                // JSON Lines on stdin (Piper's --json-input), read to its end: every line is
                // checked before anything renders. Outputs default to stdin-001.wav, ...
                let data = FileHandle.standardInput.readData(ofLength: maxStdinBytes + 1)
                guard data.count <= maxStdinBytes else {
                    throw PromptFileError(kind: .usage, message: "stdin holds more than \(maxStdinBytes / 1_000_000) MB of prompts; split them into prompt files.")
                }
                guard let text = String(data: data, encoding: .utf8) else {
                    throw PromptFileError(kind: .usage, message: "the prompts on stdin are not UTF-8 text.")
                }
                set.add(PromptParser.parse(text, file: "stdin", name: "stdin", format: .jsonLines, batchSeed: batchSeed, firstOrdinal: set.lineCount))
                continue
            }
            let kind = try PromptParser.Format(path: path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw PromptFileError(kind: .io, message: "cannot read prompt file '\(path)': "
                                      + (isDirectory.boolValue ? "it is a directory." : "no such file. Check the path."))
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PromptFileError(kind: .io, message: "cannot read prompt file '\(path)'. Check its permissions.")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw PromptFileError(kind: .usage, message: "prompt file '\(path)' is not UTF-8 text. Convert it, e.g. `iconv -t UTF-8 \(path)`.")
            }
            set.add(PromptParser.parse(text, file: path, name: name, format: kind, batchSeed: batchSeed, firstOrdinal: set.lineCount))
        }
        return set
    }

    /// The name each prompt file goes by in derived seeds and default output names: its file name,
    /// or, when another file of the batch (a different path) has the same file name, the shortest
    /// trailing part of its absolute path that no other such file shares ("a/set.jsonl" and
    /// "b/set.jsonl"). Deterministic: it depends only on the paths given, not on their order.
    public static func names(for paths: [String]) -> [String] {
        func components(_ path: String) -> [String] {
            URL(fileURLWithPath: path).absoluteURL.standardized.pathComponents.filter { $0 != "/" }
        }
        let all = paths.map(components)
        let distinct = Array(Set(all.map { $0.joined(separator: "/") })).map { $0.split(separator: "/").map(String.init) }
        return zip(paths, all).map { path, parts in
            let base = PathName.last(path)
            let rivals = distinct.filter { $0.last == parts.last && $0 != parts }
            guard !rivals.isEmpty else { return base }
            var k = 2
            while k < parts.count && rivals.contains(where: { Array($0.suffix(k)) == Array(parts.suffix(k)) }) { k += 1 }
            return parts.suffix(k).joined(separator: "/")
        }
    }

    /// Appends one file's lines, turning a repeated output name into a problem on the later line.
    public mutating func add(_ parsed: PromptSet) {
        var owners = Dictionary(items.map { ($0.out, $0.location) }, uniquingKeysWith: { a, _ in a })
        for item in parsed.items {
            if let first = owners[item.out] {
                problems.append(PromptProblem(file: item.file, line: item.line, ordinal: item.ordinal,
                                              reason: "output '\(item.out)' is also written by \(first); give one of them another \"out\"."))
            } else {
                owners[item.out] = item.location
                items.append(item)
            }
        }
        problems += parsed.problems
        problems.sort { $0.ordinal < $1.ordinal }
        lineCount += parsed.lineCount
    }

    /// The lines of one shard.
    public func shard(_ shard: Shard?) -> PromptSet {
        guard let shard else { return self }
        var s = self
        s.items = items.filter { shard.contains($0.ordinal) }
        s.problems = problems.filter { shard.contains($0.ordinal) }
        return s
    }
}

public enum PromptParser {
    public enum Format: Sendable {
        case jsonLines, text

        public init(path: String) throws {
            switch PathName.ext(path).lowercased() {
            case "jsonl", "ndjson": self = .jsonLines
            case "txt": self = .text
            default:
                throw PromptFileError(kind: .usage, message: "'\(path)' is not a prompt file: use .jsonl (one JSON job per line, "
                                      + "see prompts/README.md) or .txt (one line of speech per line).")
            }
        }
    }

    public static let musicKeys = ["kind", "genre", "artist", "lyrics", "lyrics_file", "duration", "seed",
                                   "temperature", "top_k", "top_p", "cfg", "instrumental_cfg", "cfg_plausibility", "bpm",
                                   "time_signature", "chords", "onset_density", "out"]
    public static let speechKeys = ["kind", "text", "voice", "speed", "pitch", "vocoder", "sentence_silence",
                                    "vocoder_iterations", "refine_iterations", "postfilter", "seed", "out"]

    /// Parses one prompt file's text. `file` names it in messages and its folder anchors relative
    /// paths; `name` (default: its file name; see `PromptSet.names`) keys derived seeds and default
    /// output names.
    public static func parse(_ text: String, file: String, name: String? = nil, format: Format, batchSeed: UInt64,
                             firstOrdinal: Int = 0) -> PromptSet {
        var set = PromptSet()
        let folder = URL(fileURLWithPath: file).absoluteURL.deletingLastPathComponent()
        let fileName = name ?? PathName.last(file)
        let stem = PathName.deletingExtension(fileName).replacingOccurrences(of: "/", with: "-")
        var ordinal = firstOrdinal
        // Split on \n and \r\n (one Character in Swift) only, so line numbers match what editors show.
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let lineText = String(raw)
            guard !lineText.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let line = index + 1
            defer { ordinal += 1 }
            do {
                let (job, seed, out) = try parseLine(lineText, format: format, folder: folder)
                let name = try outputName(out ?? String(format: "%@-%03d.wav", stem, line))
                let s = seed ?? BatchSeed.derive(batchSeed: batchSeed, name: fileName, line: line)
                set.items.append(BatchItem(file: file, line: line, ordinal: ordinal, source: lineText, job: job,
                                           seed: s, seedIsDerived: seed == nil, out: name))
            } catch let reason as Reason {
                set.problems.append(PromptProblem(file: file, line: line, ordinal: ordinal, reason: reason.text))
            } catch {
                set.problems.append(PromptProblem(file: file, line: line, ordinal: ordinal, reason: "\(error)"))
            }
        }
        set.lineCount = ordinal - firstOrdinal
        // Repeated outputs inside this file.
        var deduplicated = PromptSet()
        deduplicated.add(set)
        return deduplicated
    }

    struct Reason: Error, CustomStringConvertible { var text: String; init(_ t: String) { text = t }; var description: String { text } }

    static func parseLine(_ line: String, format: Format, folder: URL) throws -> (PromptJob, UInt64?, String?) {
        if format == .text {
            let text = line.trimmingCharacters(in: .whitespaces)
            try checkSpeechLength(text)
            return (.speech(SpeechPrompt(text: text)), nil, nil)
        }
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)) } catch {
            let hint = line.trimmingCharacters(in: .whitespaces).hasPrefix("{") ? "check the quotes, commas and braces"
                : "each line of a .jsonl file is a JSON object like {\"kind\":\"speech\",\"text\":\"Hello.\"}; put plain sentences in a .txt file"
            throw Reason("not valid JSON: \(hint).")
        }
        guard case .object(let fields) = value else {
            throw Reason("a prompt line must be a JSON object like {\"kind\":\"speech\",\"text\":\"Hello.\"}, not \(value.kindName).")
        }
        let o = Fields(fields)
        guard let kind = try o.string("kind") else {
            throw Reason("missing \"kind\": add \"kind\":\"music\" or \"kind\":\"speech\".")
        }
        let job: PromptJob
        switch kind {
        case "music":
            try o.onlyKeys(musicKeys, kind: kind)
            var m = MusicPrompt()
            m.genre = try o.name("genre")
            m.artist = try o.name("artist")
            m.lyrics = try o.string("lyrics")
            if let f = try o.name("lyrics_file") {
                if m.lyrics != nil { throw Reason("give \"lyrics\" or \"lyrics_file\", not both.") }
                m.lyricsFile = f.hasPrefix("/") ? f : folder.appendingPathComponent(f).standardized.path
            }
            if let d = try o.number("duration") { m.duration = d }
            if let t = try o.number("temperature") { m.temperature = Float(t) }
            if let k = try o.integer("top_k") { m.topK = Self.clampedInt(k) }
            if let p = try o.number("top_p") { m.topP = Float(p) }
            if let g = try o.number("cfg") { m.cfg = Float(g) }
            if let g = try o.number("instrumental_cfg") { m.instrumentalCFG = Float(g) }
            if let a = try o.number("cfg_plausibility") { m.cfgPlausibility = Float(a) }
            if let b = try o.number("bpm") { m.bpm = b }
            m.timeSignature = try o.string("time_signature")
            m.chords = try o.string("chords")
            m.onsetDensity = try o.number("onset_density")
            if let problem = m.validate(naming: \.key).first { throw Reason(problem + ".") }
            job = .music(m)
        case "speech":
            try o.onlyKeys(speechKeys, kind: kind)
            guard let text = try o.string("text") else { throw Reason("a speech line needs \"text\", e.g. {\"kind\":\"speech\",\"text\":\"Hello.\"}.") }
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw Reason("\"text\" is empty: give some words to speak.") }
            try checkSpeechLength(text)
            var s = SpeechPrompt(text: text)
            if let v = try o.name("voice") { s.voice = v }
            if let x = try o.number("speed") { s.speed = Float(x) }
            if let x = try o.number("pitch") { s.pitch = Float(x) }
            if let v = try o.string("vocoder") { s.vocoder = v }
            if let x = try o.number("sentence_silence") { s.sentenceSilence = x }
            if let n = try o.integer("vocoder_iterations") { s.vocoderIterations = Self.clampedInt(n) }
            if let n = try o.integer("refine_iterations") { s.refineIterations = Self.clampedInt(n) }
            if let b = try o.bool("postfilter") { s.postfilter = b }
            if let problem = s.validate(naming: speechNaming).first { throw Reason(problem + ".") }
            job = .speech(s)
        default:
            throw Reason("unknown \"kind\" '\(kind)': use \"music\" or \"speech\".")
        }
        let seed = try o.seed()
        let out = try o.string("out")
        return (job, seed, out)
    }

    /// A whole number from a prompt line as an Int for range checks: one too large for any range
    /// becomes −1, which every range refuses with the key named.
    static func clampedInt(_ n: Int64) -> Int { n >= Int64(Int.min / 2) && n <= Int64(Int.max / 2) ? Int(n) : -1 }

    /// Speech text longer than `SpeechRequest.maxCharacters` is refused before anything renders.
    static func checkSpeechLength(_ text: String) throws {
        if let problem = SpeechRequest(text: text).validate(naming: speechNaming).first { throw Reason(problem + ".") }
    }

    /// Field names in prompt-line messages: keys in quotes, but the text by its plain name (a .txt
    /// line has no key).
    static func speechNaming(_ f: RequestField) -> String { f == .text ? "text" : f.key }

    /// Checks and normalises an output path relative to the output folder.
    public static func outputName(_ out: String) throws -> String {
        if out.isEmpty { throw Reason("\"out\" is empty; give a file name such as \"take-1.wav\".") }
        let shown = out.count > 80 ? String(out.prefix(60)) + "… (\(out.utf8.count) bytes)" : out   // a hostile name is not echoed whole
        if let c = out.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw Reason("\"out\" contains the control character U+\(String(format: "%04X", c.value)); use letters, digits, '-', '_' and '/'.")
        }
        if out.hasPrefix("/") || out.hasPrefix("~") {
            throw Reason("\"out\" '\(shown)' must be relative to --out-dir, e.g. \"jazz/take-1.wav\".")
        }
        var parts: [Substring] = []
        for part in out.split(separator: "/") where part != "." {
            if part == ".." { throw Reason("\"out\" '\(shown)' leaves the output folder ('..'); keep outputs inside --out-dir.") }
            if part.hasPrefix(".") { throw Reason("\"out\" '\(shown)' names a hidden file or folder; start each name with a letter or digit.") }
            parts.append(part)
        }
        // Within what the file system takes (255 bytes a name, 4,096 a path), with room for the
        // temporary name a file is written under and for --out-dir.
        if parts.count > 32 || parts.contains(where: { $0.utf8.count > 200 }) || out.utf8.count > 1024 {
            throw Reason("\"out\" '\(shown)' is too long: at most 32 folders deep, 200 bytes a name and 1,024 in all.")
        }
        if parts.isEmpty || out.hasSuffix("/") { throw Reason("\"out\" '\(shown)' names a folder; give a file name such as \"take-1.wav\".") }
        let name = parts.joined(separator: "/")
        do { _ = try AudioFileFormat(path: name) } catch {
            throw Reason("\"out\" '\(shown)' must end in .wav, .flac or .ogg.")
        }
        return name
    }

    /// `outDir`/`relative` (a name from `outputName`), refused when a folder on the way is a
    /// symbolic link: a link inside --out-dir could point anywhere, and outputs stay inside it.
    public static func resolveOutput(_ relative: String, in outDir: String) throws -> String {
        var path = outDir
        let parts = relative.split(separator: "/")
        for part in parts.dropLast() {
            path = PathName.join(path, String(part))
            var st = stat()
            if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK {
                throw Reason("\"out\" '\(relative)' goes through '\(path)', a symbolic link; outputs are written only inside --out-dir. "
                             + "Replace the link with a folder or choose another name.")
            }
        }
        return PathName.join(outDir, relative)
    }

    /// A JSON object's fields, taken one key at a time with type checks.
    struct Fields {
        var fields: [String: JSONValue]
        init(_ f: [String: JSONValue]) { fields = f }

        func onlyKeys(_ valid: [String], kind: String) throws {
            if let bad = fields.keys.sorted().first(where: { !valid.contains($0) }) {
                throw Reason("unknown key \"\(bad)\" for a \(kind) line; valid keys: \(valid.joined(separator: ", ")).")
            }
        }

        func value(_ key: String) -> JSONValue? {
            guard let v = fields[key], v != .null else { return nil }
            return v
        }

        func wrongType(_ key: String, _ want: String, _ v: JSONValue) -> Reason {
            Reason("\"\(key)\" must be \(want), got \(v.kindName) \(v.shortText).")
        }

        func string(_ key: String) throws -> String? {
            guard let v = value(key) else { return nil }
            guard case .string(let s) = v else { throw wrongType(key, "a string", v) }
            return s
        }

        /// A non-empty string (a name or path).
        func name(_ key: String) throws -> String? {
            guard let s = try string(key) else { return nil }
            if s.trimmingCharacters(in: .whitespaces).isEmpty { throw Reason("\"\(key)\" is empty; leave it out or give a value.") }
            return s
        }

        func number(_ key: String) throws -> Double? {
            guard let v = value(key) else { return nil }
            switch v {
            case .integer(let i): return Double(i)
            case .unsigned(let u): return Double(u)
            case .double(let d): return d
            default: throw wrongType(key, "a number", v)
            }
        }

        func integer(_ key: String) throws -> Int64? {
            guard let v = value(key) else { return nil }
            switch v {
            case .integer(let i): return i
            case .unsigned: throw Reason("\"\(key)\" is too large.")
            default: throw wrongType(key, "a whole number", v)
            }
        }

        func bool(_ key: String) throws -> Bool? {
            guard let v = value(key) else { return nil }
            guard case .bool(let b) = v else { throw wrongType(key, "true or false", v) }
            return b
        }

        func seed() throws -> UInt64? {
            guard let v = value("seed") else { return nil }
            switch v {
            case .integer(let i) where i >= 0: return UInt64(i)
            case .unsigned(let u): return u
            case .integer(let i): throw Reason("\"seed\" must be a whole number ≥ 0, got \(i).")
            default: throw wrongType("seed", "a whole number ≥ 0", v)
            }
        }
    }
}

/// A parsed JSON value that keeps booleans, whole numbers and other numbers apart.
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), integer(Int64), unsigned(UInt64), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let u = try? c.decode(UInt64.self) { self = .unsigned(u) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .unsigned, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value as a reader would write it, shortened.
    var shortText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .integer(let i): return "\(i)"
        case .unsigned(let u): return "\(u)"
        case .double(let d): return Self.format(d)
        case .string(let s): return "\"" + (s.count > 30 ? s.prefix(30) + "…" : s) + "\""
        case .array: return "[…]"
        case .object: return "{…}"
        }
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
    }
}
