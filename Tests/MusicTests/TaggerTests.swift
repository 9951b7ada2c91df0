// TaggerTests.swift — the PaSST-style tagger (Tagger.swift) and the Fréchet distance (Frechet.swift).
// Expected values: patch counts from the grid arithmetic (80/16 = 5 rows, window/16 columns);
// the Fréchet distance of two Gaussians in closed form (diagonal covariances: |μ₁−μ₂|² +
// Σ(σ₁−σ₂)²; equal covariances: |μ₁−μ₂|²); the eigenvalues of [[2,1],[1,2]] are 1 and 3.
import Audio
import DSP
import Engine
import Music
import XCTest

final class TaggerTests: XCTestCase {
    func tinyConfig(classes: [String] = ["sine", "noise"], windowFrames: Int = 32) -> TaggerConfig {
        var c = TaggerConfig()
        c.windowFrames = windowFrames; c.dModel = 16; c.layers = 1; c.heads = 2; c.mlpDim = 32
        c.genres = classes; c.artists = []
        return c
    }

    func testPatchesAndWindowsForOddLengths() {
        let c = tinyConfig()
        let model = Tagger(config: c, seed: 1)
        let all = PatchSelection.all(freq: c.freqPatches, time: c.timePatches)
        XCTAssertEqual(all.kept.count, 5 * 2)
        let mel = (0..<(c.windowFrames * 80)).map { Float($0 % 97) }
        let p = model.patches(mel, frames: c.windowFrames, selection: all)
        XCTAssertEqual(p.count, 10 * 256)
        // Patch (f 1, t 1) starts at band 16, frame 16; inside a patch the layout is band-major.
        let k = all.kept.firstIndex { $0 == (1, 1) }!
        XCTAssertEqual(p[k * 256 + 0], mel[16 * 80 + 16])
        XCTAssertEqual(p[k * 256 + 1], mel[17 * 80 + 16])
        XCTAssertEqual(p[k * 256 + 16], mel[16 * 80 + 17])
        let out = model([mel, mel], selection: all)
        XCTAssertEqual(out.genre.shape, [2, 2]); XCTAssertEqual(out.vocals.shape, [2, 1]); XCTAssertEqual(out.embedding.shape, [2, 16])
        // Whole pieces of odd lengths: shorter than a window is padded (one window), longer ones are
        // covered by windows every half window, the last ending at the end.
        XCTAssertEqual(model.windowStarts(frames: 5), [0])
        XCTAssertEqual(model.windowStarts(frames: 32), [0])
        XCTAssertEqual(model.windowStarts(frames: 57), [0, 16, 25])
        let fb = MelFilterbank(config: .standard)
        for seconds in [0.01, 0.37, 1.234] {
            let audio = (0..<Int(seconds * 22050)).map { Float(sin(Double($0) * 0.05)) * 0.3 }
            let r = model.tag(audio, filterbank: fb)
            XCTAssertEqual(r.genre.reduce(0, +), 1, accuracy: 1e-4)
            XCTAssertTrue(r.embedding.allSatisfy(\.isFinite) && r.vocals > 0 && r.vocals < 1)
            XCTAssertEqual(r.windows, model.windowStarts(frames: max(fb.logMel(audio: audio).count / 80, 32)).count)
        }
    }

