// BatchBench.swift — `gen batch --jobs 2` against `--jobs 1` on a speech-only batch (40 lines of
// the evaluation sentences, or examples/sentences.txt), whole process as a user runs it: start-up,
// model load, validation, rendering and writing. Runs alternate (1, 2, 1, 2) and the best of each
// is kept, so both see the same machine load; the ratio is jobs-1 time over jobs-2 time (≥ 1 means
// --jobs 2 is no slower).
import Foundation

func benchBatch() {
    let gen = ".build/release/gen"
    let candidates = ["../shared/eval/sentences_dev.txt", "examples/sentences.txt"]
    guard FileManager.default.isExecutableFile(atPath: gen),
          let file = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
          let text = try? String(contentsOfFile: file, encoding: .utf8) else {
        print("gen batch: needs .build/release/gen and a sentence file; skipped")
        return
    }
    let sentences = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    guard !sentences.isEmpty else { return }
    let dir = NSTemporaryDirectory() + "gen-bench-batch-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let lines = (0..<40).map { sentences[$0 % sentences.count] }
    let prompts = dir + "/batch.txt"
    guard (try? (lines.joined(separator: "\n") + "\n").write(toFile: prompts, atomically: true, encoding: .utf8)) != nil else { return }

    func run(jobs: Int) -> Double? {
        let out = dir + "/out-\(jobs)"
        try? FileManager.default.removeItem(atPath: out)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gen)
        p.arguments = ["batch", prompts, "--out-dir", out, "--jobs", "\(jobs)", "--quiet"]
        p.environment = userEnvironment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let t0 = now()
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? now() - t0 : nil
    }
    var best = [1: Double.infinity, 2: Double.infinity]
    for jobs in [1, 2, 1, 2] {
        guard let s = run(jobs: jobs) else { print("gen batch --jobs \(jobs) failed; skipped"); return }
        best[jobs] = min(best[jobs]!, s)
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    print("gen batch, \(lines.count) speech lines, \(cores) cores: --jobs 1 \(fmt(best[1]!, 2)) s, --jobs 2 \(fmt(best[2]!, 2)) s, "
          + "speed-up \(fmt(best[1]! / best[2]!, 2))× (best of 2 each, whole process; target ≥ 1: --jobs 2 no slower)")
}
