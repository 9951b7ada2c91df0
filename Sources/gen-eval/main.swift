// gen-eval — `make eval-music`: judges the music prior with probes trained on the corpus.
//
// 1. Cuts the corpus clips into 10-second windows; fits a genre probe and a vocal-presence probe
//    (Music.LogisticProbe on log-mel and rhythm features) on the original training windows only
//    (never on codec or prior output, which a probe would learn to read), and reports their
//    accuracy on the held-out clips, as they are and after a round trip through the codebooks the
//    prior models. The held-out windows are saved too, for music_tonality.py to compare against.
// 2. Samples 8 genres × N seeds of 10 s from the shipped prior (genre, played by one of its bands unless --no-band; no lyrics),
//    decodes them, and reports how often the genre probe names the requested genre.
// 3. Samples the same number of clips with held-out lyric lines, and reports how often the vocal
//    probe hears vocals in them and in the genre-only clips of step 2 (no lyrics).
// Generated audio is written under --out for listening, with results.json.
import ArgumentParser
import Audio
import DSP
import Engine
import Foundation
import Music
import Requests

struct Options {
    var data = "data/music", models = "models", out = "out/eval-music"
    var seeds = 5, seconds = 10.0, temperature: Float? = nil, topK = MusicRequest.defaultTopK
    var reuse = false, cfg: Float = SamplingDefaults.cfg, gridCFG: Float? = nil, temperatureFine: Float? = nil, topKFine: Int? = nil, genreOnly = false, seamSeconds = 30.0
    var instrumentalCFG: Float? = nil
    var drawsBand = true, seedOffset: UInt64 = 0, bandCFG: Float? = nil, plausibility: Float? = nil, plausibleCodebooks: ClosedRange<Int>? = nil
    var repeatPenalty: Float? = nil
    var heldOut: String? = nil
    /// The genres sampled (nil: every genre of the corpus); each keeps the seeds it has in a full run.
    var onlyGenres: Set<String>? = nil
    /// Main-codebook counts at which to measure the vocal probe's floor (then stop without sampling).
    var floorCodebooks: [Int] = []
    /// Bass-stream codebooks beside each of those counts' main ones.
    var floorBassCodebooks = 0
    var densityCFG: Float? = nil
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("gen-eval: " + message + "\n").data(using: .utf8)!)
    exit(2)
}

/// `gen-eval music`, on ArgumentParser like `gen`.
struct GenEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen-eval", abstract: "Yardsticks for gen's models that need the models themselves.",
        subcommands: [MusicEval.self, CodecEval.self, CodecCeiling.self, TaggerEvalCommand.self, PriorResample.self], defaultSubcommand: MusicEval.self)
}

/// `gen-eval codec`: does the genre survive the codec? A genre probe trained on the original
/// training windows only (never on codec output, which it would learn to read) classifies the
/// held-out windows as they are and after a round trip through each rung of the codec's ladder.
struct CodecEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Genre probe (trained on original clips only) on held-out clips and on their codec round trips.",
        discussion: "Example: gen-eval codec --data data/music --models models --codebooks 1 2 4 8")
    @Option(help: "Music corpus folder (labelled genres).") var data = "data/music"
    @Option(help: "Models folder (its codec/ is evaluated).") var models = "models"
    @Option(parsing: .upToNextOption, help: "Rungs of the ladder to test (codebook counts).") var codebooks: [Int] = [1, 2, 4, 8]
    @Option(help: "Seconds per probe window (at least 2).") var seconds = 10.0

    func run() throws {
        Runtime.configure()
        let fb = MelFilterbank()
        func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
        let codec: RVQCodec
        do { codec = try RVQCodec.load(directory: models + "/codec") } catch { fail("cannot load the codec from \(models)/codec: \(error)") }
        let train: [ProbeWindow], val: [ProbeWindow]
        do {
            train = try ProbeData.windows(corpus: data, split: "train", seconds: seconds, hop: seconds / 2)
            val = try ProbeData.windows(corpus: data, split: "val", seconds: seconds, hop: seconds)
        } catch { fail("cannot read the corpus at \(data): \(error)") }
        let genres = Array(Set(train.map(\.genre))).sorted()
        let known = val.filter { genres.contains($0.genre) }
        guard !train.isEmpty, !known.isEmpty else { fail("the corpus at \(data) needs training and held-out clips of the same genres") }
        let probe = LogisticProbe.fit(train.map { ProbeFeatures.of($0.samples, filterbank: fb) },
                                      labels: train.map { genres.firstIndex(of: $0.genre)! }, classes: genres)
        let labels = known.map { genres.firstIndex(of: $0.genre)! }
        let original = probe.accuracy(known.map { ProbeFeatures.of($0.samples, filterbank: fb) }, labels: labels)
        print("genre probe: trained on \(train.count) original training windows of \(seconds) s (no codec output), \(known.count) held-out windows")
        print("  originals: \(pct(original))   (chance \(pct(1 / Double(genres.count))))")
        // Each rung of the ladder, as `gen codec --codebooks K` decodes it (the bass stream's rows included).
        for k in codebooks {
            guard let rung = codec.config.rungs().first(where: { $0.total == k }) else { continue }
            let x = known.map { w in ProbeFeatures.of(codec.roundTrip(w.samples, rung: rung), filterbank: fb) }
            let a = probe.accuracy(x, labels: labels)
            print(String(format: "  %d codebooks%@ (%.2f kbps): %@ = %.0f%% of the originals' accuracy", k, rung.bass > 0 ? " (\(rung))" : "",
                         codec.config.bitrate(rung) / 1000, pct(a), 100 * a / max(original, 1e-9)))
        }
    }
}

