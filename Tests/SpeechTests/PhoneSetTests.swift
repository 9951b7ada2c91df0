// PhoneSetTests.swift — the model-input phone ids are frozen, and the phones are flite's.
import XCTest
@testable import Speech

final class PhoneSetTests: XCTestCase {
    // Expected ids are the table in PhoneSet.swift's header: trained models index embeddings by
    // them, so any change here breaks every shipped speech model.
    func testIdsAreFrozen() {
        let set = PhoneSet.standard
        XCTAssertEqual(set.count, 79)
        let pinned: [(String, Int)] = [("<pad>", 0), ("<wb>", 1), ("<,>", 2), ("<.>", 3), ("<?>", 4), ("<!>", 5),
                                       ("pau", 6), ("b", 7), ("hh", 13), ("zh", 30), ("aa0", 31), ("aa1", 32),
                                       ("ah1", 38), ("ax0", 46), ("ow1", 68), ("uw2", 78)]
        for (token, id) in pinned {
            XCTAssertEqual(set.id(token), id, token)
            XCTAssertEqual(set.token(id), token)
        }
        for id in 0..<set.count { XCTAssertEqual(set.id(set.token(id)), id) }
        XCTAssertNil(set.id("ah"), "vowels only exist with a stress digit")
        XCTAssertNil(set.id("q"))
        XCTAssertTrue(set.isMarker(set.id("<wb>")!))
        XCTAssertFalse(set.isMarker(set.id("pau")!))
    }

    // Independent source: flite's own `us` phoneset as compiled into each voice, with its vowel
    // feature (vc = +). It also holds axr dx el em en hv nx h# brth, which cmulex and the usenglish
    // post-lexical rules never emit (none appeared in 20,000 generated sentences), so they are left out.
    func testPhonesAreFlitesUSPhoneset() throws {
        for voice in Flite.voiceNames {
            let flite = try Flite.phoneset(voice: voice)
            let fliteVowels = Set(flite.filter(\.isVowel).map(\.name))
            let fliteConsonants = Set(flite.filter { !$0.isVowel }.map(\.name))
            XCTAssertTrue(Set(PhoneSet.vowels).isSubset(of: fliteVowels), voice)
            XCTAssertTrue(Set(PhoneSet.consonants + [PhoneSet.silence]).isSubset(of: fliteConsonants), voice)
            let unused: Set = ["axr", "dx", "el", "em", "en", "hv", "nx", "h#", "brth"]
            XCTAssertEqual(fliteVowels.union(fliteConsonants).subtracting(PhoneSet.vowels + PhoneSet.consonants + ["pau"]),
                           unused, voice)
        }
    }
}
