// SpeechImport.swift — `gen dataset speech --ljspeech DIR`: recorded speech into the corpus format.
//
// A recording has no teacher timing, so each utterance's phone durations come from classical
// teacher-synthesis alignment (no learned model): the text goes through the same flite frontend
// as the teacher corpus (same 79 phone ids, word/phrase markers), a flite voice speaks it, which
// gives exact phone spans on the teacher's mel frames, and dynamic time warping between the
// teacher's and the recording's frames carries those spans over to the recording.
//
// Features for the warping: log energy in 8 broad mel bands (0-8 kHz) with their deltas, mean/
// variance normalised per utterance. Broad bands are nearly speaker-independent (they separate
// silence, fricatives, stops, nasals and vowels, not one voice's formants or harmonics from
// another's); on the test's slt-teacher/awb-recording pairs they gave 15.6 ms mean boundary error
// against 228 ms for normalised MFCCs c1-c20 + deltas, which track the speaker's spectral detail.
// Distance is Euclidean; steps are the symmetric (1,1)/(1,0)/(0,1) pattern with the diagonal
// weighted 2 (Sakoe & Chiba 1978), inside a Sakoe-Chiba band of ±max(20%, 50 frames) around the
// diagonal.
// Leading and trailing silence in the recording lines up with the teacher's pau phones.
//
// What is stored is exactly the teacher corpus's format (SpeechCorpus.swift): phone ids, frames
// per phone (summing to the recording's mel length, ≥ 1 per phone, 0 per marker), the
// RECORDING's log-mel, and its per-phone pitch (YIN) and energy.
import Audio
import DSP
import Engine
import Foundation

public enum SpeechImportError: Error, CustomStringConvertible, Equatable {
    case folderMissing(String)
    case metadataMissing(String)
    case badSpeaker(String)
    case nothingUsable(String, problems: Int)
    case outIsTeacherCorpus(String)

    public var description: String {
        switch self {
        case .folderMissing(let dir):
            return "cannot read '\(dir)': no such folder. Give an LJSpeech-style folder (metadata.csv and wavs/<id>.wav)."
        case .metadataMissing(let path):
            return "cannot read '\(path)': an LJSpeech-style folder needs metadata.csv with lines 'id|text|normalized text'."
        case .badSpeaker(let name):
            return "invalid speaker name '\(name)': use a non-empty name without '|', '/' or line breaks (e.g. --speaker myvoice)."
        case .outIsTeacherCorpus(let dir):
            return "'\(dir)' holds a flite teacher corpus; importing there would replace its metadata. Choose another --out."
        case .nothingUsable(let dir, let problems):
            return "nothing usable in '\(dir)': \(problems) line(s) were skipped (reasons above) and no utterance was imported."
        }
    }
}

/// Why one utterance could not be aligned.
public enum SpeechAlignError: Error, CustomStringConvertible, Equatable {
    case tooFewFrames(phones: Int, frames: Int)
    case tooLong(frames: Int)

    public var description: String {
        switch self {
        case .tooFewFrames(let p, let f):
            return "the recording is too short for its text: \(p) phones but only \(f) mel frames (\(f * 256 * 1000 / 22050) ms)"
        case .tooLong(let f):
            return "the recording is too long to align (\(f * 256 / 22050) s); split it into utterances under \(SpeechAligner.maxFrames * 256 / 22050) s"
        }
    }
}

public enum SpeechAligner {
    /// Longest recording (in mel frames, about 2 min) the warping accepts: its cost matrix grows
    /// with the square of the length.
    public static let maxFrames = 10_000
    static let bands = 8

