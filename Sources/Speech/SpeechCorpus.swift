// SpeechCorpus.swift — the teacher corpus for FastSpeech: flite voices speak generated sentences;
// each utterance keeps its phone ids, the frames per phone (from flite's segment end times,
// rounded so they add up to the mel length), the log-mel, and per-phone pitch and energy.
//
// On disk: DIR/corpus.json (recipe and counts), DIR/metadata.jsonl (one line per utterance with
// its split), DIR/utts/<id>.safetensors (tokens I32, durations I32, mel F16 (T, 80), pitch F32,
// energy F32). Pitch is mean log F0 over a phone's voiced frames (0 = none); energy is mean log
// frame energy (FastSpeech 2 §2.3, phoneme-level as in ming024/FastSpeech2).
import Audio
import DSP
import Engine
import Foundation

public struct SpeechUtterance {
    public var id: String
    public var voice: String
    public var text: String
    public var tokens: [Int]        // (N)
    public var durations: [Int]     // (N) frames; sums to `frames`
    public var pitch: [Float]       // (N) mean log F0 of voiced frames, 0 when none
    public var energy: [Float]      // (N) mean log frame energy
    public var mel: [Float]         // (T, 80)
    /// The 22050 Hz waveform the mel was computed from (what the vocoder learns to make), when loaded.
    public var audio: [Float]?      // (L)
    public var frames: Int { durations.reduce(0, +) }

    public init(id: String, voice: String, text: String, tokens: [Int], durations: [Int], pitch: [Float],
                energy: [Float], mel: [Float], audio: [Float]? = nil) {
        self.id = id; self.voice = voice; self.text = text; self.tokens = tokens; self.durations = durations
        self.pitch = pitch; self.energy = energy; self.mel = mel; self.audio = audio
    }
}

public struct SpeechCorpusInfo: Codable {
    public var voices: [String]
    public var sentencesPerVoice: Int
    public var seed: UInt64
    public var sampleRate: Int
    public var hop: Int
    public var nMels: Int
    public var phoneSetSize: Int
    public var utterances: Int
    public var validation: Int
    public var seconds: Double
    /// For a corpus imported from recordings (`--ljspeech`): the source folder and the flite voice
    /// whose synthesis was aligned to them; nil for the flite teacher corpus.
    public var source: String? = nil
    public var alignVoice: String? = nil

    enum CodingKeys: String, CodingKey {
        case voices, sentencesPerVoice = "sentences_per_voice", seed, sampleRate = "sample_rate", hop
        case nMels = "n_mels", phoneSetSize = "phone_set_size", utterances, validation, seconds
        case source, alignVoice = "align_voice"
    }
}

struct SpeechMetadataLine: Codable {
    var id: String, voice: String, text: String, split: String, frames: Int, phones: Int, file: String
}

public enum SpeechFeatures {
    static let mel = MelConfig.standard
    static var filterbank: MelFilterbank { .standard }
    static let stft = STFT(config: MelConfig.standard.stft)

    /// Phone end times (seconds, one per token; tokens without a segment repeat the previous end)
    /// → frames per token that add up to `frames` exactly.
    public static func durations(ends: [Double], frames: Int, sampleRate: Int = 22050, hop: Int = 256) -> [Int] {
        var out = [Int](repeating: 0, count: ends.count)
        var previous = 0
        for (i, end) in ends.enumerated() {
            var boundary = Int((end * Double(sampleRate) / Double(hop)).rounded())
            boundary = min(max(boundary, previous), frames)
            if i == ends.count - 1 { boundary = frames }  // the last phone absorbs rounding and the tail
            out[i] = boundary - previous
            previous = boundary
        }
        return out
    }

    /// Means of `values` over each token's frame span, skipping entries for which `use` is false.
    static func perToken(_ values: [Float], durations: [Int], use: (Float) -> Bool) -> [Float] {
        var out = [Float](repeating: 0, count: durations.count)
        var start = 0
        for (i, d) in durations.enumerated() {
            var s: Float = 0, n = 0
            for f in start..<min(start + d, values.count) where use(values[f]) { s += values[f]; n += 1 }
            out[i] = n > 0 ? s / Float(n) : 0
            start += d
        }
        return out
    }

    /// Everything the corpus stores for one teacher utterance. `audio22k` is already at 22050 Hz;
    /// `audio16k` (flite's native rate) is used for pitch, which YIN resolves better there.
    public static func analyse(audio22k: [Float], pitchSource: [Float], pitchRate: Int, ends: [Double])
        -> (mel: [Float], durations: [Int], pitch: [Float], energy: [Float]) {
        let s = spectra(audio22k)
        let durations = durations(ends: ends, frames: s.frames)
        let p = prosody(magnitude: s.magnitude, frames: s.frames, durations: durations,
                        pitchSource: pitchSource, pitchRate: pitchRate)
        return (s.mel, durations, p.pitch, p.energy)
    }

