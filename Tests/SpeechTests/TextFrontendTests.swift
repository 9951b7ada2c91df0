// TextFrontendTests.swift — flite-driven phonemes, markers, inline phones, timings and sentence splitting.
import XCTest
@testable import Speech

final class TextFrontendTests: XCTestCase {
    private func phones(_ text: String) throws -> [String] {
        try TextFrontend.phonemes(text).map(\.phone)
    }

    // Expected phones from the CMU Pronouncing Dictionary: HELLO = HH AH0 L OW1 (flite's cmulex,
    // built from CMUdict, writes the reduced vowel as ax: "hh ax0 l ow1"), WORLD = W ER1 L D.
    // flite puts a pau at both ends; the frontend adds <wb> after each word and <.> at the end.
    func testHelloWorld() throws {
        let tokens = try TextFrontend.phonemes("hello world")
        XCTAssertEqual(tokens.map(\.phone), ["pau", "hh", "ax0", "l", "ow1", "<wb>", "w", "er1", "l", "d", "<wb>", "<.>", "pau"])
        XCTAssertEqual(tokens.map(\.id), tokens.map { PhoneSet.standard.id($0.phone)! })
        XCTAssertEqual(tokens.filter(\.isWordEnd).map(\.phone), ["ow1", "d"])
        XCTAssertEqual(tokens[4].word, "hello")
        XCTAssertNil(tokens[0].word)
    }

    // flite's normaliser reads "$42" as "forty two dollars" (DESIGN.md, "Flite, checked from Swift").
    func testCurrencyIsNormalisedByFlite() throws {
        XCTAssertEqual(try phones("$42"), try phones("forty two dollars"))
        XCTAssertEqual(try phones("Dr. Smith"), try phones("doctor smith"))
    }

    // Punctuation markers: a comma's phrase break is followed by flite's pau; the last word's
    // punctuation decides the sentence type.
    func testPunctuationMarkers() throws {
        XCTAssertEqual(try phones("Hello, world."),
                       ["pau", "hh", "ax0", "l", "ow1", "<wb>", "<,>", "pau", "w", "er1", "l", "d", "<wb>", "<.>", "pau"])
        XCTAssertEqual(try phones("Is it late?").suffix(3), ["<wb>", "<?>", "pau"])
        XCTAssertEqual(try phones("Yes!").suffix(3), ["<wb>", "<!>", "pau"])
    }

    // The cheap text-only path must give exactly the tokens the synthesized corpus was trained on.
    // "record" is a homograph that flite resolves by part of speech (verb r ax0 k ao1 r d, noun
    // r eh1 k er0 d), so this also checks that POS tagging runs in both paths.
    func testTextOnlyPathMatchesSynthesis() throws {
        for text in ["Record the record.", "Dr. Smith paid $3.50 on 12/05/2021, didn't he?", "The cat's hats, the apple."] {
            let full = try TextFrontend.analyse(text, withAudio: true)
            XCTAssertEqual(try TextFrontend.phonemes(text), full.tokens, text)
        }
        let record = try phones("Record the record.")
        XCTAssertEqual(Array(record[1...5]), ["r", "ax0", "k", "ao1", "r"])
    }

    // Durations come from flite's Segment end times; they must cover the audio exactly (the last
    // segment absorbs flite's sub-frame rounding) and flite's raw ends must agree with the audio
    // length to within one model frame (hop 256 at 22050 Hz, DESIGN.md).
    func testDurationsCoverTheAudio() throws {
        let a = try TextFrontend.analyse("Hello, world. It is 3:15 on a windy Tuesday!", withAudio: true)
        let audio = try XCTUnwrap(a.audio)
        XCTAssertEqual(a.sampleRate, 16000)
        let audioSeconds = Double(audio.count) / Double(a.sampleRate)
        XCTAssertEqual(a.durations.count, a.tokens.count)
        XCTAssertEqual(a.segmentEnds.count, a.tokens.filter { !$0.isMarker }.count)
        for (t, d) in zip(a.tokens, a.durations) {
            if t.isMarker { XCTAssertEqual(d, 0, t.phone) } else { XCTAssertGreaterThan(d, 0, t.phone) }
        }
        XCTAssertEqual(a.durations.reduce(0, +), audioSeconds, accuracy: 1e-9)
        XCTAssertEqual(a.segmentEnds.last!, audioSeconds, accuracy: 256.0 / 22050)

        let textOnly = try TextFrontend.analyse("Hello, world.", withAudio: false)
        XCTAssertNil(textOnly.audio)
        XCTAssertTrue(textOnly.durations.isEmpty)
    }