    /// Patchout drops patches, not their places: every kept patch's token equals its token
    /// without patchout (same position embeddings), and the dropped ones are gone.
    func testPatchoutKeepsThePositionsOfKeptPatches() {
        var c = tinyConfig(); c.windowFrames = 96
        let model = Tagger(config: c, seed: 2)
        var rng = RNG(seed: 3)
        let mel = (0..<(c.windowFrames * 80)).map { _ in rng.normal() }
        let all = PatchSelection.all(freq: c.freqPatches, time: c.timePatches)
        let some = PatchSelection.patchout(freq: c.freqPatches, time: c.timePatches, dropTime: 0.4, dropFreq: 0.3, dropRandom: 0.2, rng: &rng)
        XCTAssertLessThan(some.kept.count, all.kept.count)
        let full = model.tokens([mel], selection: all).data, part = model.tokens([mel], selection: some).data
        XCTAssertEqual(part.count, (1 + some.kept.count) * 16)
        XCTAssertEqual(Array(part[0..<16]), Array(full[0..<16]), "the CLS token")
        for (i, patch) in some.kept.enumerated() {
            let j = all.kept.firstIndex { $0 == patch }!
            // (BLAS may sum in another order for another number of rows: equal to rounding.)
            let gap = zip(part[((1 + i) * 16)..<((2 + i) * 16)], full[((1 + j) * 16)..<((2 + j) * 16)]).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(gap, 1e-4, "patch \(patch) moved: kept token \(i), full token \(j)")
        }
        // Structured patchout drops whole rows and columns: the kept set is a product.
        let rows = Set(some.kept.map(\.f)), cols = Set(some.kept.map(\.t))
        XCTAssertLessThanOrEqual(some.kept.count, rows.count * cols.count)
    }

    /// A tiny tagger trained here tells sines from noise on fresh examples, every one.
    func testTinyTaggerSeparatesSinesFromNoise() {
        let c = tinyConfig()
        let model = Tagger(config: c, seed: 4)
        let fb = MelFilterbank(config: .standard)
        var rng = RNG(seed: 5)
        let length = (c.windowFrames - 1) * 256
        func example(_ noise: Bool) -> [Float] {
            let f = 200 + Double(rng.uniform()) * 3000
            let audio: [Float] = noise ? (0..<length).map { _ in rng.normal() * 0.1 } : (0..<length).map { Float(sin(2 * .pi * f * Double($0) / 22050)) * 0.3 }
            var mel = Tagger.logMel(audio, config: c, filterbank: fb)
            mel += [Float](repeating: mel.last ?? 0, count: max(0, c.windowFrames * 80 - mel.count))
            return Array(mel.prefix(c.windowFrames * 80))
        }
        let opt = AdamW(model.params, config: AdamWConfig(learningRate: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0))
        let all = PatchSelection.all(freq: c.freqPatches, time: c.timePatches)
        var first: Float = 0, last: Float = 0
        for step in 0..<60 {
            let labels = (0..<8).map { _ in rng.int(below: 2) }
            let windows = labels.map { example($0 == 1) }
            let selection = PatchSelection.patchout(freq: c.freqPatches, time: c.timePatches, dropTime: 0.2, dropFreq: 0.2, dropRandom: 0, rng: &rng)
            model.params.zeroGrad()
            let l = model.loss(model(windows, selection: selection), genres: labels, artists: labels.map { _ in -1 }, vocals: labels.map { _ in false })
            l.total.backward()
            opt.update(lr: 3e-3)
            if step == 0 { first = l.genre }
            last = l.genre
        }
        XCTAssertLessThan(last, first)
        var right = 0
        for i in 0..<20 {
            let out = GradMode.withoutGrad { model([example(i % 2 == 1)], selection: all) }
            if (out.genre.data[1] > out.genre.data[0]) == (i % 2 == 1) { right += 1 }
        }
        XCTAssertEqual(right, 20)
    }