    /// `text` spoken by a flite voice and analysed as the corpus stores it: the phone tokens and
    /// their frames (from flite's own segment times), the log-mel, and per-token pitch and energy.
    public static func teacher(_ text: String, voice: String) throws
        -> (tokens: [Int], durations: [Int], mel: [Float], pitch: [Float], energy: [Float], audio: [Float]) {
        let a = try TextFrontend.analyse(text, voice: voice, withAudio: true)
        guard let audio = a.audio else { throw FliteError.synthesisFailed(text) }
        let audio22 = try Resampler.resample(audio, from: a.sampleRate, to: self.mel.sampleRate)
        var ends: [Double] = [], acc = 0.0
        for d in a.durations { acc += d; ends.append(acc) }
        let f = analyse(audio22k: audio22, pitchSource: audio, pitchRate: a.sampleRate, ends: ends)
        return (a.ids, f.durations, f.mel, f.pitch, f.energy, audio22)
    }

    /// One STFT of 22050 Hz audio: its linear magnitude (T, F) and the log-mel (T, 80), exactly
    /// MelFilterbank.logMel. The magnitude also gives the frame energy (`prosody`).
    public static func spectra(_ audio22k: [Float]) -> (magnitude: [Float], mel: [Float], frames: Int) {
        let mag = stft.magnitude(audio22k)                                          // (T, F)
        let mel = filterbank.apply(mag).map { Foundation.log(max($0, MelFilterbank.logFloor)) }  // (T, M)
        return (mag, mel, mel.count / self.mel.nMels)
    }

    /// Per-token pitch (mean log F0 over voiced frames, YIN on `pitchSource`) and energy (mean log
    /// frame energy from the magnitude spectrum) for tokens spanning `durations` frames.
    public static func prosody(magnitude mag: [Float], frames: Int, durations: [Int], pitchSource: [Float], pitchRate: Int)
        -> (pitch: [Float], energy: [Float]) {
        let hopSeconds = Double(self.mel.hop) / Double(self.mel.sampleRate)
        let f0 = PitchTracker.yin(pitchSource, sampleRate: pitchRate, hopSeconds: hopSeconds, frames: frames)
        let logF0 = f0.map { $0 > 0 ? Foundation.log($0) : 0 }
        let pitch = perToken(logF0, durations: durations, use: { $0 > 0 })
        // frame energy: log of the L2 norm of the linear magnitude spectrum
        let bins = mag.count / max(frames, 1)
        var frameEnergy = [Float](repeating: 0, count: frames)
        for t in 0..<frames {
            var s: Float = 0
            for f in 0..<bins { s += mag[t * bins + f] * mag[t * bins + f] }
            frameEnergy[t] = Foundation.log(max(s.squareRoot(), 1e-5))
        }
        let energy = perToken(frameEnergy, durations: durations, use: { _ in true })
        return (pitch, energy)
    }
}

public enum SpeechCorpusIO {
    public static func write(_ u: SpeechUtterance, to path: String) throws {
        var f = SafeTensorsFile(metadata: ["id": u.id, "voice": u.voice, "text": u.text])
        f.tensors["tokens"] = SafeTensor(int32s: u.tokens.map(Int32.init), shape: [u.tokens.count])
        f.tensors["durations"] = SafeTensor(int32s: u.durations.map(Int32.init), shape: [u.durations.count])
        f.tensors["pitch"] = SafeTensor(floats: u.pitch, shape: [u.pitch.count])
        f.tensors["energy"] = SafeTensor(floats: u.energy, shape: [u.energy.count])
        f.tensors["mel"] = SafeTensor(floats: u.mel, shape: [u.frames, u.mel.count / max(u.frames, 1)], dtype: .f16)
        // F16 keeps 11 significant bits at every level (about 66 dB below each sample), finer
        // than 16-bit PCM for the quiet parts.
        if let audio = u.audio { f.tensors["audio"] = SafeTensor(floats: audio, shape: [audio.count], dtype: .f16) }
        try f.write(to: path)
    }

    /// Reads one utterance file; `withAudio` also decodes its waveform (absent in corpora built
    /// before the vocoder existed: `hasAudio` tells).
    public static func read(_ path: String, withAudio: Bool = false) throws -> SpeechUtterance {
        let f = try SafeTensorsFile.read(path)
        func get(_ name: String) throws -> SafeTensor {
            guard let t = f.tensors[name] else {
                throw CheckpointError(path: path, message: "utterance file lacks '\(name)'; rebuild the corpus with `gen dataset speech`.")
            }
            return t
        }
        let u = SpeechUtterance(id: f.metadata["id"] ?? path, voice: f.metadata["voice"] ?? "", text: f.metadata["text"] ?? "",
                                tokens: try get("tokens").int32s().map(Int.init),
                                durations: try get("durations").int32s().map(Int.init),
                                pitch: try get("pitch").floats(), energy: try get("energy").floats(),
                                mel: try get("mel").floats(),
                                audio: withAudio ? try get("audio").floats() : nil)
        guard u.tokens.count == u.durations.count, u.pitch.count == u.tokens.count, u.energy.count == u.tokens.count,
              u.mel.count == u.frames * 80 else {
            throw CheckpointError(path: path, message: "utterance tensors disagree in length; rebuild the corpus.")
        }
        return u
    }

