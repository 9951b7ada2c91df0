// SafeTensors: reading and writing the safetensors checkpoint format on raw typed arrays.
// Format (huggingface/safetensors README): 8-byte little-endian u64 N, N bytes of UTF-8 JSON
// header {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the data buffer, little-endian and row-major, covered exactly by the tensors.
// The loader is strict (whisper.cpp, mlx-swift style): anything malformed is a SafeTensorsError
// that names the file, the tensor and the fix, never a crash. It knows nothing of Tensor, so
// the Tensor type and the model loaders sit on top of it.

import Base
import Foundation
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Public types

public enum SafeTensorsDType: String, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", i32 = "I32", i64 = "I64"

    public var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i64: return 8
        }
    }

    var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }
}

public struct SafeTensorsError: Error, CustomStringConvertible {
    public let path: String
    /// "<problem>. <fix hint>"
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    // A tensor's own accessors have no file to name, so the prefix is left off then.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// One named tensor as raw little-endian bytes; `bytes.count == elementCount * dtype.byteSize` always holds.
public struct SafeTensor {
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Where this tensor's bytes are: `range` of an array (its own, or a parsed buffer's that its
    /// file's tensors share), or of a file still open (`SafeTensorsFile.read`), read only when the
    /// values are asked for and then straight into the memory that keeps them: loading a model
    /// touches its weights' memory once (the parameters), not three times (file, tensor, parameters).
    let storage: SafeTensorBytes
    let range: Range<Int>

    /// This tensor's bytes (read from its file, or copied out of a shared buffer, when asked):
    /// throws when its file can no longer be read in full.
    public var bytes: [UInt8] { get throws { try withBytes { Array($0) } } }

    public var elementCount: Int { shape.reduce(1, *) }

    /// A tensor whose bytes are `range` of `storage`, already checked against dtype and shape (parse).
    init(dtype: SafeTensorsDType, shape: [Int], storage: SafeTensorBytes, range: Range<Int>) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
        self.range = range
    }

    /// Raw bytes as they sit in a file. Throws when the byte count does not match dtype and shape.
    public init(dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) throws {
        guard let count = checkedElementCount(shape) else {
            throw SafeTensorsError(path: "", message: "shape \(shape) is not a list of non-negative integers with a representable product. Pass a valid shape")
        }
        guard bytes.count == count * dtype.byteSize else {
            throw SafeTensorsError(path: "", message: "dtype \(dtype.rawValue) shape \(shape) needs \(count * dtype.byteSize) bytes but got \(bytes.count). Pass bytes that match the shape")
        }
        self.init(dtype: dtype, shape: shape, storage: .memory(bytes), range: bytes.indices)
    }

    /// Stores `floats` as F32, or rounds them to F16/BF16 (round-to-nearest-even) when asked.
    public init(floats: [Float], shape: [Int], dtype: SafeTensorsDType = .f32) {
        precondition(dtype.isFloat, "SafeTensor(floats:) needs a float dtype, got \(dtype.rawValue)")
        precondition(checkedElementCount(shape) == floats.count,
                     "SafeTensor(floats:): shape \(shape) does not hold \(floats.count) values")
        var out = [UInt8]()
        out.reserveCapacity(floats.count * dtype.byteSize)
        switch dtype {
        case .f32: for f in floats { appendLittleEndian(&out, UInt64(f.bitPattern), bytes: 4) }
        case .f16: for f in floats { appendLittleEndian(&out, UInt64(halfBits(from: f)), bytes: 2) }
        case .bf16: for f in floats { appendLittleEndian(&out, UInt64(bfloat16Bits(from: f)), bytes: 2) }
        case .i32, .i64: fatalError("unreachable: checked above")
        }
        self.dtype = dtype
        self.shape = shape
        self.storage = .memory(out)
        self.range = out.indices
    }

