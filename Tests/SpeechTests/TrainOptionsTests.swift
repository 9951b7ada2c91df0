// TrainOptionsTests.swift — the speech trainers' limits live in their options (`problems()`), which
// `gen train speech|vocoder` report as usage errors: the defaults pass, and a value one step outside
// its documented range is named by its flag.
import Engine
import Speech
import XCTest

final class SpeechTrainOptionsTests: XCTestCase {
    func testSpeechAndVocoderOptions() {
        var s = SpeechTrainOptions(dataDir: "d", outDir: "o")
        XCTAssertEqual(s.problems(), [])
        s.framesPerBatch = 99
        var arch = FastSpeechConfig(vocabSize: 0, speakers: [], pitchMean: [], pitchStd: [], energyMean: 0, energyStd: 1)
        arch.dModel = 3; s.model = arch
        XCTAssertEqual(s.problems(), ["--batch-frames must be in 100...100000, got 99",
                                      "--d-model must be an even number in 2...2048 (2 attention heads), got 3"])
        // Upper bounds too: a hostile number is refused before anything is sized by it.
        s.framesPerBatch = 1_000_000_000; arch.dModel = 128; arch.decoderLayers = 1000; arch.ffnDim = 1 << 20; s.model = arch
        XCTAssertEqual(s.problems(), ["--batch-frames must be in 100...100000, got 1000000000", "--layers must be in 1...64, got 1000",
                                      "--ffn-dim must be in 1...16384, got 1048576"])
        var v = VocoderTrainOptions(dataDir: "d", outDir: "o")
        XCTAssertEqual(v.problems(), [])
        v.segmentFrames = 7; v.model.blocks = 33; v.adversarial.learningRate = 0; v.run.learningRate = 0
        XCTAssertEqual(v.problems(), ["--lr must be between 0 and 1, got 0.0", "--segment-frames must be in 8...2048, got 7",
                                      "--blocks must be in 1...32, got 33", "--discriminator-lr must be in (0, 1], got 0.0"])
    }
}
