// LabelNameTests.swift — names matched in any case and "did you mean": distances are counted by hand
// (optimal string alignment: "speach"→"speech" one substitution, "rsm"→"rms" one adjacent swap).
import Requests
import XCTest

final class LabelNameTests: XCTestCase {
    func testDistanceClosedForms() {
        XCTAssertEqual(LabelName.distance("speach", "speech"), 1)
        XCTAssertEqual(LabelName.distance("rsm", "rms"), 1)
        XCTAssertEqual(LabelName.distance("", "abc"), 3)
        XCTAssertEqual(LabelName.distance("kitten", "sitting"), 3)
        XCTAssertEqual(LabelName.distance("jazz", "jazz"), 0)
    }

    func testMatchAndSuggestion() {
        let voices = ["slt", "rms", "awb"]
        XCTAssertEqual(LabelName.match("RMS", in: voices), "rms")
        XCTAssertNil(LabelName.match("rmsx", in: voices))
        XCTAssertEqual(LabelName.suggestion(for: "rsm", in: voices), "rms")
        XCTAssertNil(LabelName.suggestion(for: "xyz", in: voices), "nothing close: no guess")
        XCTAssertEqual(LabelName.suggestion(for: "speach", in: ["speech", "music", "batch"]), "speech")
        XCTAssertEqual(LabelName.suggestion(for: "coun", in: ["jazz", "country"]), "country", "a prefix")
        XCTAssertEqual(LabelName.unknown("voice", "rsm", valid: voices),
                       "unknown voice 'rsm'. Did you mean 'rms'? Valid voices: slt, rms, awb.")
    }
}