    public init(int32s: [Int32], shape: [Int]) {
        precondition(checkedElementCount(shape) == int32s.count,
                     "SafeTensor(int32s:): shape \(shape) does not hold \(int32s.count) values")
        var out = [UInt8]()
        out.reserveCapacity(int32s.count * 4)
        for v in int32s { appendLittleEndian(&out, UInt64(UInt32(bitPattern: v)), bytes: 4) }
        self.dtype = .i32
        self.shape = shape
        self.storage = .memory(out)
        self.range = out.indices
    }

    public init(int64s: [Int64], shape: [Int]) {
        precondition(checkedElementCount(shape) == int64s.count,
                     "SafeTensor(int64s:): shape \(shape) does not hold \(int64s.count) values")
        var out = [UInt8]()
        out.reserveCapacity(int64s.count * 8)
        for v in int64s { appendLittleEndian(&out, UInt64(bitPattern: v), bytes: 8) }
        self.dtype = .i64
        self.shape = shape
        self.storage = .memory(out)
        self.range = out.indices
    }

    /// Values of an F32, F16 or BF16 tensor as Float (F16/BF16 widen exactly).
    public func floats() throws -> [Float] {
        guard dtype.isFloat else { throw notFloat }
        let n = range.count / dtype.byteSize
        var failure: Error?
        let values = [Float](unsafeUninitializedCapacity: n) { dst, count in
            do { try widen(into: dst) } catch { failure = error; dst.initialize(repeating: 0) }
            count = n
        }
        if let failure { throw failure }
        return values
    }

    /// Writes the values of an F32, F16 or BF16 tensor into `dst`, which holds exactly
    /// `elementCount` floats: a parameter loaded in place, with no array in between.
    public func copyFloats(into dst: UnsafeMutableBufferPointer<Float>) throws {
        guard dtype.isFloat else { throw notFloat }
        precondition(dst.count == range.count / dtype.byteSize, "copyFloats: \(dst.count) floats for a tensor of \(range.count / dtype.byteSize)")
        try widen(into: dst)
    }

    /// The values of an F32 tensor still in its file, in place in the file's mapping rather than
    /// copied (on a little-endian machine, where the file's bytes are Floats as they lie, 4-byte
    /// aligned); nil where they have to be copied (`copyFloats`).
    func borrowedFloats() -> BorrowedFloats? {
        guard dtype == .f32, case .file(let file) = storage, 1.littleEndian == 1,
              let map = file.mapped(), range.lowerBound >= 0, range.upperBound <= map.count,
              (Int(bitPattern: map.base) + range.lowerBound) % MemoryLayout<Float>.alignment == 0 else { return nil }
        let n = range.count / MemoryLayout<Float>.stride
        let start = (map.base + range.lowerBound).bindMemory(to: Float.self, capacity: n)
        return BorrowedFloats(values: UnsafeBufferPointer(start: start, count: n), owner: map)
    }

    private var notFloat: SafeTensorsError {
        SafeTensorsError(path: "", message: "tensor has integer dtype \(dtype.rawValue), not a float dtype. Read it with int32s() or int64s()")
    }

