// MusicCorpusTests.swift — the music corpus builder: lyric pools, the genre/groove/artist catalog
// checked against the installed MMA library, a real tiny corpus rendered with mma + fluidsynth +
// flite, and the import of a user's folder.
//
// Expected values come from outside the builder: groove names, metres and voice names from the
// Debian mma package's own files (/usr/share/mma), pitch from YIN run on the rendered line, and
// audio properties (rate, channels, frames) from libsndfile reading the written WAVs.
import Audio
import Foundation
import XCTest
@testable import Music

final class MusicCorpusTests: MusicScratchTestCase {

    func rms(_ x: [Float]) -> Float { (x.map { $0 * $0 }.reduce(0, +) / Float(max(x.count, 1))).squareRoot() }

    // MARK: - lyrics

    func testLyricGeneratorIsDeterministic() {
        for genre in MusicCatalog.genreNames {
            var a = LyricGenerator(genre: genre, pool: .train, seed: 7), b = LyricGenerator(genre: genre, pool: .train, seed: 7)
            var c = LyricGenerator(genre: genre, pool: .train, seed: 8)
            let la = (0..<50).map { _ in a.nextLine() }
            XCTAssertEqual(la, (0..<50).map { _ in b.nextLine() }, genre)
            XCTAssertNotEqual(la, (0..<50).map { _ in c.nextLine() }, genre)
            XCTAssertGreaterThan(Set(la).count, 40, "\(genre) lines should be varied")
            for l in la { XCTAssertTrue((4...14).contains(l.split(separator: " ").count), l) }
        }
    }

    /// Validation lines never occur in training: 2000 lines of each pool per genre share nothing.
    func testValidationLyricsAreDisjointFromTraining() {
        var train = Set<String>(), val = Set<String>()
        for (gi, genre) in MusicCatalog.genreNames.enumerated() {
            var t = LyricGenerator(genre: genre, pool: .train, seed: UInt64(gi)), v = LyricGenerator(genre: genre, pool: .validation, seed: UInt64(gi))
            for _ in 0..<2000 { train.insert(t.nextLine()); val.insert(v.nextLine()) }
        }
        XCTAssertGreaterThan(val.count, 1000)
        XCTAssertTrue(train.isDisjoint(with: val), "shared: \(Array(train.intersection(val)).sorted().prefix(5))")
        for line in val.prefix(200) {
            XCTAssertTrue(LyricGenerator.validationNouns.contains { line.lowercased().contains($0) }, line)
        }
    }

    // MARK: - catalog against the installed MMA library

    /// DefGroove name (upper-cased) → beats per bar (the `Time` in force where the groove is
    /// defined) and whether its file shares MIDI channels between tracks (`ChShare`), read from
    /// the library files. stdlib wins, as in MMA's own search order.
    func mmaGrooves() throws -> [String: (beats: Int, sharesChannels: Bool)] {
        let lib = "/usr/share/mma/lib"
        guard let walker = FileManager.default.enumerator(atPath: lib) else {
            XCTFail("no MMA library at \(lib): install the Debian package mma"); return [:]
        }
        var found: [String: (beats: Int, sharesChannels: Bool)] = [:]
        let files = (walker.allObjects as! [String]).filter { $0.hasSuffix(".mma") }.sorted { a, b in
            (a.hasPrefix("stdlib/") ? 0 : 1, a) < (b.hasPrefix("stdlib/") ? 0 : 1, b)
        }
        for f in files {
            let path = lib + "/" + f
            guard let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? (try? String(contentsOfFile: path, encoding: .isoLatin1)) else { continue }
            var time = 4
            let shares = text.lowercased().contains("chshare")
            for line in text.split(separator: "\n") {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard words.count >= 2 else { continue }
                if words[0].lowercased() == "time", let t = Int(words[1]) { time = t }
                if words[0].lowercased() == "defgroove", found[words[1].uppercased()] == nil {
                    found[words[1].uppercased()] = (time, shares)
                }
            }
        }
        return found
    }

