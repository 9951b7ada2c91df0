import XCTest
@testable import Speech

final class ScratchExplore: XCTestCase {
    func testExplore() throws {
        for s in ["hello world", "Hello, world.", "$42", "forty two dollars", "say [[ hh ax0 l ow1 ]] now", "[[ hh ax0 ]] [[ hh ax0 ]] then [[ k ae1 t ]], ok? [[pau ih2 t]]", "[[ HH AY1 ]].",
                  "wait - what", "Is it late?", "Yes!", "Café naïve — “quoted” text…", "The quick brown fox jumps over the lazy dog near the river bank today."] {
            let a = try TextFrontend.analyse(s, withAudio: true)
            print(s, "=>", a.tokens.map(\.phone).joined(separator: " "))
            print("   words:", a.tokens.compactMap(\.word))
            print("   sum", a.durations.reduce(0, +), "audio", Double(a.audio!.count) / Double(a.sampleRate), "lastEnd", a.segmentEnds.last!)
            let b = try TextFrontend.phonemes(s)
            XCTAssertEqual(a.tokens, b)
        }
        let s10 = "The young doctor walked slowly across the busy market square."
        _ = try TextFrontend.analyse(s10, withAudio: true)
        var t0 = Date()
        for _ in 0..<20 { _ = try TextFrontend.analyse(s10, withAudio: true) }
        print("full:", Date().timeIntervalSince(t0) / 20 * 1000, "ms")
        t0 = Date()
        for _ in 0..<20 { _ = try TextFrontend.analyse(s10, withAudio: false) }
        print("text:", Date().timeIntervalSince(t0) / 20 * 1000, "ms")
        print(TextFrontend.sentences("Dr. Smith paid $3.50. Is it late? Yes! So did I. Then J. R. Smith left at 5 p.m. on Jan. 3rd; etc. The end\nnew line e.g. this one. No. 5 is here. No. I won't."))
    }
}
