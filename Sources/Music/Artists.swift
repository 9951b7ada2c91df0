// Artists.swift — the virtual bands of the music corpus. An artist is a consistent identity the
// prior can be conditioned on (Jukebox conditions its prior on artist and genre): one General MIDI
// soundfont, its own bass, chord and lead instruments (MMA voice names, overriding the groove's
// unless the groove shares channels, see Groove.keepsVoices),
// a tempo feel within each groove's range, a room (fluidsynth reverb) and a flite vocalist.

/// The General MIDI soundfonts the corpus renders with, from Debian packages.
public enum Soundfont: String, CaseIterable, Sendable {
    case fluidR3 = "FluidR3_GM"
    case timGM6mb = "TimGM6mb"
    case museScore = "MuseScore_General_Lite"

    public var path: String {
        switch self {
        case .fluidR3: return "/usr/share/sounds/sf2/FluidR3_GM.sf2"
        case .timGM6mb: return "/usr/share/sounds/sf2/TimGM6mb.sf2"
        case .museScore: return "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"
        }
    }

    public var debianPackage: String {
        switch self {
        case .fluidR3: return "fluid-soundfont-gm"
        case .timGM6mb: return "timgm6mb-soundfont"
        case .museScore: return "musescore-general-soundfont-small"
        }
    }
}

public struct Artist: Sendable {
    public var name: String
    public var genres: [String]
    public var soundfont: Soundfont
    public var bassVoice: String     // MMA voice for the Bass and Walk tracks
    public var chordVoice: String    // MMA voice for the Chord tracks
    public var leadVoice: String     // MMA voice for the Aria (generated melody) track
    public var leadOctave: Int       // MMA octave of the lead (4 holds middle C)
    /// Where in each groove's tempo range this band plays (0 = slowest, 1 = fastest).
    public var tempoFeel: ClosedRange<Double>
    public var reverb: Double        // fluidsynth synth.reverb.level
    public var vocalist: String      // flite voice: slt, rms or awb

    /// "velvet-quartet"-style slug for file names.
    public var slug: String {
        let kept = name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        return String(kept).split(separator: "-").joined(separator: "-")
    }

    public var summary: String {
        let feel: String
        switch (tempoFeel.lowerBound + tempoFeel.upperBound) / 2 {
        case ..<0.4: feel = "relaxed"
        case ..<0.65: feel = "medium"
        default: feel = "driving"
        }
        return "\(genres.joined(separator: ", ")): \(leadVoice) lead over \(chordVoice) and \(bassVoice) "
            + "(\(soundfont.rawValue)), \(feel) tempos, vocals by flite \(vocalist)"
    }
}

extension MusicCatalog {
    public static let artists: [Artist] = [
        Artist(name: "The Velvet Quartet", genres: ["jazz", "latin"], soundfont: .fluidR3,
               bassVoice: "AcousticBass", chordVoice: "Piano1", leadVoice: "TenorSax", leadOctave: 5,
               tempoFeel: 0.0...0.6, reverb: 0.6, vocalist: "slt"),
        Artist(name: "Muddy Delta Kings", genres: ["blues", "rock"], soundfont: .timGM6mb,
               bassVoice: "FingeredBass", chordVoice: "Organ1", leadVoice: "Harmonica", leadOctave: 5,
               tempoFeel: 0.2...0.8, reverb: 0.3, vocalist: "rms"),
        Artist(name: "Neon Highway", genres: ["rock", "funk"], soundfont: .museScore,
               bassVoice: "PickedBass", chordVoice: "CleanGuitar", leadVoice: "OverDriveGuitar", leadOctave: 5,
               tempoFeel: 0.5...1.0, reverb: 0.4, vocalist: "awb"),
        Artist(name: "Los Soleados", genres: ["latin", "waltz"], soundfont: .fluidR3,
               bassVoice: "AcousticBass", chordVoice: "NylonGuitar", leadVoice: "Trumpet", leadOctave: 5,
               tempoFeel: 0.3...0.9, reverb: 0.5, vocalist: "slt"),
        Artist(name: "Dusty Boots Band", genres: ["country", "waltz", "blues"], soundfont: .timGM6mb,
               bassVoice: "AcousticBass", chordVoice: "SteelGuitar", leadVoice: "Fiddle", leadOctave: 5,
               tempoFeel: 0.3...0.8, reverb: 0.3, vocalist: "rms"),
        Artist(name: "Sixth Street Funk Machine", genres: ["funk", "blues"], soundfont: .fluidR3,
               bassVoice: "SlapBass1", chordVoice: "Clavinet", leadVoice: "AltoSax", leadOctave: 5,
               tempoFeel: 0.4...1.0, reverb: 0.35, vocalist: "awb"),
        Artist(name: "Old Town Brass", genres: ["march", "waltz"], soundfont: .museScore,
               bassVoice: "Tuba", chordVoice: "BrassSection", leadVoice: "Clarinet", leadOctave: 5,
               tempoFeel: 0.2...0.7, reverb: 0.5, vocalist: "rms"),
        Artist(name: "Midnight Ballroom Orchestra", genres: ["waltz", "jazz"], soundfont: .museScore,
               bassVoice: "AcousticBass", chordVoice: "Strings", leadVoice: "Violin", leadOctave: 6,
               tempoFeel: 0.0...0.5, reverb: 0.7, vocalist: "slt"),
        Artist(name: "Copper Creek Ramblers", genres: ["country", "blues"], soundfont: .timGM6mb,
               bassVoice: "AcousticBass", chordVoice: "SteelGuitar", leadVoice: "Banjo", leadOctave: 5,
               tempoFeel: 0.4...1.0, reverb: 0.25, vocalist: "awb"),
        Artist(name: "Saint Marie Second Line", genres: ["march", "jazz", "funk"], soundfont: .fluidR3,
               bassVoice: "Tuba", chordVoice: "Honky-TonkPiano", leadVoice: "Trombone", leadOctave: 4,
               tempoFeel: 0.3...0.9, reverb: 0.45, vocalist: "awb"),
    ]

    public static let artistNames: [String] = artists.map(\.name)

    /// Looks an artist up by name or slug, ignoring case.
    public static func artist(_ name: String) -> Artist? {
        let n = name.lowercased()
        return artists.first { $0.name.lowercased() == n || $0.slug == n }
    }

    public static func artists(playing genre: String) -> [Artist] {
        artists.filter { $0.genres.contains(genre) }
    }
}
