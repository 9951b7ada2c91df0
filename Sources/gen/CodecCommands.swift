// CodecCommands.swift — `gen encode`, `gen decode`, `gen codec` and `gen train codec`: thin
// wrappers over Music.RVQCodec, RVQCodesFile and RVQCodecTrainer. Every output is written to a temporary
// file and renamed, so a failure leaves no partial file; model and I/O failures exit 3.
import ArgumentParser
import Base
import Audio
import Engine
import Foundation
import Music
import NN

/// The codec in the models folder (exit 3 when it is missing or unreadable).
func loadCodec(_ globals: GlobalOptions) throws -> RVQCodec {
    let dir = try globals.modelsFolder()
    return try ioErrors { try MusicModels.loadCodec(modelsFolder: dir) }
}

/// `AudioFile.readMono`, its failures exit 3. `longest`: a longer input is refused.
func readMono(_ path: String, sampleRate: Int, maxSeconds: Double? = nil, longest: Double? = nil) throws -> [Float] {
    try ioErrors {
        try AudioFile.readMono(path, sampleRate: sampleRate, maxSeconds: maxSeconds, longest: longest)
    }
}

/// The longest input `gen encode` and `gen codec` take, and the longest codes `gen decode` takes, in
/// seconds: each holds its whole input and output (about 1 GB an hour), as `gen vocode` does.
let codecLongestSeconds = 3600.0

/// Refuses an output name whose extension names no audio format gen writes, before any work
/// ("-" is a WAV on stdout); exit 3.
func checkAudioOutput(_ output: String) throws {
    _ = try ioErrors { try AudioFileFormat(path: output == "-" ? "stdout.wav" : output) }
}

/// Writes decoded audio to `output` (atomic: nothing under that name unless all succeeded; "-" is stdout).
func writeDecoded(_ samples: [Float], sampleRate: Int, to output: String, rate: Int? = nil, level: LevelOptions? = nil) throws {
    var x = samples, outRate = sampleRate
    if let rate, rate != sampleRate { x = try ioErrors { try Resampler.resample(x, from: sampleRate, to: rate) }; outRate = rate }
    if let level { x = try level.apply(x, sampleRate: outRate) }
    try ioErrors { try AudioFile.write(AudioBuffer(samples: x, sampleRate: outRate), to: output) }
}

/// --bandwidth, --codebooks and --no-bass-stream, shared by encode, decode and codec: which rung
/// of the codec's bitrate ladder to use.
struct BitrateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Bitrate in kbps: the highest rung of the ladder that fits (0.86 kbps per main codebook at hop 256; `gen models` lists the rungs). Default: the top rung.", valueName: "kbps"))
    var bandwidth: Double?
    @Option(name: .long, help: ArgumentHelp("Rung of the ladder by its codebook count (instead of --bandwidth; `gen models` lists each rung's kbps). Default: the top rung.", valueName: "k"))
    var codebooks: Int?
    @Flag(name: .long, help: "Main codebooks only, as the prior models them (rung k: the first k; the bass decoder writes the bass line from 3 up), instead of the ladder with the bass stream.")
    var noBassStream = false

    func validate() throws {
        if let problem = RVQCodecConfig.bitrateProblems(bandwidth: bandwidth, codebooks: codebooks).first { throw ValidationError(problem + ".") }
    }

    /// The rung to encode at.
    func rung(for model: RVQCodec) throws -> CodecRung {
        try model.config.rung(bandwidth: bandwidth, codebooks: codebooks, in: model.config.rungs(bassStream: !noBassStream))
    }

    /// The rung to decode `file` at: with no request, every row it holds (its main rows alone with
    /// --no-bass-stream); else a rung of the ladder its rows can give.
    func rung(for model: RVQCodec, file: RVQCodesFile) throws -> CodecRung {
        let useStream = file.bassCodebooks > 0 && !noBassStream
        if bandwidth == nil && codebooks == nil { return useStream ? file.rung : CodecRung(main: file.mainCodebooks) }
        let ladder = model.config.rungs(bassStream: useStream).filter { $0.main <= file.mainCodebooks && $0.bass <= (useStream ? file.bassCodebooks : 0) }
        return try model.config.rung(bandwidth: bandwidth, codebooks: codebooks, in: ladder)
    }
}

/// "8 codebooks (6 + 2 bass)", "4 codebooks": a rung in messages.
func rungText(_ r: CodecRung) -> String {
    "\(r.total) codebook" + (r.total == 1 ? "" : "s") + (r.bass > 0 ? " (\(r))" : "")
}

