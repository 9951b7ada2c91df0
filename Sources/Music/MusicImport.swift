// MusicImport.swift — `gen dataset music --from DIR --metadata META.jsonl`: a user's own recordings
// in the same layout as the generated corpus, which is how real users train on their music.
//
// Each metadata line is {"file": "...", "artist": "...", "genre": "...", "lyrics": "..."}; "file"
// is relative to DIR (or absolute), "lyrics" is optional and may hold several lines separated by
// "\n". Every line is checked (and every file found) before anything is written. Audio is read in
// any format libsndfile reads, mixed to mono, resampled to 22050 Hz and loudness-normalised like
// the generated clips. Recordings carry no lyric timing, so each lyric line gets a span
// proportional to its length (lyrics_aligned = false), the linear alignment Jukebox starts from.
import Base
import Audio
import Engine
import Foundation

public struct UserClip: Equatable {
    public var file: String
    public var artist: String
    public var genre: String
    public var lyrics: String
    public var line: Int          // 1-based line in the metadata file
}

extension MusicCorpus {
    /// Parses and checks the user's metadata file; the errors name the line and the fix.
    public static func readUserMetadata(_ path: String, audioFolder: String) throws -> [UserClip] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: audioFolder, isDirectory: &isDir), isDir.boolValue else {
            throw MusicCorpusError.io("the audio folder '\(audioFolder)' does not exist. Pass --from with the folder that holds your recordings.")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MusicCorpusError.io("cannot read the metadata file '\(path)'. Pass --metadata with a JSON Lines file, one "
                                      + #"{"file": ..., "artist": ..., "genre": ..., "lyrics": ...} per recording."#)
        }
        let text = String(decoding: data, as: UTF8.self)
        var clips: [UserClip] = []
        let example = #"{"file": "song.wav", "artist": "My Band", "genre": "rock", "lyrics": "first line\nsecond line"}"#
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let here = "\(path) line \(i + 1)"
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw MusicCorpusError.badInput("\(here) is not a JSON object. Write one object per line, e.g. \(example)")
            }
            func field(_ name: String, required: Bool) throws -> String {
                guard let value = object[name] else {
                    if required { throw MusicCorpusError.badInput("\(here) has no \"\(name)\". Every line needs \"file\", \"artist\" and \"genre\", e.g. \(example)") }
                    return ""
                }
                guard let s = value as? String else {
                    throw MusicCorpusError.badInput("\(here): \"\(name)\" must be a string, e.g. \(example)")
                }
                if required && s.trimmingCharacters(in: .whitespaces).isEmpty {
                    throw MusicCorpusError.badInput("\(here): \"\(name)\" is empty. Give it a value, e.g. \(example)")
                }
                return s
            }
            let clip = UserClip(file: try field("file", required: true), artist: try field("artist", required: true).trimmingCharacters(in: .whitespaces),
                                genre: try field("genre", required: true).trimmingCharacters(in: .whitespaces),
                                lyrics: try field("lyrics", required: false), line: i + 1)
            let audio = resolve(clip.file, in: audioFolder)
            guard FileManager.default.fileExists(atPath: audio) else {
                throw MusicCorpusError.io("\(here) names '\(clip.file)', but '\(audio)' does not exist. "
                                          + "Paths are relative to the --from folder; fix the path or add the file.")
            }
            clips.append(clip)
        }
        guard !clips.isEmpty else {
            throw MusicCorpusError.badInput("\(path) has no recordings. Add one line per file, e.g. \(example)")
        }
        return clips
    }

    static func resolve(_ file: String, in folder: String) -> String {
        file.hasPrefix("/") ? file : folder + "/" + file
    }

    /// Imports the user's recordings into `dir`. Every `validationEvery`-th recording (the 20th,
    /// 40th, ...) is held out for validation.
    public static func importFolder(from folder: String, metadata: String, out dir: String, validationEvery: Int = 20,
                                    progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> MusicCorpusInfo {
        let clips = try readUserMetadata(metadata, audioFolder: folder)
        return try importClips(clips, from: folder, source: "\(folder) (\(metadata))", out: dir, validationEvery: validationEvery,
                               where: { "\(metadata) line \($0.line)" }, progress: progress)
    }

    /// Audio file extensions `--audio-dir` imports.
    public static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "au", "w64"]

    /// Imports every audio file under `folder` (recursively, in path order) of at least
    /// `minSeconds`: recordings with no labels, such as the free music Debian packages ship, for
    /// the codec (which needs none). Each file is one track: artist = its top folder under
    /// `folder`, genre "unlabeled". Every `validationEvery`-th kept track is held out, so the
    /// held-out split is by track. Files libsndfile cannot read are skipped and counted.
    public static func importAudioFolder(_ folder: String, out dir: String, minSeconds: Double = 20, maxHours: Double? = nil,
                                         validationEvery: Int = 20, skipped: (String, String) -> Void = { _, _ in },
                                         progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> MusicCorpusInfo {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw MusicCorpusError.io("the audio folder '\(folder)' does not exist. Pass --audio-dir with a folder of recordings.")
        }
        let files = (FileManager.default.subpaths(atPath: folder) ?? [])
            .filter { audioExtensions.contains(PathName.ext($0).lowercased()) }
            .sorted()
        guard !files.isEmpty else {
            throw MusicCorpusError.badInput("'\(folder)' holds no audio files (\(audioExtensions.sorted().joined(separator: ", "))).")
        }
        let clips = files.enumerated().map { i, f in
            UserClip(file: f, artist: f.split(separator: "/").count > 1 ? String(f.split(separator: "/")[0]) : "unknown",
                     genre: "unlabeled", lyrics: "", line: i + 1)
        }
        return try importClips(clips, from: folder, source: folder, out: dir, validationEvery: validationEvery, minSeconds: minSeconds,
                               maxSeconds: maxHours.map { $0 * 3600 }, where: { $0.file }, skipped: skipped, progress: progress)
    }

    /// The import itself: each clip read, mixed to mono, resampled, normalised and written as
    /// DIR/audio/<id>.wav. With `minSeconds`, clips that are shorter or unreadable are skipped
    /// (reported through `skipped`) instead of failing the import; `maxSeconds` stops after that
    /// much audio.
    static func importClips(_ clips: [UserClip], from folder: String, source: String, out dir: String, validationEvery: Int,
                            minSeconds: Double? = nil, maxSeconds: Double? = nil, where describe: (UserClip) -> String,
                            skipped: (String, String) -> Void = { _, _ in },
                            progress: (Int, Int, Double) -> Void) throws -> MusicCorpusInfo {
        guard validationEvery >= 1 else { throw MusicCorpusError.badInput("--validation-every must be at least 1, got \(validationEvery).") }
        try prepare(dir, kind: "imported", seed: nil)
        var lines: [MusicMetadataLine] = []
        var usedIDs = Set<String>()
        var seconds = 0.0
        for (k, clip) in clips.enumerated() {
            if let maxSeconds, seconds >= maxSeconds { break }
            let path = resolve(clip.file, in: folder)
            let audio: [Float]
            do {
                let buffer = try AudioFile.read(path)
                audio = try Resampler.resample(buffer.mono(), to: sampleRate).samples
            } catch {
                if minSeconds != nil { skipped(clip.file, "\(error)"); continue }
                throw MusicCorpusError.io("\(describe(clip)): cannot read '\(path)': \(error)")
            }
            let length = Double(audio.count) / Double(sampleRate)
            if let minSeconds, length < minSeconds { skipped(clip.file, String(format: "%.1f s, shorter than %.0f s", length, minSeconds)); continue }
            let id = uniqueID(for: clip.file, used: &usedIDs)
            let file = "audio/\(id).wav"
            let normalised = normalise(audio)
            do { try AudioFile.write(AudioBuffer(samples: normalised, sampleRate: sampleRate), to: dir + "/" + file) } catch {
                throw MusicCorpusError.io("cannot write '\(dir)/\(file)': \(error). Check that the --out folder is writable.")
            }
            lines.append(MusicMetadataLine(
                id: id, file: file, genre: clip.genre, artist: clip.artist, groove: nil, progression: nil, tempo: nil,
                key: nil, timeSignature: nil, barSeconds: nil, length: length, offset: 0,
                lyrics: estimatedTiming(clip.lyrics, length: length), lyricsAligned: false, vocalist: nil, soundfont: nil,
                source: path, split: lines.count % validationEvery == validationEvery - 1 ? "val" : "train"))
            seconds += length
            progress(k + 1, clips.count, seconds)
        }
        guard !lines.isEmpty else {
            throw MusicCorpusError.badInput("no recording in '\(folder)' could be imported (each must be readable audio"
                                            + (minSeconds.map { String(format: " of at least %.0f s", $0) } ?? "") + ").")
        }
        try writeMetadata(lines, to: dir)
        var info = MusicCorpusInfo(kind: "imported", lines: lines)
        info.source = source
        info.validationEvery = validationEvery
        for g in Set(lines.map(\.genre)) { info.genres[g] = [] }
        try ConfigFile.write(info, to: dir + "/corpus.json")
        return info
    }

    /// The generated clips' loudness (RMS 0.1, peaks below 0.95); silence stays silent.
    static func normalise(_ x: [Float]) -> [Float] {
        let r = rms(x)
        guard r > 0 else { return x }
        let gain = min(targetRMS / r, peakLimit / max(Normalize.peak(x), 1e-9))
        return x.map { $0 * gain }
    }

    /// Lyric lines spread over the clip in proportion to their length in characters.
    static func estimatedTiming(_ lyrics: String, length: Double) -> [LyricLine] {
        let texts = lyrics.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let total = Double(texts.map(\.count).reduce(0, +))
        var start = 0.0, out: [LyricLine] = []
        for t in texts {
            let end = start + length * Double(t.count) / max(total, 1)
            out.append(LyricLine(text: t, start: start, end: min(end, length)))
            start = end
        }
        return out
    }

    /// "Songs/My Song.flac" → "my-song"; repeated names get -2, -3, ...
    static func uniqueID(for file: String, used: inout Set<String>) -> String {
        let stem = PathName.stem(file).lowercased()
        let kept = String(stem.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        var base = kept.split(separator: "-").joined(separator: "-")
        if base.isEmpty { base = "clip" }
        var id = base, n = 2
        while used.contains(id) { id = "\(base)-\(n)"; n += 1 }
        used.insert(id)
        return id
    }
}