    func testInlinePhonesPassThrough() throws {
        let tokens = try TextFrontend.phonemes("say [[ hh ax0 l ow1 ]] now")
        XCTAssertEqual(tokens.map(\.phone), ["pau", "s", "ey1", "<wb>", "hh", "ax0", "l", "ow1", "<wb>", "n", "aw1", "<wb>", "<.>", "pau"])
        XCTAssertEqual(tokens[4].word, "[[ hh ax0 l ow1 ]]")
        // Back-to-back identical spans are two words; upper case is accepted; CMUdict's secondary
        // stress 2 is spoken (and tokenised) as 1, which is all flite's lexical insertion knows.
        XCTAssertEqual(try phones("[[K AE1 T]] [[ k ae1 t ]], [[ t ae2 g ]]?"),
                       ["pau", "k", "ae1", "t", "<wb>", "k", "ae1", "t", "<wb>", "<,>", "pau", "t", "ae1", "g", "<wb>", "<?>", "pau"])
        // Inline phones are synthesized like any word.
        let a = try TextFrontend.analyse("say [[ hh ax0 l ow1 ]] now", withAudio: true)
        XCTAssertEqual(a.tokens, tokens)
        XCTAssertGreaterThan(a.durations[7], 0)
    }

    func testInlinePhoneErrors() {
        XCTAssertThrowsError(try TextFrontend.phonemes("say [[ hh qq ow1 ]]")) { error in
            XCTAssertEqual(error as? TextFrontendError, .unknownPhone("qq", span: "[[ hh qq ow1 ]]"))
            let message = String(describing: error)
            XCTAssertTrue(message.contains("'qq'") && message.contains("zh") && message.contains("stress"), message)
        }
        XCTAssertThrowsError(try TextFrontend.phonemes("[[ hh ah l ow1 ]]")) { error in
            XCTAssertEqual(error as? TextFrontendError, .unknownPhone("ah", span: "[[ hh ah l ow1 ]]"))
        }
        XCTAssertThrowsError(try TextFrontend.phonemes("say [[ hh ax0")) { error in
            XCTAssertEqual(error as? TextFrontendError, .unclosedPhonemes("say [[ hh ax0"))
        }
        XCTAssertThrowsError(try TextFrontend.phonemes("say [[ ]]")) { error in
            XCTAssertEqual(error as? TextFrontendError, .emptyPhonemes)
        }
        XCTAssertThrowsError(try TextFrontend.phonemes("[[ <wb> ]]"))
    }

    func testEmptyAndUnspeakableText() {
        XCTAssertThrowsError(try TextFrontend.phonemes("")) { XCTAssertEqual($0 as? TextFrontendError, .emptyText) }
        XCTAssertThrowsError(try TextFrontend.phonemes("  \n ")) { XCTAssertEqual($0 as? TextFrontendError, .emptyText) }
        XCTAssertThrowsError(try TextFrontend.phonemes("?! ...")) { error in
            XCTAssertEqual(error as? TextFrontendError, .nothingToSay("?! ..."))
            XCTAssertTrue(String(describing: error).contains("add words"))
        }
        XCTAssertThrowsError(try TextFrontend.phonemes("hello", voice: "kal")) { error in
            XCTAssertTrue(String(describing: error).contains("slt, rms, awb"))
        }
    }

    // Typographic characters are folded to the ASCII flite reads.
    func testNonASCIIText() throws {
        XCTAssertEqual(try phones("café naïve"), try phones("cafe naive"))
        XCTAssertEqual(try phones("“quoted” text…"), try phones("\"quoted\" text..."))
    }

    func testSentences() {
        XCTAssertEqual(TextFrontend.sentences("Dr. Smith paid $3.50. Is it late? Yes!"),
                       ["Dr. Smith paid $3.50.", "Is it late?", "Yes!"])
        XCTAssertEqual(TextFrontend.sentences("Bring fruit, e.g. apples; the rest can wait.\nSee J. R. Smith at 5 p.m. today. No. 5 is ours. No. I won't."),
                       ["Bring fruit, e.g. apples;", "the rest can wait.", "See J. R. Smith at 5 p.m. today.",
                        "No. 5 is ours.", "No.", "I won't."])
        XCTAssertEqual(TextFrontend.sentences("It rose 3.5 percent... Then it fell."), ["It rose 3.5 percent...", "Then it fell."])
        XCTAssertEqual(TextFrontend.sentences("  \n ... \n"), [])
        // A run-on text without punctuation is cut into bounded pieces, preferring commas.
        let runOn = (0..<100).map { $0 == 30 ? "word," : "word" }.joined(separator: " ")
        let pieces = TextFrontend.sentences(runOn, maxWords: 40)
        XCTAssertEqual(pieces.map { $0.split(separator: " ").count }, [31, 40, 29])
        // Inline phones are never cut.
        XCTAssertEqual(TextFrontend.sentences("Say [[ hh ax0 . l ow1 ]]. Now."), ["Say [[ hh ax0 . l ow1 ]].", "Now."])
    }