    /// Frames per token for the recording whose log-mel (T, 80) is `recording`, given the teacher's
    /// log-mel and its frames per token. Markers get 0 frames, every other token at least 1, and
    /// the result sums to the recording's frame count.
    public static func durations(tokens: [Int], teacherDurations: [Int], teacherMel: [Float], recordingMel: [Float]) throws -> [Int] {
        let nMels = MelConfig.standard.nMels
        let n = teacherMel.count / nMels, m = recordingMel.count / nMels
        let phones = tokens.filter { !PhoneSet.standard.isMarker($0) }.count
        guard phones <= m else { throw SpeechAlignError.tooFewFrames(phones: phones, frames: m) }
        guard m <= maxFrames && n <= maxFrames else { throw SpeechAlignError.tooLong(frames: max(n, m)) }
        let path = warp(features(teacherMel), n, features(recordingMel), m, dim: 2 * bands)
        // The recording frames each teacher frame was matched with.
        var first = [Int](repeating: Int.max, count: n), last = [Int](repeating: -1, count: n)
        for (i, j) in path { first[i] = min(first[i], j); last[i] = max(last[i], j) }
        // Each teacher boundary (the start of teacher frame b) lands between the last recording
        // frame matched before it and the first matched after it.
        var ends: [Double] = []
        var b = 0
        for d in teacherDurations {
            b += d
            ends.append(b <= 0 ? 0 : b >= n ? Double(m) : Double(last[b - 1] + 1 + first[b]) / 2)
        }
        return frames(tokens: tokens, ends: ends, total: m)
    }

    /// Real-valued token end boundaries (in frames) → integer frames per token: markers 0, other
    /// tokens ≥ 1, summing to `total` (which must be at least the number of non-marker tokens).
    public static func frames(tokens: [Int], ends: [Double], total: Int) -> [Int] {
        let set = PhoneSet.standard
        let phoneIndex = tokens.indices.filter { !set.isMarker(tokens[$0]) }
        var bound = [Int](repeating: 0, count: phoneIndex.count)
        var previous = 0
        for (k, t) in phoneIndex.enumerated() {                       // forward: strictly increasing
            bound[k] = k == phoneIndex.count - 1 ? total : max(Int(ends[t].rounded()), previous + 1)
            previous = bound[k]
        }
        for k in bound.indices {                                        // backward: room for the rest
            bound[k] = min(bound[k], total - (bound.count - 1 - k))
        }
        var out = [Int](repeating: 0, count: tokens.count)
        previous = 0
        for (k, t) in phoneIndex.enumerated() { out[t] = bound[k] - previous; previous = bound[k] }
        return out
    }

    /// Per-utterance normalised band energies and their deltas: (T, 2 * bands). Each band is the
    /// log of the mean power in 10 adjacent mel bins (0-8 kHz in 8 bands): coarse enough that a
    /// different voice's formants and harmonics (a female teacher against a male speaker) hardly
    /// move energy between bands, fine enough to tell silence, fricatives, stops and vowels apart.
    static func features(_ logMel: [Float]) -> [Float] {
        let nMels = MelConfig.standard.nMels, k = bands, width = nMels / bands
        let t = logMel.count / nMels
        let dim = 2 * k
        var x = [Float](repeating: 0, count: t * dim)
        for i in 0..<t {
            for c in 0..<k {
                var s: Float = 0
                for f in (c * width)..<((c + 1) * width) { s += Foundation.exp(logMel[i * nMels + f]) }
                x[i * dim + c] = Foundation.log(s / Float(width) + MelFilterbank.logFloor)
            }
        }
        for i in 0..<t {                                     // deltas: slope over ±2 frames
            let a = max(i - 2, 0), b = min(i + 2, t - 1)
            for c in 0..<k { x[i * dim + k + c] = (x[b * dim + c] - x[a * dim + c]) / Float(max(b - a, 1)) }
        }
        for c in 0..<dim {                                   // per-utterance mean and variance
            var mean: Float = 0
            for i in 0..<t { mean += x[i * dim + c] }
            mean /= Float(max(t, 1))
            var v: Float = 0
            for i in 0..<t { v += (x[i * dim + c] - mean) * (x[i * dim + c] - mean) }
            let inv = 1 / max((v / Float(max(t, 1))).squareRoot(), 1e-4)
            for i in 0..<t { x[i * dim + c] = (x[i * dim + c] - mean) * inv }
        }
        return x
    }