struct MusicEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "music",
        abstract: "Genre and vocal probes on the corpus, then the prior's genre control and lyric-driven vocals.",
        discussion: """
        Fits genre and vocal probes on the corpus in --data (from `gen dataset
        music`), reports their held-out accuracy, then samples the prior in --models
        and reports genre control (8 genres × --seeds clips) and vocal presence with
        and without lyrics. The probes learn from the original training windows only.
        --held-out DIR takes the held-out clips (the probes' test set and the real
        reference for music_tonality.py) from another corpus, such as one built with
        `gen dataset music --validation-every 1`, so that every genre is judged
        against all of its grooves rather than the few clips the training corpus
        holds out.
        --reuse classifies the clips an earlier run saved in --out instead of
        sampling them again.
        """)
    @Option(help: "Music corpus folder.") var data = "data/music"
    @Option(help: "A corpus whose held-out clips replace --data's as the test set and the real reference (default: --data's).") var heldOut: String?
    @Option(help: "Models folder (prior and codec).") var models = "models"
    @Option(help: "Output folder for the clips and results.json.") var out = "out/eval-music"
    @Option(help: "Clips per genre.") var seeds = 5
    @Option(help: "Seconds per clip and probe window (at least 2).") var seconds = 10.0
    @Option(help: "Sampling temperature (default: the prior config's temperature, else 1).") var temperature: Float?
    @Option(help: "Top-k.") var topK = MusicRequest.defaultTopK
    @Option(help: "Classifier-free guidance (1 = off).") var cfg: Float = SamplingDefaults.cfg
    @Option(help: "Guidance on the bar grid apart from the labels' --cfg (a prior with grid_guidance; default: its config's grid_cfg, else --cfg).") var gridCfg: Float?
    @Option(help: "Temperature of codebooks 2…K only (the first keeps --temperature); default: --temperature.") var temperatureFine: Float?
    @Option(help: "Top-k of codebooks 2…K only (the first keeps --top-k); default: --top-k.") var topKFine: Int?
    @Option(help: "Guidance toward instrumental music for the clips without lyrics (1 = off; default: the prior config's instrumental_cfg).") var instrumentalCfg: Float?
    @Flag(help: "Classify the clips an earlier run saved instead of sampling again.") var reuse = false
    @Flag(help: "Skip the lyrics check.") var genreOnly = false
    @Option(help: "Seconds of the long piece per genre for the seam check (0 = skip).") var seamSeconds = 30.0
    @Option(help: "Added to every sampling seed: another draw of the same clips (default 0).") var seedOffset: UInt64 = 0
    @Option(help: "Guidance on a drawn band apart from the genre (1 = conditioned, not amplified; default: the prior config's band_cfg, else guided with the labels).") var bandCfg: Float?
    @Option(help: "The plausibility constraint on guided sampling: only codes the conditioned row gives at least this fraction of its likeliest code's probability (0 = off; default: the prior config's cfg_plausibility).") var cfgPlausibility: Float?
    @Option(help: "With --cfg-plausibility: the codebooks it applies to, FIRST-LAST counted from 1 (default: all).") var plausibleCodebooks: String?
    @Option(help: "Divide the probability of the code each codebook drew the frame before by this factor (1 = off; default: off).") var repeatPenalty: Float?
    @Option(help: "For a prior with the onset density: guidance on the density apart from the labels, d·(with − without) on top (0 = off; default: off).") var densityCfg: Float?
    @Flag(help: "Keep the artist unconditioned (`gen music --artist any`) instead of drawing one of the genre's bands per clip (a prior with genre_artists).") var noBand = false
    @Option(parsing: .upToNextOption, help: "Sample these genres only (each with the seeds it has in a full run; the probes still learn every genre). Default: all.") var genres: [String] = []
    @Option(parsing: .upToNextOption, help: "Measure the vocal probe's floor (held-out windows without singing heard as sung) through the codec's first N main codebooks for each N given, as a prior over N codebooks would be decoded (0: the encoder's latents unquantized, no bass decoder), then stop without sampling.") var floorCodebooks: [Int] = []
    @Option(help: "With --floor-codebooks: add the bass stream's first B codebooks to each round trip (its band below 345 Hz replacing the decoded one), as a prior over them would be decoded.") var floorBassCodebooks = 0

    func validate() throws {
        if seeds < 1 { throw ValidationError("--seeds must be at least 1.") }
        if !(seconds >= 2 && seconds <= 60) { throw ValidationError("--seconds must be between 2 and 60.") }
        if !((temperature ?? 0) >= 0) || topK < 0 { throw ValidationError("--temperature and --top-k must be ≥ 0.") }
        if !SamplingDefaults.cfgRange.contains(cfg) { throw ValidationError("--cfg must be between 1 and 10.") }
        if let g = gridCfg, !SamplingDefaults.cfgRange.contains(g) { throw ValidationError("--grid-cfg must be between 1 and 10.") }
        if let t = temperatureFine, !(t >= 0) { throw ValidationError("--temperature-fine must be ≥ 0.") }
        if let k = topKFine, k < 0 { throw ValidationError("--top-k-fine must be ≥ 0.") }
        if let r = repeatPenalty, !SamplingDefaults.repeatPenaltyRange.contains(r) { throw ValidationError("--repeat-penalty must be between 1 (off) and 10.") }
        if floorCodebooks.contains(where: { !(0...64).contains($0) }) { throw ValidationError("--floor-codebooks takes main-codebook counts from 0 (unquantized) to the codec's codebooks, e.g. 0 4 8.") }
        if !(0...8).contains(floorBassCodebooks) || (floorBassCodebooks > 0 && (floorCodebooks.isEmpty || floorCodebooks.contains(0))) {
            throw ValidationError("--floor-bass-codebooks takes 0 to 8 bass-stream codebooks, beside --floor-codebooks counts of 1 or more.")
        }
    }

    func run() throws {
        evaluateMusic(Options(data: data, models: models, out: out, seeds: seeds, seconds: seconds, temperature: temperature,
                              topK: topK, reuse: reuse, cfg: cfg, gridCFG: gridCfg, temperatureFine: temperatureFine, topKFine: topKFine, genreOnly: genreOnly, seamSeconds: seamSeconds,
                              instrumentalCFG: instrumentalCfg, drawsBand: !noBand, seedOffset: seedOffset, bandCFG: bandCfg,
                              plausibility: cfgPlausibility, plausibleCodebooks: plausibleCodebooks.map { s in
                                  let b = s.split(separator: "-").compactMap { Int($0) }
                                  guard b.count == 2, b[0] >= 1, b[1] >= b[0] else { fail("--plausible-codebooks takes FIRST-LAST, e.g. 2-4") }
                                  return (b[0] - 1)...(b[1] - 1)
                              }, repeatPenalty: repeatPenalty, heldOut: heldOut, onlyGenres: genres.isEmpty ? nil : Set(genres),
                              floorCodebooks: floorCodebooks, floorBassCodebooks: floorBassCodebooks, densityCFG: densityCfg))
    }
}

