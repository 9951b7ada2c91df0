// ChordTrackTests.swift — the chords a prior with `chords` reads (Music/ChordTrack.swift).
//
// Expected values come from outside the code under test: the chord at each beat is checked
// against the MMA chord line the corpus renderer writes for the same bar (`Progression.mmaLine`,
// the text MMA plays), key names against the corpus's own spelling (`MusicKey.name`), parsed
// chords against roots and qualities written out by hand.
import Engine
import Foundation
import XCTest
@testable import Music

final class ChordTrackTests: XCTestCase {
    /// The chord each beat of an MMA chord line holds: "/" repeats the chord before it.
    func beats(ofLine line: String) throws -> [ChordTrack.Chord] {
        var out: [ChordTrack.Chord] = []
        for token in line.split(separator: " ") {
            if token == "/" { out.append(out.last!) } else { out.append(try ChordTrack.chord(String(token))) }
        }
        return out
    }

    // Reference: the renderer's MMA line for the same bar (what fluidsynth plays), in every key of
    // the progression's mode and in 2, 3 and 4 beats a bar, two passes of every catalogue progression
    // (the training ones and the held-out one), read at the middle of each beat.
    func testEveryCatalogueProgressionSoundsAsTheRenderersChordLinePlaysIt() throws {
        var checked = 0
        for genre in MusicCatalog.genres {
            for p in genre.progressions + [genre.heldOut] {
                for tonic in 0..<12 {
                    let key = MusicKey(tonic: tonic, mode: p.mode)
                    let track = try XCTUnwrap(ChordTrack(progression: p, key: key), "\(p.name): a quality outside ChordTrack.qualities")
                    XCTAssertEqual(ChordTrack(key: key.name, progression: p.name, genre: genre.name), track, "\(genre.name) \(p.name) from metadata")
                    for beatsPerBar in [2, 3, 4] {
                        let grid = BarGrid(bpm: 97, beatsPerBar: beatsPerBar)
                        for bar in 0..<(2 * p.bars.count) where p.bars[bar % p.bars.count].count <= beatsPerBar {
                            let line = try beats(ofLine: p.mmaLine(bar: bar, key: key, beats: beatsPerBar))
                            XCTAssertEqual(line.count, beatsPerBar - beatsPerBar % p.bars[bar % p.bars.count].count, "\(p.name) bar \(bar)")
                            for (b, want) in line.enumerated() {
                                let seconds = (Double(bar) + (Double(b) + 0.5) / Double(beatsPerBar)) * grid.barSeconds
                                XCTAssertEqual(track.chord(at: seconds, grid: grid), want, "\(genre.name) \(p.name) in \(key.name), bar \(bar) beat \(b)")
                                checked += 1
                            }
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(checked, 10_000)
    }

    // Reference: the corpus's key names (MusicKey.name) for all 24 keys; sharp and flat spellings of a tonic.
    func testKeyNamesReadBack() {
        for mode in [KeyMode.major, .minor] {
            for tonic in 0..<12 { XCTAssertEqual(MusicKey(name: MusicKey(tonic: tonic, mode: mode).name), MusicKey(tonic: tonic, mode: mode)) }
        }
        XCTAssertEqual(MusicKey(name: "Gb major"), MusicKey(tonic: 6, mode: .major))
        XCTAssertEqual(MusicKey(name: "A# minor"), MusicKey(tonic: 10, mode: .minor))
        for bad in ["", "H major", "C", "C dorian", "major C"] { XCTAssertNil(MusicKey(name: bad), bad) }
        XCTAssertNil(ChordTrack(key: "C major", progression: "no such progression", genre: "jazz"))
        XCTAssertNil(ChordTrack(key: "C major", progression: "ii-V-I", genre: "no such genre"))
        XCTAssertNil(ChordTrack(key: nil, progression: "ii-V-I", genre: "jazz"))
    }

    // Reference: roots and qualities written out by hand (C = 0 … B = 11; the order of ChordTrack.qualities).
    func testAUsersChordsParseAndBadOnesAreRefusedWithTheFix() throws {
        let q = { (name: String) in ChordTrack.qualities.firstIndex(of: name)! }
        let t = try ChordTrack(parsing: "C | Am |  F#m7   Bb7 | Ebmaj7 Dm7b5 G7#9")
        XCTAssertEqual(t.bars, [[.init(root: 0, quality: q(""))], [.init(root: 9, quality: q("m"))],
                                [.init(root: 6, quality: q("m7")), .init(root: 10, quality: q("7"))],
                                [.init(root: 3, quality: q("maj7")), .init(root: 2, quality: q("m7b5")), .init(root: 7, quality: q("7#9"))]])
        XCTAssertEqual(t.name, "C | Am | Gbm7 Bb7 | Ebmaj7 Dm7b5 G7#9")
        XCTAssertEqual(try ChordTrack(parsing: "Cb | B# | am").bars.map { $0[0].root }, [11, 0, 9])
        XCTAssertTrue(t.isWellFormed)
        var hostile = t; hostile.bars[0][0].root = 12
        XCTAssertFalse(hostile.isWellFormed)
        hostile = t; hostile.bars[1][0].quality = ChordTrack.qualities.count
        XCTAssertFalse(hostile.isWellFormed)
        XCTAssertFalse(ChordTrack(bars: []).isWellFormed)
        XCTAssertFalse(ChordTrack(bars: [[]]).isWellFormed)
        let bad: [(String, String)] = [("", "empty"), ("C | | G", "bar 2 is empty"), ("H7", "root A to G"), ("Cmaj9", "quality 'maj9'"),
                                       ("C |", "bar 2 is empty"), (Array(repeating: "C", count: 65).joined(separator: "|"), "1 to 64 bars"),
                                       ("C D E F G A B C D", "at most 8")]
        for (text, words) in bad {
            XCTAssertThrowsError(try ChordTrack(parsing: text), text) { e in
                XCTAssertTrue("\(e)".contains(words), "'\(text)': \(e)")
                XCTAssertTrue("\(e)".hasPrefix("chords: "), "\(e)")
            }
        }
    }

    // Reference: the catalogue — a drawn track is one of the genre's training progressions (never its
    // held-out one) in some key; the same seed draws the same tracks, and rows outside any track or
    // grid are the "no chord" rows.
    func testDrawnChordsAreTheGenresTrainingProgressions() {
        let jazz = MusicCatalog.genre("jazz")!
        let allowed = Set(jazz.progressions.flatMap { p in (0..<12).map { ChordTrack(progression: p, key: MusicKey(tonic: $0, mode: p.mode))!.name } })
        let heldOut = Set((0..<12).map { ChordTrack(progression: jazz.heldOut, key: MusicKey(tonic: $0, mode: jazz.heldOut.mode))!.name })
        var rng = RNG(seed: 3), seen = Set<String>()
        for _ in 0..<200 {
            let t = ChordTrack.typical(genre: "jazz", rng: &rng)
            XCTAssertTrue(allowed.contains(t.name), t.name); XCTAssertFalse(heldOut.contains(t.name), t.name)
            seen.insert(t.name)
        }
        XCTAssertGreaterThan(seen.count, 20)
        var a = RNG(seed: 9), b = RNG(seed: 9)
        XCTAssertEqual(ChordTrack.typical(genre: nil, rng: &a), ChordTrack.typical(genre: nil, rng: &b))
        let none = (ChordTrack.rootRows - 1, ChordTrack.qualityRows - 1)
        XCTAssertTrue(ChordTrack.rows(nil, grid: BarGrid(bpm: 120, beatsPerBar: 4), seconds: 1) == none)
        XCTAssertTrue(ChordTrack.rows(try! ChordTrack(parsing: "G7"), grid: nil, seconds: 1) == none)
        XCTAssertTrue(ChordTrack.rows(try! ChordTrack(parsing: "G7"), grid: BarGrid(bpm: 120, beatsPerBar: 4), seconds: 1) == (7, 2))
    }
}
