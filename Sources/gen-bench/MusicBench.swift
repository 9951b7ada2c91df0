// MusicBench.swift — the music path's speed: the codec's encode + decode against real time, the
// prior's KV-cached sampling step (K codes per step) against recomputing the window at 1024 steps
// of context, with and without guidance's doubled batch, and the whole `gen music --duration 20`
// process. Uses the shipped models/codec (the RVQ codec, every bitrate)
// and models/prior when present.
import Audio
import Engine
import Foundation
import Music

func benchMusic() {
    benchCodec()
    benchPriorCache()
    benchMusicProcess()
}

/// 30 s of music: a corpus clip when one is around, else a chord with a pulse (the speed does not depend on content).
private func musicAudio(seconds: Double) -> [Float] {
    let n = Int(seconds * 22050)
    if let dir = try? FileManager.default.contentsOfDirectory(atPath: "data/music/audio"),
       let name = dir.sorted().first(where: { $0.hasSuffix(".wav") }),
       let a = try? AudioFile.read("data/music/audio/" + name).mono(), a.sampleRate == 22050, !a.samples.isEmpty {
        return (0..<n).map { a.samples[$0 % a.samples.count] }
    }
    return (0..<n).map { i in
        let t = Double(i) / 22050, pulse = exp(-8 * t.truncatingRemainder(dividingBy: 0.5))
        return Float(0.2 * pulse * (sin(2 * .pi * 220 * t) + sin(2 * .pi * 277.2 * t) + sin(2 * .pi * 329.6 * t)))
    }
}

func benchCodec(directory dir: String = "models/codec") {
    guard let codec = try? RVQCodec.load(directory: dir) else { print("codec: no model in \(dir); skipped"); return }
    let seconds = 30.0, audio = musicAudio(seconds: seconds)
    for rung in codec.config.rungs() {
        var codes: [[Int32]] = []
        let tEnc = time(2) { codes = codec.encode(audio, rung: rung) }
        let tDec = time(2) { _ = codec.decode(codes, bassRows: rung.bass, length: audio.count) }
        // With a bass decoder in use (main codes only, from its min_codebooks up), the decode
        // without it too: what the bass band costs.
        let bassUsed = rung.bass == 0 && (codec.bass?.applies(toCodebooks: rung.main) ?? false)
        let bass = !bassUsed ? "" : {
            let plain = time(2) { _ = codec.decode(codes, length: audio.count, bass: false) }
            return ", decode without the bass decoder \(fmt(seconds / plain))× (the bass decoder alone \(fmt(seconds / max(tDec - plain, 1e-9)))×)"
        }()
        print("codec \(rung.total) codebooks\(rung.bass > 0 ? " (\(rung))" : "") (\(fmt(codec.config.bitrate(rung) / 1000, 2)) kbps), \(fmt(seconds, 0)) s: "
              + "encode \(fmt(seconds / tEnc))× real time, decode \(fmt(seconds / tDec))×, encode + decode \(fmt(seconds / (tEnc + tDec)))× (target ≥ 50×)" + bass)
    }
}

/// Seconds per sampled step at a full window: KV-cached step vs. re-running the whole window.
private func cacheTimes(_ prior: Prior, context: Int, batch: Int = 1) -> (cached: Double, recompute: Double) {
    var rng = RNG(seed: 9)
    let k = prior.config.codebooks
    let steps = (0..<((context - 1) * k * batch)).map { _ in rng.int(below: prior.config.vocabSize) }
    let cond = prior.config.conditions(PriorLabels(genre: 0), totalTokens: 4 * context, offsetTokens: 0)
    let conds = [PriorConditions](repeating: cond, count: batch)
    let state = prior.makeRunState(batch: batch)
    let tail = 64, n = context - 1
    func rows(_ r: Range<Int>) -> [Int] { (0..<batch).flatMap { b in steps[((b * n + r.lowerBound) * k)..<((b * n + r.upperBound) * k)] } }
    prior.begin(state, conditions: conds)
    _ = prior.feed(state, steps: rows(0..<(n - tail)))
    let t0 = now()
    for s in (n - tail)..<n { _ = prior.feed(state, steps: rows(s..<(s + 1))) }
    let cached = (now() - t0) / Double(tail)
    if ProcessInfo.processInfo.environment["GEN_BENCH_CACHED_ONLY"] != nil {   // for a profiler: the cached steps alone, many times
        for _ in 0..<20 {
            for c in state.caches { c.rewind(to: n - tail + 1) }
            for s in (n - tail)..<n { _ = prior.feed(state, steps: rows(s..<(s + 1))) }
        }
        return (cached, .nan)
    }
    let recompute = time(2) {
        prior.begin(state, conditions: conds)
        _ = prior.feed(state, steps: steps)
    }
    return (cached, recompute)
}