    /// DTW of a (n, dim) against b (m, dim): the warping path from (0, 0) to (n-1, m-1).
    static func warp(_ a: [Float], _ n: Int, _ b: [Float], _ m: Int, dim: Int) -> [(Int, Int)] {
        let width = max(Int((0.2 * Double(max(n, m))).rounded(.up)), 50)
        var cost = [Float](repeating: .infinity, count: n * m)
        var step = [UInt8](repeating: 0, count: n * m)      // 0 diagonal, 1 from (i-1, j), 2 from (i, j-1)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                cost.withUnsafeMutableBufferPointer { D in
                    step.withUnsafeMutableBufferPointer { S in
                        for i in 0..<n {
                            let centre = n > 1 ? Double(i) * Double(m - 1) / Double(n - 1) : 0
                            let lo = max(0, Int(centre) - width), hi = min(m - 1, Int(centre) + width)
                            for j in lo...hi {
                                var d: Float = 0
                                for c in 0..<dim { let e = a[i * dim + c] - b[j * dim + c]; d += e * e }
                                d = d.squareRoot()
                                if i == 0 && j == 0 { D[0] = d; continue }
                                var best = Float.infinity, from: UInt8 = 0
                                if i > 0 && j > 0 { best = D[(i - 1) * m + j - 1] + 2 * d }
                                if i > 0 { let c = D[(i - 1) * m + j] + d; if c < best { best = c; from = 1 } }
                                if j > 0 { let c = D[i * m + j - 1] + d; if c < best { best = c; from = 2 } }
                                D[i * m + j] = best; S[i * m + j] = from
                            }
                        }
                    }
                }
            }
        }
        var path: [(Int, Int)] = []
        var i = n - 1, j = m - 1
        while true {
            path.append((i, j))
            if i == 0 && j == 0 { break }
            if i == 0 { j -= 1; continue }
            if j == 0 { i -= 1; continue }
            switch step[i * m + j] {
            case 0: i -= 1; j -= 1
            case 1: i -= 1
            default: j -= 1
            }
        }
        return path.reversed()
    }
}

/// Reads an LJSpeech-style folder, aligns each recording, and writes the corpus.
public enum SpeechImporter {
    public struct Entry: Equatable {
        public var line: Int, id: String, text: String
    }

