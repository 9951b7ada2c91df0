// BatchRunPlanTests.swift — what `gen batch` decides before rendering, now in the Batch module:
// which outputs --skip-existing keeps (a file that reads as audio, with its length; a corrupt one
// renders again), and how items and cores are shared among workers. Expected values: the file
// written here is exactly 1 s at 22050 Hz; the worker split is min(jobs, cores, items) workers,
// each with cores / workers BLAS threads (at least 1).
import Audio
import Batch
import Foundation
import XCTest

final class BatchRunPlanTests: XCTestCase {
    func testSkipExistingKeepsOnlyOutputsThatRead() throws {
        let dir = NSTemporaryDirectory() + "batch-plan-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = "{\"kind\":\"speech\",\"text\":\"One.\",\"out\":\"a.wav\"}\n{\"kind\":\"speech\",\"text\":\"Two.\",\"out\":\"b.wav\"}\n"
            + "{\"kind\":\"speech\",\"text\":\"Three.\",\"out\":\"c.wav\"}\n"
        let set = PromptParser.parse(text, file: dir + "/p.jsonl", format: .jsonLines, batchSeed: 1)
        XCTAssertEqual(set.items.map(\.out), ["a.wav", "b.wav", "c.wav"])
        try AudioFile.write(AudioBuffer(samples: [Float](repeating: 0.1, count: 22050), sampleRate: 22050), to: dir + "/a.wav")
        try Data("RIFF and then nothing".utf8).write(to: URL(fileURLWithPath: dir + "/b.wav"))   // cut short
        XCTAssertEqual(BatchRun.existingOutputs(set.items, outDir: dir, sampleRate: 22050), ["a.wav": 1.0])
    }

    func testWorkersShareTheCores() {
        XCTAssertTrue(BatchRun.workers(jobs: 1, cores: 2, items: 10) == (1, 2))
        XCTAssertTrue(BatchRun.workers(jobs: 4, cores: 2, items: 10) == (2, 1))
        XCTAssertTrue(BatchRun.workers(jobs: 3, cores: 8, items: 2) == (2, 4))
        XCTAssertTrue(BatchRun.workers(jobs: 2, cores: 16, items: 0) == (1, 16))
        XCTAssertTrue(BatchRun.workers(jobs: 3, cores: 8, items: 5) == (3, 2))
    }
}
