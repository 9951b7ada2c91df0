// PathNameTests.swift — path parts as POSIX names them (the expected values are NSString's documented
// results, which these replace because NSString crashed on one-character paths such as "-" and "a").
import Base
import XCTest

final class PathNameTests: XCTestCase {
    func testParts() {
        let cases: [(String, last: String, parent: String, ext: String, noExt: String)] = [
            ("a/b.wav", "b.wav", "a", "wav", "a/b"),
            ("b.wav", "b.wav", "", "wav", "b"),
            ("/b.wav", "b.wav", "/", "wav", "/b"),
            ("a/b/", "b", "a", "", "a/b"),
            ("-", "-", "", "", "-"),
            ("a", "a", "", "", "a"),
            ("dir/.wav", ".wav", "dir", "", "dir/.wav"),
            ("x.tar.gz", "x.tar.gz", "", "gz", "x.tar"),
            ("/", "/", "/", "", "/"),
            ("", "", "", "", ""),
            ("a//b.wav", "b.wav", "a", "wav", "a//b"),
        ]
        for c in cases {
            XCTAssertEqual(PathName.last(c.0), c.last, "last(\(c.0))")
            XCTAssertEqual(PathName.parent(c.0), c.parent, "parent(\(c.0))")
            XCTAssertEqual(PathName.ext(c.0), c.ext, "ext(\(c.0))")
            XCTAssertEqual(PathName.deletingExtension(c.0), c.noExt, "deletingExtension(\(c.0))")
        }
        XCTAssertEqual(PathName.stem("out/take-1.flac"), "take-1")
        XCTAssertEqual(PathName.join("out", "x.wav"), "out/x.wav")
        XCTAssertEqual(PathName.join("out/", "x.wav"), "out/x.wav")
        XCTAssertEqual(PathName.join("", "x.wav"), "x.wav")
    }
}
