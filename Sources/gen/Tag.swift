// Tag.swift — `gen tag` and `gen train tagger`: thin wrappers over Music.Tagger and
// Music.TaggerTrainer (a PaSST-style spectrogram transformer; see Tagger.swift).
import ArgumentParser
import Audio
import DSP
import Engine
import Foundation
import Music

struct Tag: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Tag music: genre, artist and vocals (gen's spectrogram transformer).",
        discussion: """
        Each file (any format libsndfile reads) is mixed to mono at 22050 Hz and tagged
        in windows of 9.85 s every half window; the probabilities are averaged over the
        windows (a file longer than an hour is tagged on its first hour, so memory
        stays bounded). Prints the top genres, the
        likeliest artist and the probability of singing; --json writes one object per
        line instead:
          {"file": "a.wav", "genre": {"jazz": 0.91, ...}, "vocals": 0.07, ...}
        --embeddings writes each file's embedding (the transformer's CLS state,
        averaged over windows) to a safetensors file, a tensor "embeddings" of shape
        (files, dim), for Fréchet distances or other tools.

        Examples:
          gen tag song.wav
          gen tag out/demo/*.wav --json --top 3
        """)
    @Argument(help: "Audio files.", completion: .file()) var files: [String] = []
    @Flag(name: .long, help: "One JSON object per file on stdout.") var json = false
    @Option(name: .long, help: "Genres (and artists) listed per file.") var top = 3
    @Option(name: .long, help: ArgumentHelp("Write the files' embeddings to this .safetensors file.", valueName: "out.safetensors"),
            completion: .file()) var embeddings: String?
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one audio file, e.g. `gen tag song.wav`.") }
        if !(1...100).contains(top) { throw ValidationError("--top must be between 1 and 100, got \(top).") }
        if let embeddings, !embeddings.lowercased().hasSuffix(".safetensors") {
            throw ValidationError("--embeddings writes a .safetensors file; give a name ending in .safetensors.")
        }
    }

    /// At most this much of each file is read (a longer file is tagged on its first hour).
    static let maxSeconds = 3600.0

    func run() throws {
        if let embeddings { try ioErrors { try AudioFile.checkWritable(embeddings) } }
        let dir = try globals.modelsFolder() + "/tagger"
        let tagger = try ioErrors { try Tagger.load(directory: dir) }
        let fb = MelFilterbank(config: .standard)
        let c = tagger.config
        var vectors: [Float] = [], failures = 0
        for file in files {
            do {
                let audio = try readMono(file, sampleRate: c.sampleRate, maxSeconds: Self.maxSeconds)
                let r = tagger.tag(audio, filterbank: fb)
                vectors += r.embedding.map { Float($0) }
                let genres = c.genres.indices.sorted { r.genre[$0] > r.genre[$1] }.prefix(top)
                let artists = c.artists.indices.sorted { r.artist[$0] > r.artist[$1] }.prefix(top)
                if json {
                    func object(_ names: [String], _ p: [Double], _ order: ArraySlice<Int>) -> String {
                        "{" + order.map { "\(jsonQuoted(names[$0])): \(String(format: "%.4f", p[$0]))" }.joined(separator: ", ") + "}"
                    }
                    print("{\"file\": \(jsonQuoted(file)), \"genre\": \(object(c.genres, r.genre, genres)), \"artist\": \(object(c.artists, r.artist, artists)), "
                          + "\"vocals\": \(String(format: "%.4f", r.vocals)), \"windows\": \(r.windows), \"embedding_dim\": \(c.dModel)}")
                } else {
                    let g = genres.map { String(format: "%@ %.2f", c.genres[$0], r.genre[$0]) }.joined(separator: ", ")
                    let a = artists.first.map { String(format: "%@ %.2f", c.artists[$0], r.artist[$0]) } ?? "-"
                    print("\(file): genre \(g) · artist \(a) · vocals \(String(format: "%.2f", r.vocals))")
                }
                fflush(stdout)
            } catch let e as GenError {
                GenMain.printError("\(file): \(e.message)")
                failures += 1
            }
        }
        if let embeddings, failures < files.count {
            var out = SafeTensorsFile(metadata: ["format": "gen-tagger-embeddings", "files": files.joined(separator: "\n")])
            out.tensors["embeddings"] = SafeTensor(floats: vectors, shape: [files.count - failures, c.dModel])
            try ioErrors { try out.write(to: embeddings) }
            if !globals.quiet { FileHandle.standardError.write("embeddings: \(embeddings)\n".data(using: .utf8)!) }
        }
        if failures > 0 {
            throw GenError(message: "\(failures) of \(files.count) files could not be tagged (see above).", code: files.count == 1 ? 3 : 1)
        }
    }
}

