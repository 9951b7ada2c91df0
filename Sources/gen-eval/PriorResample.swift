// PriorResample.swift — `gen-eval prior-resample`: where a generated piece's noise comes from.
// A real clip is encoded with the prior's codebooks; the prior reads it teacher-forced (every step
// sees the real steps before it) and each chosen codebook's code is drawn afresh from the prior's
// distribution at that step; the codes are decoded as `gen music` decodes them. If a clip whose
// codes are real in every step but resampled one step at a time already sounds like a generated
// piece, the noise is made step by step, not by a drifting context.
import ArgumentParser
import Audio
import Engine
import Foundation
import Music

struct PriorResample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prior-resample",
        abstract: "Decode corpus clips with codes redrawn one step at a time by the prior, teacher-forced.",
        discussion: """
        For each clip id of --corpus: OUT/ID/real.wav (its codes as the codec gives them) and \
        OUT/ID/redrawn-Q.wav for each --codebooks set Q (e.g. 1234, 234, 1): every step's codes of \
        those codebooks drawn from the prior given the real steps before it.
        Example: gen-eval prior-resample --corpus data/music-heldout --ids 000041-waltz out/resample
        """)
    @Argument(help: "Output folder.") var output: String
    @Option(help: "Corpus folder.") var corpus = "data/music-heldout"
    @Option(parsing: .upToNextOption, help: "Clip ids.") var ids: [String]
    @Option(parsing: .upToNextOption, help: "Codebook sets to redraw (digits 1…K).") var codebooks: [String] = ["1234", "234", "1"]
    @Option(help: "Models folder.") var models = "models"
    @Option var temperature: Float = 1
    @Option var topK = 250
    @Option var seed: UInt64 = 1

    func run() throws {
        Runtime.configure()
        let codec = try RVQCodec.load(directory: models + "/codec")
        let prior = try Prior.load(directory: models + "/prior")
        let cfg = prior.config, k = cfg.codebooks, v = cfg.vocabSize, sizes = cfg.rows.sizes
        let lines = try PriorTrainer.loadCorpora([corpus]).filter { ids.contains($0.id) }
        guard !lines.isEmpty else { fail("none of \(ids) in \(corpus)") }
        let options = SamplingOptions(temperature: temperature, topK: topK, topP: 0)
        var rng = RNG(seed: seed)
        for line in lines {
            let x = try AudioFile.readMono(line.file, sampleRate: codec.sampleRate)
            let codes = codec.encode(x, forPrior: cfg)
            let clip = PriorTrainer.clips([line], codes: [codes], config: cfg)[0]
            let dir = output + "/" + line.id
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            func write(_ c: [[Int32]], _ name: String) throws {
                try AudioFile.write(AudioBuffer(samples: codec.decode(priorRows: c, config: cfg, length: x.count), sampleRate: codec.sampleRate), to: dir + "/" + name + ".wav")
            }
            try write(codes, "real")
            // Logits of every step, window by window (back to back, each from the start state).
            let n = clip.steps
            var logits = [Float](); logits.reserveCapacity(n * k * v)
            var s = 0
            while s < n {
                let e = min(n, s + cfg.context)
                let tokens = Array(clip.codes[(s * k)..<(e * k)])
                GradMode.withoutGrad {
                    logits += prior(tokens, conditions: [PriorTrainer.conditions(clip, start: s, config: cfg)]).data
                }
                s = e
            }
            for set in codebooks {
                let redraw = Set(set.compactMap { $0.wholeNumberValue.map { $0 - 1 } })
                var steps = clip.codes, same = [Int](repeating: 0, count: k), counted = [Int](repeating: 0, count: k)
                for t in 0..<n {
                    for q in redraw where q < k && steps[t * k + q] >= 0 && steps[t * k + q] < v {
                        let row = Array(logits[((t * k + q) * v)..<((t * k + q) * v + sizes[q])])
                        let c = TokenSampling.sample(row, options: options, rng: &rng)
                        if c == steps[t * k + q] { same[q] += 1 }
                        counted[q] += 1
                        steps[t * k + q] = c
                    }
                }
                let frames = cfg.pattern.deinterleave(steps.map { Int32($0) }, codebooks: k)
                try write(frames, "redrawn-" + set)
                print(line.id, set, "kept:", (0..<k).map { counted[$0] > 0 ? String(format: "%.2f", Double(same[$0]) / Double(counted[$0])) : "-" }.joined(separator: " "))
            }
        }
    }
}
