// MelPostfilter.swift — gives FastSpeech's predicted log-mel back the fine detail its L1/L2
// training averages away. A model trained to the mean of its targets predicts each frame's
// expected spectrum: the envelope is right, but the ripple across neighbouring bands and from
// one frame to the next is flatter than in the teacher's own mels (the "over-smoothing" of
// statistical parametric synthesis, Toda & Tokuda 2007). The fix here is theirs in spirit, and
// as cheap as the HTS formant postfilter: split each log-mel into a local mean (a box over
// `spectralWidth` bands, then over `temporalWidth` frames) and the detail around it, and scale
// the detail band by band so that its standard deviation over speech frames matches the
// teacher's. The gains are fitted per voice on the training corpus (`fit`, run by
// `gen train postfilter`) and kept in the speech model's config.json.
import Foundation

public struct MelPostfilter: Codable, Equatable, Sendable {
    /// Bands in the spectral local mean (odd).
    public var spectralWidth: Int
    /// Frames in the temporal local mean (odd).
    public var temporalWidth: Int
    /// Per voice, one gain per mel band on the detail across bands.
    public var spectralGain: [String: [Float]]
    /// Per voice, one gain per mel band on the detail from frame to frame.
    public var temporalGain: [String: [Float]]

    public static let widthRange = 1...15
    /// Gains outside this range are refused in a config; `fit` clamps to 1…maxFittedGain.
    public static let gainRange: ClosedRange<Float> = 0.25...4
    public static let maxFittedGain: Float = 2.5

    public init(spectralWidth: Int = 5, temporalWidth: Int = 3, spectralGain: [String: [Float]] = [:], temporalGain: [String: [Float]] = [:]) {
        self.spectralWidth = spectralWidth; self.temporalWidth = temporalWidth
        self.spectralGain = spectralGain; self.temporalGain = temporalGain
    }

    enum CodingKeys: String, CodingKey {
        case spectralWidth = "spectral_width", temporalWidth = "temporal_width"
        case spectralGain = "spectral_gain", temporalGain = "temporal_gain"
    }

    /// What is wrong with this postfilter for a model with these speakers and bands.
    public func problems(speakers: [String], nMels: Int) -> [String] {
        var out: [String] = []
        for (name, w) in [("spectral_width", spectralWidth), ("temporal_width", temporalWidth)]
        where !Self.widthRange.contains(w) || w % 2 == 0 {
            out.append("postfilter.\(name) \(w) must be odd, \(Self.widthRange.lowerBound) to \(Self.widthRange.upperBound)")
        }
        for (name, table) in [("spectral_gain", spectralGain), ("temporal_gain", temporalGain)] {
            for (voice, gains) in table.sorted(by: { $0.key < $1.key }) {
                if !speakers.contains(voice) {
                    out.append("postfilter.\(name) names '\(voice)', not a speaker of this model (\(speakers.joined(separator: ", ")))")
                } else if gains.count != nMels {
                    out.append("postfilter.\(name).\(voice) has \(gains.count) gains; it needs one per mel band (\(nMels))")
                } else if let bad = gains.first(where: { !Self.gainRange.contains($0) }) {
                    out.append("postfilter.\(name).\(voice) has the gain \(bad), outside \(Self.gainRange.lowerBound)…\(Self.gainRange.upperBound)")
                }
            }
        }
        return out
    }

    /// Applies the voice's gains to a log-mel (frames, nMels) in place: spectral detail first,
    /// then temporal. A voice without gains is left as it is.
    public func apply(_ mel: inout [Float], frames: Int, nMels: Int, voice: String) {
        guard frames > 0, mel.count == frames * nMels else { return }
        if let g = spectralGain[voice], g.count == nMels {
            var local = [Float](repeating: 0, count: mel.count)
            Self.boxMean(mel, into: &local, lines: frames, length: nMels, stride: 1, lineStride: nMels, width: spectralWidth)
            for i in mel.indices { mel[i] = local[i] + g[i % nMels] * (mel[i] - local[i]) }
        }
        if let g = temporalGain[voice], g.count == nMels {
            var local = [Float](repeating: 0, count: mel.count)
            Self.boxMean(mel, into: &local, lines: nMels, length: frames, stride: nMels, lineStride: 1, width: temporalWidth)
            for i in mel.indices { mel[i] = local[i] + g[i % nMels] * (mel[i] - local[i]) }
        }
    }

    /// Mean over a centred box of `width` along each of `lines` lines of `length` values (element
    /// j of line l at l·lineStride + j·stride), the edge value repeated past either end.
    static func boxMean(_ x: [Float], into out: inout [Float], lines: Int, length: Int, stride: Int, lineStride: Int, width: Int) {
        let half = width / 2
        for l in 0..<lines {
            let base = l * lineStride
            for j in 0..<length {
                var acc: Float = 0
                for k in (j - half)...(j + half) { acc += x[base + min(max(k, 0), length - 1) * stride] }
                out[base + j * stride] = acc / Float(width)
            }
        }
    }

    /// Standard deviation per band of the spectral and of the temporal detail, over the frames
    /// within 40 dB of the utterance's loudest (silence would dominate otherwise), summed over
    /// utterances so they can be pooled.
    struct DetailStats {
        var spectral: [Double], temporal: [Double], utterances = 0
        init(nMels: Int) { spectral = .init(repeating: 0, count: nMels); temporal = spectral }

