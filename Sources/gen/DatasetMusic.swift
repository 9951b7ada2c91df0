// DatasetMusic.swift — `gen dataset music` (thin wrapper over MusicCorpus), `gen genres` and
// `gen artists` (the shipped prior's labels, described from the built-in catalog).
import ArgumentParser
import Base
import Engine
import Foundation
import Music

struct DatasetMusic: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "music",
        abstract: "Build the music corpus for `gen train codec` and `gen train prior`.",
        discussion: """
        Renders MMA grooves with fluidsynth and General MIDI soundfonts: 8 genres (`gen
        genres`) played by 10 virtual bands (`gen artists`) in varied progressions,
        keys, tempos and 8-30 s lengths. About half the clips have vocals: generated
        lyric lines spoken by the band's flite voice, pitched to the key and started on
        bar boundaries. One clip in 20 is held out for validation, with a progression
        and lyric lines that training never uses. --validation-every 1 holds out every
        clip: an evaluation set large enough to play every groove of every genre, for
        `gen-eval music --held-out DIR`. Writes DIR/audio/<id>.wav (22050 Hz mono),
        DIR/metadata.jsonl and DIR/corpus.json. Deterministic from --seed; a rerun
        after an interruption skips the clips already rendered.

        Your own recordings instead: --from FOLDER --metadata META.jsonl, with one line
        per file (paths relative to FOLDER):
          {"file": "a.flac", "artist": "My Band", "genre": "rock", "lyrics": "..."}

        Unlabeled recordings, for the codec only: --audio-dir FOLDER imports every
        audio file under FOLDER (wav, flac, ogg, opus, mp3, ...) of at least
        --min-seconds, genre "unlabeled", artist the file's top folder; one track in
        20 (--validation-every) is held out. `make data/realmusic` builds such a
        corpus from the free music in Debian packages (warzone2100-music,
        hyperrogue-music, nexuiz-music, ufoai-music, singularity-music, asc-music).

        Examples:
          gen dataset music --out data/music --hours 2 --seed 1
          gen dataset music --out data/music-heldout --seed 2 --validation-every 1
          gen dataset music --from songs --metadata songs/meta.jsonl --out data/mine
          gen dataset music --audio-dir data/debs/music --out data/realmusic
        """)

    @Option(name: .long, help: "Output folder.") var out: String
    @Option(name: .long, help: "Hours of audio to render (default 1), or with --audio-dir the most to import (default all).") var hours: Double?
    @Option(name: .long, parsing: .unconditional, help: "Random seed: the same seed gives the same corpus.") var seed: UInt64 = 1
    @Option(name: .long, parsing: .unconditional, help: "Clips rendered at once (each runs mma and fluidsynth).") var jobs = 2
    @Option(name: .long, help: ArgumentHelp("Hold out one clip in N for validation (1: every clip, an evaluation set).", valueName: "N"))
    var validationEvery = 20
    @Option(name: .long, help: ArgumentHelp("Import your own recordings from this folder instead of rendering.", valueName: "dir"))
    var from: String?
    @Option(name: .long, help: ArgumentHelp("With --from: JSON Lines with file, artist, genre and lyrics per recording.", valueName: "file"))
    var metadata: String?
    @Option(name: .long, help: ArgumentHelp("Import every audio file under this folder, unlabeled, for the codec (see above).", valueName: "dir"))
    var audioDir: String?
    @Option(name: .long, help: "With --audio-dir: skip files shorter than this many seconds (sound effects).")
    var minSeconds: Double = 20
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        // At most 1,000 hours: the clips are planned before any is rendered, and a plan of 10^9 hours
        // would not fit in memory (1,000 hours of MMA grooves take weeks of two cores to render).
        if let hours, !(hours > 0 && hours <= 1000) { throw ValidationError("--hours must be a number of hours in (0, 1000], got \(hours).") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs).") }
        if !(1...1000).contains(validationEvery) {
            throw ValidationError("--validation-every must be between 1 (every clip held out) and 1000, got \(validationEvery).")
        }
        if (from == nil) != (metadata == nil) {
            throw ValidationError("--from and --metadata go together: --from names the folder of recordings, --metadata their JSONL file.")
        }
        if audioDir != nil && from != nil { throw ValidationError("--audio-dir and --from are two ways to import: give one of them.") }
        if !(minSeconds >= 0 && minSeconds <= 3600) { throw ValidationError("--min-seconds must be between 0 and 3600, got \(minSeconds).") }
    }

    func run() throws {
        let quiet = globals.quiet
        let line = ProgressLine(enabled: !quiet)
        let progress: (Int, Int, Double) -> Void = { done, total, seconds in
            line.update(done: done, total: total, String(format: "%5d/%d clips, %.1f min of audio", done, total, seconds / 60))
        }
        do {
            let info: MusicCorpusInfo
            if let audioDir {
                var skips = 0
                info = try MusicCorpus.importAudioFolder(audioDir, out: out, minSeconds: minSeconds,
                                                         maxHours: hours, validationEvery: validationEvery,
                                                         skipped: { _, _ in skips += 1 }, progress: progress)
                if skips > 0 && !quiet { line.end(); print("skipped \(skips) files (unreadable, or shorter than \(minSeconds) s)") }
            } else if let from, let metadata {
                info = try MusicCorpus.importFolder(from: from, metadata: metadata, out: out, validationEvery: validationEvery,
                                                    progress: progress)
            } else {
                info = try MusicCorpus.build(out: out, hours: hours ?? 1, seed: seed, jobs: jobs,
                                             validationEvery: validationEvery, progress: progress)
            }
            line.end()
            print(String(format: "%@: %d clips (%d held out, %d with vocals), %.2f hours, in %.0f s", out, info.clips,
                         info.validation, info.vocalClips, info.seconds / 3600, line.elapsed))
        } catch let e as MusicCorpusError {
            line.end()
            throw e.isUsageError ? GenError.usage(e.description) : GenError.io(e.description)
        }
    }
}

/// Ends the "\r"-rewritten progress line (if one was started) before anything else is printed.
/// The shipped prior's config, when there is one: its labels are what `gen music` accepts.
func shippedPriorConfig(_ globals: GlobalOptions) -> PriorConfig? {
    guard let dir = ModelsDirectory.resolve(globals.modelsDir) else { return nil }
    return try? ConfigFile.read(PriorConfig.self, from: dir + "/prior/config.json")
}

struct Genres: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "genres",
        abstract: "List the genres `gen music --genre` accepts.",
        discussion: "Labels of the prior in the models folder; without one, the corpus genres.")
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let names = shippedPriorConfig(globals)?.genres ?? MusicCatalog.genreNames
        let width = names.map(\.count).max() ?? 0
        for name in names {
            let about = MusicCatalog.genre(name).map { "\($0.summary) (grooves: \($0.grooves.map(\.name).joined(separator: ", ")))" }
            print("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(about ?? "(from the prior's training corpus)")")
        }
    }
}

struct Artists: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "artists",
        abstract: "List the artists `gen music --artist` accepts.",
        discussion: "Labels of the prior in the models folder; without one, the built-in bands.")
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let names = shippedPriorConfig(globals)?.artists ?? MusicCatalog.artistNames
        let width = names.map(\.count).max() ?? 0
        for name in names {
            let about = MusicCatalog.artists.first { $0.name == name }?.summary
            print("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(about ?? "(from the prior's training corpus)")")
        }
    }
}
