// gen-eval — `make eval-music`: judges the music prior with probes trained on the corpus.
//
// 1. Cuts the corpus clips into 10-second windows; fits a genre probe and a vocal-presence probe
//    (Music.LogisticProbe on log-mel and rhythm features) on the training windows, and reports their
//    accuracy on the held-out clips, as they are and after a round trip through the codec level
//    the prior models (the probes then judge audio that went through the same decoder).
// 2. Samples 8 genres × N seeds of 10 s from the shipped prior (genre only: no artist, no lyrics),
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

struct Options {
    var data = "data/music", models = "models", out = "out/eval-music"
    var seeds = 5, seconds = 10.0, temperature: Float = 0.95, topK = 64
    var augmentCodec = false, reuse = false, guidance: Float = SamplingDefaults.genreGuidance, genreOnly = false
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(("gen-eval: " + message + "\n").data(using: .utf8)!)
    exit(2)
}

/// `gen-eval music`, on ArgumentParser like `gen`.
struct GenEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen-eval", abstract: "Yardsticks for gen's models that need the models themselves.",
        subcommands: [MusicEval.self, CodecEval.self], defaultSubcommand: MusicEval.self)
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
        for k in codebooks where (1...codec.config.codebooks).contains(k) {
            let x = known.map { w in ProbeFeatures.of(codec.decode(codec.encode(w.samples, codebooks: k), length: w.samples.count), filterbank: fb) }
            let a = probe.accuracy(x, labels: labels)
            print(String(format: "  %d codebooks (%.2f kbps): %@ = %.0f%% of the originals' accuracy", k, codec.config.bitrate(codebooks: k) / 1000,
                         pct(a), 100 * a / max(original, 1e-9)))
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
        and without lyrics. --augment-codec also trains the probes on the training
        windows' round trips through the prior's codec level; --reuse classifies the
        clips an earlier run saved in --out instead of sampling them again.
        """)
    @Option(help: "Music corpus folder.") var data = "data/music"
    @Option(help: "Models folder (prior and codec).") var models = "models"
    @Option(help: "Output folder for the clips and results.json.") var out = "out/eval-music"
    @Option(help: "Clips per genre.") var seeds = 5
    @Option(help: "Seconds per clip and probe window (at least 2).") var seconds = 10.0
    @Option(help: "Sampling temperature.") var temperature: Float = 0.95
    @Option(help: "Top-k.") var topK = 64
    @Option(help: "Genre guidance (1 = off).") var guidance: Float = SamplingDefaults.genreGuidance
    @Flag(help: "Also train the probes on codec round trips.") var augmentCodec = false
    @Flag(help: "Classify the clips an earlier run saved instead of sampling again.") var reuse = false
    @Flag(help: "Skip the lyrics check.") var genreOnly = false

    func validate() throws {
        if seeds < 1 { throw ValidationError("--seeds must be at least 1.") }
        if !(seconds >= 2 && seconds <= 60) { throw ValidationError("--seconds must be between 2 and 60.") }
        if !(temperature >= 0) || topK < 0 { throw ValidationError("--temperature and --top-k must be ≥ 0.") }
        if !SamplingDefaults.genreGuidanceRange.contains(guidance) { throw ValidationError("--guidance must be between 1 and 10.") }
    }

    func run() throws {
        evaluateMusic(Options(data: data, models: models, out: out, seeds: seeds, seconds: seconds, temperature: temperature,
                              topK: topK, augmentCodec: augmentCodec, reuse: reuse, guidance: guidance, genreOnly: genreOnly))
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
    let train: [ProbeWindow], val: [ProbeWindow]
    do {
        train = try ProbeData.windows(corpus: o.data, split: "train", seconds: o.seconds, hop: o.seconds / 2)
        val = try ProbeData.windows(corpus: o.data, split: "val", seconds: o.seconds, hop: o.seconds)
    } catch { fail("cannot read the corpus: \(error)") }
    guard !train.isEmpty, !val.isEmpty else { fail("the corpus at \(o.data) needs training and held-out clips (split train and val)") }
    // The corpus's genres: the catalog's order first, then any others (a user's corpus) sorted.
    let corpusGenres = Set(train.map(\.genre))
    let genres = MusicCatalog.genreNames.filter(corpusGenres.contains) + corpusGenres.subtracting(MusicCatalog.genreNames).sorted()
    let models: MusicModels
    do { models = try MusicModels.load(priorDir: o.models + "/prior", codecDir: o.models + "/" + MusicModels.v1CodecFolder) }
    catch { fail("cannot load the prior and codec from \(o.models): \(error)") }
    let codec = models.codec, level = models.level, prior = models.prior
    let length = Int(o.seconds * Double(codec.sampleRate))

    /// A window after the round trip through the codec level the prior models.
    func throughCodec(_ w: ProbeWindow) -> ProbeWindow {
        var out = w
        out.samples = codec.decode(codec.encode(w.samples, level: level), level: level, length: w.samples.count)
        return out
    }
    func features(_ windows: [ProbeWindow]) -> [[Float]] { windows.map { ProbeFeatures.of($0.samples, filterbank: fb) } }
    var trainX = features(train)
    let valX = features(val)
    // With --augment-codec the probes also learn from the training windows' codec round trips, so the
    // codec's blur is not mistaken for a genre or for (missing) vocals; the windows are the same real clips.
    var probeTrain = train
    if o.augmentCodec {
        let rt = train.map(throughCodec)
        trainX += features(rt); probeTrain += rt
    }
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
    log("probes: \(train.count) training windows\(o.augmentCodec ? " (+ their codec round trips)" : "") and \(val.count) held-out windows of \(o.seconds) s (\(ProbeFeatures.count) features)")
    log("  genre probe, held-out real clips:  \(pct(genreVal))   (chance \(pct(1 / Double(genres.count))))")
    log("  vocal probe, held-out real clips:  \(pct(vocalVal))   (\(vvy.filter { $0 == 1 }.count) with vocals, \(vvy.filter { $0 == 0 }.count) without)")
    results["probe_windows"] = ["train": train.count, "val": val.count]
    results["probe_trained_on_codec_round_trips_too"] = o.augmentCodec
    results["genre_probe_val_accuracy"] = genreVal
    results["vocal_probe_val_accuracy"] = vocalVal


    // The same held-out windows after the codec round trip at the prior's level.
    let rtX = features(val.map(throughCodec))
    let (rvx, rvy) = vocalSet(val, rtX)
    let genreRT = genreProbe.accuracy(valKnown.map { rtX[$0] }, labels: valKnown.map { genreOf(val[$0]) }), vocalRT = vocalProbe.accuracy(rvx, labels: rvy)
    log("  genre probe, held-out clips through codec level \(level): \(pct(genreRT))")
    log("  vocal probe, held-out clips through codec level \(level): \(pct(vocalRT))")
    results["genre_probe_val_accuracy_codec"] = genreRT
    results["vocal_probe_val_accuracy_codec"] = vocalRT

    let outDir = o.out + "/generated"
    try? FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
    let tokens = codec.codeCount(length: length, level: level)
    var sampledTokens = 0
    let sampleStart = Date()

    /// `count` clips for these labels (clip i from seed derive(seed, i)), decoded and saved as
    /// NAME-1.wav …; with --reuse, clips already saved by an earlier run are read back instead.
    func generate(_ labels: PriorLabels, count: Int, seed: UInt64, name: String) -> [[Float]] {
        let paths = (1...count).map { outDir + "/\(name)-\($0).wav" }
        if o.reuse, paths.allSatisfy(FileManager.default.fileExists),
           let saved = try? paths.map({ try AudioFile.read($0).samples }), saved.allSatisfy({ $0.count == length }) {
            return saved
        }
        let codes: [[Int32]]
        do { codes = try prior.sample(labels, count: count, length: tokens, temperature: o.temperature, topK: o.topK, seed: seed, genreGuidance: o.guidance) }
        catch { fail("sampling failed: \(error)") }
        sampledTokens += count * tokens
        let audio = codes.map { codec.decode($0, level: level, length: length) }
        for (a, path) in zip(audio, paths) { try? AudioFile.write(AudioBuffer(samples: a, sampleRate: codec.sampleRate), to: path, encoding: .float32) }
        return audio
    }

    // Genre control: 8 genres × seeds.
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: genres.count), count: genres.count)
    var withoutVocals = 0   // the genre-only clips are also the "no lyrics" set of the vocal check
    let asked = genres.filter { prior.config.genreID($0) != nil }.count * o.seeds
    if asked == 0 { fail("the prior knows none of the corpus's genres (\(genres.joined(separator: ", "))); evaluate it on the corpus it was trained on") }
    for (g, name) in genres.enumerated() {
        guard let id = prior.config.genreID(name) else { log("  \(name): the prior has no such label; skipped"); continue }
        for audio in generate(PriorLabels(genre: id), count: o.seeds, seed: UInt64(1000 + g), name: name) {
            let f = ProbeFeatures.of(audio, filterbank: fb)
            confusion[g][genreProbe.predict(f)] += 1
            withoutVocals += vocalProbe.predict(f)
        }
        log("  \(name): probe heard " + genres.indices.filter { confusion[g][$0] > 0 }.map { "\(genres[$0]) ×\(confusion[g][$0])" }.joined(separator: ", "))
    }
    let hits = genres.indices.map { confusion[$0][$0] }.reduce(0, +)
    let control = Double(hits) / Double(asked)
    log("genre control: the probe named the requested genre in \(hits)/\(asked) generated clips = \(pct(control)) (target ≥ 50%, chance 12.5%; "
        + "temperature \(o.temperature), top-k \(o.topK), genre guidance \(o.guidance))")
    results["genre_guidance"] = Double(o.guidance)
    results["genre_control"] = control
    results["genre_confusion"] = confusion

    // Lyrics: held-out lyric lines vs none, one clip per genre and seed.
    var withVocals = 0
    for (g, name) in genres.enumerated() where prior.config.genreID(name) != nil && !o.genreOnly {
        var lyrics = LyricGenerator(genre: name, pool: .validation, seed: UInt64(77 + g))
        let text = (0..<4).map { _ in lyrics.nextLine() }.joined(separator: "\n")
        let id = prior.config.genreID(name)
        let sung = generate(PriorLabels(genre: id, lyrics: LyricsVocabulary.timedLines(text, seconds: o.seconds)), count: o.seeds,
                            seed: UInt64(2000 + g), name: "\(name)-lyrics")
        for a in sung { withVocals += vocalProbe.predict(ProbeFeatures.of(a, filterbank: fb)) }
    }
    if !o.genreOnly {   // --genre-only sampled no lyric-conditioned clips: there is no rate to report
        let sungRate = Double(withVocals) / Double(asked), plainRate = Double(withoutVocals) / Double(asked)
        log("lyrics: the vocal probe heard vocals in \(withVocals)/\(asked) lyric-conditioned clips (\(pct(sungRate))) "
            + "and \(withoutVocals)/\(asked) clips without lyrics (\(pct(plainRate)))")
        results["vocal_rate_with_lyrics"] = sungRate
        results["vocal_rate_without_lyrics"] = plainRate
    }
    let sampleSeconds = Date().timeIntervalSince(sampleStart)
    log(String(format: "sampling: %d codes + decoding in %.0f s (%.0f codes/s); total %.0f s", sampledTokens, sampleSeconds,
               Double(sampledTokens) / sampleSeconds, Date().timeIntervalSince(started)))
    if let data = try? JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys]) {
        _ = FileManager.default.createFile(atPath: o.out + "/results.json", contents: data)
    }
    log("generated clips in \(outDir); numbers in \(o.out)/results.json")
}

GenEval.main()
