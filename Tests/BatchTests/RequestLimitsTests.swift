// RequestLimitsTests.swift — the limits of a music or speech request that only the command line
// sets (output rate, prime length, sentence silence, Griffin-Lim iterations) live in the request's
// `validate` beside the others, so `gen music`, `gen speech` and `gen vocode` refuse the same values
// with the same words. Expected values are the documented ranges themselves: each bound accepted,
// one step outside refused, the problem naming the field as its caller spells it.
import Requests
import XCTest

final class RequestLimitsTests: XCTestCase {
    func testSpeechLimitsAtTheirBounds() {
        func problems(_ edit: (inout SpeechRequest) -> Void) -> [String] {
            var r = SpeechRequest(text: "hello"); edit(&r); return r.validate()
        }
        XCTAssertEqual(problems { _ in }, [])
        XCTAssertEqual(problems { $0.rate = 8000; $0.sentenceSilence = 0; $0.vocoderIterations = 500 }, [])
        XCTAssertEqual(problems { $0.rate = 192_000; $0.sentenceSilence = 10; $0.vocoderIterations = 1 }, [])
        XCTAssertEqual(problems { $0.rate = 7999 }, ["--rate must be between 8000 and 192000 Hz, got 7999"])
        XCTAssertEqual(problems { $0.sentenceSilence = 10.5 }, ["--sentence-silence must be between 0 and 10 seconds, got 10.5"])
        XCTAssertEqual(problems { $0.sentenceSilence = .nan }.count, 1)
        XCTAssertEqual(problems { $0.vocoderIterations = 0 }, ["--vocoder-iterations must be between 1 and 500, got 0"])
        // `gen vocode` shares two of them, with the same words.
        XCTAssertEqual(SpeechRequest.vocodingProblems(rate: 200_000, vocoderIterations: 501),
                       ["--rate must be between 8000 and 192000 Hz, got 200000", "--vocoder-iterations must be between 1 and 500, got 501"])
    }

    func testMusicPrimeAndRate() {
        var r = MusicRequest()
        r.duration = 10
        r.primeSeconds = 9.5; r.rate = 48_000
        XCTAssertEqual(r.validate(), [])
        r.primeSeconds = 10
        XCTAssertEqual(r.validate(), ["--prime-seconds must be more than 0 and less than --duration (10), got 10"])
        r.primeSeconds = 0
        XCTAssertEqual(r.validate(naming: { $0.key }), ["\"prime_seconds\" must be more than 0 and less than \"duration\" (10), got 0"])
        r.primeSeconds = nil; r.rate = 4000
        XCTAssertEqual(r.validate(), ["--rate must be between 8000 and 192000 Hz, got 4000"])
    }
}
