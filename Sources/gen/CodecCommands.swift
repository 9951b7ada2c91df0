// CodecCommands.swift — `gen encode`, `gen decode`, `gen codec` and `gen train codec`: thin
// wrappers over Music.VQVAE, CodesFile and CodecTrainer. Every output is written to a temporary
// file and renamed, so a failure leaves no partial file; model and I/O failures exit 3.
import ArgumentParser
import Base
import Audio
import Engine
import Foundation
import Music

/// The codec folder in the models folder, or a message saying how to train one (exit 3).
func codecDirectory(_ globals: GlobalOptions) throws -> String {
    guard let dir = ModelsDirectory.resolve(globals.modelsDir) else {
        throw GenError.io("no models folder found. Pass --models-dir DIR or set GEN_MODELS.")
    }
    let codecDir = dir + "/codec"
    guard FileManager.default.fileExists(atPath: codecDir + "/config.json") else {
        throw GenError.io("no trained codec in \(codecDir). Train one with "
                          + "`gen train codec --data DATA_DIR --out \(codecDir)` (build DATA_DIR with `gen dataset music`).")
    }
    return codecDir
}

/// The codec in the models folder (exit 3 when it is missing or unreadable).
func loadCodec(_ globals: GlobalOptions) throws -> VQVAE {
    let codecDir = try codecDirectory(globals)
    return try ioErrors { try VQVAE.load(directory: codecDir) }
}

/// Any audio libsndfile reads, as 22050 Hz mono (channels averaged, resampled with libsamplerate).
func readMono(_ path: String, sampleRate: Int, maxSeconds: Double? = nil) throws -> [Float] {
    try ioErrors {
        var audio = try AudioFile.read(path, maxSeconds: maxSeconds).mono()
        if audio.sampleRate != sampleRate { audio = try Resampler.resample(audio, to: sampleRate) }
        return audio.samples
    }
}

/// Streams a level's decoded audio into `output` (atomic: nothing under that name unless all succeeded).
func writeDecoded(_ model: VQVAE, codes: [Int32], level: Int, length: Int, to output: String) throws {
    try ioErrors {
        if output == "-" {  // stdout: a WAV built in memory
            try AudioFile.write(AudioBuffer(samples: model.decode(codes, level: level, length: max(length, 1)), sampleRate: model.sampleRate), to: "-")
            return
        }
        let writer = try AudioFileWriter(path: output, sampleRate: model.sampleRate)
        do {
            try model.decode(codes, level: level, length: max(length, 1)) { try writer.append($0) }
            try writer.finish()
        } catch { writer.cancel(); throw error }
    }
}

func checkLevel(_ level: Int?, _ model: VQVAE) throws -> Int {
    let l = level ?? 0
    guard model.levels.indices.contains(l) else {
        let hops = model.levels.enumerated().map { "\($0.offset) (hop \($0.element.hop))" }.joined(separator: ", ")
        throw GenError.usage("--level \(l) does not exist; the codec has levels \(hops).")
    }
    return l
}

struct Encode: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        abstract: "Encode audio to VQ-VAE codes (one I32 tensor per level).",
        discussion: """
        Reads any format libsndfile reads, at any rate and channel count; it is
        downmixed to mono and resampled to 22050 Hz. Long files are encoded in
        10-second chunks. The codes file format is described in the README ("Codes
        files").

        Example:
          gen encode song.flac -o song.codes.safetensors
        """)
    @Argument(help: "Input audio.") var input: String
    @Option(name: .shortAndLong, help: "Codes file (.safetensors).") var output = "codes.safetensors"
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if output == "-" { throw ValidationError("codes are written to a file: give -o NAME.safetensors (stdout is for audio).") }
        if PathName.ext(output).lowercased() != "safetensors" {
            throw ValidationError("-o '\(output)' must end in .safetensors: a codes file is not audio (use `gen codec` for a round trip to audio).")
        }
    }

    func run() throws {
        let model = try loadCodec(globals)
        try ioErrors { try AudioFile.checkWritable(output) }
        let samples = try readMono(input, sampleRate: model.sampleRate)
        let file = CodesFile(encoding: samples, model: model)
        try ioErrors { try file.write(to: output) }
        if globals.quiet { print(output); return }
        let counts = file.codes.keys.sorted().map { "level \($0): \(file.codes[$0]!.count) codes" }.joined(separator: ", ")
        print("\(output)  (\(counts); model \(file.modelID))")
    }
}

