// MusicCorpus.swift — `gen dataset music`: the genre/artist/lyrics corpus the codec and the prior
// train on (issue 4). Clips are MMA grooves rendered by fluidsynth with General MIDI soundfonts,
// with lyric lines spoken on the bar grid by the artist's flite voice in about half of them.
//
// On disk: DIR/audio/<id>.wav (22050 Hz mono, 16-bit, loudness-normalised), DIR/metadata.jsonl
// (one line per clip: genre, artist, groove, tempo, key, time signature, length, offset, lyrics
// with start/end seconds, split), DIR/corpus.json (the recipe and counts).
//
// The plan of every clip (genre, artist, groove, progression, key, tempo, bars, vocals) is drawn
// from RNG.derive(seed, clip index) alone, so a corpus is deterministic from its seed, a larger
// --hours extends a smaller one, and an interrupted build resumes by skipping clips whose audio
// is already there. One clip in `validationEvery` is held out: it plays its genre's held-out
// progression and sings lines from the validation lyric pool, neither of which training sees.
// With `validationEvery` 1 every clip is held out: an evaluation set as large as asked for.
import Audio
import Base
import Engine
import Foundation

// MARK: - plan

/// Everything that decides one clip, before any audio exists.
public struct MusicClipPlan: Sendable {
    public var index: Int
    public var id: String
    public var split: String           // "train" or "val"
    public var genre: String
    public var artist: Artist
    public var groove: Groove
    public var progression: Progression
    public var key: MusicKey
    public var tempo: Double           // beats per minute, a beat being 1/beatsPerBar of a bar
    public var bars: Int
    public var vocals: Bool
    public var mmaSeed: UInt64         // MMA's RndSeed (its humanising randomness)
    public var lyricSeed: UInt64
    public var leadRhythms: [Int]      // indices into BandRenderer.leadRhythms
    public var leadScale: Bool         // Aria over scale tones (true) or chord tones

    public var barSeconds: Double { groove.barSeconds(tempo: tempo) }
    public var seconds: Double { Double(bars) * barSeconds }
    public func frames(sampleRate: Int) -> Int { Int((seconds * Double(sampleRate)).rounded()) }
}

// MARK: - metadata

/// One line of metadata.jsonl. Fields a user's own recordings cannot know are null.
public struct MusicMetadataLine: Codable, Equatable {
    public var id: String
    public var file: String
    public var genre: String
    public var artist: String
    public var groove: String?
    public var progression: String?
    public var tempo: Double?
    public var key: String?
    public var timeSignature: String?
    public var barSeconds: Double?
    public var length: Double
    public var offset: Double
    public var lyrics: [LyricLine]
    /// true when the lyric times are exact (bar-grid vocals); false when estimated from the text.
    public var lyricsAligned: Bool
    public var vocalist: String?
    public var soundfont: String?
    public var source: String?
    public var split: String

    enum CodingKeys: String, CodingKey {
        case id, file, genre, artist, groove, progression, tempo, key, timeSignature = "time_signature"
        case barSeconds = "bar_seconds", length, offset, lyrics, lyricsAligned = "lyrics_aligned"
        case vocalist, soundfont, source, split
    }

    // Optionals are written as null rather than left out, so every line has every field.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id); try c.encode(file, forKey: .file)
        try c.encode(genre, forKey: .genre); try c.encode(artist, forKey: .artist)
        try c.encode(groove, forKey: .groove); try c.encode(progression, forKey: .progression)
        try c.encode(tempo, forKey: .tempo); try c.encode(key, forKey: .key)
        try c.encode(timeSignature, forKey: .timeSignature); try c.encode(barSeconds, forKey: .barSeconds)
        try c.encode(length, forKey: .length); try c.encode(offset, forKey: .offset)
        try c.encode(lyrics, forKey: .lyrics); try c.encode(lyricsAligned, forKey: .lyricsAligned)
        try c.encode(vocalist, forKey: .vocalist); try c.encode(soundfont, forKey: .soundfont)
        try c.encode(source, forKey: .source); try c.encode(split, forKey: .split)
    }
}

/// corpus.json: how the corpus was made and what it holds.
public struct MusicCorpusInfo: Codable {
    public var kind: String              // "generated" or "imported"
    public var seed: UInt64?
    public var hours: Double?
    public var source: String?           // imported: the user's folder and metadata file
    public var sampleRate: Int
    public var genres: [String: [String]]    // genre → grooves (imported: genre → [])
    public var heldOutProgressions: [String: String]
    /// One clip in this many is held out (1: every clip, an evaluation set); nil in corpora
    /// built before the option, which held out one in 20.
    public var validationEvery: Int?
    public var artists: [String]
    public var clips: Int
    public var train: Int
    public var validation: Int
    public var vocalClips: Int
    public var seconds: Double
    public var clipsPerGenre: [String: Int]
    public var clipsPerArtist: [String: Int]