    func testEveryGenreHasThreeInstalledGroovesAndAHeldOutProgression() throws {
        let library = try mmaGrooves()
        XCTAssertGreaterThan(library.count, 500, "the MMA library looks incomplete")
        XCTAssertGreaterThanOrEqual(MusicCatalog.genres.count, 8)
        for name in ["jazz", "blues", "rock", "latin", "country", "funk", "waltz", "march"] {
            XCTAssertNotNil(MusicCatalog.genre(name), name)
        }
        for g in MusicCatalog.genres {
            XCTAssertGreaterThanOrEqual(g.grooves.count, 3, g.name)
            XCTAssertGreaterThanOrEqual(g.progressions.count, 3, g.name)
            XCTAssertFalse(g.progressions.contains { $0.notation == g.heldOut.notation || $0.name == g.heldOut.name }, g.name)
            for groove in g.grooves {
                let entry = library[groove.name.uppercased()]
                XCTAssertNotNil(entry, "\(g.name): groove \(groove.name) is not in /usr/share/mma/lib")
                XCTAssertEqual(entry?.beats, groove.beatsPerBar, "\(groove.name): beats per bar disagree with its MMA file")
                XCTAssertEqual(entry?.sharesChannels, groove.keepsVoices, "\(groove.name): shared channels must keep the groove's voices")
                XCTAssertTrue(groove.tempo.lowerBound >= 40 && groove.tempo.upperBound <= 240, groove.name)
                // Every bar's chords must share the bar evenly in this groove's metre.
                for p in g.progressions + [g.heldOut] {
                    for bar in p.bars { XCTAssertEqual(groove.beatsPerBar % bar.count, 0, "\(p.name) in \(groove.name)") }
                }
            }
        }
    }

    func testProgressionsSpellInAnyKey() {
        let p = Progression("test", .major, "ii:m7 V:7 | I:maj7 | bVII:7 | #iv:m7b5")
        XCTAssertEqual(p.mmaLine(bar: 0, key: MusicKey(tonic: 10, mode: .major), beats: 4), "Cm7 / F7 /")
        XCTAssertEqual(p.mmaLine(bar: 1, key: MusicKey(tonic: 7, mode: .major), beats: 3), "Gmaj7 / /")
        XCTAssertEqual(p.mmaLine(bar: 2, key: MusicKey(tonic: 0, mode: .major), beats: 2), "Bb7 /")
        XCTAssertEqual(p.mmaLine(bar: 3, key: MusicKey(tonic: 2, mode: .major), beats: 4), "G#m7b5 / / /")
        XCTAssertEqual(MusicKey(tonic: 1, mode: .minor).name, "C# minor")
        XCTAssertEqual(MusicKey(tonic: 3, mode: .major).name, "Eb major")
    }

