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
        XCTAssertEqual(s.problems(), ["--batch-frames must be at least 100, got 99",
                                      "--d-model must be a positive even number (2 attention heads), got 3"])
        var v = VocoderTrainOptions(dataDir: "d", outDir: "o")
        XCTAssertEqual(v.problems(), [])
        v.segmentFrames = 7; v.model.blocks = 33; v.adversarial.learningRate = 0; v.run.learningRate = 0
        XCTAssertEqual(v.problems(), ["--lr must be between 0 and 1, got 0.0", "--segment-frames must be in 8...2048, got 7",
                                      "--blocks must be in 1...32, got 33", "--discriminator-lr must be in (0, 1], got 0.0"])
    }
}