struct TrainTagger: TrainCommand {
    static let configuration = CommandConfiguration(
        commandName: "tagger",
        abstract: "Train the music tagger (genre, artist, vocals) on original clips.",
        discussion: """
        A PaSST-style spectrogram transformer on 16 × 16 patches of the 80-band
        log-mel, trained on random 9.85 s crops of the corpus's clips (never on
        generated music: the tagger is also gen music's yardstick). Patchout leaves out
        whole time columns (--patchout-time), frequency rows (--patchout-freq) and
        single patches (--patchout-random) during training, which is faster and
        regularises; --mixup blends each crop with another of its batch, labels alike.
        Writes OUT/config.json, OUT/model.safetensors and OUT/train_state.safetensors
        every --save-every steps and the log in OUT/train_log.jsonl, with held-out
        genre and vocals accuracy. Ctrl-C stops at the end of the step under way with
        the checkpoint written; --resume continues.

        --init-from DIR starts a new run (fresh optimizer and schedule) from a trained
        tagger, for example to fine-tune the shipped one with mixup; it scores the
        held-out clips before the first step, so the log shows where it started.
        Repeat --data to train on several corpora (for example two seeds of `gen
        dataset music`); each corpus's held-out clips are scored on their own and
        pooled.

        Examples:
          gen train tagger --data data/music --out runs/tagger --minutes 60
          gen train tagger --data data/music --out runs/tagger-mixup \\
              --init-from models/tagger --mixup 0.3 --lr 2e-4 --steps 1500
        """)
    @Option(name: .long, help: "Corpus folder (from `gen dataset music`); repeat for several.") var data: [String]
    @Option(name: .long, help: "Model folder to write.") var out: String
    @Option(name: .long, parsing: .unconditional, help: "Windows per batch.") var batchSize = 16
    @Option(name: .long, help: "Probability of leaving out each time column of patches.") var patchoutTime: Float = 0.3
    @Option(name: .long, help: "Probability of leaving out each frequency row of patches.") var patchoutFreq: Float = 0.2
    @Option(name: .long, help: "Probability of leaving out each single patch.") var patchoutRandom: Float = 0
    @Option(name: .long, help: ArgumentHelp("Mixup's α: each crop is blended with another by λ ~ Beta(α, α), λ ≥ ½ (PaSST uses 0.3); 0 = off.", valueName: "alpha")) var mixup: Float = 0
    @Option(name: .long, help: ArgumentHelp("Start a new run (fresh optimizer and schedule) from this tagger folder's config and weights.", valueName: "dir")) var initFrom: String?
    @Option(name: .long, help: "Model width (new models only).") var dModel = 192
    @Option(name: .long, help: "Transformer layers (new models only).") var layers = 4
    @Option(name: .long, help: "Attention heads (new models only).") var heads = 4
    @OptionGroup(title: "Training run") var training: TrainingRunOptions<TaggerTrainOptions>
    @OptionGroup var globals: GlobalOptions

    var options: TaggerTrainOptions {
        var o = TaggerTrainOptions(dataDirs: data, outDir: out)
        training.apply(to: &o)
        o.batchSize = batchSize; o.patchoutTime = patchoutTime; o.patchoutFreq = patchoutFreq; o.patchoutRandom = patchoutRandom
        o.mixup = mixup; o.initFrom = initFrom
        o.model.dModel = dModel; o.model.layers = layers; o.model.heads = heads; o.model.mlpDim = 4 * dModel
        return o
    }

    static func train(_ o: TaggerTrainOptions) throws { try ioErrors { _ = try TaggerTrainer.train(o) } }
}
