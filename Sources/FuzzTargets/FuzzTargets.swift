// FuzzTargets.swift — the parsers that read what a user (or an attacker) hands gen, as functions of
// raw bytes: the safetensors reader, the codes-file reader, model config.json decoding (with each
// model's range checks and the sizes derived from a config that passes them) and the prompt-line
// parser (with SSML and the sentence splitter behind `gen speech`). `gen-fuzz` runs them under
// libFuzzer (`make fuzz`); the tests replay the inputs kept under Tests/Fixtures/fuzz. Each must
// return (a clear error is fine) and never crash or hang.
import Batch
import Engine
import Foundation
import Music
import Speech

public enum FuzzTarget: String, CaseIterable {
    case safetensors, codes, config, prompt

    /// Feeds one input to this target.
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .safetensors: FuzzTargets.safetensors(bytes)
        case .codes: FuzzTargets.codes(bytes)
        case .config: FuzzTargets.config(bytes)
        case .prompt: FuzzTargets.prompt(bytes)
        }
    }
}

public enum FuzzTargets {
    public static func safetensors(_ bytes: [UInt8]) {
        guard let file = try? SafeTensorsFile.parse(bytes, source: "fuzz") else { return }
        // Every tensor that parsed must also decode (or refuse) without trapping.
        for (_, t) in file.tensors {
            switch t.dtype {
            case .f32, .f16, .bf16: _ = try? t.floats()
            case .i32: _ = try? t.int32s()
            case .i64: _ = try? t.int64s()
            }
        }
        _ = try? file.serialized()
    }

    public static func codes(_ bytes: [UInt8]) {
        if let c = try? RVQCodesFile.parse(bytes, source: "fuzz") { _ = (try? c.safetensors().serialized(), c.frames) }
    }

    /// The first byte picks the model; the rest is its config.json.
    public static func config(_ bytes: [UInt8]) {
        guard let kind = bytes.first else { return }
        let json = Data(bytes.dropFirst())
        let decoder = JSONDecoder()
        switch kind % 6 {
        case 1:
            guard let c = try? decoder.decode(PriorConfig.self, from: json), c.validate().isEmpty else { return }
            _ = (c.tokensPerSecond, c.contextSeconds)
        case 2:
            guard let c = try? decoder.decode(FastSpeechConfig.self, from: json) else { return }
            _ = c.validate()
        case 3:
            guard let c = try? decoder.decode(VocoderConfig.self, from: json), c.validate().isEmpty else { return }
            _ = c.layout.receptiveFrames
        case 5:
            guard let c = try? decoder.decode(TaggerConfig.self, from: json), c.validate().isEmpty else { return }
            _ = (c.freqPatches, c.timePatches, c.patchSize)
        default:   // 0 (and 4, the byte older seeds used)
            guard let c = try? decoder.decode(RVQCodecConfig.self, from: json), c.validate().isEmpty else { return }
            _ = (c.encoderLayout.receptiveFrames, c.decoderLayout.receptiveFrames, c.bitrate(codebooks: c.codebooks))
        }
    }

    public static func prompt(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        for format in [PromptParser.Format.jsonLines, .text] {
            let set = PromptParser.parse(text, file: "/fuzz/p.jsonl", format: format, batchSeed: 1)
            for item in set.items { _ = try? PromptParser.outputName(item.out) }
        }
        // Prompt lines and `gen speech` text may be SSML.
        _ = try? SSML.parse(text)
        // And text is cut into sentences for flite, each bounded whatever the bytes (outside inline
        // phones, which are never cut and are limited by their own count).
        for s in TextFrontend.sentences(text) where !s.contains("[[") && !s.contains("]]") {
            precondition(s.count <= TextFrontend.maxSentenceCharacters, "a sentence of \(s.count) characters reached flite")
        }
    }
}
