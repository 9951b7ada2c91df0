// MusicModels.swift — the prior and the RVQ codec it was trained on, loaded together and checked
// against each other: the codec's model id (recorded in the prior's weights metadata), hop,
// codebook size, codebook count and sample rate.
import Engine
import Foundation

public struct MusicModels {
    public let prior: Prior
    public let codec: RVQCodec

    /// The RVQ codec in `dir`; a folder holding something else (such as the retired v1 VQ-VAE,
    /// whose config has `levels`) is an error saying what to use instead.
    public static func loadCodec(_ dir: String) throws -> RVQCodec {
        if let data = FileManager.default.contents(atPath: dir + "/config.json"),
           let keys = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], keys["levels"] != nil {
            throw CodecError("'\(dir)' holds a v1 VQ-VAE codec, which gen no longer reads; the prior models codes of the RVQ codec "
                             + "(models/codec, or train one with `gen train codec`).")
        }
        return try RVQCodec.load(directory: dir)
    }

    /// Why a prior with `prior`'s config cannot sample codes of `codec`; empty when it can.
    public static func mismatch(prior c: PriorConfig, codec: RVQCodec) -> [String] {
        var problems: [String] = []
        if c.vocabSize != codec.config.codebookSize || c.hop != codec.hop || c.sampleRate != codec.sampleRate {
            problems.append("the prior (\(c.vocabSize) codes, hop \(c.hop), \(c.sampleRate) Hz) does not match the codec "
                            + "(\(codec.config.codebookSize) codes, hop \(codec.hop), \(codec.sampleRate) Hz)")
        }
        let rows = c.rows
        if rows.main > codec.config.codebooks {
            problems.append("the prior models \(rows.main) main codebooks but the codec has \(codec.config.codebooks)")
        }
        if !rows.bassSizes.isEmpty {
            let stream = codec.bassStream?.layout.stageSizes ?? []
            if Array(stream.prefix(rows.bassSizes.count)) != rows.bassSizes {
                problems.append("the prior models bass-stream codebooks of \(rows.bassSizes.map(String.init).joined(separator: ", ")) codes, but the codec's bass stream has "
                                + (stream.isEmpty ? "none" : stream.map(String.init).joined(separator: ", ")))
            }
        }
        return problems
    }

    /// Why the prior whose weights carry `metadata` cannot read `codec`'s bass stream (it was trained
    /// on another fit of it); nil when it can, or when it models no bass codebooks.
    public static func bassStreamMismatch(prior c: PriorConfig, metadata: [String: String], codec: RVQCodec) -> String? {
        guard c.bassCodebookSizes != nil, let id = metadata["bass_stream_id"], let stream = codec.bassStream, id != stream.streamID else { return nil }
        return "the prior was trained on bass stream \(id), but the codec's is \(stream.streamID)"
    }

    /// DIR/codec of a models folder; missing, an error naming the command that trains one.
    static func codecFolder(in dir: String) throws -> String {
        let codecDir = dir + "/codec"
        guard FileManager.default.fileExists(atPath: codecDir + "/config.json") else {
            throw CodecError("no trained codec in \(codecDir). Train one with "
                             + "`gen train codec --data DATA_DIR --out \(codecDir)` (build DATA_DIR with `gen dataset music`).")
        }
        return codecDir
    }

    /// The codec of a models folder (DIR/codec).
    public static func loadCodec(modelsFolder dir: String) throws -> RVQCodec { try loadCodec(codecFolder(in: dir)) }

    /// The prior and codec of a models folder (DIR/prior, DIR/codec); a missing one is an error
    /// naming the command that trains it.
    public static func load(modelsFolder dir: String) throws -> MusicModels {
        let priorDir = dir + "/prior"
        guard FileManager.default.fileExists(atPath: priorDir + "/config.json") else {
            throw CodecError("no trained prior in \(priorDir). Train one with "
                             + "`gen train prior --data DATA_DIR --codec \(dir)/codec --out \(priorDir)`.")
        }
        return try load(priorDir: priorDir, codecDir: codecFolder(in: dir))
    }

    /// Loads `priorDir` and `codecDir`; a mismatch is an error saying how to fix it.
    public static func load(priorDir: String, codecDir: String) throws -> MusicModels {
        let codec = try loadCodec(codecDir)
        let (prior, metadata) = try Prior.loadWithMetadata(directory: priorDir)
        if let id = metadata["codec_model_id"], id != codec.modelID {
            throw CodecError("the prior in \(priorDir) was trained on codec \(id), but \(codecDir) is \(codec.modelID). "
                             + "Retrain the prior with `gen train prior --codec \(codecDir)`, or restore the matching codec.")
        }
        let problems = mismatch(prior: prior.config, codec: codec) + [bassStreamMismatch(prior: prior.config, metadata: metadata, codec: codec)].compactMap { $0 }
        if !problems.isEmpty {
            throw CodecError(problems.joined(separator: "; ") + ". Retrain the prior with `gen train prior --codec \(codecDir)`.")
        }
        // Sampling steps read half-precision weights and KV caches: 1.4–2.4× faster steps, the same
        // next-code distributions (ShippedMusicTests bounds the difference; the prior's card has it).
        prior.useHalfPrecisionSteps()
        return MusicModels(prior: prior, codec: codec)
    }
}

extension RVQCodec {
    /// The rows a prior with config `c` models of `samples`: the codes of its codec rung (main
    /// codebooks, then bass-stream ones), laid out as its rows (`PriorRowLayout`).
    public func encode(_ samples: [Float], forPrior c: PriorConfig) -> [[Int32]] {
        let layout = c.rows
        return layout.rows(codec: encode(samples, rung: layout.rung))
    }

    /// `length` samples from a prior's rows (config `c`): main codebooks through the decoder (and its
    /// bass decoder), any bass-stream rows replacing the band below 345 Hz.
    public func decode(priorRows rows: [[Int32]], config c: PriorConfig, length: Int) -> [Float] {
        let layout = c.rows
        return decode(layout.codec(rows: rows), bassRows: layout.rung.bass, length: length)
    }
}
