// SentenceGeneratorTests.swift — the corpus text is reproducible, varied, speakable and disjoint
// from the held-out evaluation sentences.
import Foundation
import XCTest
@testable import Speech

final class SentenceGeneratorTests: XCTestCase {
    func testDeterministicForASeed() {
        var a = SentenceGenerator(seed: 42), b = SentenceGenerator(seed: 42), c = SentenceGenerator(seed: 43)
        let sa = (0..<200).map { _ in a.next() }
        XCTAssertEqual(sa, (0..<200).map { _ in b.next() })
        XCTAssertNotEqual(sa, (0..<200).map { _ in c.next() })
    }

    func testVariedAndWellFormed() {
        var g = SentenceGenerator(seed: 1)
        let sentences = (0..<2000).map { _ in g.next() }
        XCTAssertGreaterThan(Set(sentences).count, 1900, "more than 95% unique")
        let lengths = sentences.map { $0.split(separator: " ").count }
        XCTAssertGreaterThanOrEqual(lengths.min()!, 3)
        XCTAssertLessThanOrEqual(lengths.max()!, 30)
        for s in sentences {
            XCTAssertTrue(s.first!.isUppercase || s.first!.isNumber || s.first == "\"", s)
            XCTAssertTrue([".", "?", "!"].contains(s.last!), s)
            XCTAssertFalse(s.contains("  ") || s.hasSuffix(".."), s)
        }
        // Every sentence type and normalisation family shows up.
        for needle in ["?", "!", ",", "$", "%", ":", "Dr.", "1st", "555-"] {
            XCTAssertTrue(sentences.contains { $0.contains(needle) }, needle)
        }
    }

    // The frontend must accept every generated sentence, and together they must reach the whole
    // phone inventory flite's lexicon uses (stress 2, ah0, ax1 and aw0 never come out of cmulex).
    func testCoversThePhoneSet() throws {
        var g = SentenceGenerator(seed: 3)
        var seen = Set<String>()
        for _ in 0..<3000 { for t in try TextFrontend.phonemes(g.next()) { seen.insert(t.phone) } }
        let neverFromFlite: Set = ["<pad>", "ah0", "ax1", "aw0"]
        let expected = Set(PhoneSet.standard.tokens.filter { !$0.hasSuffix("2") }).subtracting(neverFromFlite)
        XCTAssertEqual(expected.subtracting(seen), [])
    }

    // The evaluation sentences live outside the product (../shared/eval); the generator must
    // never emit one, compared case- and punctuation-insensitively.
    func testNeverEmitsAnEvaluationSentence() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [root.appendingPathComponent("../shared/eval/sentences_dev.txt"),
                          root.appendingPathComponent("shared/eval/sentences_dev.txt")]
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw XCTSkip("no shared/eval/sentences_dev.txt next to the package")
        }
        func key(_ s: String) -> String {
            s.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == " " }
                .map(String.init).joined().split(separator: " ").joined(separator: " ")
        }
        let dev = Set(try String(contentsOf: url, encoding: .utf8).split(whereSeparator: \.isNewline).map { key(String($0)) })
            .subtracting([""])
        XCTAssertFalse(dev.isEmpty)
        // The exact text streams of the shipped corpus (gen dataset speech --sentences 2000, seed 1,
        // voices slt/rms/awb), plus further sentences from a few other seeds.
        var streams = (0..<3).map { (SentenceGenerator(seed: SpeechCorpusBuilder.sentenceSeed(corpusSeed: 1, voiceIndex: $0)), 2000) }
        streams += [(SentenceGenerator(seed: 0), 6000), (SentenceGenerator(seed: 2), 6000)]
        for (g0, count) in streams {
            var g = g0
            for _ in 0..<count {
                let s = g.next()
                XCTAssertFalse(dev.contains(key(s)), "generated an evaluation sentence: \(s)")
            }
        }
    }
}