    /// This tensor's bytes, in place where they are in memory, read from the file otherwise.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        switch storage {
        case .memory(let array):
            return try array.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        case .file(let file):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: range.count, alignment: 16)
            defer { buffer.deallocate() }
            try file.read(range, into: buffer)
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    /// A float tensor's values into `dst` (its exact size).
    private func widen(into dst: UnsafeMutableBufferPointer<Float>) throws {
        #if _endian(little)
        // The file is little-endian, as is every host Swift runs gen on: F32 is one copy (or one
        // read from the file), not a loop.
        if dtype == .f32 {
            if case .file(let file) = storage { return try file.read(range, into: UnsafeMutableRawBufferPointer(dst)) }
            return try withBytes { UnsafeMutableRawBufferPointer(dst).copyMemory(from: $0) }
        }
        #endif
        try withBytes { src in
            switch dtype {
            case .f32: for i in dst.indices { dst[i] = Float(bitPattern: UInt32(truncatingIfNeeded: loadLittleEndian(src, at: i * 4, count: 4))) }
            case .f16: for i in dst.indices { dst[i] = float(fromHalfBits: UInt16(truncatingIfNeeded: loadLittleEndian(src, at: i * 2, count: 2))) }
            case .bf16: for i in dst.indices { dst[i] = float(fromBFloat16Bits: UInt16(truncatingIfNeeded: loadLittleEndian(src, at: i * 2, count: 2))) }
            case .i32, .i64: preconditionFailure("widen(into:) on an integer tensor")
            }
        }
    }

    /// Values of an I32 tensor, or of an I64 tensor whose every value fits in Int32.
    public func int32s() throws -> [Int32] {
        switch dtype {
        case .i32:
            return try withBytes { src in (0..<range.count / 4).map { Int32(bitPattern: UInt32(truncatingIfNeeded: loadLittleEndian(src, at: $0 * 4, count: 4))) } }
        case .i64:
            let wide = try int64s()
            var out = [Int32]()
            out.reserveCapacity(wide.count)
            for (i, v) in wide.enumerated() {
                guard let narrow = Int32(exactly: v) else {
                    throw SafeTensorsError(path: "", message: "I64 tensor element \(i) = \(v) does not fit in Int32. Read it with int64s()")
                }
                out.append(narrow)
            }
            return out
        case .f32, .f16, .bf16:
            throw SafeTensorsError(path: "", message: "tensor has float dtype \(dtype.rawValue), not an integer dtype. Read it with floats()")
        }
    }

    /// Values of an I64 tensor, or of an I32 tensor widened.
    public func int64s() throws -> [Int64] {
        switch dtype {
        case .i64:
            return try withBytes { src in (0..<range.count / 8).map { Int64(bitPattern: loadLittleEndian(src, at: $0 * 8, count: 8)) } }
        case .i32:
            return try int32s().map { Int64($0) }
        case .f32, .f16, .bf16:
            throw SafeTensorsError(path: "", message: "tensor has float dtype \(dtype.rawValue), not an integer dtype. Read it with floats()")
        }
    }
}

/// A file mapped read-only and private (MAP_PRIVATE): its pages are the page cache's, shared with
/// every process that reads the file, so a loaded model's weights cost neither a copy nor fresh
/// zeroed memory. Unmapped when the last tensor borrowing from it goes. A file cut short while
/// mapped would fault on the lost pages, as with any mapped model file (llama.cpp's, ONNX Runtime's):
/// gen's model files are replaced by rename (`atomicWrite`), which leaves a mapped file whole.
final class FileMapping {
    let base: UnsafeRawPointer
    let count: Int

    init?(fd: Int32, size: Int) {
        guard size > 0 else { return nil }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { return nil }
        base = UnsafeRawPointer(p)
        count = size
    }
    deinit { munmap(UnsafeMutableRawPointer(mutating: base), count) }
}

/// Where a tensor's bytes are (`SafeTensor.storage`).
enum SafeTensorBytes {
    /// An array in memory: the tensor's own, or a parsed file's, shared by its tensors.
    case memory([UInt8])
    /// A file left open after its header was read.
    case file(SafeTensorsSource)
}

/// A safetensors file left open by `SafeTensorsFile.read` (closed when its last tensor goes): each
/// tensor reads its bytes when asked, with pread, into the caller's memory.
final class SafeTensorsSource {
    let fd: Int32
    let path: String
    /// The file's size when its header was read.
    let size: Int
    private let lock = NSLock()
    private var mapping: FileMapping??

    init(fd: Int32, path: String, size: Int) { self.fd = fd; self.path = path; self.size = size }
    deinit { close(fd) }

    /// The whole file mapped read-only, made on first use and shared by the tensors that borrow
    /// from it; nil where it cannot be mapped (then the values are read with pread instead).
    func mapped() -> FileMapping? {
        lock.lock(); defer { lock.unlock() }
        if let mapping { return mapping }
        let made = FileMapping(fd: fd, size: size)
        mapping = .some(made)
        return made
    }