struct Decode: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        abstract: "Decode VQ-VAE codes to audio.",
        discussion: """
        Each level decodes on its own; --level picks one (default: the finest level in
        the file). The codes must come from the installed codec: a file made by another
        codec is refused.

        Example:
          gen decode song.codes.safetensors -o song.wav --level 1
        """)
    @Argument(help: "Codes file (.safetensors).") var input: String
    @Option(name: .shortAndLong, help: "Output audio (.wav, .flac, .ogg), or - for a WAV on stdout.") var output = "decoded.wav"
    @Option(name: .long, help: "Codec level to decode.") var level: Int?
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        _ = try ioErrors { try AudioFileFormat(path: output == "-" ? "stdout.wav" : output) }
        let file = try ioErrors { try CodesFile.read(input) }
        let model = try loadCodec(globals)
        try ioErrors { try file.check(against: model, path: input) }
        let l = try checkLevel(level ?? file.codes.keys.min(), model)
        guard let codes = file.codes[l] else {
            throw GenError.usage("\(input) holds levels \(file.codes.keys.sorted()), not level \(l). Pick one of those with --level.")
        }
        try writeDecoded(model, codes: codes, level: l, length: file.length, to: output)
        if output != "-" { print(output) }
    }
}

struct Codec: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        abstract: "Round-trip audio through the codec (encode, then decode one level).",
        discussion: "Example: gen codec song.flac -o song.level1.wav --level 1")
    @Argument(help: "Input audio.") var input: String
    @Option(name: .shortAndLong, help: "Output audio (.wav, .flac, .ogg), or - for a WAV on stdout.") var output = "codec.wav"
    @Option(name: .long, help: "Codec level (0 = finest).") var level: Int?
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        _ = try ioErrors { try AudioFileFormat(path: output == "-" ? "stdout.wav" : output) }
        let model = try loadCodec(globals)
        let l = try checkLevel(level, model)
        let samples = try readMono(input, sampleRate: model.sampleRate)
        let codes = model.encode(samples, level: l)
        try writeDecoded(model, codes: codes, level: l, length: samples.count, to: output)
        if output != "-" {
            print(globals.quiet ? output
                  : String(format: "%@  (level %d, hop %d, %.2f kbps)", output, l, model.levels[l].hop, model.config.bitrate(level: l) / 1000))
        }
    }
}

struct TrainCodec: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Train the VQ-VAE codec on a corpus from `gen dataset music`.",
        discussion: """
        Trains every level (or only --level) on random windows of the training clips.
        Writes DIR/config.json and DIR/model.safetensors every --save-every steps, the
        optimizer and codebook EMA state in DIR/train_state.safetensors, and the log
        (losses, spectral convergence, codebook usage, perplexity, held-out metrics) in
        DIR/train_log.jsonl. Stop at any time; --resume continues from the last
        checkpoint.

        Example:
          gen train codec --data data/music --out models/codec --steps 20000
          gen train codec --data data/music --out models/codec --resume --minutes 90
        """)
    @Option(name: .long, help: "Corpus folder (from `gen dataset music`).") var data: String
    @Option(name: .long, help: "Model folder to write.") var out: String
    @Option(name: .long, help: "Train only this level (default: all).") var level: Int?
    @Option(name: .long, help: "Windows per batch.") var batchSize = 8
    @Option(name: .long, help: "Seconds per training window.") var windowSeconds: Double = 1.0
    @Option(name: .long, help: "Channels of every conv (new models only).") var width = 32
    @Option(name: .long, help: "Codes per codebook (new models only).") var codebookSize = 1024
    @OptionGroup(title: "Training run") var training: TrainingRunOptions<MusicTrainingDefaults>
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1.") }
        if !(windowSeconds >= 0.1 && windowSeconds <= 30) { throw ValidationError("--window-seconds must be between 0.1 and 30.") }
        if width < 1 { throw ValidationError("--width must be at least 1.") }
        if codebookSize < 2 { throw ValidationError("--codebook-size must be at least 2.") }
        if let level, level < 0 { throw ValidationError("--level cannot be negative.") }
    }

    func run() throws {
        var o = CodecTrainOptions(dataDir: data, outDir: out)
        training.apply(to: &o)
        o.level = level; o.batchSize = batchSize; o.windowSeconds = windowSeconds
        for i in o.model.levels.indices { o.model.levels[i].width = width; o.model.levels[i].codebookSize = codebookSize }
        if let level, !training.resume, level >= o.model.levels.count {
            throw GenError.usage("--level \(level) does not exist: the codec has levels 0…\(o.model.levels.count - 1).")
        }
        if globals.quiet { o.log = { _ in } }
        try ioErrors { try CodecTrainer.train(o) }
    }
}