    /// Writes DIR/metadata.jsonl and DIR/corpus.json (each atomically) once the utterance files are in place.
    static func finish(_ dir: String, lines: [SpeechMetadataLine], info: SpeechCorpusInfo) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var jsonl = Data()
        for l in lines { jsonl.append(try encoder.encode(l)); jsonl.append(0x0A) }
        try atomicWrite(jsonl, to: dir + "/metadata.jsonl")
        try ConfigFile.write(info, to: dir + "/corpus.json")
    }

    /// Reads DIR/metadata.jsonl and the utterance files: (train, validation).
    public static func load(_ dir: String, limit: Int? = nil, withAudio: Bool = false) throws -> (train: [SpeechUtterance], validation: [SpeechUtterance]) {
        let metaPath = dir + "/metadata.jsonl"
        guard let text = try? String(contentsOfFile: metaPath, encoding: .utf8) else {
            throw CheckpointError(path: metaPath, message: "no speech corpus here. Build one with `gen dataset speech --out \(dir)`.")
        }
        var train: [SpeechUtterance] = [], val: [SpeechUtterance] = []
        let decoder = JSONDecoder()
        for (i, line) in text.split(separator: "\n").enumerated() {
            if let limit, train.count + val.count >= limit { break }
            guard let m = try? decoder.decode(SpeechMetadataLine.self, from: Data(line.utf8)) else {
                throw CheckpointError(path: metaPath, message: "line \(i + 1) is not a valid metadata record; rebuild the corpus.")
            }
            var u = try read(dir + "/" + m.file, withAudio: withAudio)
            u.voice = m.voice
            if m.split == "val" { val.append(u) } else { train.append(u) }
        }
        return (train, val)
    }
}

/// `gen dataset speech`: synthesizes generated sentences with each teacher voice and stores the
/// aligned features. Deterministic from the seed; an interrupted build resumes, reusing the
/// utterance files already written.
public enum SpeechCorpusBuilder {
    /// Each voice reads its own sentence stream, so the corpus covers more of the lexicon.
    public static func sentenceSeed(corpusSeed: UInt64, voiceIndex: Int) -> UInt64 {
        corpusSeed &* 1000 &+ UInt64(voiceIndex)
    }

    public static func build(out dir: String, voices: [String] = Flite.voiceNames, sentencesPerVoice: Int,
                             seed: UInt64 = 1, validationEvery: Int = 50,
                             progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> SpeechCorpusInfo {
        for v in voices where !Flite.voiceNames.contains(v) { throw FliteError.unknownVoice(v) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/utts", withIntermediateDirectories: true)
        var lines: [SpeechMetadataLine] = []
        var seconds = 0.0
        let total = voices.count * sentencesPerVoice
        for (vi, voice) in voices.enumerated() {
            var generator = SentenceGenerator(seed: sentenceSeed(corpusSeed: seed, voiceIndex: vi))
            for k in 0..<sentencesPerVoice {
                let text = generator.next()
                let id = String(format: "%@-%06d", voice, k)
                let file = "utts/\(id).safetensors"
                let path = dir + "/" + file
                let u: SpeechUtterance
                // Files from before the corpus kept its audio are made again.
                if fm.fileExists(atPath: path), let existing = try? SpeechCorpusIO.read(path, withAudio: true), existing.text == text {
                    u = existing
                } else {
                    guard let t = try? SpeechFeatures.teacher(text, voice: voice) else { continue }
                    u = SpeechUtterance(id: id, voice: voice, text: text, tokens: t.tokens, durations: t.durations,
                                        pitch: t.pitch, energy: t.energy, mel: t.mel, audio: t.audio)
                    try SpeechCorpusIO.write(u, to: path)
                }
                seconds += Double(u.frames * MelConfig.standard.hop) / Double(MelConfig.standard.sampleRate)
                let split = (k % validationEvery == validationEvery - 1) ? "val" : "train"
                lines.append(SpeechMetadataLine(id: id, voice: voice, text: text, split: split, frames: u.frames,
                                                phones: u.tokens.count, file: file))
                progress(vi * sentencesPerVoice + k + 1, total, seconds)
            }
        }
        let info = SpeechCorpusInfo(voices: voices, sentencesPerVoice: sentencesPerVoice, seed: seed,
                                    sampleRate: MelConfig.standard.sampleRate, hop: MelConfig.standard.hop,
                                    nMels: MelConfig.standard.nMels, phoneSetSize: PhoneSet.standard.count,
                                    utterances: lines.count, validation: lines.filter { $0.split == "val" }.count,
                                    seconds: seconds)
        try SpeechCorpusIO.finish(dir, lines: lines, info: info)
        return info
    }
}
