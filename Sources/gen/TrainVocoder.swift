// TrainVocoder.swift — `gen train vocoder`: thin wrapper over VocoderTrainer.
import ArgumentParser
import Engine
import Foundation
import NN
import Speech

struct TrainVocoder: TrainCommand {
    static let configuration = CommandConfiguration(
        commandName: "vocoder",
        abstract: "Train the neural vocoder (mel → waveform) on a speech corpus's audio.",
        discussion: """
        A Vocos-style network at the mel frame rate predicts each frame's STFT
        magnitude and phase; an inverse STFT makes the samples. It learns from the
        teacher audio that `gen dataset speech` keeps beside each mel (all voices:
        one vocoder serves every voice). Loss: mel L1 + multi-resolution STFT +
        --phase-weight × the anti-wrapping phase losses.

        With --acoustic DIR it fine-tunes on that FastSpeech model's own mels (the
        corpus's durations keep them aligned with the audio) and, in half of the
        batches, still on the teacher's mels, starting from --init-from.

        --phase-head integrated predicts each frame's phase advance and integrates it
        (a phase vocoder) instead of each frame's phase: a steady vowel keeps its
        pitch between the STFT bins. With --init-from, an absolute head's weights
        seed it. It helped the music codec; on speech it measured worse (onsets lose
        their coherence; see models/vocoder/MODEL_CARD.md), so the shipped vocoder
        keeps the absolute head.

        --adversarial-weight W adds a discriminator phase (HiFi-GAN's multi-period
        discriminator on the samples, a multi-resolution one on log spectrograms,
        LSGAN losses + feature matching, W × both beside the reconstruction losses);
        it is how a vocoder learns phase a mel does not pin down. Usually a
        fine-tune: --init-from a vocoder trained without it. The discriminators
        are saved in DIR too, and --resume continues them.

        Writes DIR/config.json, DIR/model.safetensors, DIR/train_state.safetensors
        and DIR/train_log.jsonl (losses; held-out mel L1 and spectral convergence
        every --eval-every steps). Ctrl-C stops at the end of the step under way with
        the checkpoint written; --resume continues.

        Examples:
          gen train vocoder --data data/speech --out runs/vocoder --minutes 90
          gen train vocoder --data data/speech --out runs/vocoder-ft \\
              --acoustic models/speech --init-from runs/vocoder --steps 1500
          gen train vocoder --data data/speech --out runs/vocoder-phase \\
              --init-from models/vocoder --phase-head integrated --steps 3000
          gen train vocoder --data data/speech --out runs/vocoder-gan \\
              --init-from models/vocoder --adversarial-weight 0.1 --lr 2e-4 --steps 4000
        """)

    @Option(name: .long, help: "Corpus folder (from `gen dataset speech`).") var data: String
    @Option(name: .long, help: "Model folder to write.") var out: String
    @Option(name: .long, parsing: .unconditional, help: "Segments per batch.") var batchSize = 16
    @Option(name: .long, help: "Mel frames per segment (86 per second).") var segmentFrames = 48
    @Option(name: .long, help: "Backbone width (channels).") var width = 192
    @Option(name: .long, help: "ConvNeXt blocks.") var blocks = 6
    @Option(name: .long, help: "Weight of the phase losses (0: off).") var phaseWeight: Float = 0.3
    @Option(name: .long, help: "Weight of the head's log-magnitude L1 against the teacher's STFT (0: off).") var magnitudeWeight: Float = 0
    @OptionGroup(title: "Discriminator phase") var adversarial: AdversarialOptions
    @Option(name: .long, help: ArgumentHelp("Fine-tune on this FastSpeech model's mels.", valueName: "dir")) var acoustic: String?
    @Option(name: .long, help: ArgumentHelp("Start from this vocoder folder's weights.", valueName: "dir")) var initFrom: String?
    @Option(name: .long, help: ArgumentHelp("The phase head: absolute (Vocos) or integrated (phase advance, integrated; keeps a held pitch between bins).", valueName: "kind")) var phaseHead: PhaseHead?
    @OptionGroup(title: "Training run") var training: TrainingRunOptions<VocoderTrainOptions>
    @OptionGroup var globals: GlobalOptions

    var options: VocoderTrainOptions {
        var o = VocoderTrainOptions(dataDir: data, outDir: out)
        training.apply(to: &o)
        o.batchSize = batchSize; o.segmentFrames = segmentFrames; o.phaseWeight = phaseWeight; o.magnitudeWeight = magnitudeWeight
        o.model.width = width; o.model.blocks = blocks; o.model.mlpDim = 3 * width
        o.acousticModel = acoustic; o.initFrom = initFrom; o.phaseHead = phaseHead
        adversarial.apply(to: &o.adversarial)
        return o
    }

    static func train(_ o: VocoderTrainOptions) throws {
        do { try VocoderTrainer.train(o) } catch let e as CheckpointError { throw GenError.io(e.description) }
    }
}
