// Tests for AudioFile: format round trips, stdout/in-memory WAV, atomic writes and clear errors.

import Foundation
import XCTest
@testable import Audio

final class AudioFileRoundTripTests: ScratchDirectoryTestCase {
    let rate = 22050
    lazy var tone = sine(440, rate: rate, frames: rate / 2)   // 0.5 s, amplitude 0.5

    // Float WAV stores the Float32 bits as they are, so the round trip must be exact.
    func testWavFloatRoundTripIsExact() throws {
        try AudioFile.write(AudioBuffer(samples: tone, sampleRate: rate), to: path("f.wav"), encoding: .float32)
        let back = try AudioFile.read(path("f.wav"))
        XCTAssertEqual(back.sampleRate, rate)
        XCTAssertEqual(back.channels, 1)
        XCTAssertEqual(back.samples, tone)
        XCTAssertEqual(back.duration, 0.5, accuracy: 1e-12)
    }

    // AudioFile stores round(x · 32768) and libsndfile reads back y / 32768, so for |x| < 1
    // the error is at most half a quantisation step, 0.5/32768 (plus Float32 rounding).
    func testWavPCM16RoundTripWithinQuantisation() throws {
        try AudioFile.write(AudioBuffer(samples: tone, sampleRate: rate), to: path("p.wav"))
        let back = try AudioFile.read(path("p.wav"))
        XCTAssertEqual(back.sampleRate, rate)
        XCTAssertEqual(back.channels, 1)
        XCTAssertEqual(back.frames, tone.count)
        let worst = zip(back.samples, tone).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 0.5 / 32768 + 1e-7)
        // Quantisation is real (not float passthrough): some sample must differ.
        XCTAssertGreaterThan(worst, 0)
    }

    // FLAC is lossless over the same 16-bit integers the PCM16 WAV holds, so both decode to
    // bit-identical floats.
    func testFlacDecodesIdenticallyToPCM16Wav() throws {
        let buffer = AudioBuffer(samples: tone, sampleRate: rate)
        try AudioFile.write(buffer, to: path("a.wav"))
        try AudioFile.write(buffer, to: path("a.flac"))
        let wav = try AudioFile.read(path("a.wav"))
        let flac = try AudioFile.read(path("a.flac"))
        XCTAssertEqual(flac.sampleRate, rate)
        XCTAssertEqual(flac.channels, 1)
        XCTAssertEqual(flac.samples, wav.samples)
        // The FLAC container really is FLAC ("fLaC" magic), not a renamed WAV.
        let head = try Array(Data(contentsOf: URL(fileURLWithPath: path("a.flac"))).prefix(4))
        XCTAssertEqual(head, Array("fLaC".utf8))
    }

    // Vorbis is lossy and may shift or pad by a few frames, so align by the lag with the
    // highest correlation (searched over ±256 frames) and require correlation > 0.99 and an SNR
    // above 20 dB, the brief's bounds for a transparent encode of a pure tone.
    func testOggVorbisRoundTripIsCloseAfterAlignment() throws {
        try AudioFile.write(AudioBuffer(samples: tone, sampleRate: rate), to: path("v.ogg"))
        let back = try AudioFile.read(path("v.ogg"))
        XCTAssertEqual(back.sampleRate, rate)
        XCTAssertEqual(back.channels, 1)
        XCTAssertLessThanOrEqual(abs(back.frames - tone.count), 8, "Vorbis length \(back.frames) vs \(tone.count)")
        let head = try Array(Data(contentsOf: URL(fileURLWithPath: path("v.ogg"))).prefix(4))
        XCTAssertEqual(head, Array("OggS".utf8))

        // Compare the interior only: codec edge effects live in the first/last frames.
        let inner = 1000..<(tone.count - 1000)
        var best = (lag: 0, corr: -1.0)
        for lag in -256...256 {
            var xy = 0.0, xx = 0.0, yy = 0.0
            for t in inner {
                let x = Double(tone[t]), y = Double(back.samples[t + lag])
                xy += x * y; xx += x * x; yy += y * y
            }
            let corr = xy / (xx * yy).squareRoot()
            if corr > best.corr { best = (lag, corr) }
        }
        XCTAssertGreaterThan(best.corr, 0.99)
        var signal = 0.0, noise = 0.0
        for t in inner {
            let x = Double(tone[t]), e = Double(back.samples[t + best.lag]) - x
            signal += x * x; noise += e * e
        }
        XCTAssertGreaterThan(10 * log10(signal / noise), 20)
    }

    // A stereo file keeps both channels interleaved; mono() is (L + R) / 2 per frame, computed
    // here by hand from the two closed-form channels.
    func testStereoReadKeepsChannelsAndMixesToMono() throws {
        let left = sine(440, rate: rate, frames: 1000, amplitude: 0.5)
        let right = sine(660, rate: rate, frames: 1000, amplitude: 0.25)
        var interleaved = [Float]()
        for t in 0..<1000 { interleaved += [left[t], right[t]] }
        try AudioFile.write(AudioBuffer(samples: interleaved, sampleRate: rate, channels: 2),
                            to: path("s.wav"), encoding: .float32)
        let back = try AudioFile.read(path("s.wav"))
        XCTAssertEqual(back.channels, 2)
        XCTAssertEqual(back.frames, 1000)
        let mono = back.mono()
        XCTAssertEqual(mono.channels, 1)
        XCTAssertEqual(mono.sampleRate, rate)
        XCTAssertEqual(mono.frames, 1000)
        for t in 0..<1000 { XCTAssertEqual(mono.samples[t], (left[t] + right[t]) / 2, accuracy: 1e-7) }
    }

    // Expected from the file's own size: 1,000 stereo frames at 22,050 Hz are 2,000 samples and
    // 1000/22050 s. A limit at or above the file reads all of it; one below refuses it, naming the
    // limit in seconds at the file's rate (for a sample budget, budget / channels frames).
    func testALimitRefusesALongerFileAndKeepsOneThatFits() throws {
        let stereo = AudioBuffer(samples: (0..<2000).map { Float($0 % 7) * 0.01 }, sampleRate: rate, channels: 2)
        try AudioFile.write(stereo, to: path("l.wav"), encoding: .float32)
        XCTAssertEqual(try AudioFile.read(path("l.wav"), longest: 1000.0 / Double(rate)).samples, stereo.samples)
        XCTAssertEqual(try AudioFile.read(path("l.wav"), mostSamples: 2000).samples, stereo.samples)
        for (longest, most, seconds) in [(999.0 / Double(rate), nil, 999.0 / Double(rate)), (nil, 1998, 999.0 / Double(rate)),
                                         (0.01, 4000, 220.0 / Double(rate))] as [(Double?, Int?, Double)] {
            XCTAssertThrowsError(try AudioFile.read(path("l.wav"), longest: longest, mostSamples: most)) { error in
                guard case AudioError.tooLong(let p, let s) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(p, path("l.wav"))
                XCTAssertEqual(s, seconds, accuracy: 1e-12)
                XCTAssertTrue("\(error)".contains("sox IN OUT trim 0"), "\(error)")
            }
        }
    }

    // Out-of-range samples saturate: +1.5 at 32767 (read back as 32767/32768) and -1.5 at
    // -32768 (read back as -1) instead of wrapping around; 0.25 = 8192/32768 is exact.
    func testPCM16ClipsOutOfRangeSamples() throws {
        try AudioFile.write(AudioBuffer(samples: [1.5, -1.5, 0.25], sampleRate: rate), to: path("c.wav"))
        let back = try AudioFile.read(path("c.wav")).samples
        XCTAssertEqual(back[0], 32767 / 32768)
        XCTAssertEqual(back[1], -1)
        XCTAssertEqual(back[2], 0.25)
    }

    // wavData must produce a whole RIFF/WAVE file: the same bytes AudioFile.write puts on disk,
    // decoding back to the PCM16 samples (same quantisation bound as above).
    func testWavDataIsAReadableWavFile() throws {
        let buffer = AudioBuffer(samples: tone, sampleRate: rate)
        let bytes = try AudioFile.wavData(buffer)
        XCTAssertEqual(Array(bytes[0..<4]), Array("RIFF".utf8))
        XCTAssertEqual(Array(bytes[8..<12]), Array("WAVE".utf8))
        XCTAssertGreaterThanOrEqual(bytes.count, 44 + 2 * tone.count)   // header + 16-bit samples
        // RIFF chunk size (little-endian at offset 4) counts every byte after the first 8.
        let riffSize = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
        XCTAssertEqual(riffSize, bytes.count - 8)

        try writeFile(path("mem.wav"), contents: Data(bytes))
        let back = try AudioFile.read(path("mem.wav"))
        XCTAssertEqual(back.sampleRate, rate)
        XCTAssertEqual(back.frames, tone.count)
        for (a, b) in zip(back.samples, tone) { XCTAssertEqual(a, b, accuracy: 0.5 / 32768 + 1e-7) }

        try AudioFile.write(buffer, to: path("disk.wav"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("disk.wav"))), Data(bytes))

        let float = try AudioFile.wavData(buffer, encoding: .float32)
        try writeFile(path("memf.wav"), contents: Data(float))
        XCTAssertEqual(try AudioFile.read(path("memf.wav")).samples, tone)
    }
}