    /// Bytes `range` of the file into `dst` (exactly `range.count` bytes), or an error naming the
    /// file when it can no longer be read in full (cut short or changed since its header was read).
    func read(_ range: Range<Int>, into dst: UnsafeMutableRawBufferPointer) throws {
        precondition(dst.count == range.count, "SafeTensorsSource.read: \(dst.count) bytes for a range of \(range.count)")
        var done = 0
        while done < range.count {
            let got = pread(fd, dst.baseAddress! + done, range.count - done, off_t(range.lowerBound + done))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                let reason = got < 0 ? String(cString: strerror(errno)) : "end of file"
                throw SafeTensorsError(path: path, message: "read \(done) of \(range.count) bytes at offset \(range.lowerBound) (\(reason)). The file changed while it was read, or the disk failed")
            }
            done += got
        }
    }

    /// The file's first `count` bytes.
    func prefix(_ count: Int) throws -> [UInt8] {
        var failure: Error?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, n in
            do { try read(0..<count, into: UnsafeMutableRawBufferPointer(buffer)) } catch { failure = error; buffer.initialize(repeating: 0) }
            n = count
        }
        if let failure { throw failure }
        return bytes
    }
}

public struct SafeTensorsFile {
    public var tensors: [String: SafeTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Headers above this are refused before anything is allocated: real ones are kilobytes,
    /// and a garbage length prefix would otherwise look like a truncated file.
    public static let maxHeaderBytes = 100_000_000

    static let metadataKey = "__metadata__"

    public static func read(_ path: String) throws -> SafeTensorsFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SafeTensorsError(path: path, message: "no such file. Check the path, or write the checkpoint first")
        }
        guard !isDirectory.boolValue else {
            throw SafeTensorsError(path: path, message: "is a directory, not a .safetensors file. Pass the path of the file inside it")
        }
        // Devices (/dev/zero), pipes and sockets never end or cannot be sized: refuse them unread.
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError(path: path, message: "is not a regular file (a device, pipe or socket). Pass a .safetensors file")
        }
        guard access(path, R_OK) == 0 else {
            throw SafeTensorsError(path: path, message: "permission denied. Check its permissions (chmod), or read a copy")
        }
        // Only the header is read now: the tensors stay in the open file until their values are
        // asked for, and are then read straight into the memory that keeps them (model loading is
        // most of a short `gen speech`, and most of that was first touching copies of the weights).
        let size = Int(st.st_size)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError(path: path, message: "cannot read file (\(String(cString: strerror(errno)))). Check its permissions")
        }
        let source = SafeTensorsSource(fd: fd, path: path, size: size)
        let length = try source.prefix(min(8, size))
        var prefix = length
        if length.count == 8 {
            let n = loadLittleEndian(length, at: 0, count: 8)
            if n <= UInt64(maxHeaderBytes) && Int(n) <= size - 8 { prefix = try source.prefix(8 + Int(n)) }
        }
        return try parse(prefix: prefix, size: size, source: path, storage: .file(source))
    }

    /// Parses a whole safetensors file held in memory; `source` names it in error messages.
    public static func parse(_ bytes: [UInt8], source: String) throws -> SafeTensorsFile {
        try parse(prefix: bytes, size: bytes.count, source: source, storage: .memory(bytes))
    }

    /// Parses a safetensors file of `size` bytes from its first bytes, `prefix` (the length and the
    /// whole header, where the file is long enough to hold them): the tensors' bytes are the
    /// ranges of `storage` that the header gives, checked to tile the data buffer exactly.
    static func parse(prefix bytes: [UInt8], size: Int, source: String, storage: SafeTensorBytes) throws -> SafeTensorsFile {
        func corrupt(_ problem: String) -> SafeTensorsError {
            SafeTensorsError(path: source, message: problem + ". The file is truncated or corrupt; re-export or re-download it")
        }

        guard size >= 8 else {
            throw corrupt("file is only \(size) bytes, shorter than the 8-byte header length")
        }
        let headerLength = loadLittleEndian(bytes, at: 0, count: 8)
        guard headerLength <= UInt64(maxHeaderBytes) else {
            throw SafeTensorsError(path: source, message: "header length \(headerLength) bytes is absurd (limit \(maxHeaderBytes)). This is not a safetensors file, or it is corrupt; check the path points at a .safetensors checkpoint")
        }
        let n = Int(headerLength)
        guard n <= size - 8 else {
            throw SafeTensorsError(path: source, message: "truncated: header says \(n) bytes but file has \(size) (\(size - 8) after the 8-byte length). The file was cut short; re-export or re-download it")
        }
        precondition(bytes.count >= 8 + n, "parse(prefix:): the prefix must hold the whole header")
        let header = bytes[8..<(8 + n)]
        guard isValidUTF8(header) else {
            throw corrupt("header is not valid UTF-8")
        }
        let root: JSONValue
        do {
            var parser = JSONParser(header)
            root = try parser.parseDocument()
        } catch let error as JSONSyntaxError {
            throw corrupt("header is not valid JSON: \(error.problem) at byte \(error.offset) of the header")
        }
        guard case .object(let entries) = root else {
            throw corrupt("header JSON is \(root.kindName), not an object")
        }

        let dataStart = 8 + n
        let dataCount = size - dataStart
        var file = SafeTensorsFile()
        // (name, begin, end) for the coverage check once every entry has been read.
        var ranges: [(name: String, begin: Int, end: Int)] = []

        for (name, value) in entries {
            if name == metadataKey {
                guard case .object(let pairs) = value else {
                    throw corrupt("__metadata__ is \(value.kindName), not an object of strings")
                }
                for (key, v) in pairs {
                    guard case .string(let s) = v else {
                        throw corrupt("__metadata__ key \"\(key)\" is \(v.kindName), not a string")
                    }
                    file.metadata[key] = s
                }
                continue
            }
            guard case .object(let fields) = value else {
                throw corrupt("tensor \"\(name)\": entry is \(value.kindName), not an object with dtype, shape and data_offsets")
            }
            var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
            for (key, v) in fields {
                switch key {
                case "dtype": dtypeValue = v
                case "shape": shapeValue = v
                case "data_offsets": offsetsValue = v
                default: throw corrupt("tensor \"\(name)\": unknown key \"\(key)\" (expected dtype, shape, data_offsets)")
                }
            }

            guard let dtypeValue else { throw corrupt("tensor \"\(name)\": missing dtype") }
            guard case .string(let dtypeName) = dtypeValue else {
                throw corrupt("tensor \"\(name)\": dtype is \(dtypeValue.kindName), not a string")
            }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                let supported = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
                throw SafeTensorsError(path: source, message: "tensor \"\(name)\": unknown dtype \"\(dtypeName)\". Supported dtypes are \(supported); convert the checkpoint to one of them")
            }

            guard let shapeValue else { throw corrupt("tensor \"\(name)\": missing shape") }
            guard let shape = shapeValue.nonNegativeInts() else {
                throw corrupt("tensor \"\(name)\": shape must be a list of non-negative integers, got \(shapeValue.abbreviated)")
            }
            guard let elements = checkedElementCount(shape),
                  case (let expectedBytes, false) = elements.multipliedReportingOverflow(by: dtype.byteSize) else {
                throw corrupt("tensor \"\(name)\": shape \(shape) has too many elements")
            }

            guard let offsetsValue else { throw corrupt("tensor \"\(name)\": missing data_offsets") }
            guard let offsets = offsetsValue.nonNegativeInts(), offsets.count == 2 else {
                throw corrupt("tensor \"\(name)\": data_offsets must be a list of 2 non-negative integers [begin, end], got \(offsetsValue.abbreviated)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin <= end else {
                throw corrupt("tensor \"\(name)\": data_offsets begin \(begin) > end \(end)")
            }
            guard end <= dataCount else {
                throw corrupt("tensor \"\(name)\": data_offsets end \(end) is beyond the data buffer of \(dataCount) bytes")
            }
            guard end - begin == expectedBytes else {
                throw corrupt("tensor \"\(name)\": dtype \(dtype.rawValue) shape \(shape) needs \(expectedBytes) bytes but data_offsets [\(begin), \(end)] span \(end - begin) bytes")
            }
            file.tensors[name] = SafeTensor(dtype: dtype, shape: shape, storage: storage, range: (dataStart + begin)..<(dataStart + end))
            ranges.append((name, begin, end))
        }

        // The spec wants the buffer tiled exactly: sorted by offset, each range starts where the last ended.
        ranges.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous: (name: String, begin: Int, end: Int)?
        for r in ranges {
            if r.begin < covered, let p = previous {
                throw corrupt("tensors \"\(p.name)\" [\(p.begin), \(p.end)) and \"\(r.name)\" [\(r.begin), \(r.end)) overlap")
            }
            if r.begin > covered {
                throw corrupt("bytes [\(covered), \(r.begin)) of the data buffer belong to no tensor")
            }
            covered = r.end
            previous = r
        }
        guard covered == dataCount else {
            throw corrupt("data buffer has \(dataCount) bytes but the tensors cover only the first \(covered)")
        }
        return file
    }

    /// Deterministic bytes: tensors laid out in name order (UTF-8 byte order), metadata keys sorted,
    /// header padded with spaces so the data buffer starts 8-byte aligned.
    /// Precondition: no tensor is named "__metadata__" (write(to:) checks this and throws).
    public func serialized() throws -> [UInt8] {
        precondition(tensors[Self.metadataKey] == nil, "a tensor may not be named \(Self.metadataKey)")
        let names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var header = "{"
        var first = true
        if !metadata.isEmpty {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            header += jsonQuoted(Self.metadataKey) + ":{"
            header += keys.map { jsonQuoted($0) + ":" + jsonQuoted(metadata[$0]!) }.joined(separator: ",")
            header += "}"
            first = false
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            if !first { header += "," }
            first = false
            let shape = t.shape.map(String.init).joined(separator: ",")
            header += "\(jsonQuoted(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.range.count)]}"
            offset += t.range.count
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var out = [UInt8]()
        out.reserveCapacity(8 + headerBytes.count + offset)
        appendLittleEndian(&out, UInt64(headerBytes.count), bytes: 8)
        out += headerBytes
        for name in names { out += try tensors[name]!.bytes }
        return out
    }

    /// Writes atomically: a temp file in the same directory, then rename(2), so a crash never
    /// leaves a half-written checkpoint under `path`. On failure the temp file is removed.
    public func write(to path: String) throws {
        if tensors[Self.metadataKey] != nil {
            throw SafeTensorsError(path: path, message: "a tensor is named \"\(Self.metadataKey)\", which the format reserves for metadata. Rename that tensor")
        }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw SafeTensorsError(path: path, message: "directory \(directory) does not exist. Create it first (mkdir -p)")
        }
        guard isDirectory.boolValue else {
            throw SafeTensorsError(path: path, message: "\(directory) is not a directory. Choose an output path inside a directory")
        }

        // Before any file is made: a tensor still in a file that can no longer be read fails here.
        let bytes: [UInt8]
        do { bytes = try serialized() } catch {
            throw SafeTensorsError(path: path, message: "\(error). Nothing was written")
        }
        let tempPath = TemporaryFiles.name(for: path)
        guard let handle = fopen(tempPath, "wbx") else {
            let reason = String(cString: strerror(errno))
            TemporaryFiles.finished(tempPath)
            throw SafeTensorsError(path: path, message: "cannot create a file in \(directory) (\(reason)). Check that the directory is writable")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        let flushed = fflush(handle) == 0 && fsync(fileno(handle)) == 0
        let writeErrno = errno
        let closed = fclose(handle) == 0
        guard written == bytes.count, flushed, closed else {
            TemporaryFiles.discard(tempPath)
            throw SafeTensorsError(path: path, message: "writing \(bytes.count) bytes failed (\(String(cString: strerror(writeErrno)))). Check free disk space")
        }
        guard TemporaryFiles.commit(tempPath, to: path) else {
            let reason = String(cString: strerror(errno))
            throw SafeTensorsError(path: path, message: "cannot move the finished file into place (\(reason)). Check that the path is not a directory and is writable")
        }
    }
}

