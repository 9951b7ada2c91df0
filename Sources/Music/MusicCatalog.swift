// MusicCatalog.swift — the genres of the music corpus: for each, the MMA grooves it is played with
// (names from Debian mma's library, /usr/share/mma/lib) and a small bank of chord progressions
// that suit it, written in Roman numerals and spelled in any key.
//
// Each genre holds one progression back: clips in the validation split use only that one, and
// training clips never do, so validation measures progressions the models have not heard
// (the held-out split of issue 4).
import Foundation

// MARK: - keys and chords

public enum KeyMode: String, Codable, Sendable { case major, minor }

/// A key: a tonic pitch class (0 = C) and a mode.
public struct MusicKey: Equatable, Sendable {
    public var tonic: Int
    public var mode: KeyMode

    public init(tonic: Int, mode: KeyMode) {
        self.tonic = ((tonic % 12) + 12) % 12
        self.mode = mode
    }

    static let flatNames = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
    static let sharpNames = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    // The conventional name of each key; every one of these is in MMA's KeySig tables.
    static let majorNames = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    static let minorNames = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]

    /// "Eb major", "C# minor".
    public var name: String { tonicName + " " + mode.rawValue }
    public var tonicName: String { (mode == .major ? Self.majorNames : Self.minorNames)[tonic] }

    /// Keys whose signature has sharps spell their chords with sharps; the rest (C and A minor
    /// included, whose borrowed chords are bVII, bVI, bIII) with flats.
    var usesSharps: Bool {
        switch mode {
        case .major: return [2, 4, 6, 7, 9, 11].contains(tonic)   // D E F# G A B
        case .minor: return [1, 4, 6, 8, 11].contains(tonic)      // C# E F# G# B
        }
    }

    func spell(pitchClass: Int) -> String {
        let pc = ((pitchClass % 12) + 12) % 12
        return usesSharps ? Self.sharpNames[pc] : Self.flatNames[pc]
    }
}

/// One chord of a progression: a scale degree (semitones above the tonic) and an MMA chord
/// quality ("", "m", "7", "m7", "maj7", "m7b5", "dim7", "6", "9", ...).
public struct ChordSymbol: Equatable, Sendable {
    public var degree: Int
    public var quality: String

    /// The MMA chord name in `key`, e.g. degree 2 "m7" in Bb major → "Cm7".
    public func name(in key: MusicKey) -> String { key.spell(pitchClass: key.tonic + degree) + quality }
}

/// A chord progression: bars of one or more chords, in Roman-numeral notation such as
/// "ii:m7 V:7 | I:maj7 | I:6". Degrees are counted on the major scale of the tonic, so a minor
/// progression writes its borrowed chords with flats ("i:m | bVI | bVII | V:7").
public struct Progression: Sendable {
    public var name: String
    public var mode: KeyMode
    public var bars: [[ChordSymbol]]   // (bars, chords in the bar)
    public var notation: String

    public init(_ name: String, _ mode: KeyMode, _ notation: String) {
        self.name = name
        self.mode = mode
        self.notation = notation
        self.bars = notation.split(separator: "|").map { bar in
            bar.split(separator: " ").map { token -> ChordSymbol in
                let parts = token.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                guard let degree = Progression.degree(String(parts[0])) else {
                    preconditionFailure("progression '\(name)': bad degree '\(parts[0])'")
                }
                return ChordSymbol(degree: degree, quality: parts.count > 1 ? String(parts[1]) : "")
            }
        }
    }

    /// "bVI" → 8, "#iv" → 6, "V" → 7.
    static func degree(_ token: String) -> Int? {
        var s = Substring(token), shift = 0
        while let c = s.first, c == "b" || c == "#" { shift += c == "b" ? -1 : 1; s = s.dropFirst() }
        let numerals = ["I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11]
        guard let base = numerals[s.uppercased()] else { return nil }
        return base + shift
    }

    /// Bar `i`'s chords as an MMA chord line of `beats` beats: the chords share the bar evenly,
    /// "/" repeating the previous chord ("Dm7 / G7 /").
    func mmaLine(bar i: Int, key: MusicKey, beats: Int) -> String {
        let chords = bars[i % bars.count]
        let each = beats / chords.count
        var tokens: [String] = []
        for c in chords {
            tokens.append(c.name(in: key))
            tokens.append(contentsOf: repeatElement("/", count: max(0, each - 1)))
        }
        return tokens.joined(separator: " ")
    }
}

// MARK: - grooves and genres

/// An MMA groove (a `DefGroove` name in /usr/share/mma/lib) with its metre and a tempo range
/// that suits it. MMA's tempo counts beats of the groove's `Time`, so a bar lasts
/// beatsPerBar · 60 / tempo seconds (in 6/8, a beat is a dotted quarter).
public struct Groove: Sendable {
    public var name: String
    public var beatsPerBar: Int
    public var timeSignature: String
    public var tempo: ClosedRange<Double>
    /// Grooves whose bass and chord tracks share MIDI channels (MMA `ChShare`, e.g. an accordion's
    /// two hands) keep their own voices: overriding one track's voice would retune the other.
    public var keepsVoices: Bool