final class AudioFileWriteSafetyTests: ScratchDirectoryTestCase {
    let buffer = AudioBuffer(samples: sine(440, rate: 22050, frames: 2205), sampleRate: 22050)

    func testMissingDirectoryThrowsAndCreatesNothing() throws {
        let target = path("no/such/dir/out.wav")
        XCTAssertThrowsError(try AudioFile.write(buffer, to: target)) { error in
            guard case AudioError.directoryMissing = error else { return XCTFail("got \(error)") }
            XCTAssertTrue("\(error)".contains("mkdir -p"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertEqual(try listing(), [])
    }

    // A path "through" a regular file: the parent exists but is not a directory.
    func testParentThatIsAFileThrows() throws {
        try writeFile(path("plain"), contents: Data("x".utf8))
        XCTAssertThrowsError(try AudioFile.write(buffer, to: path("plain/out.wav")))
        XCTAssertEqual(try listing(), ["plain"])
    }

    // Root ignores directory permissions, so the chmod half only runs as an ordinary user.
    func testUnwritableDirectoryThrowsAndCreatesNothing() throws {
        let locked = path("locked")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked) }
        try XCTSkipIf(getuid() == 0, "running as root: permissions are not enforced")
        XCTAssertThrowsError(try AudioFile.write(buffer, to: locked + "/out.wav")) { error in
            guard case AudioError.directoryNotWritable = error else { return XCTFail("got \(error)") }
        }
        XCTAssertEqual(try listing(locked), [])
    }

    func testWriteReplacesExistingFileAndLeavesNoTempFiles() throws {
        let target = path("out.wav")
        try writeFile(target, contents: Data("old contents".utf8))
        try AudioFile.write(buffer, to: target)
        XCTAssertEqual(try AudioFile.read(target).frames, buffer.frames)
        XCTAssertEqual(try listing(), ["out.wav"])
        // Once more over a real audio file of another length.
        try AudioFile.write(AudioBuffer(samples: [0.1, 0.2], sampleRate: 8000), to: target, encoding: .float32)
        XCTAssertEqual(try AudioFile.read(target).samples, [0.1, 0.2])
        XCTAssertEqual(try listing(), ["out.wav"])
    }

    // Ogg Vorbis passes libsndfile's format check at 2 MHz, but the Vorbis encoder refuses it
    // only when the first frames are written, after the temporary file exists: the failure
    // path must remove that file and leave the old one intact.
    func testFailureAfterTempFileRemovesItAndKeepsOldFile() throws {
        let target = path("out.ogg")
        try AudioFile.write(buffer, to: target)
        let before = try Data(contentsOf: URL(fileURLWithPath: target))
        let tooFast = AudioBuffer(samples: [Float](repeating: 0.1, count: 100), sampleRate: 2_000_000)
        XCTAssertThrowsError(try AudioFile.write(tooFast, to: target)) { error in
            guard case AudioError.writeFailed = error else { return XCTFail("got \(error)") }
        }
        XCTAssertEqual(try listing(), ["out.ogg"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), before)
    }

    // FLAC holds at most 8 channels; libsndfile's format check says so before any file exists.
    func testFormatLimitThrowsBeforeCreatingAnything() throws {
        let nine = AudioBuffer(samples: [Float](repeating: 0.1, count: 9 * 100), sampleRate: 22050, channels: 9)
        XCTAssertThrowsError(try AudioFile.write(nine, to: path("nine.flac"))) { error in
            guard case AudioError.formatLimit = error else { return XCTFail("got \(error)") }
            XCTAssertTrue("\(error)".contains("Write .wav instead"), "\(error)")
        }
        XCTAssertEqual(try listing(), [])
        // WAV takes any channel count.
        try AudioFile.write(nine, to: path("nine.wav"))
        XCTAssertEqual(try AudioFile.read(path("nine.wav")).channels, 9)
    }

    // "-" sends the same bytes wavData builds to stdout. stdout is pointed at a file for the
    // duration of the call (dup2) and restored afterwards.
    func testDashWritesWavToStdout() throws {
        let captured = path("stdout.bin")
        let fd = open(captured, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        fflush(stdout)
        let saved = dup(STDOUT_FILENO)
        dup2(fd, STDOUT_FILENO)
        let result = Result { try AudioFile.write(buffer, to: "-") }
        fflush(stdout)
        dup2(saved, STDOUT_FILENO)
        close(saved)
        close(fd)
        try result.get()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: captured))
        XCTAssertEqual(bytes, Data(try AudioFile.wavData(buffer)))
        XCTAssertEqual(Array(bytes.prefix(4)), Array("RIFF".utf8))
    }

