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

    /// Where the models folder keeps the v1 codec (the Jukebox VQ-VAE) the shipped prior was trained
    /// on, beside the RVQ codec in codec/.
    public static let v1CodecFolder = "codec-v1"

    /// Throws a message saying what to do when `codecDir` holds the RVQ codec (its config has no
    /// `levels`): the prior models codes of the v1 VQ-VAE codec.
    public static func requireV1Codec(_ codecDir: String) throws {
        if let data = FileManager.default.contents(atPath: codecDir + "/config.json"),
           let keys = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], keys["levels"] == nil, keys["codebooks"] != nil {
            throw CodecError("'\(codecDir)' holds the RVQ codec, but the prior models codes of the v1 VQ-VAE codec, which ships "
                             + "as models/\(v1CodecFolder): use that folder (--codec models/\(v1CodecFolder) for `gen train prior`).")
        }
    }

    /// Loads `priorDir` and `codecDir`; a mismatch is an error saying how to fix it.
    public static func load(priorDir: String, codecDir: String) throws -> MusicModels {
        try requireV1Codec(codecDir)
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
