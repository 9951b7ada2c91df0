// TrainSpeech.swift — `gen train speech`: thin wrapper over SpeechTrainer.
import ArgumentParser
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
    @OptionGroup(title: "Training run") var training: TrainingRunOptions<SpeechTrainOptions>
    @OptionGroup var globals: GlobalOptions

    var options: SpeechTrainOptions {
        var o = SpeechTrainOptions(dataDir: data, outDir: out)
        training.apply(to: &o)
        o.framesPerBatch = batchFrames
        var arch = FastSpeechConfig(vocabSize: 0, speakers: [], pitchMean: [], pitchStd: [], energyMean: 0, energyStd: 1)
        arch.dModel = dModel; arch.encoderLayers = layers; arch.decoderLayers = layers
        o.model = arch
        return o
    }

    static func train(_ o: SpeechTrainOptions) throws {
        do { try SpeechTrainer.train(o) } catch let e as CheckpointError { throw GenError.io(e.description) }
    }
}
