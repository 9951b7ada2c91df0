// Tests for SafeTensors.swift: round trips of every dtype, a fixture built by hand from the
// format spec, F16/BF16 bit patterns from the IEEE 754 definitions, and strict rejection of
// truncated, corrupt and adversarial files.

import Foundation
import XCTest
@testable import Engine

final class SafeTensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Round trips

    // Expected values are the inputs: every value here is exactly representable in its dtype
    // (F16/BF16 ones are small dyadic rationals, 65504 is the F16 maximum), so the trip is lossless.
    func testRoundTripEveryDTypeWithMetadataThroughDisk() throws {
        let f32: [Float] = [0, -0.0, 1.5, -3.25e-7, .greatestFiniteMagnitude, .infinity, -.leastNonzeroMagnitude]
        let f16: [Float] = [0, -0.0, 1, -2, 0.5, 65504, 0x1p-24, -.infinity]
        let bf16: [Float] = [1, -2, 1.5, 0x1p-126, 0x1p127, .infinity]
        let i32: [Int32] = [.min, -1, 0, 1, .max, 42]
        let i64: [Int64] = [.min, -1, 0, .max]
        var file = SafeTensorsFile(metadata: [
            "format": "pt",
            "note": "quote \" backslash \\ newline \n tab \t bell \u{07} é ♪",
        ])
        file.tensors["layers.0.weight"] = SafeTensor(floats: f32, shape: [7])
        file.tensors["half"] = SafeTensor(floats: f16, shape: [2, 4], dtype: .f16)
        file.tensors["brain"] = SafeTensor(floats: bf16, shape: [3, 2], dtype: .bf16)
        file.tensors["ids32"] = SafeTensor(int32s: i32, shape: [2, 3])
        file.tensors["ids64"] = SafeTensor(int64s: i64, shape: [4, 1])
        file.tensors["scalar"] = SafeTensor(floats: [3.5], shape: [])
        file.tensors["empty"] = SafeTensor(floats: [], shape: [0, 3])
        file.tensors["empty64"] = SafeTensor(int64s: [], shape: [2, 0])
        file.tensors["ünï.名"] = SafeTensor(int32s: [7], shape: [1])

        let path = directory.appendingPathComponent("model.safetensors").path
        try file.write(to: path)
        let back = try SafeTensorsFile.read(path)

        XCTAssertEqual(back.metadata, file.metadata)
        XCTAssertEqual(Set(back.tensors.keys), Set(file.tensors.keys))
        for (name, t) in file.tensors {
            let u = try XCTUnwrap(back.tensors[name])
            XCTAssertEqual(u.dtype, t.dtype, name)
            XCTAssertEqual(u.shape, t.shape, name)
            XCTAssertEqual(try u.bytes, try t.bytes, name)
        }
        XCTAssertEqual(try back.tensors["layers.0.weight"]!.floats().map(\.bitPattern), f32.map(\.bitPattern))
        XCTAssertEqual(try back.tensors["half"]!.floats().map(\.bitPattern), f16.map(\.bitPattern))
        XCTAssertEqual(try back.tensors["brain"]!.floats(), bf16)
        XCTAssertEqual(try back.tensors["ids32"]!.int32s(), i32)
        XCTAssertEqual(try back.tensors["ids64"]!.int64s(), i64)
        XCTAssertEqual(try back.tensors["scalar"]!.floats(), [3.5])
        XCTAssertEqual(back.tensors["scalar"]!.elementCount, 1)
        XCTAssertEqual(try back.tensors["empty"]!.floats(), [])
        XCTAssertEqual(back.tensors["empty"]!.elementCount, 0)
        XCTAssertEqual(try back.tensors["empty64"]!.int64s(), [])

        // Deterministic and aligned: the same file serializes to the same bytes, equal to what is on
        // disk, and the data buffer starts at a multiple of 8.
        let bytes = try file.serialized()
        XCTAssertEqual(bytes, try file.serialized())
        XCTAssertEqual(bytes, try back.serialized())
        XCTAssertEqual(bytes, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(Int(bytes[0]) % 8, 0)
    }

    // Expected: the second write's content, and no temp file left beside it (write is rename-based).
    func testWriteReplacesExistingFileAndLeavesNoTempFile() throws {
        let path = directory.appendingPathComponent("a.safetensors").path
        try SafeTensorsFile(tensors: ["x": SafeTensor(floats: [1], shape: [1])]).write(to: path)
        try SafeTensorsFile(tensors: ["y": SafeTensor(floats: [2, 3], shape: [2])]).write(to: path)
        let back = try SafeTensorsFile.read(path)
        XCTAssertEqual(Array(back.tensors.keys), ["y"])
        XCTAssertEqual(try back.tensors["y"]!.floats(), [2, 3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["a.safetensors"])
    }

    // MARK: - Fixture from another implementation

    // Built by hand from the format spec, not by SafeTensorsFile.serialized():
    //   header JSON (typed by hand, 141 bytes counted by hand, checked with `wc -c`):
    //     {"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"ids":{"dtype":"I64","shape":[2],"data_offsets":[8,24]}}
    //   padded with 3 spaces to 144 = 0x90 bytes, so the u64 prefix is 90 00 00 00 00 00 00 00;
    //   header ASCII turned into hex with `xxd -p`.
    //   data: w = [1.0, -2.0] as F32 LE: 1.0 = 0x3F800000 -> 00 00 80 3f, -2.0 = 0xC0000000 -> 00 00 00 c0;
    //         ids = [7, -1] as I64 LE: 07 00 00 00 00 00 00 00, ff ff ff ff ff ff ff ff.
    // Tensors are deliberately not in name order ("w" before "ids") to check the reader does not assume it.
    static let handBuiltFixtureHex =
        "9000000000000000"
        + "7b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c"
        + "2277223a7b226474797065223a22463332222c227368617065223a5b325d2c22"
        + "646174615f6f666673657473223a5b302c385d7d2c22696473223a7b22647479"
        + "7065223a22493634222c227368617065223a5b325d2c22646174615f6f666673"
        + "657473223a5b382c32345d7d7d202020"
        + "0000803f000000c0"
        + "0700000000000000ffffffffffffffff"

    func testHandBuiltFixtureParses() throws {
        let bytes = hexBytes(Self.handBuiltFixtureHex)
        XCTAssertEqual(bytes.count, 8 + 144 + 24)
        let file = try SafeTensorsFile.parse(bytes, source: "fixture")
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(Set(file.tensors.keys), ["w", "ids"])
        XCTAssertEqual(file.tensors["w"]?.dtype, .f32)
        XCTAssertEqual(file.tensors["w"]?.shape, [2])
        XCTAssertEqual(try file.tensors["w"]!.floats(), [1.0, -2.0])
        XCTAssertEqual(file.tensors["ids"]?.dtype, .i64)
        XCTAssertEqual(try file.tensors["ids"]!.int64s(), [7, -1])
        XCTAssertEqual(try file.tensors["ids"]!.int32s(), [7, -1])
    }

    // MARK: - F16 / BF16 bit patterns

    // Expected values from the IEEE 754 binary16 layout (1 sign, 5 exponent bias 15, 10 mantissa)
    // and bfloat16 (top 16 bits of a binary32), worked out by hand.
    func testHalfAndBFloat16DecodeKnownBitPatterns() throws {
        let half: [(UInt16, Float)] = [
            (0x3C00, 1.0), (0xC000, -2.0), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24),
            (0x0400, 0x1p-14), (0x3555, 0x1.554p-2), (0x7C00, .infinity), (0xFC00, -.infinity), (0x0000, 0),
        ]
        let decoded = try SafeTensor(dtype: .f16, shape: [half.count], bytes: littleEndian16(half.map(\.0))).floats()
        XCTAssertEqual(decoded, half.map(\.1))
        XCTAssertEqual(try SafeTensor(dtype: .f16, shape: [1], bytes: [0x00, 0x80]).floats()[0].bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertTrue(try SafeTensor(dtype: .f16, shape: [1], bytes: littleEndian16([0x7E00])).floats()[0].isNaN)

        let bf: [(UInt16, Float)] = [(0x3F80, 1.0), (0xC000, -2.0), (0x7F80, .infinity), (0x0001, 0x1p-133), (0x4049, 3.140625)]
        XCTAssertEqual(try SafeTensor(dtype: .bf16, shape: [bf.count], bytes: littleEndian16(bf.map(\.0))).floats(), bf.map(\.1))
        XCTAssertTrue(try SafeTensor(dtype: .bf16, shape: [1], bytes: littleEndian16([0x7FC0])).floats()[0].isNaN)
    }

    // Expected bits from round-to-nearest-even by hand: 1 + 2^-11 is the midpoint of 1 (mantissa 0,
    // even) and 1 + 2^-10, so it goes to 0x3C00; 1 + 3*2^-11 is the midpoint of mantissas 1 and 2,
    // so it goes to 2 (0x3C02). 65520 is the midpoint of 65504 and 2^16, and rounds to even = inf.
    // 2^-25 is the midpoint of 0 and the smallest subnormal, so 0; 1.5 * 2^-25 is above it, so 0x0001.
    // BF16: 1 + 2^-8 ties to 0x3F80, 1 + 3*2^-8 ties to 0x3F82, Float.max rounds up to inf.
    func testHalfAndBFloat16EncodeRoundToNearestEven() throws {
        let halfCases: [(Float, UInt16)] = [
            (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02), (1 + 0x1p-11 + 0x1p-20, 0x3C01),
            (65504, 0x7BFF), (65519, 0x7BFF), (65520, 0x7C00), (1e6, 0x7C00), (-1e6, 0xFC00),
            (0x1p-25, 0x0000), (-0x1p-25, 0x8000), (1.5 * 0x1p-25, 0x0001), (0x1p-26, 0x0000),
            (3 * 0x1p-25, 0x0002), (0x1p-14 - 0x1p-25, 0x0400), (.leastNonzeroMagnitude, 0x0000),
        ]
        XCTAssertEqual(halfBitsOf(halfCases.map(\.0), .f16), halfCases.map(\.1))
        let nanBits = halfBitsOf([.nan, -.nan, Float(bitPattern: 0x7F80_0001)], .f16)
        for b in nanBits { XCTAssertEqual(b & 0x7C00, 0x7C00); XCTAssertNotEqual(b & 0x03FF, 0) }

        let bfCases: [(Float, UInt16)] = [
            (1 + 0x1p-8, 0x3F80), (1 + 3 * 0x1p-8, 0x3F82), (1 + 0x1p-8 + 0x1p-20, 0x3F81),
            (.greatestFiniteMagnitude, 0x7F80), (-.infinity, 0xFF80), (-0.0, 0x8000),
        ]
        XCTAssertEqual(halfBitsOf(bfCases.map(\.0), .bf16), bfCases.map(\.1))
        let bfNaN = halfBitsOf([.nan, Float(bitPattern: 0x7F80_0001)], .bf16)
        for b in bfNaN { XCTAssertEqual(b & 0x7F80, 0x7F80); XCTAssertNotEqual(b & 0x007F, 0) }
    }

    // Every non-NaN 16-bit pattern decodes to a Float that encodes back to the same pattern: the
    // decoder is exact, so any mismatch is a bug in one direction or the other.
    func testEveryHalfAndBFloat16PatternSurvivesDecodeEncode() throws {
        let all = (0...UInt16.max).map { $0 }
        for dtype in [SafeTensorsDType.f16, .bf16] {
            let floats = try SafeTensor(dtype: dtype, shape: [all.count], bytes: littleEndian16(all)).floats()
            let back = halfBitsOf(floats, dtype)
            for (bits, (f, again)) in zip(all, zip(floats, back)) where !f.isNaN {
                XCTAssertEqual(again, bits, "\(dtype) 0x\(String(bits, radix: 16))")
                if again != bits { return }
            }
            XCTAssertEqual(floats.filter(\.isNaN).count, dtype == .f16 ? 2046 : 254)
        }
    }

    // Expected: dtype mismatches throw; I64 → Int32 works only when every value fits.
    func testAccessorsRejectTheWrongDType() throws {
        XCTAssertThrowsError(try SafeTensor(int32s: [1], shape: [1]).floats())
        XCTAssertThrowsError(try SafeTensor(floats: [1], shape: [1]).int32s())
        XCTAssertThrowsError(try SafeTensor(floats: [1], shape: [1], dtype: .bf16).int64s())
        XCTAssertEqual(try SafeTensor(int32s: [-5, 9], shape: [2]).int64s(), [-5, 9])
        XCTAssertThrowsError(try SafeTensor(int64s: [1, Int64(Int32.max) + 1], shape: [2]).int32s()) { error in
            XCTAssertTrue("\(error)".contains("2147483648"), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensor(dtype: .f32, shape: [2], bytes: [0, 0, 0])) { error in
            XCTAssertTrue("\(error)".contains("needs 8 bytes"), "\(error)")
        }
    }

    // MARK: - Corrupt input

    // A valid file whose last bytes belong to a tensor: every proper prefix is missing something,
    // so each must be refused with a SafeTensorsError rather than a crash or a partial result.
    func testEveryTruncationOfAValidFileThrows() throws {
        var file = SafeTensorsFile(metadata: ["k": "v"])
        file.tensors["a"] = SafeTensor(floats: [1, 2, 3], shape: [3], dtype: .f16)
        file.tensors["b"] = SafeTensor(int64s: [4], shape: [])
        let bytes = try file.serialized()
        XCTAssertNoThrow(try SafeTensorsFile.parse(bytes, source: "whole"))
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try SafeTensorsFile.parse(Array(bytes[0..<length]), source: "cut.safetensors")) { error in
                let e = error as? SafeTensorsError
                XCTAssertNotNil(e, "length \(length): \(error)")
                XCTAssertEqual(e?.path, "cut.safetensors")
            }
        }
    }

    // The same through `read`, which takes the file's size from the disk and reads only the
    // header: every prefix of the file on disk is refused when it is read, as in memory.
    func testEveryTruncationOfAFileOnDiskIsRefusedWhenRead() throws {
        var file = SafeTensorsFile(metadata: ["k": "v"])
        file.tensors["a"] = SafeTensor(floats: [1, 2, 3], shape: [3], dtype: .f16)
        file.tensors["b"] = SafeTensor(int64s: [4], shape: [])
        let bytes = try file.serialized()
        let path = directory.appendingPathComponent("cut.safetensors").path
        for length in 0..<bytes.count {
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes[0..<length])))
            XCTAssertThrowsError(try SafeTensorsFile.read(path)) { error in
                XCTAssertEqual((error as? SafeTensorsError)?.path, path, "length \(length): \(error)")
            }
        }
    }

    // `read` leaves the tensors in the open file until their values are asked for (then read
    // straight into the caller's memory). The values are the ones written (the test's own), and a
    // file cut short after its header was read (another program truncating it) makes the read of
    // a tensor past the cut an error naming the file: not garbage, not a crash, and a parameter
    // store loading it throws too.
    func testTensorsAreReadFromTheFileWhenAskedAndAFileCutMeanwhileIsAnError() throws {
        let a: [Float] = (0..<15).map { Float($0) * 0.25 - 1 }
        let b: [Float] = [0.5, -2, 65504, 0x1p-24]
        var file = SafeTensorsFile()
        file.tensors["a"] = SafeTensor(floats: a, shape: [3, 5])
        file.tensors["b"] = SafeTensor(floats: b, shape: [4], dtype: .f16)
        let path = directory.appendingPathComponent("lazy.safetensors").path
        try file.write(to: path)
        let back = try SafeTensorsFile.read(path)
        XCTAssertEqual(try back.tensors["a"]!.floats(), a)
        var inPlace = [Float](repeating: .nan, count: 4)
        try inPlace.withUnsafeMutableBufferPointer { try back.tensors["b"]!.copyFloats(into: $0) }
        XCTAssertEqual(inPlace, b)
        XCTAssertEqual(try back.tensors["b"]!.bytes, try file.tensors["b"]!.bytes)

        // "a" is laid out first, "b" last: cut into b's bytes.
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertEqual(truncate(path, off_t(size - 3)), 0)
        XCTAssertEqual(try back.tensors["a"]!.floats(), a, "bytes before the cut still read")
        XCTAssertThrowsError(try back.tensors["b"]!.floats()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path) && message.contains("changed while it was read"), message)
        }
        let store = ParameterStore()
        store.register("a", Tensor(unfilled: [3, 5]))
        store.register("b", Tensor(unfilled: [4]))
        XCTAssertThrowsError(try store.load(back, path: path))
    }

    // A borrowing load (`ParameterStore.load(borrow:)`) maps the file and reads an F32 weight in
    // place only where its bytes lie 4-byte aligned: the format does not align tensors, and a 2-byte
    // F16 tensor laid out first puts the next one's floats at an odd offset, where reading them as
    // Floats in place would be undefined. Expected: the misaligned weight is copied (not borrowed)
    // with its values exact; laid out the other way round, the same weight is borrowed.
    func testABorrowingLoadCopiesAWeightWhoseBytesAreMisaligned() throws {
        let w: [Float] = (0..<4096).map { Float($0) * 0.5 - 7 }
        for (first, misaligned) in [("a", true), ("z", false)] {   // tensors are laid out by name
            var file = SafeTensorsFile()
            file.tensors[first] = SafeTensor(floats: [0.25], shape: [1], dtype: .f16)
            file.tensors["w"] = SafeTensor(floats: w, shape: [64, 64])
            let path = directory.appendingPathComponent("align-\(first).safetensors").path
            try file.write(to: path)
            let store = ParameterStore()
            store.register(first, Tensor(unfilled: [1]))
            store.register("w", Tensor(unfilled: [64, 64]))
            try store.load(SafeTensorsFile.read(path), path: path, requireFinite: true, borrow: true)
            XCTAssertEqual(store["w"]!.isBorrowed, !misaligned, "w after \(first)")
            XCTAssertEqual(store["w"]!.withValues { Array($0) }, w)
            XCTAssertEqual(store[first]!.data, [0.25])
        }
    }

    // Each header is written by hand to break exactly one rule; the expected fragments are the
    // problem (and tensor) the message must name.
    func testCorruptHeadersNameTheProblem() throws {
        let f32x2: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0]
        let cases: [(String, [UInt8], [String])] = [
            (#"{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,8]}}"#, f32x2, ["\"w\"", "unknown dtype", "F8_E4M3", "F32"]),
            (#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, f32x2, ["\"w\"", "end 16 is beyond the data buffer of 8 bytes", "file is truncated or corrupt"]),
            (#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, f32x2, ["\"w\"", "needs 12 bytes", "span 8 bytes"]),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, f32x2, ["\"a\"", "\"b\"", "overlap"]),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, f32x2, ["\"a\"", "\"b\"", "overlap"]),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, f32x2, ["bytes [0, 4)", "belong to no tensor"]),
            (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, f32x2, ["8 bytes", "cover only the first 4"]),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, f32x2, ["\"w\"", "begin 8 > end 0"]),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, f32x2, ["\"w\"", "data_offsets must be a list of 2"]),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}"#, f32x2, ["\"w\"", "data_offsets must be a list of 2", "8.0"]),
            (#"{"w":{"dtype":"F32","shape":[2]}}"#, f32x2, ["\"w\"", "missing data_offsets"]),
            (#"{"w":{"shape":[2],"data_offsets":[0,8]}}"#, f32x2, ["\"w\"", "missing dtype"]),
            (#"{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, f32x2, ["\"w\"", "shape must be a list of non-negative integers", "2.0"]),
            (#"{"w":{"dtype":"F32","shape":[true,true],"data_offsets":[0,8]}}"#, f32x2, ["\"w\"", "shape must be a list of non-negative integers"]),
            (#"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, f32x2, ["\"w\"", "shape must be a list of non-negative integers"]),
            (#"{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}"#, f32x2, ["\"w\"", "shape must be a list"]),
            (#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#, f32x2, ["\"w\"", "too many elements"]),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999]}}"#, f32x2, ["\"w\"", "data_offsets must be a list of 2"]),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}"#, f32x2, ["\"w\"", "unknown key \"extra\""]),
            (#"{"w":[1,2]}"#, f32x2, ["\"w\"", "not an object"]),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, f32x2, ["not valid JSON", "duplicate key \"w\""]),
            (#"{"__metadata__":{"k":1}}"#, [], ["__metadata__", "\"k\"", "not a string"]),
            (#"{"__metadata__":"v"}"#, [], ["__metadata__", "not an object"]),
            (#"{"w": "#, f32x2, ["not valid JSON"]),
            (#"{"w":{"dtype":"F32",}}"#, [], ["not valid JSON"]),
            (#"{} x"#, [], ["not valid JSON", "after the top-level value"]),
            (#"{"\ud800":1}"#, [], ["not valid JSON", "surrogate"]),
            (#"[1,2]"#, [], ["header JSON is a list, not an object"]),
            ("", [], ["not valid JSON"]),
            (String(repeating: "[", count: 100_000), [], ["not valid JSON", "nesting"]),
        ]
        for (header, data, fragments) in cases {
            assertParseFails(safetensorsBytes(header: Array(header.utf8), data: data), fragments, header)
        }

        // Not UTF-8: a lone continuation byte inside a key.
        assertParseFails(safetensorsBytes(header: [0x7B, 0x22, 0x80, 0x22, 0x3A, 0x31, 0x7D], data: []), ["not valid UTF-8"], "bad utf8")
    }

    // Property, not numbers: random byte edits of a valid file (seeded, so reproducible) either
    // still parse or throw SafeTensorsError; a trap or any other error type fails the test.
    func testRandomlyCorruptedFilesNeverCrash() throws {
        var file = SafeTensorsFile(metadata: ["arch": "tiny"])
        file.tensors["emb"] = SafeTensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: .bf16)
        file.tensors["pos"] = SafeTensor(int32s: [0, 1], shape: [2])
        file.tensors["s"] = SafeTensor(floats: [0.5], shape: [])
        let valid = try file.serialized()
        let alphabet = Array(#"{}[],:"0123456789-.eE \FI"#.utf8)
        var rng = SplitMix64(seed: 0x5AFE)
        var refused = 0
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<(1 + rng.next() % 3) {
                let i = Int(rng.next() % UInt64(bytes.count))
                // Mostly JSON punctuation and digits, so edits reach the validator instead of the tokenizer.
                bytes[i] = rng.next() % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
            do {
                _ = try SafeTensorsFile.parse(bytes, source: "fuzz")
            } catch is SafeTensorsError {
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 1000)
    }

    // Expected: the length prefix alone decides these, before any header is read.
    func testBadHeaderLengthsAreRefused() throws {
        var huge = littleEndian64(1 << 40) + Array(#"{}"#.utf8)
        assertParseFails(huge, ["header length 1099511627776 bytes is absurd"], "2^40")
        huge = littleEndian64(.max)
        assertParseFails(huge, ["absurd"], "u64 max")
        assertParseFails(littleEndian64(100_000_001), ["absurd"], "just over the limit")
        assertParseFails(littleEndian64(64) + Array(#"{}"#.utf8), ["truncated: header says 64 bytes but file has 10"], "short")
        assertParseFails([1, 0, 0], ["only 3 bytes", "shorter than the 8-byte header length"], "tiny")
        assertParseFails([], ["only 0 bytes"], "empty")
    }

    // MARK: - Files on disk

    func testReadMissingFileSaysNoSuchFile() {
        let path = directory.appendingPathComponent("absent.safetensors").path
        XCTAssertThrowsError(try SafeTensorsFile.read(path)) { error in
            XCTAssertEqual("\(error)".hasPrefix(path + ": no such file"), true, "\(error)")
        }
        XCTAssertThrowsError(try SafeTensorsFile.read(directory.path)) { error in
            XCTAssertTrue("\(error)".contains("is a directory"), "\(error)")
        }
    }

    // The tests run as root here, so a chmod'ed directory would still be writable; a missing
    // directory, a regular file used as a directory, and a target that is itself a directory
    // cover the failures that do not depend on who runs them.
    func testWriteToMissingOrUnwritableDirectoryThrowsAndLeavesNoFile() throws {
        let file = SafeTensorsFile(tensors: ["x": SafeTensor(floats: [1, 2], shape: [2])])

        let missing = directory.appendingPathComponent("no/such/dir/model.safetensors").path
        XCTAssertThrowsError(try file.write(to: missing)) { error in
            XCTAssertTrue("\(error)".hasPrefix(missing + ": "), "\(error)")
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))

        let plain = directory.appendingPathComponent("plain.txt").path
        XCTAssertTrue(FileManager.default.createFile(atPath: plain, contents: Data([1])))
        XCTAssertThrowsError(try file.write(to: plain + "/model.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("is not a directory"), "\(error)")
        }

        let target = directory.appendingPathComponent("taken").path
        try FileManager.default.createDirectory(atPath: target + "/inside", withIntermediateDirectories: true)
        XCTAssertThrowsError(try file.write(to: target)) { error in
            XCTAssertTrue("\(error)".hasPrefix(target + ": "), "\(error)")
        }
        // Only what the test made itself remains: no temp file from the failed rename.
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)), ["plain.txt", "taken"])

        if getuid() != 0 {
            let locked = directory.appendingPathComponent("locked").path
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o555])
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked) }
            XCTAssertThrowsError(try file.write(to: locked + "/model.safetensors")) { error in
                XCTAssertTrue("\(error)".contains("writable"), "\(error)")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: locked), [])
        }

        var reserved = SafeTensorsFile()
        reserved.tensors["__metadata__"] = SafeTensor(floats: [1], shape: [1])
        let reservedPath = directory.appendingPathComponent("reserved.safetensors").path
        XCTAssertThrowsError(try reserved.write(to: reservedPath))
        XCTAssertFalse(FileManager.default.fileExists(atPath: reservedPath))
    }

    // MARK: - Helpers

    private func assertParseFails(_ bytes: [UInt8], _ fragments: [String], _ label: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile.parse(bytes, source: "bad.safetensors"), label, file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else {
                return XCTFail("\(label): not a SafeTensorsError: \(error)", file: file, line: line)
            }
            let text = e.description
            XCTAssertTrue(text.hasPrefix("bad.safetensors: "), "\(label): \(text)", file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(text.contains(fragment), "\(label): \(text) lacks \(fragment)", file: file, line: line)
            }
        }
    }

    /// Length prefix + header (padded with spaces to a multiple of 8, as writers do) + data.
    private func safetensorsBytes(header: [UInt8], data: [UInt8]) -> [UInt8] {
        var padded = header
        while padded.count % 8 != 0 { padded.append(0x20) }
        return littleEndian64(UInt64(padded.count)) + padded + data
    }

    private func littleEndian64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    private func littleEndian16(_ values: [UInt16]) -> [UInt8] {
        values.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
    }

    /// Encodes through the public initializer and reads the 16-bit patterns back out of the bytes.
    private func halfBitsOf(_ floats: [Float], _ dtype: SafeTensorsDType) -> [UInt16] {
        let b = (try? SafeTensor(floats: floats, shape: [floats.count], dtype: dtype).bytes) ?? []   // in memory: never throws
        return stride(from: 0, to: b.count, by: 2).map { UInt16(b[$0]) | UInt16(b[$0 + 1]) << 8 }
    }

    private func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}


/// SplitMix64 (Steele et al. 2014): a tiny seeded generator so the fuzz test replays exactly.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