    // A hostile word (100,000 letters, a 5,000-digit number, 2,000 hyphenated pieces) is cut so that
    // no sentence handed to flite passes the limits: flite's time grows with the square of an
    // utterance's segments (a 1,600-letter word took 2.4 s and 163 MB; 100,000 letters ran for
    // hours), and every digit is a word. Expected: each sentence at most 300 characters and each
    // word at most 64, the text's characters all kept in order, cuts made after punctuation inside
    // a word where the second half of the window has some.
    func testHostileWordsAreCutIntoBoundedSentences() {
        for text in [String(repeating: "a", count: 100_000), String(repeating: "7", count: 5_000),
                     Array(repeating: "ab", count: 2_000).joined(separator: "-"),
                     "see " + Array(repeating: "word", count: 200).joined(separator: " ") + " " + String(repeating: "x", count: 700) + " end.",
                     // glued to the brackets of inline phones, which stay whole around the cut text
                     "say [[ aa1 ]]" + String(repeating: "b", count: 100_000), String(repeating: "c", count: 100_000) + "[[ aa1 ]] now",
                     // a cut at a comma that leaves more than the next word has room beside
                     Array(repeating: "a", count: 10).joined(separator: " ") + " a, " + Array(repeating: String(repeating: "d", count: 60), count: 6).joined(separator: " ")] {
            let pieces = TextFrontend.sentences(text)
            XCTAssertTrue(pieces.allSatisfy { $0.count <= 300 }, "a sentence over 300 characters: \(pieces.map(\.count).max()!)")
            XCTAssertTrue(pieces.allSatisfy { $0.split(separator: " ").allSatisfy { $0.count <= 64 } })
            XCTAssertTrue(pieces.allSatisfy { $0.split(separator: " ").count <= 40 })
            XCTAssertEqual(pieces.joined().filter { $0 != " " }, text.filter { $0 != " " })
        }
        XCTAssertEqual(TextFrontend.pieces("http://example.com/" + String(repeating: "folder/", count: 12), maxLength: 64),
                       ["http://example.com/folder/folder/folder/folder/folder/folder/", "folder/folder/folder/folder/folder/folder/"])
        XCTAssertEqual(TextFrontend.pieces(Substring(String(repeating: "b", count: 130)), maxLength: 64).map(\.count), [64, 64, 2])
        XCTAssertEqual(TextFrontend.pieces(Substring(String(repeating: "[", count: 100_001)), maxLength: 64).map(\.count),
                       [Int](repeating: 2, count: 50_000) + [1])   // and an unclosed span is refused before flite:
        XCTAssertThrowsError(try TextFrontend.phonemes(String(repeating: "[", count: 100_001))) {
            XCTAssertEqual($0 as? TextFrontendError, .unclosedPhonemes(String(repeating: "[", count: 100_001)))
        }
        XCTAssertEqual(TextFrontend.pieces(Substring(String(repeating: "e", count: 70) + "]]."), maxLength: 64), [Substring(String(repeating: "e", count: 64)), "eeeeee", "]]", "."])
        XCTAssertEqual(try TextFrontend.phonemes("say [[ hh ax0 ]]" + String(repeating: "o", count: 70)).filter { $0.word == "[[ hh ax0 ]]" }.map(\.phone), ["hh", "ax0"])
        // A sentence of ordinary words is cut by characters at its last comma after the first quarter of the words.
        let long = (0..<30).map { $0 == 12 ? "extraordinarily," : "extraordinarily" }.joined(separator: " ")
        XCTAssertEqual(TextFrontend.sentences(long).map { $0.split(separator: " ").count }, [13, 17])
        // Inline phones stay whole, but a span may hold at most 200 (it is one word to flite).
        let span = "[[ " + Array(repeating: "aa1", count: 201).joined(separator: " ") + " ]]"
        XCTAssertThrowsError(try TextFrontend.phonemes("say " + span)) { error in
            XCTAssertEqual(error as? TextFrontendError, .longPhonemes(201, span: span))
            XCTAssertTrue("\(error)".contains("at most 200"), "\(error)")
        }
        XCTAssertEqual(try TextFrontend.phonemes("say [[ " + Array(repeating: "aa1", count: 200).joined(separator: " ") + " ]]").filter { $0.phone == "aa1" }.count, 200)
    }
}