func evaluateMusic(_ o: Options) {
    Runtime.configure()
    let fb = MelFilterbank()
    let started = Date()
    func log(_ s: String) { print(s); fflush(stdout) }
    func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }

    guard FileManager.default.fileExists(atPath: o.data + "/metadata.jsonl") else {
        fail("no corpus at \(o.data); build one with `gen dataset music --out \(o.data) --hours 3`")
    }
    let heldOut = o.heldOut ?? o.data
    guard FileManager.default.fileExists(atPath: heldOut + "/metadata.jsonl") else {
        fail("no corpus at \(heldOut) for --held-out; build one with `gen dataset music --out \(heldOut) --hours 1 --seed 2 --validation-every 1`")
    }
    let train: [ProbeWindow], val: [ProbeWindow]
    do {
        train = try ProbeData.windows(corpus: o.data, split: "train", seconds: o.seconds, hop: o.seconds / 2)
        val = try ProbeData.windows(corpus: heldOut, split: "val", seconds: o.seconds, hop: o.seconds)
    } catch { fail("cannot read the corpus: \(error)") }
    guard !train.isEmpty else { fail("the corpus at \(o.data) has no training clips (split train)") }
    guard !val.isEmpty else { fail("the corpus at \(heldOut) has no held-out clips (split val) of at least \(o.seconds) s") }
    // The corpus's genres: the catalog's order first, then any others (a user's corpus) sorted.
    let corpusGenres = Set(train.map(\.genre))
    let genres = MusicCatalog.genreNames.filter(corpusGenres.contains) + corpusGenres.subtracting(MusicCatalog.genreNames).sorted()
    let models: MusicModels
    do { models = try MusicModels.load(priorDir: o.models + "/prior", codecDir: o.models + "/codec") }
    catch { fail("cannot load the prior and codec from \(o.models): \(error)") }
    let codec = models.codec, prior = models.prior, k = prior.config.codebooks
    let length = Int(o.seconds * Double(codec.sampleRate))
    if let only = o.onlyGenres, !only.isSubset(of: genres) {
        fail("--genres names \(only.subtracting(genres).sorted().joined(separator: ", ")), not a genre of the corpus at \(o.data) (it has \(genres.joined(separator: ", ")))")
    }
    /// Whether a genre's clips are sampled: the prior knows it and --genres, if given, names it.
    func sampled(_ name: String) -> Bool { prior.config.genreID(name) != nil && (o.onlyGenres?.contains(name) ?? true) }

    if let n = o.floorCodebooks.first(where: { $0 > codec.config.codebooks }) {
        fail("--floor-codebooks \(n): the codec at \(o.models)/codec has \(codec.config.codebooks) main codebooks")
    }
    if o.floorBassCodebooks > (codec.bassStream?.layout.codebooks ?? 0) {
        fail("--floor-bass-codebooks \(o.floorBassCodebooks): the codec at \(o.models)/codec has \(codec.bassStream?.layout.codebooks ?? 0) bass-stream codebooks")
    }
    /// A window after the round trip through the codes the prior models (its rung), or through the
    /// first `n` main codebooks and `o.floorBassCodebooks` of the bass stream (0: the encoder's latents
    /// unquantized, straight into the decoder).
    func throughCodec(_ w: ProbeWindow, codebooks n: Int? = nil) -> ProbeWindow {
        var out = w
        out.samples = n == 0 ? codec.decodeUnquantized(w.samples)
            : codec.roundTrip(w.samples, rung: n.map { CodecRung(main: $0, bass: o.floorBassCodebooks) } ?? prior.config.rows.rung)
        return out
    }
    func features(_ windows: [ProbeWindow]) -> [[Float]] { windows.map { ProbeFeatures.of($0.samples, filterbank: fb) } }
    let trainX = features(train)
    let valX = features(val)
    let probeTrain = train
    // Held-out windows of a genre training never saw cannot be judged; they are left out.
    let valKnown = val.indices.filter { genres.contains(val[$0].genre) }
    let genreOf = { (w: ProbeWindow) -> Int in genres.firstIndex(of: w.genre)! }

    // Vocal labels: at least 3 s of sung lines in the window, or none at all; windows in between are left out.
    func vocalSet(_ w: [ProbeWindow], _ x: [[Float]]) -> ([[Float]], [Int]) {
        let keep = w.indices.filter { w[$0].vocalSeconds >= 3 || w[$0].vocalSeconds == 0 }
        return (keep.map { x[$0] }, keep.map { w[$0].vocalSeconds > 0 ? 1 : 0 })
    }

    let genreProbe = LogisticProbe.fit(trainX, labels: probeTrain.map(genreOf), classes: genres)
    let (vtx, vty) = vocalSet(probeTrain, trainX), (vvx, vvy) = vocalSet(val, valX)
    guard Set(vty).count == 2, !vvy.isEmpty else {
        fail("the vocal probe needs training windows with and without lyrics, and held-out windows; this corpus has \(vty.filter { $0 == 1 }.count) sung and \(vty.filter { $0 == 0 }.count) instrumental training windows")
    }
    let vocalProbe = LogisticProbe.fit(vtx, labels: vty, classes: ["no vocals", "vocals"])
    var results: [String: Any] = [:]
    let genreVal = genreProbe.accuracy(valKnown.map { valX[$0] }, labels: valKnown.map { genreOf(val[$0]) }), vocalVal = vocalProbe.accuracy(vvx, labels: vvy)
    log("probes: \(train.count) original training windows (no codec or prior output) and \(val.count) held-out windows of \(o.seconds) s (\(ProbeFeatures.count) features)")
    log("  genre probe, held-out real clips:  \(pct(genreVal))   (chance \(pct(1 / Double(genres.count))))")
    log("  vocal probe, held-out real clips:  \(pct(vocalVal))   (\(vvy.filter { $0 == 1 }.count) with vocals, \(vvy.filter { $0 == 0 }.count) without)")
    results["probe_windows"] = ["train": train.count, "val": val.count]
    results["genre_probe_val_accuracy"] = genreVal
    results["vocal_probe_val_accuracy"] = vocalVal


    // The held-out windows as they are (the reference for music_tonality.py), then after the codec
    // round trip at the prior's codebooks.
    let realDir = o.out + "/real"
    try? FileManager.default.createDirectory(atPath: realDir, withIntermediateDirectories: true)
    for (i, w) in val.enumerated() {
        try? AudioFile.write(AudioBuffer(samples: w.samples, sampleRate: codec.sampleRate), to: realDir + "/\(w.genre)-\(i + 1).wav", encoding: .float32)
    }
    let rtX = features(val.map { throughCodec($0) })
    let (rvx, rvy) = vocalSet(val, rtX)
    let genreRT = genreProbe.accuracy(valKnown.map { rtX[$0] }, labels: valKnown.map { genreOf(val[$0]) }), vocalRT = vocalProbe.accuracy(rvx, labels: rvy)
    log("  genre probe, held-out clips through the codec's first \(k) codebooks: \(pct(genreRT))")
    log("  vocal probe, held-out clips through the codec's first \(k) codebooks: \(pct(vocalRT))")
    results["genre_probe_val_accuracy_codec"] = genreRT
    results["vocal_probe_val_accuracy_codec"] = vocalRT
    // The vocal targets' floor and ceiling: how often the probe hears vocals in held-out windows with
    // none (and with sung lines), as they are and through the same decode as the generated clips.
    // A rate the round trips of real instrumental music already reach is one generated music can't be
    // asked to beat by this probe.
    func heard(_ x: [[Float]], _ y: [Int], _ label: Int) -> Double {
        let rows = y.indices.filter { y[$0] == label }
        return rows.isEmpty ? 0 : Double(rows.filter { vocalProbe.predict(x[$0]) == 1 }.count) / Double(rows.count)
    }
    let floor = (heard(vvx, vvy, 0), heard(rvx, rvy, 0)), ceiling = (heard(vvx, vvy, 1), heard(rvx, rvy, 1))
    log("  vocals heard in held-out windows without singing: \(pct(floor.0)) as they are, \(pct(floor.1)) through the codec (with singing: \(pct(ceiling.0)), \(pct(ceiling.1)))")
    results["vocal_rate_instrumental_real"] = floor.0
    results["vocal_rate_instrumental_codec"] = floor.1
    results["vocal_rate_sung_real"] = ceiling.0
    results["vocal_rate_sung_codec"] = ceiling.1
    if !o.floorCodebooks.isEmpty {
        // The floor and ceiling at other main-codebook counts: what a prior over that many codebooks
        // could reach at best by this probe. A diagnostic; nothing is sampled.
        for n in o.floorCodebooks {
            let (nx, ny) = vocalSet(val, features(val.map { throughCodec($0, codebooks: n) }))
            log("  vocals heard through the codec's \(n == 0 ? "unquantized latents" : "first \(n) main codebooks" + (o.floorBassCodebooks > 0 ? " and \(o.floorBassCodebooks) of the bass stream" : "")): \(pct(heard(nx, ny, 0))) of the windows without singing, \(pct(heard(nx, ny, 1))) of those with")
        }
        return
    }

    let outDir = o.out + "/generated"
    try? FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
    let frames = codec.frameCount(length: length)
    var sampledTokens = 0
    var gridLines: [String] = []   // grids.jsonl: each generated clip's bar grid
    let sampleStart = Date()

    /// `count` clips for these labels (clip i from seed derive(seed, i)), decoded and saved as
    /// NAME-1.wav …; with --reuse, clips already saved by an earlier run are read back instead.
    func generate(_ labels: PriorLabels, count: Int, seed: UInt64, name: String) -> [[Float]] {
        let paths = (1...count).map { outDir + "/\(name)-\($0).wav" }
        if o.reuse, paths.allSatisfy(FileManager.default.fileExists),
           let saved = try? paths.map({ try AudioFile.read($0).samples }), saved.allSatisfy({ $0.count == length }) {
            return saved
        }
        let codes: [[[Int32]]]
        do { codes = try prior.sample(labels, count: count, frames: frames, temperature: o.temperature, topK: o.topK, seed: seed, cfg: o.cfg, gridCFG: o.gridCFG, temperatureFine: o.temperatureFine, topKFine: o.topKFine,
                                             instrumentalCFG: o.instrumentalCFG, bandCFG: o.bandCFG, plausibility: o.plausibility, plausibleCodebooks: o.plausibleCodebooks,
                                             repeatPenalty: o.repeatPenalty ?? 1, densityCFG: o.densityCFG) }
        catch { fail("sampling failed: \(error)") }
        sampledTokens += count * frames
        // Each clip's bar grid (a prior with one draws a tempo per clip as the corpus plays the genre),
        // so that a tempo tracker's reading of the clip can be set against what was asked for.
        // And the band a clip was played by (drawn for a genre alone), so tonality can be read per band.
        // And the chords it played (a prior with chords draws a progression per clip), so that chroma
        // can be set against them.
        // And the onset density it was asked for (a prior with one draws it per clip), to set against the onsets it holds.
        let bands = prior.bands(labels, count: count, seed: seed), chords = prior.chordTracks(labels, count: count, seed: seed)
        let densities = prior.densities(labels, count: count, seed: seed)
        for (i, (path, grid)) in zip(paths, prior.barGrids(labels, count: count, seed: seed)).enumerated() {
            guard let g = grid else { continue }
            let band = (bands[i].map { ",\"artist\":" + jsonQuoted(prior.config.artists[$0]) } ?? "")
                + (chords[i].map { ",\"chords\":" + jsonQuoted($0.name) } ?? "")
                + (densities[i].map { String(format: ",\"onset_density\":%.2f", $0) } ?? "")
            gridLines.append(String(format: "{\"file\":\"%@\",\"bpm\":%.1f,\"beats_per_bar\":%d,\"bar_seconds\":%.4f%@}\n",
                                    (path as NSString).lastPathComponent, g.bpm, g.beatsPerBar, g.barSeconds, band))
        }
        let audio = codes.map { codec.decode(priorRows: $0, config: prior.config, length: length) }
        for (a, path) in zip(audio, paths) { try? AudioFile.write(AudioBuffer(samples: a, sampleRate: codec.sampleRate), to: path, encoding: .float32) }
        // The sampled codes too, as `gen encode` writes them: `gen decode` renders them again, and
        // code statistics (how often a code repeats) are read from what the prior drew, not re-encoded audio.
        for (c, path) in zip(codes, paths) {
            let file = RVQCodesFile(codecID: codec.modelID, sampleRate: codec.sampleRate, hop: codec.hop,
                                    codebookSize: codec.config.codebookSize, length: length, codes: prior.config.rows.codec(rows: c),
                                    bassCodebooks: prior.config.rows.rung.bass, bassStreamID: codec.bassStream?.streamID)
            try? file.write(to: String(path.dropLast(4)) + ".codes.safetensors")
        }
        return audio
    }

    // Genre control: 8 genres × seeds.
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: genres.count), count: genres.count)
    var withoutVocals = 0   // the genre-only clips are also the "no lyrics" set of the vocal check
    var clipVerdicts: [[String: Any]] = []   // results.json "clips": each genre-only clip's probe verdicts
    let asked = genres.filter(sampled).count * o.seeds
    if asked == 0 { fail("the prior knows none of the corpus's genres (\(genres.joined(separator: ", "))); evaluate it on the corpus it was trained on") }
    for (g, name) in genres.enumerated() {
        guard let id = prior.config.genreID(name) else { log("  \(name): the prior has no such label; skipped"); continue }
        guard sampled(name) else { continue }
        let clips = generate(PriorLabels(genre: id, drawsBand: o.drawsBand), count: o.seeds, seed: o.seedOffset &+ UInt64(1000 + g), name: name)
        for (i, audio) in clips.enumerated() {
            let f = ProbeFeatures.of(audio, filterbank: fb)
            let heard = genreProbe.predict(f), sung = vocalProbe.predict(f)
            confusion[g][heard] += 1
            withoutVocals += sung
            clipVerdicts.append(["file": "\(name)-\(i + 1).wav", "genre": name, "probe_genre": genres[heard], "probe_vocals": sung == 1])
        }
        log("  \(name): probe heard " + genres.indices.filter { confusion[g][$0] > 0 }.map { "\(genres[$0]) ×\(confusion[g][$0])" }.joined(separator: ", "))
    }
    let hits = genres.indices.map { confusion[$0][$0] }.reduce(0, +)
    let control = MeasuredRate(hits: hits, trials: asked), controlInterval = control.interval()
    log("genre control: the probe named the requested genre in \(control.description) of the generated clips (target ≥ 70%, chance 12.5%; "
        + "temperature \(o.temperature ?? prior.config.defaultTemperature)\(o.temperatureFine.map { " (codebooks 2… \($0))" } ?? ""), "
        + "top-k \(o.topK)\(o.topKFine.map { " (codebooks 2… \($0))" } ?? ""), cfg \(o.cfg)"
        + (prior.config.guidesGrid ? ", grid cfg \(o.gridCFG ?? prior.config.gridCFG ?? o.cfg)" : "")
        + ((o.instrumentalCFG ?? prior.config.instrumentalCFG).map { ", instrumental cfg \($0) without lyrics" } ?? "") + ")")
    results["cfg"] = Double(o.cfg)
    results["band_per_clip"] = o.drawsBand && prior.config.genreArtists != nil
    if let g = o.bandCFG ?? prior.config.bandCFG { results["band_cfg"] = Double(g) }
    if let a = o.plausibility ?? prior.config.cfgPlausibility { results["cfg_plausibility"] = Double(a) }
    if let r = o.repeatPenalty { results["repeat_penalty"] = Double(r) }
    if let d = o.densityCFG { results["density_cfg"] = Double(d) }
    if let g = o.gridCFG ?? prior.config.gridCFG, prior.config.guidesGrid { results["grid_cfg"] = Double(g) }
    if let g = o.instrumentalCFG ?? prior.config.instrumentalCFG { results["instrumental_cfg"] = Double(g) }
    results["temperature"] = Double(o.temperature ?? prior.config.defaultTemperature)
    if let t = o.temperatureFine { results["temperature_fine"] = Double(t) }
    if let k = o.topKFine { results["top_k_fine"] = k }
    results["genre_control"] = control.rate
    results["genre_control_interval_95"] = [controlInterval.lowerBound, controlInterval.upperBound]
    results["genre_confusion"] = confusion
    results["clips"] = clipVerdicts

    // Lyrics: held-out lyric lines vs none, one clip per genre and seed.
    var withVocals = 0
    for (g, name) in genres.enumerated() where sampled(name) && !o.genreOnly {
        var lyrics = LyricGenerator(genre: name, pool: .validation, seed: UInt64(77 + g))
        let text = (0..<4).map { _ in lyrics.nextLine() }.joined(separator: "\n")
        let id = prior.config.genreID(name)
        let sung = generate(PriorLabels(genre: id, lyrics: LyricsVocabulary.timedLines(text, seconds: o.seconds), drawsBand: o.drawsBand), count: o.seeds,
                            seed: o.seedOffset &+ UInt64(2000 + g), name: "\(name)-lyrics")
        for a in sung { withVocals += vocalProbe.predict(ProbeFeatures.of(a, filterbank: fb)) }
    }
    // Every generated clip's bar grid, once all are sampled (beat_alignment.py reads them).
    if !gridLines.isEmpty { try? gridLines.joined().write(toFile: outDir + "/grids.jsonl", atomically: true, encoding: .utf8) }
    if !o.genreOnly {   // --genre-only sampled no lyric-conditioned clips: there is no rate to report
        let sung = MeasuredRate(hits: withVocals, trials: asked), plain = MeasuredRate(hits: withoutVocals, trials: asked)
        log("lyrics: the vocal probe heard vocals in \(sung.description) of the lyric-conditioned clips "
            + "and in \(plain.description) of the clips without lyrics")
        results["vocal_rate_with_lyrics"] = sung.rate
        results["vocal_rate_without_lyrics"] = plain.rate
    } else {
        let plain = MeasuredRate(hits: withoutVocals, trials: asked)
        log("lyrics: the vocal probe heard vocals in \(plain.description) of the clips without lyrics (--genre-only: none sampled with lyrics)")
        results["vocal_rate_without_lyrics"] = plain.rate
    }
    // Seams: one long piece per genre crosses several window boundaries (the window slides by half
    // its context); a seam heard as a reset shows as a jump in loudness or onset strength there.
    // Each jump is taken over 1 s either side, at every window start and, as the control, halfway
    // between window starts of the same pieces.
    if o.seamSeconds > 0 {
        let pieceFrames = Int(o.seamSeconds * prior.config.tokensPerSecond)
        let total = prior.config.pattern.steps(frames: pieceFrames, codebooks: k)
        let seams = prior.windowStarts(steps: total).dropFirst()   // steps where a new window begins
        let stft = STFT(nFFT: 1024, winLength: 1024, hop: codec.hop, center: true)
        var seamJumps: [(Double, Double)] = [], controlJumps: [(Double, Double)] = []
        for (g, name) in genres.enumerated() where sampled(name) {
            guard let id = prior.config.genreID(name) else { continue }
            let codes: [[[Int32]]]
            do { codes = try prior.sample(PriorLabels(genre: id, drawsBand: o.drawsBand), count: 1, frames: pieceFrames, temperature: o.temperature, topK: o.topK, seed: o.seedOffset &+ UInt64(3000 + g), cfg: o.cfg, gridCFG: o.gridCFG, temperatureFine: o.temperatureFine, topKFine: o.topKFine) }
            catch { fail("sampling failed: \(error)") }
            sampledTokens += pieceFrames
            let audio = codec.decode(priorRows: codes[0], config: prior.config, length: pieceFrames * codec.hop)
            try? AudioFile.write(AudioBuffer(samples: audio, sampleRate: codec.sampleRate), to: outDir + "/\(name)-long.wav", encoding: .float32)
            let mag = stft.magnitude(audio), bins = 513, frames = mag.count / bins
            var loud = [Double](repeating: 0, count: frames), flux = [Double](repeating: 0, count: frames)
            for f in 0..<frames {
                var e = 0.0, d = 0.0
                for b in 0..<bins {
                    let m = Double(mag[f * bins + b]); e += m * m
                    if f > 0 { d += max(0, m - Double(mag[(f - 1) * bins + b])) }
                }
                loud[f] = 10 * Foundation.log10(e / Double(bins) + 1e-10); flux[f] = d
            }
            let w = Int(prior.config.tokensPerSecond)
            func jump(at f: Int) -> (Double, Double)? {
                guard f - w >= 0, f + w <= frames else { return nil }
                let mean = { (x: [Double], r: Range<Int>) in r.reduce(0.0) { $0 + x[$1] } / Double(r.count) }
                return (Swift.abs(mean(loud, f..<(f + w)) - mean(loud, (f - w)..<f)),
                        Swift.abs(Foundation.log((mean(flux, f..<(f + w)) + 1e-6) / (mean(flux, (f - w)..<f) + 1e-6))))
            }
            let starts = Array(seams)
            for (i, s) in starts.enumerated() {
                if let j = jump(at: s) { seamJumps.append(j) }   // step s holds codebook 0 of frame s
                let next = i + 1 < starts.count ? starts[i + 1] : s + (s - (i > 0 ? starts[i - 1] : 0))
                if let j = jump(at: (s + next) / 2) { controlJumps.append(j) }
            }
        }
        func mean(_ x: [(Double, Double)]) -> (Double, Double) {
            (x.reduce(0) { $0 + $1.0 } / Double(max(x.count, 1)), x.reduce(0) { $0 + $1.1 } / Double(max(x.count, 1)))
        }
        let (sl, so) = mean(seamJumps), (cl, co) = mean(controlJumps)
        log(String(format: "seams: %d window starts in %d pieces of %.0f s: loudness jump %.2f dB (between seams %.2f dB), onset-strength jump %.3f (between seams %.3f, |log ratio| over 1 s each side)",
                   seamJumps.count, genres.count, o.seamSeconds, sl, cl, so, co))
        results["seam_loudness_jump_db"] = sl; results["control_loudness_jump_db"] = cl
        results["seam_onset_jump"] = so; results["control_onset_jump"] = co
    }
    let sampleSeconds = Date().timeIntervalSince(sampleStart)
    log(String(format: "sampling: %d frames + decoding in %.0f s (%.0f frames/s); total %.0f s", sampledTokens, sampleSeconds,
               Double(sampledTokens) / sampleSeconds, Date().timeIntervalSince(started)))
    if let data = try? JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys]) {
        _ = FileManager.default.createFile(atPath: o.out + "/results.json", contents: data)
    }
    log("generated clips in \(outDir); numbers in \(o.out)/results.json")
}

GenEval.main()
