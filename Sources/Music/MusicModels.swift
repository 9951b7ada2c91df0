// MusicModels.swift — the prior and the codec it was trained on, loaded together and checked
// against each other: the codec level the prior models (from the prior's weights metadata, or
// else the level with the prior's hop), the codec's model id, hop, codebook size and sample rate.
import Engine
import Foundation

public struct MusicModels {
    public let prior: Prior
    public let codec: VQVAE
    /// The codec level whose codes the prior samples.
    public let level: Int

    /// Loads `priorDir` and `codecDir`; a mismatch is an error saying how to fix it.
    public static func load(priorDir: String, codecDir: String) throws -> MusicModels {
        let codec = try VQVAE.load(directory: codecDir)
        let (prior, metadata) = try Prior.loadWithMetadata(directory: priorDir)
        let c = prior.config
        let level: Int
        if let l = metadata["codec_level"].flatMap(Int.init), codec.levels.indices.contains(l) { level = l }
        else if let l = codec.levels.lastIndex(where: { $0.hop == c.hop }) { level = l }
        else {
            throw CodecError("the prior in \(priorDir) models codes of hop \(c.hop), but the codec has hops \(codec.levels.map(\.hop)); retrain the prior on this codec.")
        }
        // The codes of one level depend on that level alone, so a prior that recorded its level's
        // fingerprint accepts a codec whose other levels were retrained.
        if let id = metadata["codec_level_id"] {
            guard id == codec.levelID(level) else {
                throw CodecError("the prior in \(priorDir) was trained on codec level \(level) \(id), but \(codecDir) has \(codec.levelID(level)). "
                                 + "Retrain the prior with `gen train prior --codec \(codecDir)`, or restore the matching codec.")
            }
        } else if let id = metadata["codec_model_id"], id != codec.modelID {
            throw CodecError("the prior in \(priorDir) was trained on codec \(id), but \(codecDir) is \(codec.modelID). "
                             + "Retrain the prior with `gen train prior --codec \(codecDir)`, or restore the matching codec.")
        }
        guard codec.levels[level].hop == c.hop, codec.levels[level].config.codebookSize == c.vocabSize, codec.sampleRate == c.sampleRate else {
            throw CodecError("the prior in \(priorDir) (hop \(c.hop), \(c.vocabSize) codes) does not match codec level \(level); retrain it on this codec.")
        }
        return MusicModels(prior: prior, codec: codec, level: level)
    }
}