    /// metadata.csv → entries, plus a "metadata.csv:LINE: reason" for each line that was skipped.
    public static func parseMetadata(_ content: String) -> (entries: [Entry], problems: [String]) {
        var entries: [Entry] = [], problems: [String] = [], seen = Set<String>()
        let lines = content.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" })
        for (i, raw) in lines.enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let where_ = "metadata.csv:\(i + 1): "
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == 2 || fields.count == 3 else {
                problems.append(where_ + "expected 'id|text|normalized text', found \(fields.count) field(s); line skipped")
                continue
            }
            let id = fields[0]
            guard !id.isEmpty, id != ".", id != "..", !id.contains("/"), !id.contains("\\"),
                  !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                problems.append(where_ + "invalid id '\(id)' (it names wavs/<id>.wav: no slashes, not empty); line skipped")
                continue
            }
            guard !seen.contains(id) else { problems.append(where_ + "duplicate id '\(id)'; line skipped"); continue }
            // LJSpeech's third column spells out numbers and abbreviations; flite would too.
            let text = fields.count == 3 && !fields[2].isEmpty ? fields[2] : fields[1]
            guard text.contains(where: { $0.isLetter || $0.isNumber }) else {
                problems.append(where_ + "'\(id)' has empty text; line skipped")
                continue
            }
            seen.insert(id)
            entries.append(Entry(line: i + 1, id: id, text: text))
        }
        return (entries, problems)
    }

    /// One recording (any rate and channel count libsndfile reads) aligned to its text.
    public static func utterance(id: String, text: String, speaker: String, audioPath: String, alignVoice: String) throws -> SpeechUtterance {
        let buffer = try AudioFile.read(audioPath).mono()
        let rate = MelConfig.standard.sampleRate
        let audio = buffer.sampleRate == rate ? buffer.samples : try Resampler.resample(buffer.samples, from: buffer.sampleRate, to: rate)
        let teacher = try SpeechFeatures.teacher(text, voice: alignVoice)
        let s = SpeechFeatures.spectra(audio)
        let durations = try SpeechAligner.durations(tokens: teacher.tokens, teacherDurations: teacher.durations,
                                                    teacherMel: teacher.mel, recordingMel: s.mel)
        let p = SpeechFeatures.prosody(magnitude: s.magnitude, frames: s.frames, durations: durations,
                                       pitchSource: audio, pitchRate: rate)
        return SpeechUtterance(id: id, voice: speaker, text: text, tokens: teacher.tokens, durations: durations,
                               pitch: p.pitch, energy: p.energy, mel: s.mel, audio: audio)
    }

    /// Imports `folder` into the corpus at `out`. Lines or recordings that cannot be used are
    /// reported through `problem` ("metadata.csv:LINE: reason") and skipped; it throws only when
    /// the folder or metadata.csv is missing, or when nothing at all could be imported.
    public static func run(folder: String, out dir: String, speaker: String, alignVoice: String = "slt",
                           validationEvery: Int = 50, problem: (String) -> Void = { _ in },
                           progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> SpeechCorpusInfo {
        guard !speaker.isEmpty, !speaker.contains(where: { "|/\\\n\r".contains($0) }) else { throw SpeechImportError.badSpeaker(speaker) }
        guard Flite.voiceNames.contains(alignVoice) else { throw FliteError.unknownVoice(alignVoice) }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else { throw SpeechImportError.folderMissing(folder) }
        if let existing = try? ConfigFile.read(SpeechCorpusInfo.self, from: dir + "/corpus.json"), existing.source == nil {
            throw SpeechImportError.outIsTeacherCorpus(dir)
        }
        let metaPath = folder + "/metadata.csv"
        guard let data = fm.contents(atPath: metaPath) else { throw SpeechImportError.metadataMissing(metaPath) }
        let parsed = parseMetadata(String(decoding: data, as: UTF8.self))
        var problems = parsed.problems.count
        parsed.problems.forEach(problem)

        try fm.createDirectory(atPath: dir + "/utts", withIntermediateDirectories: true)
        var lines: [SpeechMetadataLine] = []
        var seconds = 0.0
        for (k, e) in parsed.entries.enumerated() {
            let wav = "wavs/\(e.id).wav"
            do {
                let u = try utterance(id: e.id, text: e.text, speaker: speaker, audioPath: folder + "/" + wav, alignVoice: alignVoice)
                let file = "utts/\(e.id).safetensors"
                try SpeechCorpusIO.write(u, to: dir + "/" + file)
                seconds += Double(u.frames * MelConfig.standard.hop) / Double(MelConfig.standard.sampleRate)
                let split = (k % validationEvery == validationEvery - 1) ? "val" : "train"
                lines.append(SpeechMetadataLine(id: e.id, voice: speaker, text: e.text, split: split, frames: u.frames,
                                                phones: u.tokens.count, file: file))
            } catch let error as AudioError {
                if case .fileNotFound = error {
                    problem("metadata.csv:\(e.line): \(wav) is missing; line skipped")
                } else {
                    problem("metadata.csv:\(e.line): \(error); line skipped")
                }
                problems += 1
            } catch let error as SafeTensorsError {
                throw error                                     // the output folder is not writable
            } catch {
                problem("metadata.csv:\(e.line): '\(e.id)': \(error); line skipped")
                problems += 1
            }
            progress(k + 1, parsed.entries.count, seconds)
        }
        guard !lines.isEmpty else { throw SpeechImportError.nothingUsable(folder, problems: problems) }
        var info = SpeechCorpusInfo(voices: [speaker], sentencesPerVoice: lines.count, seed: 0,
                                    sampleRate: MelConfig.standard.sampleRate, hop: MelConfig.standard.hop,
                                    nMels: MelConfig.standard.nMels, phoneSetSize: PhoneSet.standard.count,
                                    utterances: lines.count, validation: lines.filter { $0.split == "val" }.count,
                                    seconds: seconds)
        info.source = folder; info.alignVoice = alignVoice
        try SpeechCorpusIO.finish(dir, lines: lines, info: info)
        return info
    }
}