    func testUnknownExtensionThrowsBeforeCreatingAnything() throws {
        for name in ["out.mp3", "out", "out.wav.bak"] {
            XCTAssertThrowsError(try AudioFile.write(buffer, to: path(name))) { error in
                guard case AudioError.unknownExtension = error else { return XCTFail("got \(error)") }
                let text = "\(error)"
                XCTAssertTrue(text.contains(".wav") && text.contains(".flac") && text.contains(".ogg"), text)
            }
        }
        XCTAssertTrue("\(AudioError.unknownExtension(path: "a.mp3", ext: "mp3"))".contains("'.mp3'"))
        XCTAssertEqual(try listing(), [])
    }

    func testFormatFromExtensionIsCaseInsensitive() throws {
        XCTAssertEqual(try AudioFileFormat(path: "A.WAV"), .wav)
        XCTAssertEqual(try AudioFileFormat(path: "dir.ogg/b.Flac"), .flac)
        XCTAssertEqual(try AudioFileFormat(path: "/x/y/c.OgG"), .ogg)
        XCTAssertThrowsError(try AudioFileFormat(path: ".wav"))   // a hidden file named ".wav"
    }

    func testRejectsEmptyNonFiniteAndMalformedBuffers() throws {
        let target = path("bad.wav")
        let cases: [(AudioBuffer, String)] = [
            (AudioBuffer(samples: [], sampleRate: 22050), "no samples"),
            (AudioBuffer(samples: [0, .nan, 0], sampleRate: 22050), "sample 1 is nan"),
            (AudioBuffer(samples: [0, .infinity], sampleRate: 22050), "sample 1 is inf"),
            (AudioBuffer(samples: [0, 0, 0], sampleRate: 22050, channels: 2), "whole frames"),
            (AudioBuffer(samples: [0], sampleRate: 0), "sample rate"),
        ]
        for (bad, phrase) in cases {
            XCTAssertThrowsError(try AudioFile.write(bad, to: target)) { error in
                XCTAssertTrue("\(error)".contains(phrase), "\(error)")
            }
            XCTAssertThrowsError(try AudioFile.wavData(bad))
        }
        XCTAssertEqual(try listing(), [])
    }
}