    public init(_ name: String, beats: Int = 4, signature: String = "4/4", tempo: ClosedRange<Double>, keepsVoices: Bool = false) {
        self.name = name; self.beatsPerBar = beats; self.timeSignature = signature; self.tempo = tempo
        self.keepsVoices = keepsVoices
    }

    public func barSeconds(tempo bpm: Double) -> Double { Double(beatsPerBar) * 60 / bpm }
}

public struct Genre: Sendable {
    public var name: String
    public var summary: String
    public var grooves: [Groove]
    /// Progressions for the training split.
    public var progressions: [Progression]
    /// The progression reserved for the validation split.
    public var heldOut: Progression
    /// Lyric flavour: words the lyric generator draws on for this genre.
    public var words: LyricWords
}

public enum MusicCatalog {
    public static let genres: [Genre] = [
        Genre(name: "jazz", summary: "swing and bebop combos over ii-V-I, rhythm changes and turnarounds",
              grooves: [Groove("Swing", tempo: 110...180), Groove("JazzCombo", tempo: 100...170),
                        Groove("Bebop", tempo: 160...220), Groove("EasySwing", tempo: 90...140)],
              progressions: [
                Progression("ii-V-I", .major, "ii:m7 | V:7 | I:maj7 | I:6"),
                Progression("rhythm changes A", .major, "I:maj7 vi:m7 | ii:m7 V:7 | I:maj7 vi:m7 | ii:m7 V:7 | I:7 | IV:maj7 #iv:dim7 | I:maj7 V:7 | I:6"),
                Progression("minor ii-V-i", .minor, "ii:m7b5 | V:7b9 | i:m6 | i:m6"),
                Progression("I-vi-ii-V and iii-VI-ii-V", .major, "I:maj7 | vi:m7 | ii:m7 | V:7 | iii:m7 | VI:7 | ii:m7 | V:7"),
              ],
              heldOut: Progression("cycle to the relative minor", .major, "ii:m7 | V:7 | I:maj7 | IV:maj7 | vii:m7b5 | III:7 | vi:m7 | vi:m7"),
              words: LyricWords.jazz),
        Genre(name: "blues", summary: "12-bar and 8-bar blues, shuffles and slow blues",
              grooves: [Groove("Blues", tempo: 90...130), Groove("FastBlues", tempo: 130...170),
                        Groove("SlowBlues", tempo: 55...80), Groove("ShuffleBoggie", tempo: 100...140)],
              progressions: [
                Progression("12-bar", .major, "I:7 | I:7 | I:7 | I:7 | IV:7 | IV:7 | I:7 | I:7 | V:7 | IV:7 | I:7 | V:7"),
                Progression("12-bar quick change", .major, "I:7 | IV:7 | I:7 | I:7 | IV:7 | IV:7 | I:7 | I:7 | V:7 | IV:7 | I:7 | V:7"),
                Progression("minor 12-bar", .minor, "i:m7 | i:m7 | i:m7 | i:m7 | iv:m7 | iv:m7 | i:m7 | i:m7 | bVI:7 | V:7 | i:m7 | V:7"),
                Progression("8-bar", .major, "I:7 | V:7 | IV:7 | IV:7 | I:7 | V:7 | I:7 | V:7"),
              ],
              heldOut: Progression("jazz blues", .major, "I:7 | IV:7 | I:7 | v:m7 I:7 | IV:7 | #iv:dim7 | I:7 | VI:7 | ii:m7 | V:7 | I:7 VI:7 | ii:m7 V:7"),
              words: LyricWords.blues),
        Genre(name: "rock", summary: "50s, 60s, basic and soft rock on three- and four-chord loops",
              grooves: [Groove("50sRock", tempo: 140...180), Groove("60sRock", tempo: 110...150),
                        Groove("BasicRock", tempo: 100...140), Groove("SoftRock", tempo: 80...120)],
              progressions: [
                Progression("I-V-vi-IV", .major, "I | V | vi:m | IV"),
                Progression("I-IV-V-IV", .major, "I | IV | V | IV"),
                Progression("vi-IV-I-V", .major, "vi:m | IV | I | V"),
                Progression("mixolydian I-bVII-IV-I", .major, "I | bVII | IV | I"),
              ],
              heldOut: Progression("I-iii-IV-V", .major, "I | iii:m | IV | V"),
              words: LyricWords.rock),
        Genre(name: "latin", summary: "bossa nova, rhumba, mambo and cha-cha",
              grooves: [Groove("BossaNova", tempo: 120...150), Groove("Rhumba", tempo: 90...120),
                        Groove("Mambo", tempo: 160...200), Groove("ChaCha", tempo: 110...130)],
              progressions: [
                Progression("minor i-iv-V", .minor, "i:m | iv:m | V:7 | i:m"),
                Progression("bossa II7 lift", .major, "I:maj7 | I:maj7 | II:7 | II:7 | ii:m7 | bII:7 | I:maj7 | I:maj7"),
                Progression("ii-V-I-vi", .major, "ii:m7 | V:7 | I:maj7 | vi:m7"),
                Progression("Andalusian cadence", .minor, "i:m | bVII | bVI | V:7"),
              ],
              heldOut: Progression("minor six vamp", .minor, "i:m6 | ii:m7b5 V:7 | i:m6 | bVI:7 V:7"),
              words: LyricWords.latin),
        Genre(name: "country", summary: "country swing, bluegrass and western swing on tonic-dominant changes",
              grooves: [Groove("CountrySwing", tempo: 120...160), Groove("BlueGrass", tempo: 140...180),
                        Groove("WesternSwing", tempo: 120...170), Groove("SlowCountry", tempo: 70...100)],
              progressions: [
                Progression("I-IV-V7-I", .major, "I | IV | V:7 | I"),
                Progression("two-bar changes", .major, "I | I | IV | IV | V:7 | V:7 | I | I"),
                Progression("I-vi-IV-V7", .major, "I | vi:m | IV | V:7"),
                Progression("ragtime II7", .major, "I | I | II:7 | II:7 | V:7 | V:7 | I | I"),
              ],
              heldOut: Progression("eight-bar song form", .major, "I | IV | I | V:7 | I | IV | V:7 | I"),
              words: LyricWords.country),
        Genre(name: "funk", summary: "one-chord and two-chord funk and soul vamps",
              grooves: [Groove("BVFunk", tempo: 90...115), Groove("DSoul", tempo: 85...110),
                        Groove("Funk1", tempo: 95...120), Groove("R&B", tempo: 90...120)],
              progressions: [
                Progression("minor i-IV vamp", .minor, "i:m7 | i:m7 | IV:7 | IV:7"),
                Progression("dominant nine vamp", .major, "I:9 | I:9 | IV:9 | I:9"),
                Progression("minor nine with sharp nine", .minor, "i:m9 | iv:m7 | i:m9 | V:7#9"),
                Progression("funky blues", .major, "I:7 | I:7 | I:7 | I:7 | IV:7 | IV:7 | I:7 | I:7"),
              ],
              heldOut: Progression("ii-V vamp", .major, "ii:m7 | V:9 | ii:m7 | V:9"),
              words: LyricWords.funk),
        Genre(name: "waltz", summary: "3/4 waltzes: Viennese, French, jazz and country",
              grooves: [Groove("Waltz", beats: 3, signature: "3/4", tempo: 90...150),
                        Groove("VieneseWaltz", beats: 3, signature: "3/4", tempo: 160...200),
                        Groove("FrenchWaltz", beats: 3, signature: "3/4", tempo: 120...170, keepsVoices: true),
                        Groove("JazzWaltz", beats: 3, signature: "3/4", tempo: 120...180),
                        Groove("CountryWaltz", beats: 3, signature: "3/4", tempo: 90...140)],
              progressions: [
                Progression("I-V7 two-bar", .major, "I | I | V:7 | V:7 | V:7 | V:7 | I | I"),
                Progression("I-IV-V7-I", .major, "I | IV | V:7 | I"),
                Progression("I-vi-ii-V", .major, "I | vi:m | ii:m7 | V:7"),
                Progression("minor i-iv-V", .minor, "i:m | iv:m | V:7 | i:m"),
              ],
              heldOut: Progression("minor-four colour", .major, "I | I:maj7 | IV | iv:m | I | V:7 | I | I"),
              words: LyricWords.waltz),
        Genre(name: "march", summary: "military, big-band, dixie and 6/8 marches",
              grooves: [Groove("March", tempo: 100...130), Groove("BWMarch", tempo: 100...130),
                        Groove("DixieMarch", tempo: 110...140),
                        Groove("68March", beats: 2, signature: "6/8", tempo: 100...125, keepsVoices: true)],
              progressions: [
                Progression("I-V7 strain", .major, "I | I | V:7 | V:7 | V:7 | V:7 | I | I"),
                Progression("I-IV-I-V7", .major, "I | IV | I | V:7"),
                Progression("trio strain", .major, "I | I | IV | IV | I | V:7 | I | I"),
                Progression("I-vi-ii-V7", .major, "I | vi:m | ii:m | V:7"),
              ],
              heldOut: Progression("secondary dominant strain", .major, "I | II:7 | V:7 | I | IV | I | V:7 | I"),
              words: LyricWords.march),
    ]

    public static let genreNames: [String] = genres.map(\.name)

    public static func genre(_ name: String) -> Genre? {
        genres.first { $0.name == name.lowercased() }
    }
}
