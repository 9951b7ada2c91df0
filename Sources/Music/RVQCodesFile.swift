// RVQCodesFile.swift — `gen encode` output for the RVQ codec: safetensors with one I32 tensor
// "codes" of shape (K, S), K the codebooks kept (a prefix of the codec's ladder) and S = 1 +
// ⌊length / hop⌋ frames, and metadata format "gen-rvq-codes", format_version 2, codec_id,
// sample_rate, hop, codebooks (K), codebook_size and length (samples at sample_rate). Every number
// is range-checked before it sizes anything; a v1 file (the Jukebox VQ-VAE's per-level codes) is
// refused with a message that says what to do. Codes of a rung with the bass stream
// (BassStream.swift) keep its rows after the main ones: metadata bass_codebooks (B, the last B of
// the K rows) and bass_stream_id; a file without them holds main codes only.
import Engine
import Foundation

public struct RVQCodesFile: Equatable {
    public static let format = "gen-rvq-codes"
    public static let version = "2"
    /// The retired v1 codec's codes files (the Jukebox VQ-VAE levels), recognised to say so.
    public static let v1Format = "gen-vqvae-codes"

    public var codecID: String
    public var sampleRate: Int
    public var hop: Int
    public var codebookSize: Int
    /// Samples of the original signal (what decoding returns).
    public var length: Int
    /// codes[k][s], k < K: the main codebooks' rows, then `bassCodebooks` rows of the bass stream.
    public var codes: [[Int32]]
    /// Rows of the bass stream, the last of `codes` (0: main codes only).
    public var bassCodebooks: Int
    /// The bass stream that made those rows (`BassStream.streamID`); nil without them.
    public var bassStreamID: String?

    /// Every row, the bass stream's included.
    public var codebooks: Int { codes.count }
    public var mainCodebooks: Int { codes.count - bassCodebooks }
    public var mainCodes: [[Int32]] { Array(codes.prefix(mainCodebooks)) }
    public var rung: CodecRung { CodecRung(main: mainCodebooks, bass: bassCodebooks) }
    public var frames: Int { codes.first?.count ?? 0 }

    public init(codecID: String, sampleRate: Int, hop: Int, codebookSize: Int, length: Int, codes: [[Int32]],
                bassCodebooks: Int = 0, bassStreamID: String? = nil) {
        self.codecID = codecID; self.sampleRate = sampleRate; self.hop = hop
        self.codebookSize = codebookSize; self.length = length; self.codes = codes
        self.bassCodebooks = bassCodebooks; self.bassStreamID = bassCodebooks > 0 ? bassStreamID : nil
    }

    /// `samples` (22050 Hz mono) encoded with the first `codebooks` main codebooks of `model` (all by default).
    public init(encoding samples: [Float], model: RVQCodec, codebooks: Int? = nil) {
        self.init(encoding: samples, model: model, rung: CodecRung(main: codebooks ?? model.config.codebooks))
    }

    /// `samples` encoded at a rung of `model`'s ladder, its bass stream's rows included.
    public init(encoding samples: [Float], model: RVQCodec, rung: CodecRung) {
        self.init(codecID: model.modelID, sampleRate: model.sampleRate, hop: model.hop, codebookSize: model.config.codebookSize,
                  length: samples.count, codes: model.encode(samples, rung: rung),
                  bassCodebooks: rung.bass, bassStreamID: model.bassStream?.streamID)
    }

    public func safetensors() -> SafeTensorsFile {
        var file = SafeTensorsFile(metadata: [
            "format": Self.format, "format_version": Self.version, "codec_id": codecID,
            "sample_rate": String(sampleRate), "hop": String(hop), "codebooks": String(codebooks),
            "codebook_size": String(codebookSize), "length": String(length),
        ])
        if bassCodebooks > 0 {
            file.metadata["bass_codebooks"] = String(bassCodebooks)
            file.metadata["bass_stream_id"] = bassStreamID ?? ""
        }
        file.tensors["codes"] = SafeTensor(int32s: codes.flatMap { $0 }, shape: [codebooks, frames])
        return file
    }

    /// Writes atomically (temporary file + rename).
    public func write(to path: String) throws { try safetensors().write(to: path) }