// MARK: - Byte helpers

/// Product of `shape`, or nil when a dimension is negative or the product overflows Int.
private func checkedElementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, overflow) = count.multipliedReportingOverflow(by: d)
        guard !overflow else { return nil }
        count = p
    }
    return count
}

@inline(__always)
private func appendLittleEndian(_ out: inout [UInt8], _ value: UInt64, bytes: Int) {
    for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
}

@inline(__always)
private func loadLittleEndian<C: RandomAccessCollection>(_ bytes: C, at offset: Int, count: Int) -> UInt64
where C.Element == UInt8, C.Index == Int {
    var value: UInt64 = 0
    let start = bytes.startIndex + offset
    for i in 0..<count { value |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
    return value
}

private func isValidUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}

// MARK: - F16 / BF16 bit conversions
// Written out by hand rather than using Swift's Float16, which is missing on some platforms.
// Float32: 1 sign, 8 exponent (bias 127), 23 mantissa. F16: 1, 5 (bias 15), 10. BF16: 1, 8, 7.

/// Float → IEEE binary16 bits, round-to-nearest-even; overflow goes to inf, NaN stays NaN.
private func halfBits(from f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
    let exponent = Int((x >> 23) & 0xFF)
    let mantissa = x & 0x7F_FFFF
    if exponent == 0xFF {
        // Keep the top payload bits and force the quiet bit so a NaN never turns into inf.
        return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(truncatingIfNeeded: mantissa >> 13)
    }
    let e = exponent - 127 + 15
    if e >= 0x1F { return sign | 0x7C00 }
    if e <= 0 {
        // Half subnormal: value = m * 2^-24 with m = full >> (14 - e). Below e = -10 even the
        // largest input is under half of 2^-24, so it rounds to zero.
        if e < -10 { return sign }
        let full = mantissa | 0x80_0000
        let shift = UInt32(14 - e)
        var m = full >> shift
        let remainder = full & ((1 << shift) - 1)
        let halfway: UInt32 = 1 << (shift - 1)
        if remainder > halfway || (remainder == halfway && m & 1 == 1) { m += 1 }
        return sign | UInt16(m)  // m == 0x400 carries into the smallest normal, which is right
    }
    var h = UInt32(e) << 10 | (mantissa >> 13)
    let remainder = mantissa & 0x1FFF
    if remainder > 0x1000 || (remainder == 0x1000 && h & 1 == 1) { h += 1 }  // a carry may reach inf, as it should
    return sign | UInt16(h)
}

