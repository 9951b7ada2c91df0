// FuzzRegressionTests.swift — every input kept under Tests/Fixtures/fuzz/<target>/ (the seeds
// `make fuzz` starts from, and each crashing input it found, named regression-*) goes through its
// harness again. A harness returns for any input (errors are values); before the fixes these
// inputs crashed gen (overflow traps in the codes reader and the codec's dilation arithmetic,
// unbounded allocation from a prior or speech config), so a regression fails here by crashing.
import Foundation
import FuzzTargets
import XCTest

final class FuzzRegressionTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz")

    func testEveryKeptInputReturns() throws {
        var replayed = 0
        for target in FuzzTarget.allCases {
            let dir = Self.fixtures.appendingPathComponent(target.rawValue)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            XCTAssertFalse(files.isEmpty, "no inputs kept for \(target.rawValue)")
            for f in files {
                target.run([UInt8](try Data(contentsOf: dir.appendingPathComponent(f))))
                replayed += 1
            }
        }
        XCTAssertGreaterThanOrEqual(replayed, 15)
    }
}