    public static func read(_ path: String) throws -> RVQCodesFile {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.read(path) } catch {
            throw CodecError("\(path) is not a readable codes file: \(error)")
        }
        return try checked(file, path: path)
    }

    /// A codes file held in memory (`source` names it in messages), checked as `read` checks it.
    public static func parse(_ bytes: [UInt8], source: String) throws -> RVQCodesFile {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile.parse(bytes, source: source) } catch {
            throw CodecError("\(source) is not a readable codes file: \(error)")
        }
        return try checked(file, path: source)
    }

    static func checked(_ file: SafeTensorsFile, path: String) throws -> RVQCodesFile {
        func bad(_ why: String) -> CodecError { CodecError("\(path) is not a valid codes file: \(why). Re-create it with `gen encode`.") }
        let m = file.metadata
        if m["format"] == v1Format {
            throw CodecError("\(path) holds codes of the old codec (v1, the Jukebox VQ-VAE levels), which the RVQ codec cannot decode. "
                             + "Re-encode the original audio with `gen encode`.")
        }
        guard m["format"] == format else { throw bad("its metadata has no format \"\(format)\"") }
        guard m["format_version"] == version else { throw bad("format_version \(m["format_version"] ?? "missing") is not \(version)") }
        guard let id = m["codec_id"], !id.isEmpty else { throw bad("codec_id is missing") }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let v = m[key].flatMap({ Int($0) }), range.contains(v) else {
                throw bad("\(key) is missing or not a number in \(range.lowerBound)...\(range.upperBound)")
            }
            return v
        }
        let rate = try int("sample_rate", 1...384_000), hop = try int("hop", 1...65_536)
        let k = try int("codebooks", 1...32), size = try int("codebook_size", 2...65_536)
        // A day of audio at most: lengths beyond it only serve to overflow the frame arithmetic.
        let length = try int("length", 0...(rate * 86_400))
        guard file.tensors.count == 1, let t = file.tensors["codes"] else {
            throw bad("it must hold exactly one tensor, \"codes\", got \(file.tensors.keys.sorted())")
        }
        let frames = 1 + length / hop
        guard t.dtype == .i32, t.shape == [k, frames] else {
            throw bad("\"codes\" must be an I32 tensor of shape [\(k), \(frames)] (codebooks, 1 + length / hop), got \(t.dtype.rawValue) \(t.shape)")
        }
        var bass = 0, bassID: String? = nil
        if m["bass_codebooks"] != nil {
            bass = try int("bass_codebooks", 1...max(1, k - 1))
            guard k >= 2 else { throw bad("bass_codebooks needs a main row before the bass rows, and there is one row") }
            guard let b = m["bass_stream_id"], !b.isEmpty else { throw bad("bass_stream_id is missing beside bass_codebooks") }
            bassID = b
        }
        let v: [Int32]
        do { v = try t.int32s() } catch { throw bad("\"codes\": \(error)") }
        // Main rows against codebook_size; the bass stream's rows against its own size when decoded (`check`).
        let mainValues = (k - bass) * frames
        if let i = v.indices.first(where: { v[$0] < 0 || Int(v[$0]) >= (($0 < mainValues) ? size : 65_536) }) {
            throw bad("code \(v[i]) of codebook \(i / frames) at frame \(i % frames) is outside 0..<\(i < mainValues ? size : 65_536)")
        }
        let codes = (0..<k).map { Array(v[($0 * frames)..<(($0 + 1) * frames)]) }
        return RVQCodesFile(codecID: id, sampleRate: rate, hop: hop, codebookSize: size, length: length, codes: codes,
                            bassCodebooks: bass, bassStreamID: bassID)
    }

    /// Checks that `model` made these codes (same id, hop, codebook size, and no more codebooks than it has).
    public func check(against model: RVQCodec, path: String) throws {
        guard codecID == model.modelID else {
            throw CodecError("\(path) was encoded by codec \(codecID), but the loaded codec is \(model.modelID). "
                             + "Decode it with the codec that made it (--models-dir), or re-encode the audio with this one.")
        }
        guard hop == model.hop, codebookSize == model.config.codebookSize, sampleRate == model.sampleRate,
              mainCodebooks <= model.config.codebooks else {
            // Like for like, main codebooks against main codebooks, and the rate on both sides.
            throw CodecError("\(path) has hop \(hop), \(mainCodebooks) main codebooks of \(codebookSize) at \(sampleRate) Hz; the codec has hop "
                             + "\(model.hop), \(model.config.codebooks) main codebooks of \(model.config.codebookSize) at \(model.sampleRate) Hz. Re-encode the audio.")
        }
        guard bassCodebooks > 0 else { return }
        guard let stream = model.bassStream else {
            throw CodecError("\(path) holds \(bassCodebooks) rows of a bass stream, and the loaded codec has none. "
                             + "Decode it with the codec that made it (--models-dir), or re-encode the audio with this one.")
        }
        guard bassStreamID == stream.streamID, bassCodebooks <= stream.layout.codebooks else {
            throw CodecError("\(path) holds \(bassCodebooks) bass-stream rows of stream \(bassStreamID ?? "?"), but the loaded codec's bass stream is "
                             + "\(stream.streamID) with \(stream.layout.codebooks) codebooks. Decode it with the codec that made it, or re-encode the audio.")
        }
        for ((k, row), size) in zip(codes.suffix(bassCodebooks).enumerated(), stream.layout.stageSizes) {
            if let s = row.firstIndex(where: { Int($0) >= size }) {
                throw CodecError("\(path) is not a valid codes file: bass code \(row[s]) of bass codebook \(k) at frame \(s) is outside 0..<\(size). Re-create it with `gen encode`.")
            }
        }
    }
}