/// --no-bass-decoder, shared by decode and codec.
struct BassDecoderOptions: ParsableArguments {
    @Flag(name: .long, help: "Leave out the codec's bass decoder (its waveform network for the band below 345 Hz): faster, the bass line's pitch less exact.")
    var noBassDecoder = false
}

struct Encode: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode audio to codec codes (one I32 tensor, codebooks × frames).",
        discussion: """
        Reads any format libsndfile reads, at any rate and channel count; it is
        downmixed to mono and resampled to 22050 Hz. The codec's codebooks form a
        bitrate ladder (0.86 kbps per main codebook, 6.89 kbps for the top rung's 8):
        pick a rung with --codebooks or --bandwidth. Long files are encoded in bounded
        chunks, up to an hour a file. The codes file format is described in
        docs/REFERENCE.md ("Codes files").

        The ladder mixes two streams: the main codebooks, and from 1.89 kbps up the
        bass stream, which codes the band below 345 Hz as a waveform (three codebooks
        of 4096, 512 and 512 codes) so the bass line keeps its pitch
        (models/codec/MODEL_CARD.md lists the rungs).
        --no-bass-stream keeps to the main codebooks (what the prior models, and what
        `gen music --prime` needs).

        Examples:
          gen encode song.flac -o song.codes.safetensors
          gen encode song.flac -o song.2k.safetensors --bandwidth 2
        """)
    @Argument(help: "Input audio.") var input: String
    @Option(name: .shortAndLong, help: "Codes file (.safetensors).") var output = "codes.safetensors"
    @OptionGroup var bitrate: BitrateOptions
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if output == "-" { throw ValidationError("codes are written to a file: give -o NAME.safetensors (stdout is for audio).") }
        if PathName.ext(output).lowercased() != "safetensors" {
            throw ValidationError("-o '\(output)' must end in .safetensors: a codes file is not audio (use `gen codec` for a round trip to audio).")
        }
    }

    func run() throws {
        let model = try loadCodec(globals)
        let r = try bitrate.rung(for: model)
        try ioErrors { try AudioFile.checkWritable(output) }
        let samples = try readMono(input, sampleRate: model.sampleRate, longest: codecLongestSeconds)
        let file = RVQCodesFile(encoding: samples, model: model, rung: r)
        try ioErrors { try file.write(to: output) }
        if globals.quiet { print(output); return }
        print("\(output)  (\(rungText(r)) × \(file.frames) frames, \(model.config.kbpsText(r)) kbps; codec \(file.codecID))")
    }
}

struct Decode: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode codec codes to audio.",
        discussion: """
        Decodes with every codebook in the file, or a lower rung of the ladder with
        --codebooks (or the highest that --bandwidth allows): every rung decodes on its
        own. The codes must come from the installed codec: a file made by another
        codec, or by the old v1 codec, is refused.

        Codes with the bass stream's rows get their band below 345 Hz from it. Main
        codes alone (--no-bass-stream, or the prior's) get it from the bass decoder, a
        waveform network that writes the bass line from them (the iSTFT decoder's
        21.5 Hz bins are too coarse for its pitch); --no-bass-decoder leaves that out,
        for speed or comparison.

        Example:
          gen decode song.codes.safetensors -o song.wav --codebooks 2
        """)
    @Argument(help: "Codes file (.safetensors).") var input: String
    @Option(name: .shortAndLong, help: "Output audio (.wav, .flac, .ogg), or - for a WAV on stdout.") var output = "decoded.wav"
    @OptionGroup var bitrate: BitrateOptions
    @OptionGroup var bass: BassDecoderOptions
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        try checkAudioOutput(output)
        let file = try ioErrors { try RVQCodesFile.read(input) }
        let model = try loadCodec(globals)
        try ioErrors { try file.check(against: model, path: input) }
        let seconds = Double(file.length) / Double(file.sampleRate)
        guard seconds <= codecLongestSeconds else {
            throw GenError.io(String(format: "'%@' holds %.0f s of codes; gen decode takes at most %.0f s in one file (its memory grows with the length). "
                                     + "Encode the audio in parts of at most that (`sox IN OUT trim 0 %.0f`).", input, seconds, codecLongestSeconds, codecLongestSeconds))
        }
        let r = try bitrate.rung(for: model, file: file)
        let rows = Array(file.mainCodes.prefix(r.main)) + Array(file.codes.suffix(file.bassCodebooks).prefix(r.bass))
        try writeDecoded(model.decode(rows, bassRows: r.bass, length: max(file.length, 1), bass: !bass.noBassDecoder), sampleRate: model.sampleRate, to: output)
        if output != "-" { print(output) }
    }
}

