// MusicBench.swift — the music path's speed: the codec's encode + decode against real time, the
// prior's KV-cached sampling step against recomputing the window at 1024 codes of context, the
// cost of an upsampler at the finest level (Jukebox's lower-level priors), and the whole
// `gen music --duration 20` process. Uses the shipped models/codec (the RVQ codec, every bitrate)
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

func benchCodec() {
    guard let codec = try? RVQCodec.load(directory: "models/codec") else { print("codec: no model in models/codec; skipped"); return }
    let seconds = 30.0, audio = musicAudio(seconds: seconds)
    for k in 1...codec.config.codebooks {
        var codes: [[Int32]] = []
        let tEnc = time(2) { codes = codec.encode(audio, codebooks: k) }
        let tDec = time(2) { _ = codec.decode(codes, length: audio.count) }
        print("codec \(k) codebooks (\(fmt(codec.config.bitrate(codebooks: k) / 1000, 2)) kbps), \(fmt(seconds, 0)) s: "
              + "encode \(fmt(seconds / tEnc))× real time, decode \(fmt(seconds / tDec))×, encode + decode \(fmt(seconds / (tEnc + tDec)))× (target ≥ 50×)")
    }
}

/// Seconds per sampled code at a full window: KV-cached step vs. re-running the whole window.
private func cacheTimes(_ prior: Prior, context: Int) -> (cached: Double, recompute: Double) {
    var rng = RNG(seed: 9)
    let tokens = (0..<(context - 1)).map { _ in rng.int(below: prior.config.vocabSize) }
    let cond = prior.config.conditions(PriorLabels(genre: 0), totalTokens: 4 * context, offsetTokens: 0)
    let state = prior.makeRunState(batch: 1)
    let tail = 64
    prior.begin(state, conditions: [cond])
    _ = prior.feed(state, tokens: Array(tokens[0..<(context - 1 - tail)]))
    let t0 = now()
    for k in (context - 1 - tail)..<(context - 1) { _ = prior.feed(state, tokens: [tokens[k]]) }
    let cached = (now() - t0) / Double(tail)
    let recompute = time(3) {
        prior.begin(state, conditions: [cond])
        _ = prior.feed(state, tokens: tokens)
    }
    return (cached, recompute)
}

private func benchPriorCache() {
    let shipped = try? Prior.load(directory: "models/prior")
    var config = shipped?.config ?? PriorConfig()
    let label = shipped == nil ? "default-size prior (random weights)" : "shipped prior's size (random weights)"
    config.context = 1024
    let prior = Prior(config: config)
    let (cached, recompute) = cacheTimes(prior, context: 1024)
    print("prior sampling, \(label), 1024 codes of context: KV-cached \(fmt(cached * 1000, 2)) ms/code, "
          + "recomputing the window \(fmt(recompute * 1000, 1)) ms/code, speedup \(fmt(recompute / cached))× (target ≥ 10×)")
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
          + "copying the prefix (before) \(fmt(copying * 1e3, 3)) ms, ×\(fmt(copying / inPlace, 2)) per layer per code")
    // An upsampler for the hop-32 level would sample 4× as many codes per second as the hop-128 prior.
    var up = config; up.layers = 4; up.context = 1024; up.hop = 32
    let upsampler = Prior(config: up)
    let (upCached, _) = cacheTimes(upsampler, context: 1024)
    let perSecond = 22050.0 / 32
    print("upsampler at hop 32 (d_model \(up.dModel), \(up.layers) layers, KV-cached, batch 1): \(fmt(upCached * 1000, 2)) ms/code × "
          + "\(fmt(perSecond, 0)) codes/s = RTF \(fmt(upCached * perSecond, 2)) for that stage alone")
}

private func benchMusicProcess() {
    let gen = ".build/release/gen", out = NSTemporaryDirectory() + "gen-bench-music.wav"
    guard FileManager.default.isExecutableFile(atPath: gen), FileManager.default.fileExists(atPath: "models/prior/config.json") else {
        print("gen music: no shipped prior or no release build; skipped"); return
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: gen)
    p.arguments = ["music", "--genre", "jazz", "--lyrics", "examples/lyrics.txt", "--duration", "20", "--seed", "1", "-o", out, "--quiet"]
    let t0 = now()
    guard (try? p.run()) != nil else { return }
    p.waitUntilExit()
    let wall = now() - t0
    guard p.terminationStatus == 0 else { print("gen music failed with exit \(p.terminationStatus)"); return }
    print("gen music --genre jazz --lyrics examples/lyrics.txt --duration 20, whole process: \(fmt(wall, 2)) s, RTF \(fmt(wall / 20, 3)) (target ≤ 1.0)")
    try? FileManager.default.removeItem(atPath: out)
}