        mutating func add(_ mel: [Float], frames: Int, nMels: Int, spectralWidth: Int, temporalWidth: Int) {
            guard frames > 0, mel.count == frames * nMels else { return }
            var energy = [Float](repeating: 0, count: frames)
            for t in 0..<frames {
                var s: Float = 0
                for b in 0..<nMels { s += Foundation.exp(mel[t * nMels + b]) }
                energy[t] = Foundation.log(max(s, .leastNormalMagnitude))
            }
            let floor = (energy.max() ?? 0) - Foundation.log(100)   // 40 dB of magnitude
            let speech = (0..<frames).filter { energy[$0] > floor }
            guard speech.count >= 2 else { return }
            var sLocal = [Float](repeating: 0, count: mel.count), tLocal = sLocal
            MelPostfilter.boxMean(mel, into: &sLocal, lines: frames, length: nMels, stride: 1, lineStride: nMels, width: spectralWidth)
            MelPostfilter.boxMean(mel, into: &tLocal, lines: nMels, length: frames, stride: nMels, lineStride: 1, width: temporalWidth)
            for b in 0..<nMels {
                spectral[b] += Self.std(speech.map { Double(mel[$0 * nMels + b] - sLocal[$0 * nMels + b]) })
                temporal[b] += Self.std(speech.map { Double(mel[$0 * nMels + b] - tLocal[$0 * nMels + b]) })
            }
            utterances += 1
        }

        static func std(_ v: [Double]) -> Double {
            let m = v.reduce(0, +) / Double(v.count)
            return (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count)).squareRoot()
        }
    }

    /// Fits the gains: per voice and band, the teacher's mean detail deviation over the model's,
    /// smoothed over 5 bands and clamped to 1…maxFittedGain (the filter only restores detail).
    /// `pairs` holds, per voice, the teacher's log-mels and the model's for the same sentences.
    public static func fit(_ pairs: [String: [(teacher: [Float], predicted: [Float])]], nMels: Int,
                           spectralWidth: Int = 5, temporalWidth: Int = 3) -> MelPostfilter {
        var filter = MelPostfilter(spectralWidth: spectralWidth, temporalWidth: temporalWidth)
        for (voice, list) in pairs {
            var teacher = DetailStats(nMels: nMels), model = DetailStats(nMels: nMels)
            for p in list {
                teacher.add(p.teacher, frames: p.teacher.count / nMels, nMels: nMels, spectralWidth: spectralWidth, temporalWidth: temporalWidth)
                model.add(p.predicted, frames: p.predicted.count / nMels, nMels: nMels, spectralWidth: spectralWidth, temporalWidth: temporalWidth)
            }
            guard teacher.utterances > 0, model.utterances > 0 else { continue }
            func gains(_ t: [Double], _ m: [Double]) -> [Float] {
                let ratio = (0..<nMels).map { b -> Double in
                    let num = t[b] / Double(teacher.utterances), den = m[b] / Double(model.utterances)
                    return den > 1e-6 ? num / den : 1
                }
                return (0..<nMels).map { b in
                    let window = max(0, b - 2)...min(nMels - 1, b + 2)
                    let smooth = window.map { ratio[$0] }.reduce(0, +) / Double(window.count)
                    return Float(min(max(smooth, 1), Double(maxFittedGain)))
                }
            }
            filter.spectralGain[voice] = gains(teacher.spectral, model.spectral)
            filter.temporalGain[voice] = gains(teacher.temporal, model.temporal)
        }
        return filter
    }
}

extension MelPostfilter {
    /// Fits a postfilter for `model` on up to `perVoice` training utterances of each of its
    /// voices (the corpus order, so the same corpus gives the same gains): each utterance's
    /// teacher log-mel against the model's own prediction for its phones (predicted durations,
    /// as `gen speech` runs it). With a `vocoder`, the prediction is judged as it is heard: the
    /// log-mel of the vocoder's waveform, analysed as the teacher's audio was (the vocoder adds
    /// some detail of its own, which the gains then need not).
    public static func fit(model: FastSpeech, utterances: [SpeechUtterance], perVoice: Int, vocoder: Vocoder? = nil,
                           progress: ((_ done: Int, _ total: Int) -> Void)? = nil) -> MelPostfilter {
        let nMels = model.config.nMels
        var chosen: [SpeechUtterance] = []
        for voice in model.config.speakers { chosen += utterances.filter { $0.voice == voice }.prefix(perVoice) }
        var pairs: [String: [(teacher: [Float], predicted: [Float])]] = [:]
        for (i, u) in chosen.enumerated() {
            guard let speaker = model.config.speakers.firstIndex(of: u.voice), u.mel.count == u.frames * nMels else { continue }
            var predicted = model.synthesize(tokens: u.tokens, speaker: speaker).mel
            if let vocoder {
                predicted = SpeechFeatures.spectra(vocoder.waveform(logMel: predicted, frames: predicted.count / nMels)).mel
            }
            pairs[u.voice, default: []].append((u.mel, predicted))
            progress?(i + 1, chosen.count)
        }
        return fit(pairs, nMels: nMels)
    }
}