struct Codec: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Round-trip audio through the codec (encode, then decode).",
        discussion: """
        Examples:
          gen codec song.flac -o song.codec.wav            # 6.89 kbps: 5 + 3 bass
          gen codec song.flac -o song.2k.wav --bandwidth 2 # 1.89 kbps: 1 + 1 bass
          gen codec song.flac -o main.wav --no-bass-stream --codebooks 4
        """)
    @Argument(help: "Input audio.") var input: String
    @Option(name: .shortAndLong, help: "Output audio (.wav, .flac, .ogg), or - for a WAV on stdout.") var output = "codec.wav"
    @OptionGroup var bitrate: BitrateOptions
    @OptionGroup var bass: BassDecoderOptions
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        try checkAudioOutput(output)
        let model = try loadCodec(globals)
        let r = try bitrate.rung(for: model)
        if output != "-" { try ioErrors { try AudioFile.checkWritable(output) } }
        let samples = try readMono(input, sampleRate: model.sampleRate, longest: codecLongestSeconds)
        try writeDecoded(model.roundTrip(samples, rung: r, bass: !bass.noBassDecoder), sampleRate: model.sampleRate, to: output)
        if output != "-" {
            print(globals.quiet ? output : "\(output)  (\(rungText(r)), \(model.config.kbpsText(r)) kbps)")
        }
    }
}

