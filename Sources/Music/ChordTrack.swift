// ChordTrack.swift — the chords of a piece, bar by bar, as a prior with `chords` reads them: each
// step gets the root and quality of the chord sounding at its frame. The corpus knows them exactly
// (every MMA clip's metadata names its key and progression, and the renderer plays one progression
// bar per bar from the piece's start, `Progression.mmaLine`); a user gives them with `--chords`,
// and a piece asked for without them plays one of its genre's training progressions in a key drawn
// as the corpus draws it. Chord conditioning is how MusicGen-Chords and JASCO steer harmony; the
// prior's card measured why it is here: a prior that must guess when chords change holds them.
import Engine
import Foundation

/// The chords of a piece: bars of one or more chords, repeating from the piece's first bar. The
/// chords of a bar share it as MMA shares a chord line's beats (`Progression.mmaLine`).
public struct ChordTrack: Equatable, Sendable {
    public struct Chord: Equatable, Sendable {
        /// Pitch class of the root, 0 = C.
        public var root: Int
        /// Index in `ChordTrack.qualities`.
        public var quality: Int

        public init(root: Int, quality: Int) { self.root = ((root % 12) + 12) % 12; self.quality = quality }

        /// "Bbm7", spelled with flats (sharps would do as well: the name is for people).
        public var name: String { MusicKey.flatNames[root] + ChordTrack.qualities[quality] }
    }

    public var bars: [[Chord]]

    /// The MMA chord qualities the catalogue's progressions use, in a fixed order (the embedding's rows).
    public static let qualities = ["", "m", "7", "maj7", "m7", "6", "m6", "m7b5", "dim7", "7b9", "9", "m9", "7#9"]
    /// Embedding rows: 12 roots and "no chord"; the qualities and "no chord".
    public static let rootRows = 13
    public static var qualityRows: Int { qualities.count + 1 }
    /// Bars and chords a user's chord line may hold.
    public static let maxBars = 64, maxChordsPerBar = 8

    public init(bars: [[Chord]]) { self.bars = bars }

    /// A catalogue progression played in `key` (the corpus's clips).
    public init?(progression: Progression, key: MusicKey) {
        var out: [[Chord]] = []
        for bar in progression.bars {
            var chords: [Chord] = []
            for c in bar {
                guard let q = Self.qualities.firstIndex(of: c.quality) else { return nil }
                chords.append(Chord(root: key.tonic + c.degree, quality: q))
            }
            out.append(chords)
        }
        guard !out.isEmpty, !out.contains(where: \.isEmpty) else { return nil }
        self.init(bars: out)
    }

    /// The chords of a corpus clip, when its metadata names a key and a catalogue progression of its genre.
    public init?(key: String?, progression: String?, genre: String) {
        guard let k = key.flatMap(MusicKey.init(name:)), let name = progression, let g = MusicCatalog.genre(genre),
              let p = (g.progressions + [g.heldOut]).first(where: { $0.name == name }) else { return nil }
        self.init(progression: p, key: k)
    }