/// IEEE binary16 bits → Float, exact.
private func float(fromHalfBits h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    switch exponent {
    case 0:
        // Subnormal or zero: m * 2^-24, exact in Float since m < 2^10.
        let magnitude = Float(mantissa) * Float(bitPattern: 0x3380_0000)
        return Float(bitPattern: magnitude.bitPattern | sign)
    case 0x1F:
        return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    default:
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }
}

/// Float → bfloat16 bits (the top half of the Float), round-to-nearest-even.
private func bfloat16Bits(from f: Float) -> UInt16 {
    let x = f.bitPattern
    if f.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }
    let roundingBias = 0x7FFF + ((x >> 16) & 1)
    return UInt16(truncatingIfNeeded: (x &+ roundingBias) >> 16)
}

private func float(fromBFloat16Bits b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

// MARK: - Header JSON
// A small strict parser instead of JSONSerialization: it keeps integers exact (no Double, no
// NSNumber booleans passing as 0/1), rejects duplicate keys, and bounds nesting depth so an
// adversarial header cannot overflow the stack.

/// A JSON string literal (quotes and escapes), for headers and JSON Lines written by hand.
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

private indirect enum JSONValue {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int)     // an integer literal that fits in Int
    case number(String)   // any other number, kept as text for error messages
    case bool(Bool)
    case null

    var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "a list"
        case .string: return "a string"
        case .integer, .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }

    func nonNegativeInts() -> [Int]? {
        guard case .array(let items) = self else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .integer(let v) = item, v >= 0 else { return nil }
            out.append(v)
        }
        return out
    }

    var compact: String {
        switch self {
        case .object(let pairs): return "{" + pairs.map { jsonQuoted($0.key) + ":" + $0.value.compact }.joined(separator: ",") + "}"
        case .array(let items): return "[" + items.map(\.compact).joined(separator: ",") + "]"
        case .string(let s): return jsonQuoted(s)
        case .integer(let v): return String(v)
        case .number(let text): return text
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }

    var abbreviated: String {
        let text = compact
        return text.count <= 60 ? text : String(text.prefix(57)) + "..."
    }
}