struct TrainCodec: TrainCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Train the RVQ music codec on corpora from `gen dataset music`.",
        discussion: """
        Trains the frame-rate codec (STFT-frame encoder, residual VQ of --codebooks
        codebooks of 1024, iSTFT decoder) on random windows of the training clips of
        every --data corpus, each corpus in an equal share of the batches. Quantizer
        dropout teaches the decoder to use any first k codebooks, so one model serves
        every bitrate from 0.86 kbps (k = 1) to 6.9 kbps (k = 8).

        Writes DIR/config.json and DIR/model.safetensors every --save-every steps, the
        optimizer and codebook EMA state in DIR/train_state.safetensors, and the log
        (losses, per-codebook usage and perplexity, held-out log-mel, spectral
        convergence, chroma similarity and flatness at 2 and at all codebooks) in
        DIR/train_log.jsonl. Ctrl-C stops at the end of the step under way with the
        checkpoint written; --resume continues from the last checkpoint.

        --decoder-only --init-from DIR trains a copy of DIR's decoder alone: the
        encoder and codebooks are held, so the codec id stays, and with it every codes
        file and the prior made for DIR. --phase-head integrated gives the decoder a
        head that predicts each frame's phase advance and integrates it (a phase
        vocoder), which keeps a held note's pitch; an absolute head's weights seed it.
        --decoder-blocks N grows the decoder: the added blocks start as the identity,
        so the run starts from DIR's output with more capacity to fill.
        --train-codebooks 1,2,3,4,5,5,8 has each batch decode with one of those
        codebook counts (a count given twice is drawn twice as often) instead of
        quantizer dropout's: a fine-tune aimed at the rungs the ladder uses. A
        count of 0 decodes the encoder's latents unquantized: with --decoder-only,
        what the autoencoder itself can reach at no bitrate (a ceiling to measure
        with `gen-eval codec-ceiling`, not a codec to ship).

        --bass-decoder --init-from DIR adds a bass decoder to DIR's codec and trains it
        alone (everything else held, so the codes, the codec id and the prior stay
        valid): a waveform network at 689 Hz that reads the codes' latent and the
        decoded band below 345 Hz and writes that band anew, where a 1024-point frame's
        21.5 Hz bins are coarser than a semitone. --bass-init FILE starts it from
        given weights (bench/lowband_decoder.py export writes its prototype's).

        --bass-stream B --init-from DIR gives DIR's codec a bass stream: the band below
        345 Hz, 8 samples a frame at 689 Hz, coded as a waveform by B codebooks of 1024
        fitted to the training clips by k-means (a few minutes; no gradient steps). A
        waveform has no bins to fall between, so the bass line keeps its pitch. The
        main codes, the codec id and the prior stay valid; the ladder then mixes the
        two streams (from 8 main and 3 bass: 1, 1 + 1, 2 + 1, 2 + 2, 3 + 2, 3 + 3,
        4 + 3, 5 + 3). --bass-stream-sizes 4096,512,512 (the shipped codec's) gives
        the first bass codebook 12 bits and the others 9: the low rungs get a cleaner
        bass line, and the rungs with all three keep their bitrate.

        --bin-head C gives the decoder a second, frequency-local head beside its linear
        one: C channels per bin and two convolutions along the frequency axis. A linear
        head from W features only reaches a W-dimensional family of spectra, too few to
        say where each partial lies between two bins; the bin head has no such limit.
        It starts at zero, so with --init-from the run starts from that codec's output;
        --bin-head-only then trains it alone, on the decoder's features as they are.

        --encoder-input magnitude+frequency lets the encoder read each bin's phase
        advance beside its magnitude (where a low note lies between the 21.5 Hz bins);
        with --init-from, a magnitude encoder's weights seed it and the first codes
        are the old ones. It changes what the codes mean: the prior must be trained
        on the new codec's codes (`gen train prior --codec DIR`).

        --long-window N lets the encoder read, beside each 1024-point frame, the bins
        up to 689 Hz of an N-point window centred on it (4096: 5.4 Hz apart, where the
        frame's 21.5 Hz bins cannot tell a bass note from the next). With --init-from
        the new inputs start at zero, so the first codes are the old ones; the codes
        change as it trains, and the prior must be trained on them. Pair it with
        --bass-weight so that a loss asks the codes for the bass line.

        --adversarial-weight W adds a discriminator phase, as `gen train vocoder` has
        (multi-period and multi-resolution discriminators, LSGAN + feature matching,
        W × both beside the reconstruction losses): an adversary judges the decoded
        waveform, phase included. Usually with --decoder-only --init-from.

        Examples:
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec --minutes 120
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec --resume
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec-phase --init-from models/codec --decoder-only \\
              --phase-head integrated --steps 3000
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec-if --init-from models/codec \\
              --encoder-input magnitude+frequency --steps 3000
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec-long --init-from models/codec \\
              --long-window 4096 --bass-weight 2 --steps 2000
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec-bs --init-from models/codec --bass-stream 3 \\
              --bass-stream-postfilter 2
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec-bin --init-from models/codec --decoder-only \\
              --bin-head 8 --steps 3000
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec-deep --init-from models/codec --decoder-only \\
              --decoder-blocks 9 --train-codebooks 1,2,3,4,5,5,5,8 --lr 2e-4
          gen train codec --data data/music --data data/realmusic \\
              --out runs/codec-gan --init-from models/codec --decoder-only \\
              --adversarial-weight 0.1 --lr 1e-4 --steps 3000
        """)
    @Option(name: .long, help: "Corpus folder (from `gen dataset music`); repeat for several.") var data: [String]
    @Option(name: .long, help: "Model folder to write.") var out: String
    @Option(name: .long, parsing: .unconditional, help: "Windows per batch.") var batchSize = 12
    @Option(name: .long, help: "STFT frames per training window (hop 256: 64 frames = 0.74 s).") var segmentFrames = 64
    @Option(name: .long, help: "Codebooks of the residual quantizer (new models only).") var codebooks = 8
    @Option(name: .long, help: "Channels of the encoder and decoder (new models only).") var width = 256
    @Option(name: .long, help: ArgumentHelp("Start from this codec folder's config and weights.", valueName: "dir")) var initFrom: String?
    @Flag(name: .long, help: "Train the decoder alone (the encoder, the codebooks and the codec id are kept); needs --init-from or --resume.") var decoderOnly = false
    @Option(name: .long, help: ArgumentHelp("The decoder's phase head: absolute (Vocos) or integrated (phase advance, integrated).", valueName: "kind")) var phaseHead: PhaseHead?
    @Option(name: .long, help: ArgumentHelp("What the encoder reads of each STFT frame: magnitude, or magnitude+frequency (the phase advance too).", valueName: "kind")) var encoderInput: EncoderInput?
    @Option(name: .long, help: ArgumentHelp("The encoder also reads the bins up to 689 Hz of a window of this many points centred on each frame (a power of two above 1024; 4096 resolves 5.4 Hz).", valueName: "points")) var longWindow: Int?
    @Option(name: .long, help: ArgumentHelp("Add a frequency-local head of this many channels per bin beside the decoder's linear one (it starts at zero: with --init-from the run starts from that codec's output).", valueName: "channels")) var binHead: Int?
    @Option(name: .long, help: ArgumentHelp("Bins each convolution of the bin head spans (odd).", valueName: "bins")) var binHeadKernel = 5
    @Flag(name: .long, help: "Train the decoder's bin head alone (everything else held); needs --init-from or --resume.") var binHeadOnly = false
    @Flag(name: .long, help: "Add a bass decoder (a waveform network for the band below 345 Hz) to the --init-from codec and train it alone; the codes and the codec id are kept.") var bassDecoder = false
    @Option(name: .long, help: ArgumentHelp("The new bass decoder's starting weights (safetensors under its own tensor names, as bench/lowband_decoder.py export writes); with --bass-decoder, or --bass-weight on a new codec.", valueName: "file")) var bassInit: String?
    @Option(name: .long, help: ArgumentHelp("Train the whole codec with its bass decoder's loss at this weight: the codes learn to carry the bass line (they change, and so does the codec id: a prior on the old codes needs retraining). A new codec gets a bass decoder from the start.", valueName: "w")) var bassWeight: Float = 0
    @Option(name: .long, help: ArgumentHelp("Fit a bass stream of this many codebooks beside the --init-from codec (k-means on the training clips' band below 345 Hz; no gradient steps, the codes and codec id kept).", valueName: "codebooks")) var bassStream: Int?
    @Option(name: .long, help: "Lloyd iterations per bass-stream codebook.") var bassStreamIterations = 40
    @Option(name: .long, help: "Band vectors (frames) drawn from each corpus for the bass stream's fit.") var bassStreamVectors = 250_000
    @Option(name: .long, help: ArgumentHelp("Each bass-stream codebook's size, comma-separated, one per codebook (default: the main codebooks' size for every one).", valueName: "n,n,...")) var bassStreamSizes: IntegerList?
    @Option(name: .long, help: ArgumentHelp("Strength of the bass stream's decode-time Wiener postfilter (default none, as the shipped codec), which lowers the quantization noise between the bass notes; 2 is the strength its card measured.", valueName: "beta")) var bassStreamPostfilter: Float?
    @Option(name: .long, help: "Weight of the phase losses (group delay, instantaneous frequency; and the phase itself for an absolute head).") var phaseWeight: Float?
    @Option(name: .long, help: ArgumentHelp("Blocks of the decoder (default 6). With --init-from, more than the codec's own adds blocks that start as the identity, so the run starts from its output.", valueName: "n")) var decoderBlocks: Int?
    @Option(name: .long, help: ArgumentHelp("Codebook counts the batches draw from, comma-separated (repeat one to draw it more often), instead of quantizer dropout: aim a decoder fine-tune at the rungs in use; 0 = the unquantized latents.", valueName: "k,k,...")) var trainCodebooks: IntegerList?
    @OptionGroup(title: "Discriminator phase") var adversarial: AdversarialOptions
    @OptionGroup(title: "Training run") var training: TrainingRunOptions<RVQCodecTrainOptions>
    @OptionGroup var globals: GlobalOptions

    var options: RVQCodecTrainOptions {
        var o = RVQCodecTrainOptions(dataDirs: data, outDir: out)
        training.apply(to: &o)
        o.batchSize = batchSize; o.segmentFrames = segmentFrames
        o.model.codebooks = codebooks; o.model.encoderWidth = width; o.model.decoderWidth = width
        o.initFrom = initFrom; o.decoderOnly = decoderOnly; o.phaseHead = phaseHead; o.phaseWeight = phaseWeight
        o.encoderInput = encoderInput
        o.longWindow = longWindow.map { n in LongWindowInput(nFFT: n, bins: n > 0 ? min(n / 2 + 1, (689 * n + 11024) / 22050 + 1) : 0) }
        o.binHead = binHead.map { BinHeadLayout(channels: $0, kernel: binHeadKernel) }; o.binHeadOnly = binHeadOnly
        o.bassDecoder = bassDecoder; o.bassInit = bassInit; o.bassWeight = bassWeight
        o.bassStream = bassStream; o.bassStreamIterations = bassStreamIterations; o.bassStreamVectors = bassStreamVectors
        o.bassStreamPostfilter = bassStreamPostfilter; o.bassStreamSizes = bassStreamSizes?.values
        o.decoderBlocks = decoderBlocks; o.trainingCodebooks = trainCodebooks?.values
        adversarial.apply(to: &o.adversarial)
        return o
    }

    static func train(_ o: RVQCodecTrainOptions) throws { try ioErrors { try RVQCodecTrainer.train(o) } }
}

extension PhaseHead: ExpressibleByArgument {}
extension EncoderInput: ExpressibleByArgument {}

/// A comma-separated list of integers: `--bass-stream-sizes 4096,512,512` (one size per
/// bass-stream codebook), `--train-codebooks 1,2,3,4,5,5,8`.
struct IntegerList: ExpressibleByArgument {
    var values: [Int]
    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, !parts.contains(nil) else { return nil }
        values = parts.map { $0! }
    }
}
