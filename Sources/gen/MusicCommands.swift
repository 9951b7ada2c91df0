// MusicCommands.swift — `gen music` and `gen train prior`: thin wrappers over Music.Prior (its
// sampler), Music.RVQCodec and Music.PriorTrainer. Bad options exit 2 before any model work; missing
// models exit 3 with the command that trains them. Outputs are written to a temporary file and
// renamed, so a failure leaves no partial file.
import Base
import ArgumentParser
import Audio
import Engine
import Foundation
import Requests
import Music
import Render

/// The prior in the models folder and the RVQ codec it samples, or a message saying how to train them (exit 3).
func loadPrior(_ globals: GlobalOptions) throws -> MusicModels {
    let dir = try globals.modelsFolder()
    return try ioErrors { try MusicModels.load(modelsFolder: dir) }
}

/// "music.wav" → "music-2.wav" (sample i of several); one sample keeps the name.
func numberedPath(_ path: String, index: Int, count: Int) -> String {
    guard count > 1 else { return path }
    let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
    guard let dot = path[slash...].lastIndex(of: "."), dot != slash else { return "\(path)-\(index)" }
    return "\(path[..<dot])-\(index)\(path[dot...])"
}

struct Music: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "music",
        abstract: "Generate music with the RVQ codec and a transformer prior.",
        discussion: """
        The prior samples the codec's codes, several codebooks per frame (MusicGen's
        delay pattern), conditioned on genre, artist, lyrics and timing (genre and
        artist optional: left out, they are "unconditioned", except that a piece
        asked for by genre alone is played by one of the bands the corpus has in
        that genre, drawn per piece and printed, which follows the genre more
        often; --artist any keeps the artist unconditioned; without lyrics, and
        between sung lines, the piece is instrumental: guidance steers it away from
        singing); the codec decodes them to audio. Pieces longer than the prior's
        context are sampled in overlapping windows, each primed by the end of the
        last. With --prime, the first --prime-seconds of that audio (or of a codes
        file from `gen encode`) are the start and the music continues from them.
        Sampling: --temperature 0 is greedy; --top-k 0 and --top-p 0 switch those
        filters off; --cfg steers toward the labels (1 = off, twice the cost);
        --instrumental-cfg steers a piece without lyrics away from singing (the
        shipped prior's default is 2; 1 turns it off and samples a fifth faster); the
        same --seed and --samples give the same output (a batch's size can change
        its pieces' last bits, so sample 1 of 5 is not the piece --samples 1
        makes). A prior with a bar grid plays to --bpm and --time-signature; left
        out, each piece gets a tempo as the corpus plays its genre (printed). A prior
        trained with chords (`gen train prior --chords`; the shipped prior is not)
        plays --chords bar by bar, repeating ("C | Am | Dm7 G7 | C": bars between '|',
        a bar's chords sharing it evenly); left out, each piece plays one of its
        genre's progressions in a drawn key (printed, to reuse). A prior trained
        with the onset density (`gen train prior --onset-density`) plays as busily as
        --onset-density asks (drum strokes and note attacks per second); left out,
        each piece draws one as the corpus plays its genre (printed).
        --samples N writes music-1.wav …
        music-N.wav; -o - writes one WAV to stdout.

        Examples:
          gen music --genre jazz --lyrics lyrics.txt --duration 20 -o jazz.wav
          gen music --genre blues --cfg 4 --top-k 50 --seed 7 -o blues.wav
          gen music --genre waltz --bpm 150 --time-signature 3/4 -o waltz.wav
          gen music --prime song.wav --prime-seconds 4 --duration 20 -o more.wav
        """)
    @Option(name: .long, help: "Genre, any case; see `gen genres` (default: unconditioned).", completion: .list(MusicCatalog.genreNames)) var genre: String?
    @Option(name: .long, help: "Artist, any case; see `gen artists` (default: with --genre, one of the genre's bands, drawn per piece; \"any\" for none).", completion: .list(MusicCatalog.artistNames + [MusicRequest.anyArtist])) var artist: String?
    @Option(name: .long, help: "Lyrics file (UTF-8 text, one line per sung line, under 100 KB).", completion: .file()) var lyrics: String?
    @Option(name: .long, help: "Lyrics given inline (lines separated by newlines).") var lyricsText: String?
    @Option(name: .long, parsing: .unconditional, help: "Length in seconds (at most 600).") var duration: Double = 20
    @Option(name: .long, parsing: .unconditional, help: "Sampling temperature (0 = greedy; default: the prior's, 1.1 for the shipped prior).") var temperature: Float?
    @Option(name: .long, parsing: .unconditional, help: "Sample only among the k most likely codes (0 = off, 1 = greedy).") var topK: Int = MusicRequest.defaultTopK
    @Option(name: .long, parsing: .unconditional, help: "Nucleus sampling mass in [0, 1] (0 = off).") var topP: Float = 0
    @Option(name: .long, parsing: .unconditional, help: "Random seed (default: random, printed so the run can be repeated).") var seed: UInt64?
    @Option(name: .long, help: "Number of pieces to sample at once.") var samples: Int = 1
    @Option(name: [.customLong("cfg"), .customLong("genre-guidance")],
            help: "Classifier-free guidance on the labels, 1 (off) to 10: higher follows genre, artist and lyrics more closely at twice the sampling cost (--genre-guidance is an older name).")
    var cfg: Float = MusicRequest.defaultCFG
    @Option(name: .customLong("instrumental-cfg"),
            help: "Guidance toward instrumental music for a piece without lyrics, 1 (off) to 10: steers away from a row that sings, at a fifth more sampling time; 2 takes most singing out (default: the prior's instrumental_cfg, 2 for the shipped prior).")
    var instrumentalCFG: Float?
    @Option(name: .customLong("cfg-plausibility"), parsing: .unconditional,
            help: "With guidance: draw only codes the conditioned model gives at least this fraction of its likeliest code's probability, 0 (off) to below 1; 0.003 takes out most of guidance's noise, at the price of longer held chords and of some singing with lyrics (default: the prior's cfg_plausibility, off for the shipped prior).")
    var cfgPlausibility: Float?
    @Option(name: .long, parsing: .unconditional, help: "Tempo in beats per minute, 20 to 400 (default: drawn per piece as the corpus plays the genre; 120 with only --time-signature).") var bpm: Double?
    @Option(name: .long, help: "Time signature: 4/4, 3/4, 2/4, 6/8 … (6/8 counts dotted quarters as beats; default: the genre's; with only --bpm, its first groove's, 3/4 for a waltz, else 4/4).") var timeSignature: String?
    @Option(name: .long, help: "For a prior trained with chords (not the shipped one): chords bar by bar, repeating, \"C | Am | Dm7 G7 | C\" (roots A–G with # or b; qualities m 7 maj7 m7 6 m6 m7b5 dim7 7b9 9 m9 7#9; default: one of the genre's progressions in a drawn key, printed).") var chords: String?
    @Option(name: .long, parsing: .unconditional, help: "For a prior trained with the onset density (not the shipped one): drum strokes and note attacks per second, 0 to 8 (the corpus: march about 2.5, waltz 3, country 3.5, jazz 3.9, blues 4.2, rock 4.5, funk and latin 4.9; default: drawn per piece as the corpus plays the genre, printed).") var onsetDensity: Double?
    @Option(name: .long, help: "Audio (or a .safetensors codes file from `gen encode`) to continue from.", completion: .file()) var prime: String?
    @Option(name: .long, parsing: .unconditional, help: "Seconds of --prime to continue from.") var primeSeconds: Double = 4
    @Option(name: .shortAndLong, help: "Output audio (.wav, .flac, .ogg, .raw); numbered when --samples > 1; - for a WAV on stdout.") var output = "music.wav"
    @Option(name: .long, help: "Output sample rate in Hz (resampled with libsamplerate; default: the codec's 22050).") var rate: Int?
    @OptionGroup(title: "Level") var level: LevelOptions
    @OptionGroup var globals: GlobalOptions

    /// The request these flags make (its `validate` owns every limit, as for prompt lines).
    var request: MusicRequest {
        var r = MusicRequest()
        r.genre = genre; r.artist = artist; r.lyrics = lyricsText; r.lyricsFile = lyrics
        r.duration = duration; r.temperature = temperature; r.topK = topK; r.topP = topP
        r.cfg = cfg; r.instrumentalCFG = instrumentalCFG; r.cfgPlausibility = cfgPlausibility; r.samples = samples; r.rate = rate; r.bpm = bpm; r.timeSignature = timeSignature
        r.chords = chords; r.onsetDensity = onsetDensity
        if prime != nil { r.primeSeconds = primeSeconds }
        return r
    }

    func validate() throws {
        if let problem = request.validate(naming: { $0 == .lyrics ? "--lyrics-text" : $0.flag }).first {
            throw ValidationError(problem + ".")
        }
        if output == "-" && samples > 1 { throw ValidationError("-o - writes one WAV to stdout; use a file name with --samples \(samples).") }
        // Checked before any model loads (musicLabels parses them again for batch lines).
        if let c = chords { do { _ = try ChordTrack(parsing: c) } catch let e as PriorError { throw ValidationError(e.message) } }
    }

    /// The lyrics text, checked: present, not empty, at most 100 KB, UTF-8.
    func readLyrics() throws -> String? {
        if let t = lyricsText { return t }
        guard let path = lyrics else { return nil }
        return try MusicRequest.readLyricsFile(path, option: "--lyrics")
    }

    func run() throws {
        try checkAudioOutput(output)
        // Every output the pieces will be written to, checked before any is sampled (a folder in the
        // way, a missing or read-only folder), so no set is left half written.
        if output != "-" {
            for i in 0..<samples { try ioErrors { try AudioFile.checkWritable(numberedPath(output, index: i + 1, count: samples)) } }
        }
        let text = try readLyrics()
        let models = try loadPrior(globals)
        let prior = models.prior, codec = models.codec
        let labels = try musicLabels(prior.config, genre: genre, artist: artist, lyrics: text, seconds: duration,
                                     bpm: bpm, timeSignature: timeSignature, chords: chords, onsetDensity: onsetDensity)

        let sampleRate = codec.sampleRate
        let length = Int((duration * Double(sampleRate)).rounded())
        let frames = codec.frameCount(length: length)
        var primeCodes: [[Int32]] = []
        if let prime {
            let need = Int((primeSeconds * Double(sampleRate)).rounded())
            let primeFrames = min(frames - 1, max(1, need / codec.hop))
            if PathName.ext(prime).lowercased() == "safetensors" {
                let file = try ioErrors { try RVQCodesFile.read(prime) }
                guard file.codecID == codec.modelID else {
                    throw GenError.usage("the codes in '\(prime)' were made by codec \(file.codecID), not this one (\(codec.modelID)); encode the audio again with `gen encode`.")
                }
                // The prior models its rung's main codebooks, then (if any) its bass-stream rows.
                let rung = prior.config.rows.rung
                guard file.mainCodebooks >= rung.main, file.bassCodebooks >= rung.bass, file.codes[0].count >= primeFrames else {
                    let encode = rung.bass == 0 ? "gen encode --no-bass-stream --codebooks \(rung.main)"
                        : "gen encode with a rung of at least \(rung.main) main and \(rung.bass) bass codebooks (gen models lists the ladder)"
                    throw GenError.usage(String(format: "the codes in '%@' hold %@ codebooks × %d frames; --prime-seconds %.2f needs %@ × %d. Encode with more codebooks (%@) or pass a smaller --prime-seconds.",
                                                prime, file.rung.description, file.codes.first?.count ?? 0, primeSeconds, rung.description, primeFrames, encode))
                }
                if rung.bass > 0, let id = file.bassStreamID, id != codec.bassStream?.streamID {
                    throw GenError.usage("the bass codes in '\(prime)' were made by bass stream \(id), not this codec's; encode the audio again with `gen encode`.")
                }
                let chosen = Array(file.mainCodes.prefix(rung.main)) + Array(file.codes.suffix(file.bassCodebooks).prefix(rung.bass))
                primeCodes = prior.config.rows.rows(codec: chosen).map { Array($0.prefix(primeFrames)) }
            } else {
                // Only the prefix that is used is read (plus a little for the resampler's edge).
                let audio = try readMono(prime, sampleRate: sampleRate, maxSeconds: primeSeconds + 0.5)
                if audio.count < need {
                    throw GenError.usage(String(format: "the prime '%@' is %.2f s long, shorter than --prime-seconds %.2f. Pass a smaller --prime-seconds.",
                                                prime, Double(audio.count) / Double(sampleRate), primeSeconds))
                }
                primeCodes = codec.encode(Array(audio[0..<need]), forPrior: prior.config).map { Array($0.prefix(primeFrames)) }
            }
        }

        let seed = self.seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        let showProgress = !globals.quiet && isatty(2) != 0
        if self.seed == nil && !globals.quiet { FileHandle.standardError.write("seed \(seed)\n".data(using: .utf8)!) }
        let line = ProgressLine(enabled: showProgress)
        let progress: (Int, Int) -> Void = { done, all in
            let rate = Double(done * samples) / max(line.elapsed, 1e-9)
            line.update(done: done, total: all, String(format: "music: %d/%d steps  %.0f steps/s", done, all, rate))
            if done == all { line.end() }
        }
        if labels.grid != nil && prior.config.barBins == nil && !globals.quiet {
            FileHandle.standardError.write("note: this prior was trained without a bar grid, so --bpm and --time-signature do not steer it; train one with `gen train prior ... --bar-grid`.\n".data(using: .utf8)!)
        }
        if labels.chords != nil && !prior.config.readsChords && !globals.quiet {
            FileHandle.standardError.write("note: this prior was trained without chords, so --chords does not steer it; train one with `gen train prior ... --chords`.\n".data(using: .utf8)!)
        }
        if labels.density != nil && !prior.config.readsOnsetDensity && !globals.quiet {
            FileHandle.standardError.write("note: this prior was trained without the onset density, so --onset-density does not steer it; train one with `gen train prior ... --onset-density`.\n".data(using: .utf8)!)
        }
        if let a = cfgPlausibility, a > 0, cfg == 1, !globals.quiet {
            FileHandle.standardError.write("note: --cfg-plausibility keeps guidance to plausible codes, and --cfg 1 turns guidance off, so it changes nothing here.\n".data(using: .utf8)!)
        }
        if !globals.quiet, prior.config.barBins != nil {
            let tempos = prior.barGrids(labels, count: samples, seed: seed).compactMap { $0 }
                .map { String(format: "%.0f bpm, %d beats a bar", $0.bpm, $0.beatsPerBar) }
            if labels.grid == nil, !tempos.isEmpty { FileHandle.standardError.write("tempo: \(tempos.joined(separator: "; "))\n".data(using: .utf8)!) }
        }
        if !globals.quiet, labels.chords == nil {
            let drawn = prior.chordTracks(labels, count: samples, seed: seed).compactMap { $0?.name }
            if !drawn.isEmpty { FileHandle.standardError.write("chords: \(drawn.joined(separator: "; "))\n".data(using: .utf8)!) }
        }
        if !globals.quiet, labels.density == nil {
            let drawn = prior.densities(labels, count: samples, seed: seed).compactMap { $0.map { String(format: "%.1f", $0) } }
            if !drawn.isEmpty { FileHandle.standardError.write("onsets per second: \(drawn.joined(separator: "; "))\n".data(using: .utf8)!) }
        }
        if !globals.quiet, labels.artist == nil {
            let bands = prior.bands(labels, count: samples, seed: seed).compactMap { $0.map { prior.config.artists[$0] } }
            if !bands.isEmpty { FileHandle.standardError.write("band: \(bands.joined(separator: "; ")) (--artist any for none)\n".data(using: .utf8)!) }
        }
        let sequences = try sampleMusic(prior, labels: labels, count: samples, frames: frames, temperature: temperature, topK: topK,
                                        topP: topP, seed: seed, prime: primeCodes, cfg: cfg, instrumentalCFG: instrumentalCFG,
                                        cfgPlausibility: cfgPlausibility, progress: progress)
        for (i, codes) in sequences.enumerated() {
            let path = numberedPath(output, index: i + 1, count: samples)
            try writeDecoded(codec.decode(priorRows: codes, config: prior.config, length: max(length, 1)), sampleRate: codec.sampleRate, to: path, rate: rate, level: level)
            if output != "-" { print(path) }
        }
    }
}