    enum CodingKeys: String, CodingKey {
        case kind, seed, hours, source, sampleRate = "sample_rate", genres, heldOutProgressions = "held_out_progressions"
        case validationEvery = "validation_every"
        case artists, clips, train, validation, vocalClips = "vocal_clips", seconds
        case clipsPerGenre = "clips_per_genre", clipsPerArtist = "clips_per_artist"
    }

    init(kind: String, lines: [MusicMetadataLine]) {
        self.kind = kind
        sampleRate = MusicCorpus.sampleRate
        genres = [:]; heldOutProgressions = [:]
        artists = Array(Set(lines.map(\.artist))).sorted()
        clips = lines.count
        validation = lines.filter { $0.split == "val" }.count
        train = clips - validation
        vocalClips = lines.filter { !$0.lyrics.isEmpty }.count
        seconds = lines.map(\.length).reduce(0, +)
        clipsPerGenre = Dictionary(grouping: lines, by: \.genre).mapValues(\.count)
        clipsPerArtist = Dictionary(grouping: lines, by: \.artist).mapValues(\.count)
    }
}

// MARK: - builder

public enum MusicCorpus {
    public static let sampleRate = 22050
    /// Loudness of every clip: RMS 0.1 (-20 dBFS), peaks kept below 0.95.
    static let targetRMS: Float = 0.1
    static let peakLimit: Float = 0.95
    /// Vocal lines sit 2 dB above the band.
    static let vocalLevel: Float = 1.26
    public static let clipSeconds: ClosedRange<Double> = 8...30

    static func id(_ index: Int, genre: String) -> String { String(format: "%06d-%@", index, genre) }

    /// The plan of clip `index`: a function of the seed and the index only.
    public static func planClip(seed: UInt64, index: Int, validationEvery: Int = 20) -> MusicClipPlan {
        let genres = MusicCatalog.genres
        // Genres go round in seeded blocks (each block a shuffle of all genres), so even a few
        // clips cover several genres and any corpus is balanced to within one block.
        var blockRNG = RNG.derive(seed: seed, index: 1_000_000 + UInt64(index / genres.count))
        var order = Array(genres.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, blockRNG.int(below: i + 1)) }
        let genre = genres[order[index % genres.count]]