final class AudioFileReadErrorTests: ScratchDirectoryTestCase {
    func testMissingFileThrows() {
        XCTAssertThrowsError(try AudioFile.read(path("absent.wav"))) { error in
            guard case AudioError.fileNotFound = error else { return XCTFail("got \(error)") }
        }
    }

    func testTextFileThrowsUnrecognisedFormat() throws {
        try writeFile(path("notes.wav"), contents: Data("just some text\n".utf8))
        XCTAssertThrowsError(try AudioFile.read(path("notes.wav"))) { error in
            guard case AudioError.unrecognisedFormat = error else { return XCTFail("got \(error)") }
            XCTAssertTrue("\(error)".contains("ffmpeg"))
        }
    }

    // A float WAV whose data holds a NaN (its bits written over sample 10) or an infinity is
    // refused when read, naming the sample, instead of failing later as if gen had made it.
    func testNonFiniteSamplesInAFloatFileAreRefused() throws {
        for (bits, name) in [(UInt32(0x7FC0_0000), "nan"), (UInt32(0x7F80_0000), "inf")] {
            var bytes = try AudioFile.wavData(AudioBuffer(samples: sine(440, rate: 22050, frames: 100), sampleRate: 22050), encoding: .float32)
            let data = try XCTUnwrap((0..<(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual("data".utf8) }) + 8
            withUnsafeBytes(of: bits.littleEndian) { for k in 0..<4 { bytes[data + 40 + k] = $0[k] } }
            try writeFile(path("\(name).wav"), contents: Data(bytes))
            XCTAssertThrowsError(try AudioFile.read(path("\(name).wav"))) { error in
                guard case AudioError.readFailed = error else { return XCTFail("got \(error)") }
                XCTAssertTrue("\(error)".contains("sample 10 (channel 1) is \(name)"), "\(error)")
            }
        }
    }

    func testDirectoryAndEmptyFileThrow() throws {
        XCTAssertThrowsError(try AudioFile.read(scratch)) { error in
            guard case AudioError.isDirectory = error else { return XCTFail("got \(error)") }
        }
        try writeFile(path("empty.wav"), contents: Data())
        XCTAssertThrowsError(try AudioFile.read(path("empty.wav"))) { error in
            guard case AudioError.emptyFile = error else { return XCTFail("got \(error)") }
        }
    }

    // The first 20 bytes of a real WAV hold "RIFF", the size, "WAVE" and half a fmt chunk.
    func testTruncatedWavThrows() throws {
        let bytes = try AudioFile.wavData(AudioBuffer(samples: sine(440, rate: 22050, frames: 100), sampleRate: 22050))
        try writeFile(path("cut.wav"), contents: Data(bytes.prefix(20)))
        XCTAssertThrowsError(try AudioFile.read(path("cut.wav"))) { error in
            XCTAssertTrue(error is AudioError)
            XCTAssertTrue("\(error)".contains("cut.wav"), "\(error)")
        }
        // A header with no sample data at all (first 44 bytes) is also refused.
        try writeFile(path("header.wav"), contents: Data(bytes.prefix(44)))
        XCTAssertThrowsError(try AudioFile.read(path("header.wav"))) { error in
            XCTAssertTrue(error is AudioError, "\(error)")
        }
    }
}