struct TrainPrior: TrainCommand {
    static let configuration = CommandConfiguration(
        commandName: "prior",
        abstract: "Train the music prior on a corpus's RVQ codec codes.",
        discussion: """
        Encodes the corpus once with the first --codebooks codebooks of the codec
        (cached in OUT/codes_cache.safetensors, reused while the codec, codebooks and
        clip list are unchanged), lays each frame's codes out in steps by --pattern
        (delay: codebook k shifted by k steps, as MusicGen; parallel: no shift), then
        trains on random windows of steps with their genre, artist, timing and
        lyric-window conditions. Each label is dropped with probability
        --label-dropout, and all of them at once with --cfg-dropout, so that
        classifier-free guidance (gen music --cfg) has an unconditioned model to steer
        from. Writes OUT/config.json and OUT/model.safetensors every --save-every
        steps, the optimizer state in OUT/train_state.safetensors and the log in
        OUT/train_log.jsonl, with held-out cross-entropy in bits per frame beside the
        unigram and bigram entropies of the same codes. Ctrl-C stops at the end of the
        step under way with the checkpoint written; --resume continues from the last
        checkpoint. --init-from DIR starts a new run (fresh optimizer and schedule)
        from a trained prior's config and weights, for example to train the shipped
        prior longer. A window where nobody sings reads an "instrumental" lyrics
        token, so that a piece asked for without lyrics is guided away from singing
        (a prior trained before that token gains it with --init-from). Each frame
        also reads its bar grid: where in the bar and in an 8-bar phrase it falls,
        from the clip's bar_seconds and time_signature (clips without them read "no
        grid"), with the bar's length and beats in the start state; a prior trained
        before the grid gains it with --init-from DIR --bar-grid. With --chords each
        frame also reads the chord sounding then, from the clip's key and catalogue
        progression placed on its bar grid (dropped with the labels, so --cfg steers
        toward the chords too); a prior with a grid gains it with --init-from DIR
        --chords. With --onset-density each frame also reads how many onsets (drum
        strokes and note attacks, by a spectral-flux detector after librosa's) per
        second its window holds, counted on the clip's audio (cached in
        OUT/onsets_cache.safetensors; dropped with the labels); the config keeps each
        genre's quantiles, which gen music draws a piece's density from; any prior
        gains it with --init-from DIR --onset-density. With --bass-codebooks N the
        prior also models the codec's first N bass-stream codebooks (the band below
        345 Hz coded as a waveform, which keeps the bass notes that the main
        codebooks smear), as rows of their own after the main codebooks' (a
        codebook larger than the vocabulary, such as the stream's first of 4096
        codes, takes two rows); gen music then decodes with the bass stream. Any
        prior gains them with --init-from DIR --bass-codebooks N.

        Examples:
          gen train prior --data data/music --codec models/codec --out runs/prior
          gen train prior --data data/music --codec models/codec --out runs/prior \\
              --resume --minutes 90
          gen train prior --data data/music --codec models/codec \\
              --out runs/prior-more --init-from models/prior --steps 2000 \\
              --warmup 100
          gen train prior --data data/music --data data/music2 --codec models/codec \\
              --out runs/prior-2c --init-from models/prior --steps 2000
          gen train prior --data data/music --codec models/codec \\
              --out runs/prior-chords --init-from models/prior --chords --steps 2000
          gen train prior --data data/music --codec models/codec \\
              --out runs/prior-bass --init-from models/prior --bass-codebooks 3
          gen train prior --data data/music --codec models/codec \\
              --out runs/score --init-from models/prior --eval-only
        """)
    @Option(name: .long, help: "Corpus folder (from `gen dataset music`); repeat for several.") var data: [String]
    @Option(name: .long, help: "Trained codec folder.") var codec: String
    @Option(name: .long, help: "Model folder to write.") var out: String
    @Option(name: .long, help: "Codebooks of the codec modelled per frame (new models only).") var codebooks = 4
    @Option(name: .long, help: "Codebook pattern: delay or parallel (new models only).") var pattern: CodebookPattern = .delay
    @Option(name: .long, parsing: .unconditional, help: "Windows per batch.") var batchSize = 8
    @Option(name: .long, help: "Probability of dropping each label (artist, genre, lyrics).") var labelDropout: Float = 0.1
    @Option(name: .long, help: "Probability of dropping every label at once (what --cfg steers from).") var cfgDropout: Float = 0.2
    @Option(name: .long, help: ArgumentHelp("Residual dropout in the transformer's blocks in training steps (0: none; not in evaluation or sampling). For a small corpus the prior learns by heart. Not saved with the run: give it again with --resume.", valueName: "p")) var dropout: Float = 0
    @Option(name: .long, help: ArgumentHelp("In training steps, replace each input code with a random one with probability p (the targets stay clean), so that the prior learns to recover from an unlikely code of its own drawing (0: none; not in evaluation or sampling). Not saved with the run: give it again with --resume.", valueName: "p")) var inputNoise: Float = 0
    @Option(name: .long, help: ArgumentHelp("Scheduled sampling: in training steps, each input code is, with probability p, the prior's own draw at that step (read teacher-forced, without gradients) instead of the corpus's, so that it learns to come back from a plausible code of its own that the corpus did not play; the targets stay the corpus's (0: none; not in evaluation or sampling). A third more time a step. Not saved with the run: give it again with --resume.", valueName: "p")) var scheduledSampling: Float = 0
    @Option(name: .long, parsing: .unconditional, help: "Steps per window, the start state included (new models only).") var context = 512
    @Option(name: .long, help: "Model width (new models only).") var dModel = 256
    @Option(name: .long, help: "Transformer layers (new models only).") var layers = 6
    @Option(name: .long, help: "Attention heads (new models only).") var heads = 4
    @Option(name: .long, help: ArgumentHelp("Start a new run from this prior folder's config and weights.", valueName: "dir")) var initFrom: String?
    @Flag(name: .long, help: "With --init-from: add the bar grid (where each frame falls in its bar and 8-bar phrase, from the corpus's tempo and time signature) to a prior trained without it.") var barGrid = false
    @Flag(name: .long, help: "Drop the bar grid with the labels in training (new models, or with --init-from), so that --cfg steers toward the grid's beats too.") var gridGuidance = false
    @Flag(name: .long, help: "Every step also reads the genre and artist, not only the window's start (new models, or added at zero to an --init-from prior).") var stepLabels = false
    @Flag(name: .long, help: "Every step also reads the chord sounding at its frame (root and quality, from each clip's key and progression, placed on the bar grid; new models, or added at zero to an --init-from prior with a bar grid).") var chords = false
    @Flag(name: .long, help: "Every step also reads its window's onset density (drum strokes and note attacks per second, counted on each clip's audio; new models, or added at zero to an --init-from prior). Pieces then draw a density per piece as the corpus plays their genre.") var onsetDensity = false
    @Option(name: .long, help: ArgumentHelp("Also model the codec's first N bass-stream codebooks (its band below 345 Hz, coded as a waveform, which keeps the bass notes), as rows after the main codebooks' (new models, or added at zero to an --init-from prior).", valueName: "N")) var bassCodebooks: Int?
    @Flag(name: .long, help: "Only score the --init-from prior on every held-out code of the corpora (bits per frame beside the baselines; --out gets the log and the codes cache, no weights).") var evalOnly = false
    @OptionGroup(title: "Training run") var training: TrainingRunOptions<PriorTrainOptions>
    @OptionGroup var globals: GlobalOptions

