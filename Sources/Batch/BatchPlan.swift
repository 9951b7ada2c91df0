// BatchPlan.swift — what decides which lines a `gen batch` run renders and how: the derived
// seeds, the shard split, and the checks that need the loaded models' labels.
//
// Seeds: a line without "seed" gets BatchSeed.derive(batch seed, prompt file name, line number):
// FNV-1a 64 of "<file name>:<line>" (the last path component, so `prompts/x.jsonl` and
// `/abs/prompts/x.jsonl` agree; when two prompt files of one batch share a name, the shortest
// trailing part of their paths that tells them apart, e.g. "a/set.jsonl" — see
// `PromptSet.names(for:)`), mixed with the batch seed and finished with SplitMix64, kept to
// 32 bits so it is easy to copy into a prompt or `gen speech --seed`. The same file, line and
// batch seed always give the same seed, on any machine and in any shard; editing a line's text
// keeps its seed, inserting lines above it moves it.
//
// Shards: `--shard i/n` (1-based) renders the lines whose ordinal (position among all prompt
// lines of the batch, valid or not) is i-1 modulo n. Every line falls in exactly one shard, the
// shards are balanced to within one line, and a line's shard does not depend on what validates.
import Base
import Requests
import Foundation

public enum BatchSeed {
    public static func derive(batchSeed: UInt64, file: String, line: Int) -> UInt64 {
        derive(batchSeed: batchSeed, name: PathName.last(file), line: line)
    }

    /// The seed of line `line` of the prompt file called `name` in this batch (`PromptSet.names`).
    public static func derive(batchSeed: UInt64, name: String, line: Int) -> UInt64 {
        var h = FNV1a64()
        h.mix("\(name):\(line)".utf8)
        return splitMix(h.value ^ splitMix(batchSeed)) & 0xFFFF_FFFF
    }

    /// One SplitMix64 step from state x (increment, then mix).
    static func splitMix(_ x: UInt64) -> UInt64 { SplitMix64.mix(x &+ 0x9E37_79B9_7F4A_7C15) }
}

/// Shard i of n (1-based), as given to `--shard i/n`.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) { self.index = index; self.count = count }

    /// Parses "i/n"; the message says what is wrong and what is meant.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw ShardError("--shard takes i/n, e.g. --shard 2/3 for the second of three shards; got '\(text)'.")
        }
        guard n >= 1 else { throw ShardError("--shard \(text): the number of shards must be at least 1.") }
        guard i >= 1 && i <= n else {
            throw ShardError("--shard \(text): shards are numbered 1 to \(n)"
                             + (i == 0 ? " (1-based; add 1 to a 0-based index such as $JOB_COMPLETION_INDEX)." : "."))
        }
        self.init(index: i, count: n)
    }

    public func contains(_ ordinal: Int) -> Bool { ordinal % count == index - 1 }

    public var description: String { "\(index)/\(count)" }
}

public struct ShardError: Error, CustomStringConvertible {
    public let description: String
    init(_ m: String) { description = m }
}

/// The labels the loaded models know; nil for a model that is not loaded (its lines are checked
/// against nothing here and fail later with the model's own message).
public struct PromptVocabulary: Sendable {
    public var voices: [String]?
    public var genres: [String]?
    public var artists: [String]?

    /// Why a line's "chords" does not parse (the music models' parser), or nil; nil: not checked here.
    public var chordsProblem: (@Sendable (String) -> String?)?

    public init(voices: [String]? = nil, genres: [String]? = nil, artists: [String]? = nil,
                chordsProblem: (@Sendable (String) -> String?)? = nil) {
        self.voices = voices; self.genres = genres; self.artists = artists; self.chordsProblem = chordsProblem
    }

    /// Why `item` cannot render with these models, or nil.
    public func problem(_ item: BatchItem) -> String? {
        func check(_ name: String?, _ valid: [String]?, _ what: String, _ command: String, alternative: String? = nil) -> String? {
            guard let name, let valid, LabelName.match(name, in: valid) == nil else { return nil }
            return LabelName.unknown(what, name, valid: valid, command: command, alternative: alternative)
        }
        switch item.job {
        case .speech(let s): return check(s.voice, voices, "voice", "voices")
        case .music(let m):
            let artist = MusicRequest.isAnyArtist(m.artist) ? nil : m.artist
            return check(m.genre, genres, "genre", "genres") ?? check(artist, artists, "artist", "artists", alternative: MusicRequest.anyArtistHint)
                ?? m.chords.flatMap { chordsProblem?($0) }
        }
    }

    /// `item` with its voice, genre and artist spelled as the models spell them ("RMS" → "rms").
    public func canonical(_ item: BatchItem) -> BatchItem {
        func fix(_ name: String?, _ valid: [String]?) -> String? {
            guard let name, let valid else { return name }
            return LabelName.match(name, in: valid) ?? name
        }
        var out = item
        switch item.job {
        case .speech(var s):
            s.voice = fix(s.voice, voices) ?? s.voice
            out.job = .speech(s)
        case .music(var m):
            m.genre = fix(m.genre, genres); m.artist = fix(m.artist, artists)
            out.job = .music(m)
        }
        return out
    }
}
