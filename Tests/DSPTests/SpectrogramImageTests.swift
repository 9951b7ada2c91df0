// SpectrogramImageTests.swift: PNG output read back through its header and through libpng's reader.

import XCTest
import CPNG
@testable import DSP

final class SpectrogramImageTests: XCTestCase {
    private func scratchDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dsp-png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    // Expected values: the PNG specification (ISO/IEC 15948 §5.2, §11.2.2): the 8-byte signature
    // 89 50 4E 47 0D 0A 1A 0A, then an IHDR chunk of length 13 holding big-endian width and height,
    // bit depth 8 and colour type 2 (truecolour). Width = frames·pixelsPerFrame, height = bins·pixelsPerBin.
    // The pixels decoded by libpng's own reader must equal what `render` produced.
    func testWritesPNGWithExpectedHeaderAndPixels() throws {
        let dir = try scratchDirectory()
        let path = dir.appendingPathComponent("mel.png").path
        let fb = MelFilterbank()
        let x = (0..<11025).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / 22050)) }
        let logMel = fb.logMel(audio: x)   // (T, 80)
        let frames = logMel.count / 80
        try SpectrogramImage.write(logMel, frames: frames, bins: 80, to: path, pixelsPerFrame: 2, pixelsPerBin: 3)

        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func be32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(be32(8), 13)
        XCTAssertEqual(String(decoding: bytes[12..<16], as: UTF8.self), "IHDR")
        XCTAssertEqual(be32(16), frames * 2)
        XCTAssertEqual(be32(20), 80 * 3)
        XCTAssertEqual(bytes[24], 8)
        XCTAssertEqual(bytes[25], 2)

        // No temporary file left beside the image.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["mel.png"])

        // Decode with libpng's simplified reader and compare with the rendered pixels.
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        XCTAssertNotEqual(png_image_begin_read_from_file(&image, path), 0)
        image.format = UInt32(PNG_FORMAT_RGB)
        var decoded = [UInt8](repeating: 0, count: Int(image.width * image.height) * 3)
        XCTAssertNotEqual(png_image_finish_read(&image, nil, &decoded, 0, nil), 0)
        let rendered = SpectrogramImage.render(logMel, frames: frames, bins: 80, pixelsPerFrame: 2, pixelsPerBin: 3)
        XCTAssertEqual(decoded, rendered.rgb)
    }

    // Expected values: by construction only bin 0 (the lowest frequency) is loud, so the image's
    // bottom row takes the top of the colour map (pale yellow, the last control point) and the top
    // row the bottom of it (near black).
    func testLowFrequenciesAtTheBottom() {
        var values = [Float](repeating: -10, count: 4 * 8)   // (T=4, F=8), ln magnitude
        for t in 0..<4 { values[t * 8] = 0 }
        let (width, height, rgb) = SpectrogramImage.render(values, frames: 4, bins: 8)
        XCTAssertEqual(width, 4); XCTAssertEqual(height, 8)
        let bottom = Array(rgb[((height - 1) * width * 3)..<((height - 1) * width * 3 + 3)])
        let top = Array(rgb[0..<3])
        XCTAssertEqual(bottom, [252, 253, 191])   // magma stop (0.987, 0.991, 0.750)·255, rounded
        XCTAssertEqual(top, [0, 0, 4])            // magma stop (0.001, 0.000, 0.014)·255, rounded
    }

    // Expected values: none to compute; writing into a directory that does not exist, or whose
    // "directory" is a regular file, must throw directoryNotWritable naming the path, and leave no file.
    func testUnwritableDirectoryThrowsAndLeavesNoFile() throws {
        let dir = try scratchDirectory()
        let blocker = dir.appendingPathComponent("not-a-dir")
        try Data("x".utf8).write(to: blocker)
        for path in [dir.appendingPathComponent("missing/mel.png").path, blocker.appendingPathComponent("mel.png").path] {
            XCTAssertThrowsError(try SpectrogramImage.write([0, 1, 2, 3], frames: 2, bins: 2, to: path)) { error in
                guard case SpectrogramImageError.directoryNotWritable = error else {
                    return XCTFail("expected directoryNotWritable, got \(error)")
                }
                XCTAssertTrue("\(error)".contains(path), "message should name the path: \(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        }
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)), ["not-a-dir"])
    }
}
