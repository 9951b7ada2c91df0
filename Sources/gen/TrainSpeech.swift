// TrainSpeech.swift — `gen train speech` (a thin wrapper over SpeechTrainer) and `gen train postfilter`.
import ArgumentParser
import Base
import Engine
import Foundation
import Speech

struct TrainSpeech: TrainCommand {
    static let configuration = CommandConfiguration(
        commandName: "speech",
        abstract: "Train the FastSpeech 2 model on a corpus from `gen dataset speech`.",
        discussion: """
        Writes DIR/config.json and DIR/model.safetensors every --save-every steps, with
        the optimizer state in DIR/train_state.safetensors and the loss log in
        DIR/train_log.jsonl. Ctrl-C stops at the end of the step under way with the
        checkpoint written; --resume continues from the last checkpoint.

        Examples:
          gen train speech --data data/speech --out models/speech --steps 20000
          gen train speech --data data/speech --out models/speech --resume --minutes 90
        """)

    @Option(name: .long, help: "Corpus folder (from `gen dataset speech`).") var data: String
    @Option(name: .long, help: "Model folder to write.") var out: String
    @Option(name: .long, help: "Padded mel frames per batch.") var batchFrames = 6000
    @Option(name: .long, help: "Model width (d_model).") var dModel = 128
    @Option(name: .long, help: "FFT blocks in the encoder and in the decoder.") var layers = 4
    @Option(name: .long, help: "Inner width of each block's convolutional feed-forward (default: 4 × --d-model).") var ffnDim: Int?
    @OptionGroup(title: "Training run") var training: TrainingRunOptions<SpeechTrainOptions>
    @OptionGroup var globals: GlobalOptions

    var options: SpeechTrainOptions {
        var o = SpeechTrainOptions(dataDir: data, outDir: out)
        training.apply(to: &o)
        o.framesPerBatch = batchFrames
        var arch = FastSpeechConfig(vocabSize: 0, speakers: [], pitchMean: [], pitchStd: [], energyMean: 0, energyStd: 1)
        arch.dModel = dModel; arch.encoderLayers = layers; arch.decoderLayers = layers
        arch.ffnDim = ffnDim ?? 4 * dModel
        o.model = arch
        return o
    }

    static func train(_ o: SpeechTrainOptions) throws {
        do { try SpeechTrainer.train(o) } catch let e as CheckpointError { throw GenError.io(e.description) }
    }
}

/// `gen train postfilter`: fits the speech model's mel postfilter (MelPostfilter.swift) on its
/// training corpus. No gradient steps: the gains are statistics of the teacher's mels and the
/// model's own, so it takes about 15 seconds.
struct TrainPostfilter: ParsableCommand, HasGlobalOptions {
    static let configuration = CommandConfiguration(
        commandName: "postfilter",
        abstract: "Fit the speech model's mel postfilter on its corpus (15 s, no steps).",
        discussion: """
        A FastSpeech model trained to the mean of its targets predicts a mel whose fine
        ripple, across neighbouring bands and from frame to frame, is flatter than its
        teacher's: the voice sounds smooth and buzzy. The postfilter scales that ripple
        back, band by band and voice by voice, to the teacher's size. This command
        measures both on --utterances training utterances per voice (the model's mel
        as heard through the neural vocoder of --models-dir) and writes the gains into
        OUT/config.json ("postfilter"), beside a copy of the model's weights.
        `gen speech --no-postfilter` speaks without it.

        Examples:
          gen train postfilter --data data/speech --out runs/speech-pf
          gen train postfilter --data data/speech --out models/speech
        """)

    @Option(name: .long, help: "Corpus folder (from `gen dataset speech`).") var data: String
    @Option(name: .long, help: "The speech model folder to fit the postfilter for.") var model = "models/speech"
    @Option(name: .long, help: "Model folder to write (the same as --model updates it in place).") var out: String
    @Option(name: .long, help: "Training utterances per voice (10 to 2000).") var utterances = 100
    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        guard (10...2000).contains(utterances) else { throw ValidationError("--utterances must be 10 to 2000 (100 is plenty).") }
    }

    func run() throws {
        let synth = try ioErrors { try SpeechSynthesizer(modelDir: model) }
        let (train, _) = try ioErrors { try SpeechCorpusIO.load(data) }
        let voices = synth.model.config.speakers
        let missing = voices.filter { v in !train.contains { $0.voice == v } }
        guard missing.isEmpty else {
            throw GenError.usage("the corpus in \(data) has no training utterances of \(missing.joined(separator: ", ")); "
                                 + "fit on the corpus the model was trained on (`gen dataset speech`).")
        }
        var lastShown = 0
        let vocoder = try loadVocoder(.neural, globals)
        let filter = MelPostfilter.fit(model: synth.model, utterances: train, perVoice: utterances, vocoder: vocoder) { done, total in
            if !globals.quiet, done == total || done - lastShown >= 50 { lastShown = done; printLine("postfilter: \(done)/\(total) utterances") }
        }
        var config = synth.model.config
        config.postfilter = filter
        if let problem = config.validate().first { throw GenError.io("the fitted postfilter is not valid (\(problem)); is the corpus the model's?") }
        try ioErrors {
            try Folders.create(out)
            let from = URL(fileURLWithPath: model).standardizedFileURL.path, to = URL(fileURLWithPath: out).standardizedFileURL.path
            if from != to {
                let data = try Data(contentsOf: URL(fileURLWithPath: model + "/model.safetensors"))
                try atomicWrite(data, to: out + "/model.safetensors")
            }
            try ConfigFile.write(config, to: out + "/config.json")
        }
        for voice in voices where !globals.quiet {
            let s = filter.spectralGain[voice] ?? [], t = filter.temporalGain[voice] ?? []
            func span(_ g: [Float]) -> String { String(format: "%.2f–%.2f", g.min() ?? 1, g.max() ?? 1) }
            printLine("\(voice): spectral detail gains \(span(s)), temporal \(span(t))")
        }
        print(out + "/config.json")
    }
}
