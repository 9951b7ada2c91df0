// MusicRender.swift — one piece of music from loaded models, shared by `gen music` and `gen batch`:
// label names checked against the prior (exit 2 listing the valid ones), lyric files checked, and
// the prior sampled. The prior, codec and level come from `loadPrior`; nothing here loads models,
// so a batch loads them once and renders many pieces.
import Audio
import Foundation
import Requests
import Music

/// Genre, artist and lyrics as the prior's label ids; an unknown name is a usage error that lists
/// the names this prior knows.
func musicLabels(_ config: PriorConfig, genre: String?, artist: String?, lyrics: String?, seconds: Double) throws -> PriorLabels {
    func label(_ name: String?, _ names: [String], _ kind: String, _ command: String) throws -> Int? {
        guard let name else { return nil }
        guard let id = names.firstIndex(of: name) else {
            throw GenError.usage("unknown \(kind) '\(name)'. This prior knows: \(names.joined(separator: ", ")) (see `gen \(command)`).")
        }
        return id
    }
    var labels = PriorLabels(artist: try label(artist, config.artists, "artist", "artists"),
                             genre: try label(genre, config.genres, "genre", "genres"))
    if let lyrics { labels.lyrics = LyricsVocabulary.timedLines(lyrics, seconds: seconds) }
    return labels
}

/// A lyrics file's text, checked: readable (exit 3), a regular file, UTF-8, not empty and under
/// 100 KB (exit 2). The file is stat'ed before it is opened, so a FIFO, a device such as /dev/zero
/// or a folder is refused instead of blocking or being read without end, and at most 100 KB is read.
/// `option` names where the path came from (`--lyrics`, `"lyrics_file"`).
func readLyricsFile(_ path: String, option: String) throws -> String {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw GenError.io("cannot read the lyrics file '\(path)': \(String(cString: strerror(errno))). Check the path.")
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw GenError.usage("the lyrics file '\(path)' is a folder; give a text file with one lyric line per line.")
    default:
        throw GenError.usage("the lyrics file '\(path)' is not a regular file (a pipe, socket or device); "
                             + "give a text file with one lyric line per line.")
    }
    if Int(info.st_size) >= MusicRequest.maxLyricsBytes {
        throw GenError.usage("the lyrics file '\(path)' is \(info.st_size) bytes; lyrics must be under 100 KB (\(MusicRequest.maxLyricsBytes) bytes).")
    }
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw GenError.io("cannot read the lyrics file '\(path)'. Check its permissions.")
    }
    defer { try? handle.close() }
    // Read no more than the limit: a file that grew since the stat is still caught.
    let data: Data
    do { data = try handle.read(upToCount: MusicRequest.maxLyricsBytes) ?? Data() } catch {
        throw GenError.io("cannot read the lyrics file '\(path)': \(error)")
    }
    if data.count >= MusicRequest.maxLyricsBytes {
        throw GenError.usage("the lyrics file '\(path)' is at least \(data.count) bytes; lyrics must be under 100 KB (\(MusicRequest.maxLyricsBytes) bytes).")
    }
    guard let text = String(data: data, encoding: .utf8) else {
        throw GenError.usage("the lyrics file '\(path)' is not UTF-8 text. Convert it, e.g. `iconv -t UTF-8 \(path)`.")
    }
    if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
        throw GenError.usage("the lyrics file '\(path)' is empty; leave out \(option) for music without lyrics.")
    }
    return text
}

/// Samples `count` code sequences of `length` codes; a bad sampling setting is a usage error.
func sampleMusic(_ prior: Prior, labels: PriorLabels, count: Int, length: Int, temperature: Float, topK: Int, topP: Float,
                 seed: UInt64, prime: [Int32] = [], genreGuidance: Float = SamplingDefaults.genreGuidance,
                 progress: ((Int, Int) -> Void)? = nil) throws -> [[Int32]] {
    do {
        return try prior.sample(labels, count: count, length: length, temperature: temperature, topK: topK, topP: topP,
                                seed: seed, prime: prime, genreGuidance: genreGuidance, progress: progress)
    } catch let e as PriorError { throw GenError.usage(e.message) }
}

/// One piece, `seconds` long, as samples at the codec's rate: sampled, then decoded in memory.
func renderMusic(prior: Prior, codec: VQVAE, level: Int, labels: PriorLabels, seconds: Double,
                 temperature: Float, topK: Int, topP: Float, seed: UInt64) throws -> [Float] {
    let length = Int((seconds * Double(codec.sampleRate)).rounded())
    let codes = try sampleMusic(prior, labels: labels, count: 1, length: codec.codeCount(length: length, level: level),
                                temperature: temperature, topK: topK, topP: topP, seed: seed)
    return codec.decode(codes[0], level: level, length: max(length, 1))
}