    /// A user's chords: bars separated by "|", chords in a bar by spaces ("C | Am | Dm7 G7 | C"),
    /// each a root (A–G with an optional # or b) and one of `qualities`.
    public init(parsing text: String) throws {
        let bars = text.split(separator: "|", omittingEmptySubsequences: false).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) }
        guard !bars.isEmpty, bars.count <= Self.maxBars else {
            throw PriorError("chords: give 1 to \(Self.maxBars) bars separated by '|', e.g. \"C | Am | Dm7 G7 | C\".")
        }
        var out: [[Chord]] = []
        for (i, bar) in bars.enumerated() {
            guard !bar.isEmpty else { throw PriorError("chords: bar \(i + 1) is empty; every bar between '|' needs a chord, e.g. \"C | Am | Dm7 G7 | C\".") }
            guard bar.count <= Self.maxChordsPerBar else { throw PriorError("chords: bar \(i + 1) has \(bar.count) chords; at most \(Self.maxChordsPerBar).") }
            out.append(try bar.map { try Self.chord(String($0)) })
        }
        self.init(bars: out)
    }

    /// "F#m7" → root 6, quality "m7".
    static func chord(_ token: String) throws -> Chord {
        let letters: [Character: Int] = ["C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11]
        var s = Substring(token)
        guard let first = s.first, let base = letters[Character(first.uppercased())] else {
            throw PriorError("chords: '\(token)' does not start with a root A to G; write chords as C, Am, F#m7, Bb7, Dm7b5.")
        }
        s = s.dropFirst()
        var root = base
        if let a = s.first, a == "#" || a == "b" { root += a == "#" ? 1 : -1; s = s.dropFirst() }
        guard let q = qualities.firstIndex(of: String(s)) else {
            throw PriorError("chords: '\(token)' has the quality '\(s)', which the prior does not know; use one of: "
                             + qualities.map { $0.isEmpty ? "(major)" : $0 }.joined(separator: ", ") + ".")
        }
        return Chord(root: root, quality: q)
    }

    /// Whether these bars are what `init(parsing:)` accepts: 1 to `maxBars` bars of 1 to
    /// `maxChordsPerBar` chords, each a root 0..<12 and one of `qualities` (the sampler checks a track
    /// built by other callers with it).
    public var isWellFormed: Bool {
        (1...Self.maxBars).contains(bars.count) && bars.allSatisfy { (1...Self.maxChordsPerBar).contains($0.count) }
            && bars.joined().allSatisfy { (0..<12).contains($0.root) && Self.qualities.indices.contains($0.quality) }
    }

    /// "C | Am | Dm7 G7 | C".
    public var name: String { bars.map { $0.map(\.name).joined(separator: " ") }.joined(separator: " | ") }

    /// The chord sounding at `seconds` from the piece's start on `grid`: bar ⌊t / bar⌋ of the
    /// repeating bars, and in it chord j from beat j·⌊beats / n⌋ (MMA's even share; chords beyond
    /// the bar's beats start one beat apart).
    public func chord(at seconds: Double, grid: BarGrid) -> Chord {
        let bars = max(0, seconds) / grid.barSeconds, whole = bars.rounded(.down)
        let bar = self.bars[Int(whole.truncatingRemainder(dividingBy: Double(self.bars.count)))]
        let each = max(1, grid.beatsPerBar / bar.count)
        let beat = Int((bars - whole) * Double(grid.beatsPerBar))
        return bar[min(bar.count - 1, beat / each)]
    }

    /// Embedding rows (root, quality) of the step at `seconds`; the last row of each is "no chord"
    /// (no chords, or no grid to place them on).
    public static func rows(_ track: ChordTrack?, grid: BarGrid?, seconds: Double) -> (root: Int, quality: Int) {
        guard let t = track, let g = grid else { return (rootRows - 1, qualityRows - 1) }
        let c = t.chord(at: seconds, grid: g)
        return (c.root, c.quality)
    }

    /// Chords as the corpus plays `genre` (one of its training progressions, in a key of the
    /// progression's mode with a tonic drawn uniformly); any catalogue genre's when `genre` is nil
    /// or not in the catalogue.
    public static func typical(genre: String?, rng: inout RNG) -> ChordTrack {
        let genres = genre.flatMap { MusicCatalog.genre($0) }.map { [$0] } ?? MusicCatalog.genres
        let progressions = genres.flatMap(\.progressions)
        let p = progressions[rng.int(below: progressions.count)]
        // Every catalogue progression's qualities are in `qualities` (a test checks it).
        return ChordTrack(progression: p, key: MusicKey(tonic: rng.int(below: 12), mode: p.mode))!
    }
}

extension MusicKey {
    /// "Eb major", "C# minor" (any spelling of the tonic, sharp or flat), as the corpus writes keys.
    public init?(name: String) {
        let parts = name.split(separator: " ")
        guard parts.count == 2, let mode = KeyMode(rawValue: String(parts[1]).lowercased()) else { return nil }
        let t = String(parts[0])
        guard let tonic = Self.sharpNames.firstIndex(of: t) ?? Self.flatNames.firstIndex(of: t) else { return nil }
        self.init(tonic: tonic, mode: mode)
    }
}