    var options: PriorTrainOptions {
        var o = PriorTrainOptions(dataDirs: data, codecDir: codec, outDir: out)
        training.apply(to: &o)
        o.initFrom = initFrom; o.evalOnly = evalOnly; o.barGrid = barGrid; o.gridGuidance = gridGuidance
        if gridGuidance && initFrom == nil { o.model.gridGuidance = true }
        o.stepLabels = stepLabels
        if stepLabels && initFrom == nil { o.model.stepLabels = true }
        o.chords = chords
        if chords && initFrom == nil { o.model.chords = true }
        o.onsetDensity = onsetDensity
        if onsetDensity && initFrom == nil { o.model.onsetDensity = true }
        o.bassCodebooks = bassCodebooks
        o.batchSize = batchSize; o.labelDropout = labelDropout; o.cfgDropout = cfgDropout; o.residualDropout = dropout
        o.inputNoise = inputNoise
        o.selfSampled = scheduledSampling
        o.model.codebooks = codebooks; o.model.pattern = pattern
        o.model.context = context; o.model.dModel = dModel; o.model.layers = layers; o.model.heads = heads; o.model.mlpDim = 4 * dModel
        return o
    }

    var writesCheckpoints: Bool { !evalOnly }

    static func train(_ o: PriorTrainOptions) throws { try ioErrors { _ = try PriorTrainer.train(o) } }
}
extension CodebookPattern: ExpressibleByArgument {}
