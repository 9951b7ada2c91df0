// MusicRender.swift — one piece of music from loaded models, shared by `gen music` and `gen batch`:
// label names checked against the prior (a usage error listing the valid ones) and the prior
// sampled. Nothing here loads models, so a batch loads them once and renders many pieces.
import Foundation
import Requests
import Music

/// Genre, artist and lyrics as the prior's label ids; an unknown name is a usage error that lists
/// the names this prior knows.
public func musicLabels(_ config: PriorConfig, genre: String?, artist: String?, lyrics: String?, seconds: Double,
                        bpm: Double? = nil, timeSignature: String? = nil, chords: String? = nil,
                        onsetDensity: Double? = nil) throws -> PriorLabels {
    func label(_ name: String?, _ names: [String], _ kind: String, _ command: String) throws -> Int? {
        guard let name else { return nil }
        guard let match = LabelName.match(name, in: names), let id = names.firstIndex(of: match) else {
            throw RequestError.usage(LabelName.unknown(kind, name, valid: names, command: command,
                                                       alternative: kind == "artist" ? MusicRequest.anyArtistHint : nil))
        }
        return id
    }
    // "any" keeps the artist unconditioned; left out, a genre's piece is played by one of its bands.
    let anyArtist = MusicRequest.isAnyArtist(artist)
    var labels = PriorLabels(artist: anyArtist ? nil : try label(artist, config.artists, "artist", "artists"),
                             genre: try label(genre, config.genres, "genre", "genres"), drawsBand: !anyArtist)
    if let lyrics { labels.lyrics = LyricsVocabulary.timedLines(lyrics, seconds: seconds) }
    labels.grid = try barGrid(bpm: bpm, timeSignature: timeSignature, genre: labels.genre.map { config.genres[$0] })
    labels.density = onsetDensity
    if let chords {
        do { labels.chords = try ChordTrack(parsing: chords) } catch let e as PriorError { throw RequestError.usage(e.message) }
    }
    return labels
}

/// The bar grid a tempo and time signature ask for; nil when neither is given (the sampler then
/// draws one as the corpus plays the genre). With only a time signature the tempo is 120; with
/// only a tempo the bar has the beats of the genre's first groove in the catalogue (3 for a waltz), or 4.
public func barGrid(bpm: Double?, timeSignature: String?, genre: String? = nil) throws -> BarGrid? {
    guard bpm != nil || timeSignature != nil else { return nil }
    if let problem = MusicRequest.gridProblems(bpm: bpm, timeSignature: timeSignature).first { throw RequestError.usage(problem + ".") }
    let beats = timeSignature.flatMap(BarGrid.beats(timeSignature:))
        ?? genre.flatMap { MusicCatalog.genre($0)?.grooves.first?.beatsPerBar } ?? 4
    let tempo = bpm ?? 120
    return BarGrid(bpm: tempo, beatsPerBar: beats)
}

/// Samples `count` pieces of `frames` frames, codes (K, frames) each; a bad sampling setting is a usage error.
public func sampleMusic(_ prior: Prior, labels: PriorLabels, count: Int, frames: Int, temperature: Float?, topK: Int, topP: Float,
                 seed: UInt64, prime: [[Int32]] = [], cfg: Float = SamplingDefaults.cfg, instrumentalCFG: Float? = nil,
                 cfgPlausibility: Float? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> [[[Int32]]] {
    do {
        return try prior.sample(labels, count: count, frames: frames, temperature: temperature, topK: topK, topP: topP,
                                seed: seed, prime: prime, cfg: cfg, instrumentalCFG: instrumentalCFG, plausibility: cfgPlausibility,
                                progress: progress)
    } catch let e as PriorError { throw RequestError.usage(e.message) }
}

/// One piece, `seconds` long, as samples at the codec's rate: sampled, then decoded in memory.
public func renderMusic(_ models: MusicModels, labels: PriorLabels, seconds: Double,
                 temperature: Float?, topK: Int, topP: Float, cfg: Float, instrumentalCFG: Float? = nil,
                 cfgPlausibility: Float? = nil, seed: UInt64) throws -> [Float] {
    let codec = models.codec
    let length = Int((seconds * Double(codec.sampleRate)).rounded())
    let codes = try sampleMusic(models.prior, labels: labels, count: 1, frames: codec.frameCount(length: length),
                                temperature: temperature, topK: topK, topP: topP, seed: seed, cfg: cfg, instrumentalCFG: instrumentalCFG,
                                cfgPlausibility: cfgPlausibility)
    return codec.decode(priorRows: codes[0], config: models.prior.config, length: max(length, 1))
}