    func testArtistsHaveAConsistentInstalledIdentity() throws {
        // MMA's General MIDI voice names, from its own table.
        let table = try String(contentsOfFile: "/usr/share/mma/MMA/miditables.py", encoding: .utf8)
        XCTAssertGreaterThanOrEqual(MusicCatalog.artists.count, 8)
        XCTAssertEqual(Set(MusicCatalog.artists.map(\.slug)).count, MusicCatalog.artists.count)
        for a in MusicCatalog.artists {
            XCTAssertTrue((1...3).contains(a.genres.count), a.name)
            for g in a.genres { XCTAssertNotNil(MusicCatalog.genre(g), "\(a.name): unknown genre \(g)") }
            for v in [a.bassVoice, a.chordVoice, a.leadVoice] { XCTAssertTrue(table.contains("'\(v)'"), "\(a.name): \(v) is not an MMA voice") }
            XCTAssertTrue(["slt", "rms", "awb"].contains(a.vocalist), a.name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: a.soundfont.path), "install \(a.soundfont.debianPackage)")
            XCTAssertTrue(a.tempoFeel.lowerBound >= 0 && a.tempoFeel.upperBound <= 1, a.name)
        }
        for g in MusicCatalog.genreNames { XCTAssertFalse(MusicCatalog.artists(playing: g).isEmpty, g) }
    }

    func testPlanIsDeterministicAndHoldsOutProgressions() {
        let a = MusicCorpus.plan(seed: 3, hours: 0.5), b = MusicCorpus.plan(seed: 3, hours: 0.5)
        XCTAssertEqual(a.map(\.id), b.map(\.id))
        XCTAssertEqual(a.map(\.tempo), b.map(\.tempo))
        XCTAssertEqual(a.map(\.key), b.map(\.key))
        XCTAssertNotEqual(a.map(\.id), MusicCorpus.plan(seed: 4, hours: 0.5).map(\.id))
        XCTAssertGreaterThanOrEqual(a.map(\.seconds).reduce(0, +), 1800)
        XCTAssertEqual(Set(a.map(\.genre)).count, 8)
        let val = a.filter { $0.split == "val" }
        XCTAssertTrue((0.03...0.08).contains(Double(val.count) / Double(a.count)), "\(val.count) of \(a.count) held out")
        for c in a {
            let g = MusicCatalog.genre(c.genre)!
            XCTAssertEqual(c.progression.name == g.heldOut.name, c.split == "val", c.id)
            XCTAssertTrue(MusicCorpus.clipSeconds.contains(c.seconds), "\(c.id): \(c.seconds) s")
            XCTAssertTrue(c.artist.genres.contains(c.genre))
        }
        // A longer corpus extends a shorter one with the same clips.
        XCTAssertEqual(MusicCorpus.plan(seed: 3, hours: 0.1).map(\.id), Array(a.map(\.id).prefix(MusicCorpus.plan(seed: 3, hours: 0.1).count)))
    }

    /// `--validation-every 1`: an evaluation set. Every clip is held out (its genre's held-out
    /// progression), genres stay balanced by the seeded blocks of 8, and with an hour of clips every
    /// groove of every genre is played (the reason for the option: the 1-in-20 split of a 3-hour
    /// corpus held out only FastBlues of blues' four grooves). Expected values follow from the plan's
    /// own rules: 8 genres a block, 4–5 grooves a genre drawn uniformly, about 19 s a clip.
    func testAnEvaluationSetHoldsOutEveryClipAndPlaysEveryGroove() {
        let e = MusicCorpus.plan(seed: 2, hours: 1, validationEvery: 1)
        XCTAssertEqual(e.filter { $0.split == "val" }.count, e.count)
        for c in e { XCTAssertEqual(c.progression.name, MusicCatalog.genre(c.genre)!.heldOut.name, c.id) }
        let perGenre = Dictionary(grouping: e, by: \.genre)
        XCTAssertEqual(perGenre.count, 8)
        XCTAssertLessThanOrEqual(perGenre.values.map(\.count).max()! - perGenre.values.map(\.count).min()!, 1)
        for (g, clips) in perGenre {
            XCTAssertEqual(Set(clips.map(\.groove.name)), Set(MusicCatalog.genre(g)!.grooves.map(\.name)), g)
        }
        // Each clip's genre, band and groove are the draws of the 1-in-20 plan of the same seed (drawn
        // before the progression, which a held-out clip does not draw).
        let usual = MusicCorpus.plan(seed: 2, hours: 1)
        for (x, y) in zip(e, usual) {
            XCTAssertEqual(x.genre, y.genre); XCTAssertEqual(x.artist.name, y.artist.name); XCTAssertEqual(x.groove.name, y.groove.name)
        }
    }

    // MARK: - vocals

    /// Median F0 of the voiced 40 ms frames by plain autocorrelation (independent of the YIN the
    /// builder uses): the strongest lag between 60 and 400 Hz, voiced when it keeps half the energy.
    func medianF0(_ x: [Float], sampleRate: Int) -> Double {
        let n = sampleRate / 25, minLag = sampleRate / 400, maxLag = sampleRate / 60
        var f0s: [Double] = []
        for start in stride(from: 0, to: x.count - n - maxLag, by: n) {
            let frame = Array(x[start..<start + n + maxLag])
            let energy = (0..<n).reduce(Float(0)) { $0 + frame[$1] * frame[$1] }
            guard energy > 1e-3 else { continue }
            var best = 0, bestValue: Float = 0
            for lag in minLag...maxLag {
                var s: Float = 0
                for i in 0..<n { s += frame[i] * frame[i + lag] }
                if s > bestValue { bestValue = s; best = lag }
            }
            if bestValue > 0.5 * energy { f0s.append(Double(sampleRate) / Double(best)) }
        }
        return f0s.sorted()[f0s.count / 2]
    }

    /// A spoken line, pitched to E major, has its median F0 (measured again on the output by
    /// autocorrelation) within a semitone of E, G# or B.
    func testPitchedLineLandsOnTheTonicTriad() throws {
        let key = MusicKey(tonic: 4, mode: .major)
        let line = try Vocals.line("I walked the dusty road at midnight", voice: "rms", key: key, sampleRate: 22050)
        let f0 = medianF0(line, sampleRate: 22050)
        let midi = 69 + 12 * log2(f0 / 440)
        let distance = [4, 8, 11].map { pc -> Double in
            let d = (midi - Double(pc)).truncatingRemainder(dividingBy: 12)
            return min(abs(d), 12 - abs(d))
        }.min()!
        XCTAssertLessThan(distance, 1.0, "median F0 \(f0) Hz is \(distance) semitones from the E major triad")
    }

    // MARK: - a real tiny corpus

    func testTinyCorpusRendersWithBarAlignedLyrics() throws {
        // The first seed whose 0.01-hour plan has a sung training clip and a sung held-out clip,
        // so every check below has something to check.
        let seed = (UInt64(1)...200).first { s in
            let p = MusicCorpus.plan(seed: s, hours: 0.01)
            return p.contains { $0.vocals && $0.split == "train" } && p.contains { $0.vocals && $0.split == "val" }
                && p.map(\.seconds).reduce(0, +) < 80
        }!
        let out = dir + "/corpus"
        let info = try MusicCorpus.build(out: out, hours: 0.01, seed: seed, jobs: 2)
        let lines = try MusicCorpus.loadMetadata(out)
        XCTAssertEqual(lines.count, info.clips)
        XCTAssertGreaterThanOrEqual(lines.count, 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/corpus.json"))

        // Every field is on every line (nulls included), as the trainers expect.
        let raw = try String(contentsOfFile: out + "/metadata.jsonl", encoding: .utf8).split(separator: "\n")
        for l in raw {
            let obj = try JSONSerialization.jsonObject(with: Data(l.utf8)) as! [String: Any]
            for k in ["id", "file", "genre", "artist", "groove", "tempo", "key", "time_signature", "length", "offset", "lyrics", "split"] {
                XCTAssertNotNil(obj[k], "metadata lacks \(k)")
            }
        }

        var sung = 0
        for m in lines {
            let audio = try AudioFile.read(out + "/" + m.file)
            XCTAssertEqual(audio.sampleRate, 22050)
            XCTAssertEqual(audio.channels, 1)
            XCTAssertGreaterThan(rms(audio.samples), 0.01, m.id)
            XCTAssertEqual(audio.duration, m.length, accuracy: 0.1, m.id)
            XCTAssertEqual(m.offset, 0)
            XCTAssertTrue(["train", "val"].contains(m.split))

            let genre = MusicCatalog.genre(m.genre)!
            let groove = genre.grooves.first { $0.name == m.groove }!
            XCTAssertEqual(groove.timeSignature, m.timeSignature)
            let bar = groove.barSeconds(tempo: m.tempo!)
            XCTAssertEqual(m.barSeconds!, bar, accuracy: 1e-9)
            XCTAssertEqual((m.progression == genre.heldOut.name), m.split == "val", "\(m.id) progression \(m.progression!)")
            for l in m.lyrics {
                XCTAssertGreaterThanOrEqual(l.start, 0)
                XCTAssertLessThanOrEqual(l.end, m.length, "\(m.id): '\(l.text)' ends after the clip")
                XCTAssertLessThan(l.start, l.end)
                let k = l.start / bar
                XCTAssertEqual(k, k.rounded(), accuracy: 1e-6, "\(m.id): '\(l.text)' starts off the bar grid")
                // The singing really is there: the vocal line lifts the level above the clip's quietest bars.
                let segment = audio.samples[Int(l.start * 22050)..<min(Int(l.end * 22050), audio.frames)]
                XCTAssertGreaterThan(rms(Array(segment)), 0.03, "\(m.id): '\(l.text)' is silent")
                if m.split == "val" {
                    XCTAssertTrue(LyricGenerator.validationNouns.contains { l.text.lowercased().contains($0) }, l.text)
                }
            }
            if !m.lyrics.isEmpty { sung += 1; XCTAssertNotNil(m.vocalist) }
        }
        XCTAssertGreaterThanOrEqual(sung, 2)

        // Resume: a missing clip is rendered again, identically; the rest are kept.
        let victim = out + "/" + lines[0].file
        let before = try Data(contentsOf: URL(fileURLWithPath: victim))
        try FileManager.default.removeItem(atPath: victim)
        _ = try MusicCorpus.build(out: out, hours: 0.01, seed: seed, jobs: 1)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: victim)), before, "a resumed clip must match the original")
        XCTAssertEqual(try MusicCorpus.loadMetadata(out), lines)
        // Another seed, or another held-out share, may not reuse this folder.
        XCTAssertThrowsError(try MusicCorpus.build(out: out, hours: 0.01, seed: seed + 1))
        XCTAssertThrowsError(try MusicCorpus.build(out: out, hours: 0.01, seed: seed, validationEvery: 1)) { error in
            XCTAssertTrue("\(error)".contains("holding out one clip in 20"), "\(error)")
        }
        XCTAssertThrowsError(try MusicCorpus.build(out: out + "-none", hours: 0.01, seed: seed, validationEvery: 0))
        // Scratch folders are gone.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("gen-music-\(getpid())-") }
        XCTAssertEqual(leftovers, [])
    }

    // MARK: - a user's folder

    func fliteWAV(_ path: String, text: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/flite")
        p.arguments = ["-voice", "slt", "-t", text, "-o", path]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "flite failed; install the Debian package flite")
    }

    func testImportsAUserFolderAndRejectsBadLines() throws {
        let src = dir + "/mine"
        try FileManager.default.createDirectory(atPath: src + "/takes", withIntermediateDirectories: true)
        try fliteWAV(src + "/takes/First Take.wav", text: "This is my own song, sung in my kitchen.")
        let original = try AudioFile.read(src + "/takes/First Take.wav")   // flite: 16 kHz mono
        let meta = src + "/meta.jsonl"
        try """
        {"file": "takes/First Take.wav", "artist": "Kitchen Band", "genre": "folk", "lyrics": "this is my own song\\nsung in my kitchen"}

        """.write(toFile: meta, atomically: true, encoding: .utf8)
        let out = dir + "/imported"
        let info = try MusicCorpus.importFolder(from: src, metadata: meta, out: out)
        XCTAssertEqual(info.clips, 1)
        let m = try MusicCorpus.loadMetadata(out)[0]
        XCTAssertEqual(m.id, "first-take")
        XCTAssertEqual(m.artist, "Kitchen Band")
        XCTAssertEqual(m.genre, "folk")
        XCTAssertNil(m.groove)
        XCTAssertFalse(m.lyricsAligned)
        XCTAssertEqual(m.lyrics.map(\.text), ["this is my own song", "sung in my kitchen"])
        XCTAssertEqual(m.lyrics.last!.end, m.length, accuracy: 1e-9)
        let audio = try AudioFile.read(out + "/" + m.file)
        XCTAssertEqual(audio.sampleRate, 22050)
        XCTAssertEqual(audio.channels, 1)
        XCTAssertEqual(audio.frames, Int((Double(original.frames) * 22050 / Double(original.sampleRate)).rounded()))
        XCTAssertEqual(audio.duration, m.length, accuracy: 0.01)
        XCTAssertGreaterThan(rms(audio.samples), 0.01)

        // A malformed second line: an error naming the line, and nothing written.
        let bad = src + "/bad.jsonl"
        try """
        {"file": "takes/First Take.wav", "artist": "Kitchen Band", "genre": "folk"}
        {"file": "takes/First Take.wav", "artist": "Kitchen Band"}
        """.write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MusicCorpus.importFolder(from: src, metadata: bad, out: dir + "/bad")) { e in
            guard let e = e as? MusicCorpusError else { return XCTFail("\(e)") }
            XCTAssertTrue(e.isUsageError)
            XCTAssertTrue(e.description.contains("line 2") && e.description.contains("\"genre\""), e.description)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad"))
        // A missing file is an I/O error that names it.
        try #"{"file": "takes/none.wav", "artist": "A", "genre": "rock"}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try MusicCorpus.importFolder(from: src, metadata: bad, out: dir + "/bad")) { e in
            guard let e = e as? MusicCorpusError else { return XCTFail("\(e)") }
            XCTAssertFalse(e.isUsageError)
            XCTAssertTrue(e.description.contains("takes/none.wav"), e.description)
        }
    }

    // Expected, from the files written here: --audio-dir keeps every readable audio file of at
    // least --min-seconds under the folder (recursively, in path order), skips the short one, the
    // corrupt one and the non-audio one (reporting the first two), names each track's artist after
    // its top folder, labels it "unlabeled", resamples 44.1 kHz stereo to 22050 Hz mono, and holds
    // out every 20th kept track (the 20th of 21: a split by track).
    func testImportsAnUnlabeledAudioFolder() throws {
        let src = dir + "/debs"
        for pkg in ["alpha-music", "beta-music"] { try FileManager.default.createDirectory(atPath: src + "/\(pkg)/tracks", withIntermediateDirectories: true) }
        for i in 0..<21 {
            let pkg = i < 10 ? "alpha-music" : "beta-music"
            let tone = (0..<(2 * 26460)).map { Float(0.2 * sin(Double($0 / 2) * 0.03 * Double(i + 1))) }   // 0.6 s, stereo
            try AudioFile.write(AudioBuffer(samples: tone, sampleRate: 44100, channels: 2), to: src + "/\(pkg)/tracks/t\(String(format: "%02d", i)).wav")
        }
        try AudioFile.write(AudioBuffer(samples: [Float](repeating: 0.1, count: 2205), sampleRate: 22050), to: src + "/alpha-music/blip.wav")
        try Data("not audio".utf8).write(to: URL(fileURLWithPath: src + "/beta-music/broken.ogg"))
        try Data("readme".utf8).write(to: URL(fileURLWithPath: src + "/beta-music/README.txt"))
        var skipped: [String] = []
        let out = dir + "/real"
        let info = try MusicCorpus.importAudioFolder(src, out: out, minSeconds: 0.5, skipped: { f, _ in skipped.append(f) })
        XCTAssertEqual(Set(skipped), ["alpha-music/blip.wav", "beta-music/broken.ogg"])
        XCTAssertEqual(info.clips, 21)
        let lines = try MusicCorpus.loadMetadata(out)
        XCTAssertEqual(lines.filter { $0.split == "val" }.map(\.id), ["t19"])
        XCTAssertEqual(Set(lines.map(\.genre)), ["unlabeled"])
        XCTAssertEqual(lines.first { $0.id == "t03" }?.artist, "alpha-music")
        XCTAssertEqual(lines.first { $0.id == "t15" }?.artist, "beta-music")
        let audio = try AudioFile.read(out + "/" + lines[0].file)
        XCTAssertEqual(audio.sampleRate, 22050); XCTAssertEqual(audio.channels, 1)
        XCTAssertEqual(Double(audio.frames), 0.6 * 22050, accuracy: 2)
        // An import rewrites every clip, so importing again with another held-out share is allowed:
        // with one in 1, every track is held out.
        let again = try MusicCorpus.importAudioFolder(src, out: out, minSeconds: 0.5, validationEvery: 1)
        XCTAssertEqual(again.validation, 21)
        XCTAssertEqual(try MusicCorpus.importAudioFolder(src, out: out, minSeconds: 0.5).validation, 1)
        XCTAssertThrowsError(try MusicCorpus.importAudioFolder(dir + "/missing", out: dir + "/x")) {
            XCTAssertTrue("\($0)".contains("--audio-dir"), "\($0)")
        }
    }
}