private struct JSONSyntaxError: Error {
    let problem: String
    let offset: Int
}

private struct JSONParser {
    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0
    private static let maxDepth = 64

    init<C: Collection>(_ bytes: C) where C.Element == UInt8 { self.bytes = Array(bytes) }

    mutating func parseDocument() throws -> JSONValue {
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected bytes after the top-level value") }
        return value
    }

    private func fail(_ problem: String) -> JSONSyntaxError { JSONSyntaxError(problem: problem, offset: position) }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 }
    }

    private mutating func expect(_ c: UInt8, _ what: String) throws {
        guard current == c else { throw fail(current == nil ? "unexpected end, expected \(what)" : "expected \(what)") }
        position += 1
    }

    private mutating func parseValue() throws -> JSONValue {
        skipWhitespace()
        guard let c = current else { throw fail("unexpected end of header") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        default: throw fail("unexpected character '\(Unicode.Scalar(c))'")
        }
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var pairs: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(pairs) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyOffset = position
            let key = try parseString()
            guard seen.insert(key).inserted else {
                throw JSONSyntaxError(problem: "duplicate key \(jsonQuoted(key))", offset: keyOffset)
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            pairs.append((key, try parseValue()))
            skipWhitespace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(pairs)
        }
    }

    private mutating func parseArray() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            items.append(try parseValue())
            skipWhitespace()
            if current == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(items)
        }
    }

    private mutating func parseLiteral(_ word: String) throws {
        for c in word.utf8 {
            guard current == c else { throw fail("invalid literal, expected \(word)") }
            position += 1
        }
    }

    /// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        var isInteger = true
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, isDigit(first) else { throw fail("expected a digit") }
        position += 1
        if first != UInt8(ascii: "0") { while let c = current, isDigit(c) { position += 1 } }
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard let c = current, isDigit(c) else { throw fail("expected a digit after '.'") }
            while let c = current, isDigit(c) { position += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let c = current, isDigit(c) else { throw fail("expected a digit in the exponent") }
            while let c = current, isDigit(c) { position += 1 }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let v = Int(text) { return .integer(v) }
        return .number(text)
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func parseString() throws -> String {
        position += 1  // opening quote
        var out = [UInt8]()
        while true {
            guard let c = current else { throw fail("unterminated string") }
            position += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)  // the header was validated as UTF-8 already
            case UInt8(ascii: "\\"):
                guard let e = current else { throw fail("unterminated escape") }
                position += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try parseHex4()
                    if (0xD800...0xDBFF).contains(code) {
                        // A high surrogate must be followed by an escaped low surrogate.
                        guard current == UInt8(ascii: "\\") else { throw fail("unpaired surrogate") }
                        position += 1
                        guard current == UInt8(ascii: "u") else { throw fail("unpaired surrogate") }
                        position += 1
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(code) {
                        throw fail("unpaired surrogate")
                    }
                    out += Array(String(Character(Unicode.Scalar(code)!)).utf8)
                default:
                    throw fail("invalid escape '\\\(Unicode.Scalar(e))'")
                }
            case 0x00..<0x20:
                throw fail("raw control character in string")
            default:
                out.append(c)
            }
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let c = current else { throw fail("unterminated \\u escape") }
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}
