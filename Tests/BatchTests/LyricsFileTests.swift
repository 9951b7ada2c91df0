// LyricsFileTests.swift — MusicRequest.readLyricsFile, which `gen music --lyrics` and the
// "lyrics_file" key of prompt lines share: what each kind of bad path is called (usage: exit 2;
// I/O: exit 3, as DESIGN.md's exit codes say), and the text of a good file.
import Foundation
import Requests
import XCTest

final class LyricsFileTests: XCTestCase {
    func testEveryKindOfPathIsJudgedTheSameWay() throws {
        let dir = NSTemporaryDirectory() + "gen-lyrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "first line\nsecond line\n".write(toFile: dir + "/ok.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try MusicRequest.readLyricsFile(dir + "/ok.txt", option: "--lyrics"), "first line\nsecond line\n")
        try "".write(toFile: dir + "/empty.txt", atomically: true, encoding: .utf8)
        try Data([0xff, 0xfe, 0x41]).write(to: URL(fileURLWithPath: dir + "/latin1.txt"))
        try Data(repeating: 0x61, count: MusicRequest.maxLyricsBytes).write(to: URL(fileURLWithPath: dir + "/big.txt"))
        let cases: [(String, Bool, String)] = [
            (dir, true, "is a folder"), ("/dev/zero", true, "not a regular file"), (dir + "/empty.txt", true, "is empty"),
            (dir + "/latin1.txt", true, "not UTF-8"), (dir + "/big.txt", true, "under 100 KB"), (dir + "/missing.txt", false, "cannot read"),
        ]
        for (path, usage, words) in cases {
            XCTAssertThrowsError(try MusicRequest.readLyricsFile(path, option: "--lyrics")) { error in
                let e = error as? RequestError
                XCTAssertEqual(e?.isUsage, usage, path)
                XCTAssertTrue(e?.message.contains(words) == true, "\(path): \(error)")
            }
        }
    }
}
