// ShippedMusicTests — the codec and prior in models/ as a user gets them: the RVQ codec round-trips
// a real rendered music clip (mma + fluidsynth, the corpus recipe) at every prefix of its ladder,
// keeping the notes better than the clip's own note-less envelope, and the prior loads against
// the v1 codec it was trained on, samples reproducibly and decodes to audible, finite audio.
import Audio
import DSP
import Engine
@testable import Music
import XCTest

final class ShippedMusicTests: XCTestCase {
    /// models/ at the package root (this file is Tests/MusicTests/ShippedMusicTests.swift).
    let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models").path
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "gen-shipped-music-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func requireModels(_ names: [String]) throws {
        for n in names where !FileManager.default.fileExists(atPath: models + "/\(n)/config.json") {
            XCTFail("models/\(n) is missing: the codec and prior ship with the repository (git checkout models/)")
            throw CodecError("models/\(n) is missing")
        }
    }

    /// Mean absolute difference of 80-band log-mels in dB (floor 1e-5), as ../shared/eval/codec_eval.py scores.
    func logMelDistance(_ a: [Float], _ b: [Float]) -> Double {
        let fb = MelFilterbank()
        let n = min(a.count, b.count)
        let ma = fb.melSpectrogram(audio: Array(a[0..<n])), mb = fb.melSpectrogram(audio: Array(b[0..<n]))
        var s: Double = 0
        for i in 0..<ma.count { s += abs(20 * log10(Double(max(ma[i], 1e-5))) - 20 * log10(Double(max(mb[i], 1e-5)))) }
        return s / Double(ma.count)
    }

    /// The clip's spectral envelope without its notes: |STFT| (n_fft 1024) averaged over 24 bins
    /// (516 Hz) in each frame, with random phases. What a codec that keeps the envelope and loses
    /// the harmonics gives back (the v1 codec's level 1 was close to this).
    func envelopeOnly(_ x: [Float]) -> [Float] {
        let stft = STFT(nFFT: 1024, winLength: 1024, hop: 256, center: true)
        let spec = stft.forward(x)
        var out = Spectrogram(frames: spec.frames, bins: spec.bins)
        var rng = RNG(seed: 3)
        let mag = spec.magnitude
        for t in 0..<spec.frames {
            for k in 0..<spec.bins {
                let lo = max(0, k - 12), hi = min(spec.bins, k + 12)
                var m: Float = 0
                for j in lo..<hi { m += mag[t * spec.bins + j] }
                m /= Float(hi - lo)
                let p = 2 * Float.pi * rng.uniform()
                out.re[t * spec.bins + k] = m * cos(p); out.im[t * spec.bins + k] = m * sin(p)
            }
        }
        return stft.inverse(out, length: x.count)
    }

    /// A clip the codec never saw: the first of a tiny corpus rendered here by the corpus recipe
    /// with another seed (5) than the training corpus's.
    func renderedClip() throws -> [Float] {
        let corpus = dir + "/corpus"
        _ = try MusicCorpus.build(out: corpus, hours: 0.003, seed: 5, jobs: 1)
        let line = try XCTUnwrap(MusicCorpus.loadMetadata(corpus).first)
        return try AudioFile.read(corpus + "/" + line.file).mono().samples
    }

    // Expected: on a clip the codec never saw (rendered here by the corpus recipe, another seed),
    // every prefix of the ladder decodes to finite audio of the clip's length; its log-mel distance
    // stays far below silence's; and its chroma similarity beats that of the clip's own envelope
    // with the notes removed (measured here, on the same clip) at every prefix, and reaches 0.9 at
    // the full ladder (held-out clips: see models/codec/MODEL_CARD.md).
    func testShippedCodecKeepsTheNotesOfARenderedClip() throws {
        try requireModels(["codec"])
        let codec = try RVQCodec.load(directory: models + "/codec")
        let audio = try renderedClip()
        XCTAssertGreaterThan(audio.count, 22050 * 4)
        let silence = logMelDistance(audio, [Float](repeating: 0, count: audio.count))
        let smeared = Tonality.score(reference: audio, test: envelopeOnly(audio))
        let all = codec.encode(audio)
        var chroma: [Float] = []
        for k in 1...codec.config.codebooks {
            let codes = Array(all.prefix(k))
            XCTAssertTrue(codes.allSatisfy { $0.count == codec.frameCount(length: audio.count) })
            let decoded = codec.decode(codes, length: audio.count)
            XCTAssertEqual(decoded.count, audio.count)
            XCTAssertTrue(decoded.allSatisfy(\.isFinite))
            let d = logMelDistance(audio, decoded)
            let t = Tonality.score(reference: audio, test: decoded)
            chroma.append(t.chroma)
            print(String(format: "shipped codec, %d codebooks (%.2f kbps): log-mel %.2f dB (silence %.2f), chroma %.3f (notes removed: %.3f), flatness ratio %.2f (notes removed: %.2f)",
                         k, codec.config.bitrate(codebooks: k) / 1000, d, silence, t.chroma, smeared.chroma, t.flatnessRatio, smeared.flatnessRatio))
            XCTAssertLessThan(d, silence / 3, "\(k) codebooks")
            XCTAssertGreaterThan(t.chroma, smeared.chroma, "\(k) codebooks: the notes should survive better than with the envelope alone")
            // Not collapsed: each codebook uses a tenth of its codes or of the frames, whichever is fewer.
            XCTAssertGreaterThan(Set(codes[k - 1]).count, min(codec.config.codebookSize / 10, codes[k - 1].count / 10), "codebook \(k)")
        }
        XCTAssertGreaterThan(chroma.last!, 0.9)
        XCTAssertGreaterThanOrEqual(chroma.last!, chroma.first! - 0.01, "more codebooks should not lose notes")
    }

    // Expected: on a clip the codec never saw (rendered here by the corpus recipe, another seed),
    // the shipped bass decoder brings the band below 345 Hz closer to the original's than the iSTFT
    // decoder alone does, by the measure it was trained on (spectral convergence of the band at
    // 689 Hz, n_fft 256: 2.7 Hz bins, a tenth of a semitone at 100 Hz), both measured here on the
    // same codes; and the decoder's output above that band is left as it was.
    func testShippedBassDecoderBringsTheBassLineCloser() throws {
        try requireModels(["codec"])
        let codec = try RVQCodec.load(directory: models + "/codec")
        let bass = try XCTUnwrap(codec.bass, "the shipped codec has a bass decoder (models/codec/MODEL_CARD.md)")
        let audio = try renderedClip()
        let stft = STFT(nFFT: 256, winLength: 256, hop: 64, center: true)
        let truth = stft.magnitude(bass.split.decimate(audio))
        for k in [max(4, bass.layout.minCodebooks ?? 1), 8] {
            let codes = Array(codec.encode(audio).prefix(k))
            let plain = codec.decode(codes, length: audio.count, bass: false), full = codec.decode(codes, length: audio.count)
            let before = spectralConvergence(target: truth, estimate: stft.magnitude(bass.split.decimate(plain)))
            let after = spectralConvergence(target: truth, estimate: stft.magnitude(bass.split.decimate(full)))
            print(String(format: "shipped codec, %d codebooks: spectral convergence of the band below 345 Hz %.3f without the bass decoder, %.3f with it", k, before, after))
            XCTAssertLessThan(after, before, "\(k) codebooks")
            // Above the band (the high-passed difference): the same audio, up to the crossover's leakage.
            let highPlain = zip(plain, bass.split.interpolate(bass.split.decimate(plain), length: plain.count)).map { $0 - $1 }
            let highFull = zip(full, bass.split.interpolate(bass.split.decimate(full), length: full.count)).map { $0 - $1 }
            let energy = highPlain.reduce(Float(0)) { $0 + $1 * $1 }
            let change = zip(highPlain, highFull).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            XCTAssertLessThan(change, 0.01 * energy, "\(k) codebooks: the band above 345 Hz should not change")
        }
    }

    // Digital silence in, digital silence out (RVQCodec.silence). A rendered clip, 3 s of zeros, the
    // clip again 40 dB down (quiet, not silent), zeros. Expected, at every rung of the ladder and at 1
    // and 8 main codebooks alone: the gap's interior, beyond the encoder's and the decoder's context
    // from each edge, is exactly 0; the quiet clip keeps its sound, within 20 dB of its own level.
    // Without the gate (the decoder's synthesis of the same codes) the gap holds the floor of noise
    // the gate removes (measured about −85 dBFS on thunder's gaps in models/codec/MODEL_CARD.md),
    // and outside the gaps the two are equal.
    func testShippedCodecKeepsDigitalSilenceSilent() throws {
        try requireModels(["codec"])
        let codec = try RVQCodec.load(directory: models + "/codec")
        let clip = Array(try renderedClip().prefix(2 * 22050))
        let gap = [Float](repeating: 0, count: 3 * 22050), quiet = clip.map { $0 * 0.01 }
        let audio = clip + gap + quiet + [Float](repeating: 0, count: 11025)
        let margin = (codec.config.encoderLayout.receptiveFrames + codec.decoder.contextFrames + 4) * codec.config.hop
        let inside = (clip.count + margin)..<(clip.count + gap.count - margin)
        XCTAssertFalse(inside.isEmpty)
        let quietPart = (clip.count + gap.count + margin)..<(clip.count + gap.count + quiet.count - margin)
        func rms(_ x: [Float], _ r: Range<Int>) -> Float { (r.reduce(Float(0)) { $0 + x[$1] * x[$1] } / Float(r.count)).squareRoot() }
        var rungs = codec.config.rungs()
        rungs += [CodecRung(main: 1), CodecRung(main: codec.config.codebooks)]
        for r in rungs {
            let y = codec.roundTrip(audio, rung: r, bass: false)
            XCTAssertEqual(y.count, audio.count)
            XCTAssertEqual(inside.filter { y[$0] != 0 }.count, 0, "rung \(r): the gap is not silent")
            let level = 20 * log10(rms(y, quietPart) / rms(audio, quietPart))
            XCTAssertGreaterThan(level, -20, "rung \(r): the quiet passage lost its sound")
            XCTAssertLessThan(level, 20, "rung \(r)")
        }
        let codes = codec.encode(audio, codebooks: codec.config.codebooks)
        let ungated = codec.synthesize(codes, length: audio.count, bass: false)
        let gated = codec.decode(codes, length: audio.count, bass: false)
        XCTAssertGreaterThan(inside.filter { ungated[$0] != 0 }.count, inside.count / 2, "the decoder alone leaves a floor in the gap")
        let floorDB = 20 * log10(rms(ungated, inside))
        print(String(format: "shipped codec: the decoder's floor in digital silence %.1f dBFS, gated to 0", floorDB))
        XCTAssertLessThan(floorDB, -60)
        let loud = 0..<(clip.count - margin)
        XCTAssertEqual(Array(gated[loud]), Array(ungated[loud]))
        XCTAssertEqual(Array(gated[quietPart]), Array(ungated[quietPart]))
    }

    // Expected: on a clip the codec never saw (rendered here by the corpus recipe, another seed),
    // every rung of the shipped ladder that holds bass-stream codes brings the band below 345 Hz
    // closer to the original's than the main codebooks of the same bitrate do with the bass
    // decoder (spectral convergence of the band at 689 Hz, n_fft 256, as the bass decoder's test
    // measures it), and keeps at least their chroma to within 0.01, both measured here on the same
    // clip; the top rung's chroma reaches 0.95 (held-out clips: models/codec/MODEL_CARD.md).
    func testShippedBassStreamKeepsTheBassLine() throws {
        try requireModels(["codec"])
        let codec = try RVQCodec.load(directory: models + "/codec")
        let stream = try XCTUnwrap(codec.bassStream, "the shipped codec has a bass stream (models/codec/MODEL_CARD.md)")
        let audio = try renderedClip()
        let split = BandSplit(factor: stream.layout.down)
        let stft = STFT(nFFT: 256, winLength: 256, hop: 64, center: true)
        let truth = stft.magnitude(split.decimate(audio))
        var top: Float = 0
        for r in codec.config.rungs() where r.bass > 0 {
            let withStream = codec.roundTrip(audio, rung: r), mainOnly = codec.roundTrip(audio, rung: CodecRung(main: r.total))
            XCTAssertEqual(withStream.count, audio.count)
            let sc = [withStream, mainOnly].map { spectralConvergence(target: truth, estimate: stft.magnitude(split.decimate($0))) }
            let chroma = [withStream, mainOnly].map { Tonality.score(reference: audio, test: $0).chroma }
            print(String(format: "shipped codec, rung %@ (%@ kbps): band spectral convergence %.3f (main codebooks alone %.3f), chroma %.3f (%.3f)",
                         "\(r)", codec.config.kbpsText(r), sc[0], sc[1], chroma[0], chroma[1]))
            XCTAssertLessThan(sc[0], sc[1], "rung \(r)")
            XCTAssertGreaterThan(chroma[0], chroma[1] - 0.01, "rung \(r)")
            top = chroma[0]
        }
        XCTAssertGreaterThan(top, 0.95)
    }

    func testShippedPriorLoadsAndSamplesReproducibly() throws {
        try requireModels(["codec", "prior"])
        let m = try MusicModels.load(priorDir: models + "/prior", codecDir: models + "/codec")
        let c = m.prior.config
        XCTAssertEqual(m.codec.hop, c.hop)
        XCTAssertLessThanOrEqual(c.rows.main, m.codec.config.codebooks)
        XCTAssertEqual(Set(c.genres), Set(MusicCatalog.genreNames))
        let jazz = try XCTUnwrap(c.genreID("jazz"))
        let frames = Int(c.tokensPerSecond * 1.5)
        let labels = PriorLabels(genre: jazz, lyrics: LyricsVocabulary.timedLines("Walking down the avenue", seconds: 1.5))
        let a = try m.prior.sample(labels, count: 2, frames: frames, temperature: 0.95, topK: 64, seed: 11, cfg: 3)
        let b = try m.prior.sample(labels, count: 1, frames: frames, temperature: 0.95, topK: 64, seed: 11, cfg: 3)
        XCTAssertEqual(a[0], b[0], "sample 0 depends on the seed only")
        XCTAssertNotEqual(a[0], a[1])
        for rows in a { for (row, size) in zip(rows, c.rows.sizes) { XCTAssertTrue(row.allSatisfy { $0 >= 0 && Int($0) < size }) } }
        XCTAssertEqual(a[0].map(\.count), [Int](repeating: frames, count: c.codebooks))
        let audio = m.codec.decode(priorRows: a[0], config: c, length: Int(1.5 * 22050))
        XCTAssertTrue(audio.allSatisfy(\.isFinite))
        let rms = (audio.map { $0 * $0 }.reduce(0, +) / Float(audio.count)).squareRoot()
        XCTAssertGreaterThan(rms, 0.005, "sampled music should be audible")
    }

    // Half-precision steps (what `gen music` samples with) against F32 steps of the shipped prior,
    // teacher-forced on the codes of a clip rendered by the corpus recipe: the same next-code
    // distributions up to the weights' rounding (2⁻¹¹ relative). Bounds: the mean code costs about
    // 6 bits here, and the two must agree to 0.002 bit per code on average and to 10⁻³ nats of KL
    // divergence at the worst step (measured when this was written: under 10⁻⁴ bit per code and
    // 2.6·10⁻⁶ nats, a few hundred times inside the bounds; models/prior/MODEL_CARD.md).
    func testShippedPriorSamplesTheSameDistributionsInHalfPrecision() throws {
        try requireModels(["codec", "prior"])
        let m = try MusicModels.load(priorDir: models + "/prior", codecDir: models + "/codec")
        let prior = m.prior, c = prior.config, k = c.codebooks, v = c.vocabSize
        let corpus = dir + "/corpus"
        _ = try MusicCorpus.build(out: corpus, hours: 0.003, seed: 6, jobs: 1)
        let line = try XCTUnwrap(MusicCorpus.loadMetadata(corpus).first)
        let codes = m.codec.encode(try AudioFile.read(corpus + "/" + line.file).mono().samples, forPrior: c)
        let frames = min(codes[0].count, 300), total = c.pattern.steps(frames: frames, codebooks: k)
        let steps = (0..<total).flatMap { s in (0..<k).map { q -> Int in
            let f = s - c.pattern.shift(q); return f < 0 || f >= frames ? v : Int(codes[q][f]) } }
        let cond = c.conditions(PriorLabels(genre: c.genreID(line.genre)), totalTokens: total, offsetTokens: 0)
        func run(half: Bool) -> [[Float]] {   // log-probabilities of each step's K codebooks
            prior.useHalfPrecisionSteps(half)
            let state = prior.makeRunState(batch: 1)
            prior.begin(state, conditions: [cond])
            var logits = prior.feed(state, steps: []), out: [[Float]] = []
            for s in 0..<min(total, c.context - 1) {
                out.append((0..<k).flatMap { q in logSoftmax(Array(logits[(q * v)..<((q + 1) * v)])) })
                logits = prior.feed(state, steps: Array(steps[(s * k)..<((s + 1) * k)]))
            }
            return out
        }
        XCTAssertTrue(prior.halfPrecisionSteps, "MusicModels.load samples in half precision")
        let full = run(half: false), half = run(half: true)
        var bitsFull = 0.0, bitsHalf = 0.0, scored = 0, worstKL = 0.0
        for (s, (a, b)) in zip(full, half).enumerated() {
            for q in 0..<k {
                let target = steps[s * k + q]
                if target < v { bitsFull -= Double(a[q * v + target]); bitsHalf -= Double(b[q * v + target]); scored += 1 }
                var kl = 0.0
                for j in 0..<v { let p = Double(a[q * v + j]); kl += Foundation.exp(p) * (p - Double(b[q * v + j])) }
                worstKL = max(worstKL, kl)
            }
        }
        bitsFull /= Double(scored) * Foundation.log(2); bitsHalf /= Double(scored) * Foundation.log(2)
        print(String(format: "shipped prior, %d codes of a rendered clip: F32 %.4f bits/code, F16 steps %.4f, worst step KL %.2e nats",
                     scored, bitsFull, bitsHalf, worstKL))
        XCTAssertGreaterThan(scored, 500)
        XCTAssertEqual(bitsHalf, bitsFull, accuracy: 0.002)
        XCTAssertLessThan(worstKL, 1e-3)
        XCTAssertNotEqual(full.last!, half.last!, "the half-precision copies were not read")
    }

    private func logSoftmax(_ x: [Float]) -> [Float] {
        let mx = x.max()!, lse = mx + Foundation.log(x.reduce(0) { $0 + Foundation.exp($1 - mx) })
        return x.map { $0 - lse }
    }
}