        var rng = RNG.derive(seed: seed, index: UInt64(index))
        let isVal = validationEvery == 1 || index % validationEvery == 1
        let players = MusicCatalog.artists(playing: genre.name)
        let artist = players[rng.int(below: players.count)]
        let groove = genre.grooves[rng.int(below: genre.grooves.count)]
        let progression = isVal ? genre.heldOut : genre.progressions[rng.int(below: genre.progressions.count)]
        let key = MusicKey(tonic: rng.int(below: 12), mode: progression.mode)
        let feel = artist.tempoFeel
        let u = feel.lowerBound + (feel.upperBound - feel.lowerBound) * Double(rng.uniform())
        let tempo = (groove.tempo.lowerBound + (groove.tempo.upperBound - groove.tempo.lowerBound) * u).rounded()
        let bar = groove.barSeconds(tempo: tempo)
        let target = clipSeconds.lowerBound + (clipSeconds.upperBound - clipSeconds.lowerBound) * Double(rng.uniform())
        var bars = max(2, Int((target / bar).rounded()))
        while Double(bars) * bar > clipSeconds.upperBound { bars -= 1 }
        while Double(bars) * bar < clipSeconds.lowerBound { bars += 1 }
        let vocals = rng.uniform() < 0.5
        let mmaSeed = rng.next() % 1_000_000_007
        let lyricSeed = rng.next()
        let leadRhythms = [rng.int(below: 4), rng.int(below: 4)]
        let leadScale = rng.uniform() < 0.3
        return MusicClipPlan(index: index, id: id(index, genre: genre.name), split: isVal ? "val" : "train",
                             genre: genre.name, artist: artist, groove: groove, progression: progression, key: key,
                             tempo: tempo, bars: bars, vocals: vocals, mmaSeed: mmaSeed, lyricSeed: lyricSeed,
                             leadRhythms: leadRhythms, leadScale: leadScale)
    }

    /// Clips in order until their lengths add up to `hours` (at least one clip).
    public static func plan(seed: UInt64, hours: Double, validationEvery: Int = 20) -> [MusicClipPlan] {
        var clips: [MusicClipPlan] = []
        var seconds = 0.0
        while clips.isEmpty || seconds < hours * 3600 {
            let c = planClip(seed: seed, index: clips.count, validationEvery: validationEvery)
            clips.append(c)
            seconds += c.seconds
        }
        return clips
    }

    /// Builds (or resumes) the corpus in `dir`. `progress(done, total, seconds of audio so far)`
    /// is called after every clip, from the worker that finished it (under a lock).
    public static func build(out dir: String, hours: Double, seed: UInt64, jobs: Int = 1, validationEvery: Int = 20,
                             progress: @escaping (Int, Int, Double) -> Void = { _, _, _ in }) throws -> MusicCorpusInfo {
        guard hours > 0, hours.isFinite else { throw MusicCorpusError.badInput("--hours must be a positive number of hours, got \(hours).") }
        guard validationEvery >= 1 else { throw MusicCorpusError.badInput("--validation-every must be at least 1, got \(validationEvery).") }
        let clips = plan(seed: seed, hours: hours, validationEvery: validationEvery)
        let renderer = try BandRenderer(soundfonts: Set(clips.map(\.artist.soundfont)))
        try prepare(dir, kind: "generated", seed: seed, validationEvery: validationEvery)

        let scratch = try makeScratchFolder()
        defer { TemporaryFiles.removeFolder(scratch) }

        var lines = [MusicMetadataLine?](repeating: nil, count: clips.count)
        var firstError: Error?
        var done = 0, seconds = 0.0
        let lock = NSLock()
        let workers = max(1, min(jobs, clips.count))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in stride(from: w, to: clips.count, by: workers) {
                lock.lock(); let stop = firstError != nil; lock.unlock()
                if stop { return }
                do {
                    let line = try makeClip(clips[i], dir: dir, renderer: renderer, scratch: scratch)
                    lock.lock()
                    lines[i] = line; done += 1; seconds += line.length
                    progress(done, clips.count, seconds)
                    lock.unlock()
                } catch {
                    lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                    return
                }
            }
        }
        if let firstError { throw firstError }

        let all = lines.compactMap { $0 }
        try writeMetadata(all, to: dir)
        var info = MusicCorpusInfo(kind: "generated", lines: all)
        info.seed = seed
        info.hours = hours
        info.validationEvery = validationEvery
        info.artists = MusicCatalog.artistNames
        for g in MusicCatalog.genres {
            info.genres[g.name] = g.grooves.map(\.name)
            info.heldOutProgressions[g.name] = g.heldOut.name
        }
        try ConfigFile.write(info, to: dir + "/corpus.json")
        return info
    }

    /// Renders one clip (unless its audio is already there) and returns its metadata line.
    static func makeClip(_ c: MusicClipPlan, dir: String, renderer: BandRenderer, scratch: String) throws -> MusicMetadataLine {
        let frames = c.frames(sampleRate: sampleRate)
        let file = "audio/\(c.id).wav"
        let path = dir + "/" + file

        // Vocals first: they are cheap, and the lyric times go in the metadata even when the
        // audio is reused from an interrupted run.
        var vocal: [Float] = []
        var lyrics: [LyricLine] = []
        if c.vocals {
            var generator = LyricGenerator(genre: c.genre, pool: c.split == "val" ? .validation : .train, seed: c.lyricSeed)
            (vocal, lyrics) = try Vocals.track(generator: &generator, voice: c.artist.vocalist, key: c.key,
                                               barSeconds: c.barSeconds, totalBars: c.bars, frames: frames, sampleRate: sampleRate)
        }

        let existing = (try? AudioFile.read(path)).map { $0.frames == frames && $0.sampleRate == sampleRate && $0.channels == 1 } ?? false
        if !existing {
            let band = try renderer.render(c, scratch: scratch, sampleRate: sampleRate, frames: frames)
            let audio = try mix(band: band, vocal: lyrics.isEmpty ? nil : vocal, clip: c.id)
            do {
                try AudioFile.write(AudioBuffer(samples: audio, sampleRate: sampleRate), to: path)
            } catch {
                throw MusicCorpusError.io("cannot write '\(path)': \(error). Check that the folder is writable and the disk is not full.")
            }
        }
        return MusicMetadataLine(
            id: c.id, file: file, genre: c.genre, artist: c.artist.name, groove: c.groove.name,
            progression: c.progression.name, tempo: c.tempo, key: c.key.name, timeSignature: c.groove.timeSignature,
            barSeconds: c.barSeconds, length: Double(frames) / Double(sampleRate), offset: 0, lyrics: lyrics,
            lyricsAligned: true, vocalist: lyrics.isEmpty ? nil : c.artist.vocalist,
            soundfont: c.artist.soundfont.rawValue, source: nil, split: c.split)
    }

    /// Band and vocals at their levels, then the whole clip to the target loudness, with short
    /// fades so the cut at the last bar does not click.
    static func mix(band: [Float], vocal: [Float]?, clip: String) throws -> [Float] {
        let bandRMS = rms(band)
        guard bandRMS > 1e-4 else {
            throw MusicCorpusError.renderFailed(clip: clip, tool: "fluidsynth", log: "the render is silent (RMS \(bandRMS))")
        }
        var out = band.map { $0 * (targetRMS / bandRMS) }
        if let vocal {
            let voiced = vocal.filter { $0 != 0 }
            let gain = vocalLevel * targetRMS / max(rms(voiced), 1e-6)
            for i in out.indices { out[i] += gain * vocal[i] }
        }
        var gain = targetRMS / max(rms(out), 1e-6)
        gain = min(gain, peakLimit / max(Normalize.peak(out), 1e-6))
        let fadeIn = min(out.count, sampleRate / 200), fadeOut = min(out.count, sampleRate / 20)
        for i in out.indices {
            var g = gain
            if i < fadeIn { g *= Float(i) / Float(fadeIn) }
            if i >= out.count - fadeOut { g *= Float(out.count - 1 - i) / Float(fadeOut) }
            out[i] *= g
        }
        return out
    }

    static func rms(_ x: [Float]) -> Float {
        guard !x.isEmpty else { return 0 }
        var s: Double = 0
        for v in x { s += Double(v) * Double(v) }
        return Float((s / Double(x.count)).squareRoot())
    }

    // MARK: - files

    /// Creates DIR/audio and checks that DIR does not hold a different corpus (resuming a build
    /// with another seed or held-out share would mix two corpora under the same clip ids; an
    /// import rewrites every clip, so only its kind is checked).
    static func prepare(_ dir: String, kind: String, seed: UInt64?, validationEvery: Int = 20) throws {
        let infoPath = dir + "/corpus.json"
        if let data = FileManager.default.contents(atPath: infoPath),
           let old = try? JSONDecoder().decode(MusicCorpusInfo.self, from: data),
           old.kind != kind || old.seed != seed || (kind == "generated" && (old.validationEvery ?? 20) != validationEvery) {
            let what = old.kind == "generated"
                ? "a generated corpus with seed \(old.seed.map(String.init) ?? "?") holding out one clip in \(old.validationEvery ?? 20)"
                : "an imported corpus"
            throw MusicCorpusError.badInput("'\(dir)' already holds \(what). Choose another --out folder, "
                                            + "or rerun with the same options to resume it.")
        }
        do {
            try FileManager.default.createDirectory(atPath: dir + "/audio", withIntermediateDirectories: true)
        } catch {
            throw MusicCorpusError.io("cannot create '\(dir)/audio': \(error.localizedDescription). Check the --out path and its permissions.")
        }
        // A first corpus.json names the recipe at once, so an interrupted build is resumed only by
        // the same recipe; the finished build rewrites it with the counts.
        if !FileManager.default.fileExists(atPath: infoPath) {
            var stub = MusicCorpusInfo(kind: kind, lines: [])
            stub.seed = seed
            stub.validationEvery = validationEvery
            do { try ConfigFile.write(stub, to: infoPath) } catch { throw MusicCorpusError.io("\(error)") }
        }
    }

    /// A scratch folder for mma and fluidsynth, removed on return and on an interrupt.
    static func makeScratchFolder() throws -> String {
        do { return try TemporaryFiles.folder(kind: "music") } catch {
            throw MusicCorpusError.io("cannot create a scratch folder in \(NSTemporaryDirectory()): \(error.localizedDescription). Set TMPDIR to a writable folder.")
        }
    }

    static func writeMetadata(_ lines: [MusicMetadataLine], to dir: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var jsonl = Data()
        for l in lines { jsonl.append(try encoder.encode(l)); jsonl.append(0x0A) }
        do { try atomicWrite(jsonl, to: dir + "/metadata.jsonl") } catch {
            throw MusicCorpusError.io("\(error)")
        }
    }

    /// Reads DIR/metadata.jsonl.
    public static func loadMetadata(_ dir: String) throws -> [MusicMetadataLine] {
        let path = dir + "/metadata.jsonl"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw MusicCorpusError.io("no music corpus at '\(dir)' (no metadata.jsonl). Build one with `gen dataset music --out \(dir)`.")
        }
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").enumerated().map { i, line in
            do { return try decoder.decode(MusicMetadataLine.self, from: Data(line.utf8)) } catch {
                throw MusicCorpusError.io("\(path) line \(i + 1) is not a valid clip record (\(error)). Rebuild the corpus.")
            }
        }
    }
}
