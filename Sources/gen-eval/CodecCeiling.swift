// CodecCeiling.swift — `gen-eval codec-ceiling`: what the codec's autoencoder gives before any
// codebook is spent. Each clip goes through the encoder and straight into the decoder with its
// latents unquantized (the ceiling every rung of the ladder works under), the same with the bass
// stream's band put in (what the top rung's bass rows give on top), and through the first K main
// codebooks alone; codec_eval.py and music_fidelity.py then score the folders against the clips.
// The gap from the ceiling to a rung is what quantization costs; the gap from the ceiling to the
// original is the autoencoder's own (models/codec/MODEL_CARD.md uses it to say which one limits
// the top rung's log-mel).
import ArgumentParser
import Audio
import Engine
import Foundation
import Music

struct CodecCeiling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec-ceiling",
        abstract: "Decode clips from the codec's unquantized latents (and from K main codebooks) for scoring.",
        discussion: """
        Writes OUT/latent/NAME.wav (the encoder's latents into the decoder, no codebook), \
        OUT/latent+bass/NAME.wav (the same, its band below 345 Hz replaced by the bass stream's \
        top rung, when the codec has one) and OUT/mainK/NAME.wav for each --codebooks K (main \
        codebooks only, no bass decoder). Then, for example:
          python3 ../shared/eval/codec_eval.py --pairs IN OUT/latent
        Example: gen-eval codec-ceiling out/eval-codec/mma/ref out/ceiling/mma --codebooks 5 8
        """)
    @Argument(help: "Folder of clips (any format libsndfile reads).") var input: String
    @Argument(help: "Output folder.") var output: String
    @Option(help: "Models folder (its codec/ is used).") var models = "models"
    @Option(parsing: .upToNextOption, help: "Main codebook counts to decode as well.") var codebooks: [Int] = [5, 8]

    func run() throws {
        Runtime.configure()
        let codec: RVQCodec
        do { codec = try RVQCodec.load(directory: models + "/codec") } catch { fail("cannot load the codec from \(models)/codec: \(error)") }
        if let bad = codebooks.first(where: { !(1...codec.config.codebooks).contains($0) }) {
            fail("--codebooks \(bad): this codec has \(codec.config.codebooks) main codebooks")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: input).filter { !$0.hasPrefix(".") }.sorted() } catch { fail("cannot list \(input): \(error)") }
        let top = codec.config.rungs().last
        let bassRows = codec.bassStream == nil ? 0 : top?.bass ?? 0
        let folders = ["latent"] + (bassRows > 0 ? ["latent+bass"] : []) + codebooks.map { "main\($0)" }
        for f in folders { try FileManager.default.createDirectory(atPath: output + "/" + f, withIntermediateDirectories: true) }
        var written = 0
        for name in names {
            let x: [Float]
            do { x = try AudioFile.readMono(input + "/" + name, sampleRate: codec.sampleRate) } catch {
                FileHandle.standardError.write(Data("gen-eval: skipped \(name): \(error)\n".utf8))
                continue
            }
            guard !x.isEmpty else { FileHandle.standardError.write(Data("gen-eval: skipped \(name): no samples\n".utf8)); continue }
            let stem = (name as NSString).deletingPathExtension + ".wav"
            func write(_ y: [Float], _ folder: String) throws {
                try AudioFile.write(AudioBuffer(samples: y, sampleRate: codec.sampleRate), to: output + "/" + folder + "/" + stem)
            }
            var y = codec.decodeUnquantized(x)
            try write(y, "latent")
            if bassRows > 0, let stream = codec.bassStream, let top {
                stream.apply(codes: Array(codec.encode(x, rung: top).suffix(bassRows)), audio: &y)
                try write(y, "latent+bass")
            }
            for k in codebooks { try write(codec.decode(codec.encode(x, codebooks: k), length: x.count, bass: false), "main\(k)") }
            written += 1
        }
        print("\(written) clips into \(folders.map { output + "/" + $0 }.joined(separator: ", "))")
    }
}