func benchPriorCache() {
    let shipped = try? Prior.load(directory: "models/prior")
    var config = shipped?.config ?? PriorConfig()
    let label = shipped == nil ? "default-size prior (random weights)" : "shipped prior's size (random weights)"
    config.context = 1024
    let prior = Prior(config: config)
    let (cached, recompute) = cacheTimes(prior, context: 1024)
    let (guided, _) = cacheTimes(prior, context: 1024, batch: 2)
    // The same steps on one thread (OpenBLAS's and the engine's): a step's products are small,
    // so what two threads save in arithmetic they may lose in hand-offs.
    let width = Threads.count
    Threads.set(1)
    let (cached1, _) = cacheTimes(prior, context: 1024), (guided1, _) = cacheTimes(prior, context: 1024, batch: 2)
    Threads.set(width)
    print("prior sampling step on 1 thread: KV-cached \(fmt(cached1 * 1000, 2)) ms/step (\(fmt(guided1 * 1000, 2)) ms with guidance's batch of 2)")
    // The same steps reading half-precision weights and KV caches (what `gen music` does).
    prior.useHalfPrecisionSteps()
    let (half, _) = cacheTimes(prior, context: 1024), (halfGuided, _) = cacheTimes(prior, context: 1024, batch: 2)
    // A prior with the bar grid and grid guidance samples three rows per piece (labels and grid, grid
    // alone, neither): the shipped prior's `gen music` step.
    let (halfGrid, _) = cacheTimes(prior, context: 1024, batch: 3)
    Threads.set(1)
    let (half1, _) = cacheTimes(prior, context: 1024), (halfGuided1, _) = cacheTimes(prior, context: 1024, batch: 2)
    Threads.set(width)
    prior.useHalfPrecisionSteps(false)
    print("prior sampling step in half precision (weights and KV cache, as gen music samples): KV-cached \(fmt(half * 1000, 2)) ms/step (\(fmt(halfGuided * 1000, 2)) ms with guidance's batch of 2, \(fmt(halfGrid * 1000, 2)) ms with grid guidance's 3); "
          + "on 1 thread \(fmt(half1 * 1000, 2)) ms (\(fmt(halfGuided1 * 1000, 2)) ms); F32 / F16 \(fmt(cached / half, 2))× (1 thread \(fmt(cached1 / half1, 2))×)")
    print("prior sampling, \(label), \(config.codebooks) codebooks, 1024 steps of context: KV-cached \(fmt(cached * 1000, 2)) ms/step "
          + "(\(fmt(guided * 1000, 2)) ms with guidance's batch of 2), recomputing the window \(fmt(recompute * 1000, 1)) ms/step, "
          + "speedup \(fmt(recompute / cached))× (target ≥ 10×)")
    // The attention step alone at 1024 positions, the prior's heads: the cache read in place
    // (KVCache.attend) against copying the prefix out first (update + attention, the old path).
    let heads = config.heads, d = config.dModel / config.heads
    var rng = RNG(seed: 3)
    let cacheA = KVCache(batch: 1, heads: heads, maxLength: 1024, headDim: d), cacheB = KVCache(batch: 1, heads: heads, maxLength: 1024, headDim: d)
    let prefix = Tensor(randn: [1, heads, 1023, d], rng: &rng), q = Tensor(randn: [1, heads, 1, d], rng: &rng)
    _ = cacheA.update(keys: prefix, values: prefix); _ = cacheB.update(keys: prefix, values: prefix)
    let reps = 200
    var t0 = now()
    for _ in 0..<reps { cacheA.rewind(to: 1023); _ = cacheA.attend(q: q, keys: q, values: q) }
    let inPlace = (now() - t0) / Double(reps)
    t0 = now()
    for _ in 0..<reps {
        cacheB.rewind(to: 1023)
        let (k, v) = cacheB.update(keys: q, values: q)
        _ = attention(q: q, k: k, v: v, causal: true, queryOffset: 1023)
    }
    let copying = (now() - t0) / Double(reps)
    print("KV-cache attention step at 1024 positions (\(heads) heads × \(d)): in place \(fmt(inPlace * 1e3, 3)) ms, "
          + "copying the prefix (before) \(fmt(copying * 1e3, 3)) ms, ×\(fmt(copying / inPlace, 2)) per layer per step")
}

private func benchMusicProcess() {
    let gen = ".build/release/gen", out = NSTemporaryDirectory() + "gen-bench-music.wav"
    guard FileManager.default.isExecutableFile(atPath: gen), FileManager.default.fileExists(atPath: "models/prior/config.json") else {
        print("gen music: no shipped prior or no release build; skipped"); return
    }
    // With lyrics (labels, grid and unconditioned rows), and without (one more row: the shipped
    // prior's instrumental guidance steers away from a row that sings).
    for lyrics in [["--lyrics", "examples/lyrics.txt"], []] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gen)
        p.arguments = ["music", "--genre", "jazz"] + lyrics + ["--duration", "20", "--seed", "1", "-o", out, "--quiet"]
        p.environment = userEnvironment
        let t0 = now()
        guard (try? p.run()) != nil else { return }
        p.waitUntilExit()
        let wall = now() - t0
        guard p.terminationStatus == 0 else { print("gen music failed with exit \(p.terminationStatus)"); return }
        print("gen music --genre jazz \(lyrics.isEmpty ? "(no lyrics)" : lyrics.joined(separator: " ")) --duration 20 (cfg \(fmt(Double(SamplingDefaults.cfg), 1))), "
              + "whole process: \(fmt(wall, 2)) s, RTF \(fmt(wall / 20, 3)) (target ≤ 0.5)")
    }
    try? FileManager.default.removeItem(atPath: out)
}
