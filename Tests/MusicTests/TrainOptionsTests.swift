// TrainOptionsTests.swift — every limit on a training run lives in the trainer's options
// (`problems()`), which `gen train` reports as its usage errors: the defaults pass, and each value
// one step outside its documented range is named by its flag. The ranges are the ones the
// options' doc comments and `gen train … --help` give.
import Engine
import Foundation
import Music
import NN
import XCTest

final class TrainOptionsTests: XCTestCase {
    func testTheRunsOwnLimits() {
        var run = RVQCodecTrainOptions.defaultRun
        XCTAssertEqual(run.problems(), [])
        run.steps = 0; run.learningRate = 1; run.warmup = -1; run.maxMinutes = .nan; run.saveEvery = 0
        XCTAssertEqual(run.problems().map { $0.components(separatedBy: " ").first! },
                       ["--steps", "--minutes", "--lr", "--warmup", "--save-every"])
    }

    func testCodecOptions() {
        var o = RVQCodecTrainOptions(dataDirs: ["data/music"], outDir: "runs/c")
        XCTAssertEqual(o.problems(), [])
        o.batchSize = 257; o.model.codebooks = 0; o.phaseWeight = -1
        XCTAssertEqual(o.problems(), ["--batch-size must be in 1...256, got 257", "--codebooks must be in 1...32, got 0",
                                      "--phase-weight must be in 0...100, got -1"])
        o = RVQCodecTrainOptions(dataDirs: [], outDir: "runs/c")
        o.decoderOnly = true; o.encoderInput = .frequency
        let p = o.problems()
        XCTAssertTrue(p[0].hasPrefix("give at least one --data"), p[0])
        XCTAssertTrue(p[1].hasPrefix("--decoder-only trains an existing codec's decoder"), p[1])
        XCTAssertTrue(p[2].hasPrefix("--encoder-input changes what the codes mean"), p[2])
        o.initFrom = "models/codec"; o.resume = true; o.decoderOnly = false; o.encoderInput = nil; o.dataDirs = ["d"]
        XCTAssertEqual(o.problems(), ["--init-from starts a new run; drop it with --resume"])
        o = RVQCodecTrainOptions(dataDirs: ["d"], outDir: "runs/c")
        o.binHeadOnly = true; o.binHead = BinHeadLayout(channels: 65, kernel: 4)
        XCTAssertEqual(o.problems(), ["--bin-head-only trains an existing codec's decoder: give --init-from DIR (or --resume such a run)",
                                      "--bin-head must be in 1...64, got 65", "--bin-head-kernel must be odd, in 1...31, got 4"])
        o.initFrom = "models/codec"; o.binHead = BinHeadLayout(channels: 8)
        XCTAssertEqual(o.problems(), [])
        o = RVQCodecTrainOptions(dataDirs: ["d"], outDir: "runs/c")
        o.longWindow = LongWindowInput(nFFT: 1000, bins: 10)
        XCTAssertEqual(o.problems(), ["--long-window: long_window.n_fft must be a power of two above n_fft (1024) and at most 32768, got 1000"])
        o.longWindow = LongWindowInput(nFFT: 4096, bins: 129); o.initFrom = "models/codec"; o.decoderOnly = true
        XCTAssertEqual(o.problems(), ["--long-window changes what the codes mean; --decoder-only keeps them. Drop one"])
        o = RVQCodecTrainOptions(dataDirs: ["d"], outDir: "runs/c")
        o.decoderBlocks = 33; o.trainingCodebooks = [-1, 5]
        XCTAssertEqual(o.problems(), ["--decoder-blocks must be in 1...32, got 33", "--train-codebooks must list 1 to 64 codebook counts, each in 0...32 (0: unquantized), got -1,5"])
        o.decoderBlocks = nil; o.trainingCodebooks = [0, 33]
        XCTAssertEqual(o.problems(), ["--train-codebooks must list 1 to 64 codebook counts, each in 0...32 (0: unquantized), got 0,33"])
        o.decoderBlocks = 9; o.trainingCodebooks = [1, 5, 5]; o.resume = true
        XCTAssertEqual(o.problems(), ["--decoder-blocks sets up a new run; a resumed run keeps its own"])
    }

    func testPriorAndTaggerOptions() {
        var p = PriorTrainOptions(dataDirs: ["d"], codecDir: "c", outDir: "o")
        XCTAssertEqual(p.problems(), [])
        p.labelDropout = 1.5; p.model.heads = 3; p.residualDropout = .nan; p.inputNoise = 0.6
        XCTAssertEqual(p.problems(), ["--label-dropout must be in 0...1, got 1.5", "--dropout must be in 0...0.9, got nan",
                                      "--input-noise must be in 0...0.5, got 0.6",
                                      "--d-model must be a multiple of --heads in 1...4096, got 256 and 3 heads"])
        // Upper bounds: a batch of 10^9 windows once aborted allocating 16 TB; the steps of a batch
        // are bounded too (about 0.5 MB of memory a step, measured: 2.3 GB at 8 × 512, 8.6 GB at 32 × 512).
        p = PriorTrainOptions(dataDirs: ["d"], codecDir: "c", outDir: "o"); p.model.context = 512; p.batchSize = 1_000_000_000
        XCTAssertEqual(p.problems(), ["--batch-size must be in 1...256, got 1000000000"])
        p.batchSize = 32
        XCTAssertEqual(p.problems(), [])
        p.batchSize = 64
        XCTAssertEqual(p.problems(), ["--batch-size × --context must be at most 16384 steps a batch (about 0.5 MB of memory each), got 64 × 512"])
        p.batchSize = 1; p.model.context = 100_000; p.model.layers = 65
        XCTAssertEqual(p.problems(), ["--context must be in 2...8192, got 100000", "--layers must be in 1...64, got 65"])
        var t = TaggerTrainOptions(dataDirs: ["d"], outDir: "o")
        XCTAssertEqual(t.problems(), [])
        t.patchoutTime = 1; t.mixup = 0.01
        XCTAssertEqual(t.problems(), ["--patchout-time must be at least 0 and below 1, got 1.0",
                                      "--mixup must be 0 (off) or an α between 0.05 and 10 (PaSST uses 0.3), got 0.01"])
        t = TaggerTrainOptions(dataDirs: ["d"], outDir: "o"); t.model.heads = 5   // the model's own check, through the options
        XCTAssertEqual(t.problems().count, 1)
    }

    // A library caller that skips the command line gets the same refusal, before any folder is made.
    func testTrainersRefuseBadOptionsFirst() {
        let out = NSTemporaryDirectory() + "train-options-\(getpid())"
        var o = RVQCodecTrainOptions(dataDirs: ["/nonexistent"], outDir: out)
        o.batchSize = 0
        XCTAssertThrowsError(try RVQCodecTrainer.train(o)) { XCTAssertTrue($0 is TrainingOptionsError, "\($0)") }
        var t = TaggerTrainOptions(dataDirs: ["/nonexistent"], outDir: out)
        t.mixup = 20
        XCTAssertThrowsError(try TaggerTrainer.train(t)) { XCTAssertTrue($0 is TrainingOptionsError, "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
