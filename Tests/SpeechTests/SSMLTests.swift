// SSMLTests.swift — the SSML subset parsed into pieces; expected values are the SSML 1.1 meanings
// written out by hand ("+2st" is 2 semitones, "-10%" of the frequency is 12·log2(0.9) semitones,
// rates multiply through nesting, a <p> ends with a strong break of 0.75 s).
import Speech
import XCTest

final class SSMLTests: XCTestCase {
    func testPiecesCarryProsodyAndPauses() throws {
        let pieces = try SSML.parse(#"<speak>Hello <break time="500ms"/><prosody rate="50%" pitch="+2st"><prosody rate="slow" volume="+6dB">world</prosody></prosody><voice name="rms">Hi</voice></speak>"#)
        XCTAssertEqual(pieces, [
            .text("Hello ", voice: nil, rate: 1, pitch: 0, volumeDB: 0),
            .pause(seconds: 0.5),
            .text("world", voice: nil, rate: 0.375, pitch: 2, volumeDB: 6),
            .text("Hi", voice: "rms", rate: 1, pitch: 0, volumeDB: 0),
        ])
        guard case .text(_, _, _, let p, _)? = try SSML.parse(#"<speak><prosody pitch="-10%">x</prosody></speak>"#).first else { return XCTFail() }
        XCTAssertEqual(p, 12 * log2(0.9), accuracy: 1e-5)
        XCTAssertEqual(try SSML.parse(#"<speak><p>One.</p><break strength="weak"/></speak>"#),
                       [.text("One.", voice: nil, rate: 1, pitch: 0, volumeDB: 0), .pause(seconds: 0.75), .pause(seconds: 0.25)])
    }

    func testSayAsPhonemeAndSub() throws {
        func text(_ s: String) throws -> String {
            try SSML.parse(s).compactMap { if case .text(let t, _, _, _, _) = $0 { return t } else { return nil } }.joined()
                .trimmingCharacters(in: .whitespaces)
        }
        XCTAssertEqual(try text(#"<speak><say-as interpret-as="characters">IBM</say-as></speak>"#), "I B M")
        XCTAssertEqual(try text(#"<speak><say-as interpret-as="date" format="mdy">12/01/2026</say-as></speak>"#), "December 1, 2026")
        XCTAssertEqual(try text(#"<speak><say-as interpret-as="cardinal">1,024</say-as></speak>"#), "1024")
        XCTAssertEqual(try text(#"<speak><phoneme alphabet="arpabet" ph="HH AH0 L OW1">hello</phoneme></speak>"#), "[[ hh ah0 l ow1 ]]")
        XCTAssertEqual(try text(#"<speak><sub alias="World Wide Web">WWW</sub></speak>"#), "World Wide Web")
        XCTAssertEqual(try text("<speak>Fish &amp; chips</speak>"), "Fish & chips")
    }

    func testErrorsNameTheProblem() {
        func message(_ s: String) -> String {
            do { _ = try SSML.parse(s); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("<speak><audio src='x.wav'/></speak>").contains("<audio>"))
        XCTAssertTrue(message("<speak>a <break time='1s'> b</speak>").contains("well-formed") || message("<speak>a <break time='1s'> b</speak>").contains("closes"))
        XCTAssertTrue(message("<speak><break time='forever'/></speak>").contains("time"))
        XCTAssertTrue(message("<speak><prosody rate='9'>x</prosody></speak>").contains("rate"))
        XCTAssertTrue(message("<speak><phoneme alphabet='ipa' ph='həˈloʊ'>x</phoneme></speak>").contains("IPA"))
        XCTAssertTrue(message("<speak><say-as interpret-as='date'>yesterday</say-as></speak>").contains("date"))
        XCTAssertTrue(message("<p>no root</p>").contains("<speak>"))
        XCTAssertTrue(SSML.looksLikeSSML("  <speak>x</speak>"))
        XCTAssertFalse(SSML.looksLikeSSML("I <3 speaking"))
    }
}