    /// Two corpora: training draws on both, and each one's held-out clips are scored on their own
    /// and pooled (the counts are the clips written here); a fine-tune (`initFrom`) scores where it
    /// starts, at step 0, before it changes anything.
    func testTrainingOnTwoCorporaScoresEachHeldOutSet() throws {
        let root = NSTemporaryDirectory() + "tagger-corpora-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var rng = RNG(seed: 9)
        func corpus(_ name: String, train: Int, val: Int) throws -> String {
            let dir = root + "/" + name
            try FileManager.default.createDirectory(atPath: dir + "/audio", withIntermediateDirectories: true)
            var lines: [String] = []
            for i in 0..<(train + val) {
                let noise = i % 2 == 1, file = "audio/\(name)-\(i).wav"
                let audio: [Float] = (0..<(22050 * 2)).map { noise ? rng.normal() * 0.1 : Float(sin(2 * .pi * 440 * Double($0) / 22050)) * 0.3 }
                try AudioFile.write(AudioBuffer(samples: audio, sampleRate: 22050), to: dir + "/" + file)
                lines.append("{\"id\": \"\(name)-\(i)\", \"file\": \"\(file)\", \"genre\": \"\(noise ? "rock" : "jazz")\", \"artist\": \"Neon Highway\", "
                             + "\"length\": 2, \"offset\": 0, \"lyrics\": [], \"lyrics_aligned\": true, \"split\": \"\(i < train ? "train" : "val")\"}")
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/metadata.jsonl", atomically: true, encoding: .utf8)
            return dir
        }
        let a = try corpus("a", train: 2, val: 1), b = try corpus("b", train: 2, val: 2)
        var o = TaggerTrainOptions(dataDirs: [a, b], outDir: root + "/run")
        o.model = tinyConfig(classes: []); o.batchSize = 2
        o.steps = 2; o.warmup = 1; o.evalEvery = 1; o.saveEvery = 1; o.log = { _ in }
        let pooled = try XCTUnwrap(try TaggerTrainer.train(o))
        XCTAssertEqual(pooled.clips, 3)
        func scored(_ run: String) throws -> [(step: Int, data: String, clips: Int)] {
            try String(contentsOfFile: root + "/" + run + "/train_log.jsonl", encoding: .utf8).split(separator: "\n").compactMap { line in
                let j = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                guard let data = j["data"] as? String else { return nil }
                return (j["step"] as! Int, data, j["val_clips"] as! Int)
            }
        }
        let lines = try scored("run")
        XCTAssertEqual(lines.map(\.data), [a, b, "all", a, b, "all"])   // steps 1 and 2 (the end, scored once)
        XCTAssertEqual(lines.map(\.step), [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(lines.map(\.clips), [1, 2, 3, 1, 2, 3])
        var ft = TaggerTrainOptions(dataDirs: [b], outDir: root + "/ft")
        ft.initFrom = root + "/run"; ft.steps = 1; ft.warmup = 1; ft.batchSize = 2; ft.log = { _ in }
        try TaggerTrainer.train(ft)
        XCTAssertEqual(try scored("ft").map { "\($0.step) \($0.data) \($0.clips)" }, ["0 \(b) 2", "1 \(b) 2"])
        // The pooled score is the sets' counts added: 3 of 4 windows and 5 of 10 are 8 of 14.
        var one = TaggerEval(), two = TaggerEval()
        (one.genreWindowsRight, one.windows, one.genreClipsRight, one.clips) = (3, 4, 1, 1)
        (one.vocalsWindowsRight, one.vocalsWindows, one.vocalsClipsRight, one.vocalsClips) = (2, 2, 1, 1)
        (two.genreWindowsRight, two.windows, two.genreClipsRight, two.clips) = (5, 10, 2, 3)
        (two.vocalsWindowsRight, two.vocalsWindows, two.vocalsClipsRight, two.vocalsClips) = (0, 6, 0, 2)
        let both = TaggerEval.pooled([one, two])
        XCTAssertEqual(both.windowGenreAccuracy, 8.0 / 14, accuracy: 1e-12)
        XCTAssertEqual(both.clipGenreAccuracy, 3.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(both.windowVocalsAccuracy, 2.0 / 8, accuracy: 1e-12)
        XCTAssertEqual(both.clipVocalsAccuracy, 1.0 / 3, accuracy: 1e-12)
    }

    /// Mixup's targets: row i is λᵢ·onehot(i) + (1 − λᵢ)·onehot(partner), an unknown label on either
    /// side leaves the row unscored, and since cross-entropy is linear in its target the mixed loss
    /// equals λ·(loss on i's labels) + (1 − λ)·(loss on the partner's) — the closed form it is checked against.
    func testMixupTargetsAndLossAreTheBlendOfBoth() {
        let c = tinyConfig()
        var config = c; config.artists = ["a", "b", "c"]
        let model = Tagger(config: config, seed: 6)
        let t = TaggerTargets(genres: [0, 1], artists: [2, -1], vocals: [true, false], config: config)
        let mixed = t.mixed(with: [1, 0], weights: [0.75, 0.75])
        XCTAssertEqual(Array(mixed.genre[0..<2]), [0.75, 0.25])
        XCTAssertEqual(Array(mixed.genre[2..<4]), [0.25, 0.75])
        XCTAssertEqual(mixed.artist, [Float](repeating: 0, count: 6))   // example 1's artist is unknown
        XCTAssertEqual(mixed.vocals, [0.75, 0.25])
        var rng = RNG(seed: 7)
        let windows = (0..<2).map { _ in (0..<(config.windowFrames * 80)).map { _ in rng.normal() } }
        let out = GradMode.withoutGrad { model(windows, selection: .all(freq: config.freqPatches, time: config.timePatches)) }
        let lossMixed = model.loss(out, targets: mixed)
        let a = model.loss(out, genres: [0, 1], artists: [-1, -1], vocals: [true, false])
        let b = model.loss(out, genres: [1, 0], artists: [-1, -1], vocals: [false, true])
        XCTAssertEqual(lossMixed.genre, 0.75 * a.genre + 0.25 * b.genre, accuracy: 1e-5)
        XCTAssertEqual(lossMixed.vocals, 0.75 * a.vocals + 0.25 * b.vocals, accuracy: 1e-5)
    }

    func testConfigRefusesHostileNumbers() {
        var c = tinyConfig(); c.layers = 1_000_000_000
        XCTAssertFalse(c.validate().isEmpty)
        c = tinyConfig(); c.patch = 7
        XCTAssertFalse(c.validate().isEmpty)
        c = tinyConfig(); c.windowFrames = 33
        XCTAssertFalse(c.validate().isEmpty)
        c = tinyConfig(); c.melStd = 0
        XCTAssertFalse(c.validate().isEmpty)
        XCTAssertTrue(tinyConfig().validate().isEmpty)
    }

    func testFrechetDistanceClosedForms() {
        let (values, _) = Frechet.eigenSymmetric([[2, 1], [1, 2]])
        XCTAssertEqual(values.sorted()[0], 1, accuracy: 1e-12); XCTAssertEqual(values.sorted()[1], 3, accuracy: 1e-12)
        // Diagonal covariances: |μ₁−μ₂|² + Σ(σ₁−σ₂)².
        let d = Frechet.distance(mean1: [0, 1, 2], cov1: [[4, 0, 0], [0, 1, 0], [0, 0, 9]],
                                 mean2: [1, 1, 0], cov2: [[1, 0, 0], [0, 1, 0], [0, 0, 4]])
        XCTAssertEqual(d, (1 + 0 + 4) + (1 + 0 + 1), accuracy: 1e-9)
        // Equal (full) covariances: only the means count.
        let s: [[Double]] = [[2, 0.5, 0.1], [0.5, 1, 0.3], [0.1, 0.3, 1.5]]
        XCTAssertEqual(Frechet.distance(mean1: [1, 2, 3], cov1: s, mean2: [0, 0, 0], cov2: s), 14, accuracy: 1e-9)
        // Commuting full covariances (Σ₂ = 4Σ₁): Tr(Σ₁ + 4Σ₁ − 2·2Σ₁) = Tr(Σ₁).
        let s4 = s.map { $0.map { 4 * $0 } }
        XCTAssertEqual(Frechet.distance(mean1: [0, 0, 0], cov1: s, mean2: [0, 0, 0], cov2: s4), 4.5, accuracy: 1e-9)
        // From samples: the moments of two symmetric point sets.
        let a: [[Double]] = [[1, 0], [-1, 0], [0, 1], [0, -1]], b = a.map { [$0[0] + 3, $0[1]] }
        XCTAssertEqual(Frechet.distance(a, b), 9, accuracy: 1e-9)
    }
}
