// CheckpointTests.swift — parameter stores saved as safetensors + config.json and loaded strictly.
import Engine
import Foundation
import XCTest

final class CheckpointTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gen-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func makeStore(hidden: Int = 4, seed: UInt64 = 1) -> ParameterStore {
        var rng = RNG(seed: seed)
        let s = ParameterStore()
        s.register("layer.weight", Tensor(randn: [hidden, 3], rng: &rng))
        s.register("layer.bias", Tensor(randn: [hidden], rng: &rng))
        return s
    }

    // Expected values from the definition: a tensor is refused when any value is NaN or ±∞, at any
    // position (the vectorised lanes and the scalar tail alike), and never for a finite value, the
    // largest and the subnormal ones included; `allSatisfy(\.isFinite)` is the reference.
    func testAllFiniteMatchesItsDefinitionAtEveryPosition() {
        for count in [0, 1, 7, 8, 9, 17, 64, 67] {
            let finite = (0..<count).map { i -> Float in [1.5, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0][i % 4] }
            XCTAssertTrue(allFinite(finite), "count \(count)")
            for i in 0..<count {
                for bad in [Float.nan, .infinity, -.infinity] {
                    var v = finite
                    v[i] = bad
                    XCTAssertEqual(allFinite(v), v.allSatisfy(\.isFinite), "count \(count), \(bad) at \(i)")
                    XCTAssertFalse(allFinite(v), "count \(count), \(bad) at \(i)")
                }
            }
        }
    }

    // A model folder whose weights hold a NaN or an infinity (a diverged run) is refused at load,
    // the message naming the tensor and the file, never handed to synthesis.
    func testModelFolderRefusesNonFiniteWeights() throws {
        struct Config: Codable { var hidden: Int }
        for bad in [Float.nan, .infinity, -.infinity] {
            let folder = dir.appendingPathComponent("model-\(bad)").path
            let store = makeStore()
            store["layer.bias"]!.data[2] = bad
            try ModelFolder.save(folder, config: Config(hidden: 4), params: store)
            XCTAssertThrowsError(try ModelFolder.load(folder, config: Config.self, missing: CheckpointError(path: folder, message: "missing"),
                                                      validate: { _ in [] }, build: { makeStore(hidden: $0.hidden) }, params: { $0 })) { e in
                let m = "\(e)"
                XCTAssertTrue(m.contains("layer.bias") && m.contains("NaN or infinite") && m.contains(folder), m)
            }
        }
    }

    // A load that borrows (`borrow: true`, what gen's speech models use) reads a large F32 weight
    // in place from the mapped file instead of copying it, and nothing else changes. Expected values
    // are the saved ones: the borrowed weight holds exactly them, a product through it gives the bits
    // of the same product through an owned copy (and copies nothing: `Tensor.borrowedCopies`), the
    // small bias and a weight stored as F16 are copied as before, and writing to a borrowed weight
    // gives it values of its own while the file on disk stays as saved.
    func testBorrowingLoadReadsLargeWeightsInPlace() throws {
        let path = dir.appendingPathComponent("model.safetensors").path
        func store(_ fill: Bool, seed: UInt64 = 3) -> ParameterStore {
            var rng = RNG(seed: seed)
            let s = ParameterStore()
            s.register("big.weight", fill ? Tensor(randn: [80, 64], rng: &rng) : Tensor(unfilled: [80, 64]))   // 5,120 values
            s.register("big.bias", fill ? Tensor(randn: [64], rng: &rng) : Tensor(unfilled: [64]))
            return s
        }
        let saved = store(true)
        try saved.save(to: path)
        let loaded = store(false)
        try loaded.load(SafeTensorsFile.read(path), path: path, requireFinite: true, borrow: true)
        let w = loaded["big.weight"]!, b = loaded["big.bias"]!
        XCTAssertGreaterThanOrEqual(w.count, ParameterStore.borrowMinimum)
        XCTAssertTrue(w.isBorrowed, "a large F32 weight is read in place")
        XCTAssertFalse(b.isBorrowed, "a weight under \(ParameterStore.borrowMinimum) values is copied")
        XCTAssertEqual(b.data, saved["big.bias"]!.data)
        XCTAssertEqual(w.count, 80 * 64)

        var rng = RNG(seed: 9)
        let x = Tensor(randn: [5, 80], rng: &rng)
        let copies = Tensor.borrowedCopies
        let viaBorrowed = matmul(x, w).data
        XCTAssertEqual(Tensor.borrowedCopies, copies, "the product read the borrowed weight in place")
        XCTAssertEqual(viaBorrowed, matmul(x, saved["big.weight"]!).data, "same product, bit for bit")
        XCTAssertEqual(w.withValues { Array($0) }, saved["big.weight"]!.data)

        XCTAssertEqual(w.data, saved["big.weight"]!.data, "reading data gives the values")
        XCTAssertEqual(Tensor.borrowedCopies, copies + 1, "reading data of a borrowing tensor is a copy")
        w.data[0] += 1
        XCTAssertFalse(w.isBorrowed, "writing gives the tensor values of its own")
        XCTAssertEqual(w.data[0], saved["big.weight"]!.data[0] + 1)
        let again = store(false)
        try again.load(from: path)
        XCTAssertEqual(again["big.weight"]!.data, saved["big.weight"]!.data, "the file is unchanged")
        XCTAssertFalse(again["big.weight"]!.isBorrowed, "a load that does not borrow copies")

        let half = dir.appendingPathComponent("half.safetensors").path
        try saved.save(to: half, dtype: .f16)
        let widened = store(false)
        try widened.load(SafeTensorsFile.read(half), path: half, borrow: true)
        XCTAssertFalse(widened["big.weight"]!.isBorrowed, "F16 values are widened into a copy")
        XCTAssertEqual(widened["big.weight"]!.data, try SafeTensorsFile.read(half).tensors["big.weight"]!.floats())
    }

    func testSaveLoadRoundTrip() throws {
        let path = dir.appendingPathComponent("model.safetensors").path
        let a = makeStore(seed: 1)
        try a.save(to: path, metadata: ["step": "12"])
        let b = makeStore(seed: 2)
        XCTAssertNotEqual(a["layer.weight"]!.data, b["layer.weight"]!.data)
        try b.load(from: path)
        XCTAssertEqual(a["layer.weight"]!.data, b["layer.weight"]!.data)
        XCTAssertEqual(try SafeTensorsFile.read(path).metadata["step"], "12")
    }

    func testWrongShapeNamesTensorShapesAndFile() throws {
        let path = dir.appendingPathComponent("model.safetensors").path
        try makeStore(hidden: 4).save(to: path)
        XCTAssertThrowsError(try makeStore(hidden: 5).load(from: path)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("layer.weight") && m.contains("[4, 3]") && m.contains("[5, 3]") && m.contains(path), m)
        }
    }

    func testMissingAndUnknownTensorsAreErrors() throws {
        let path = dir.appendingPathComponent("model.safetensors").path
        try makeStore().save(to: path)
        let bigger = makeStore()
        bigger.register("extra.weight", Tensor(zeros: [2]))
        XCTAssertThrowsError(try bigger.load(from: path)) { XCTAssertTrue("\($0)".contains("missing tensor 'extra.weight'"), "\($0)") }
        let smaller = ParameterStore()
        smaller.register("layer.weight", Tensor(zeros: [4, 3]))
        XCTAssertThrowsError(try smaller.load(from: path)) { XCTAssertTrue("\($0)".contains("unknown tensor 'layer.bias'"), "\($0)") }
    }

    func testHalfPrecisionWeightsLoadIntoFloatParameters() throws {
        let path = dir.appendingPathComponent("model.safetensors").path
        let a = makeStore()
        try a.save(to: path, dtype: .f16)
        let b = makeStore(seed: 5)
        try b.load(from: path)
        for (x, y) in zip(a["layer.weight"]!.data, b["layer.weight"]!.data) { XCTAssertEqual(x, y, accuracy: 2e-3 * max(1, abs(x))) }
    }

    func testTruncatedCheckpointIsAClearError() throws {
        let path = dir.appendingPathComponent("model.safetensors").path
        try makeStore().save(to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try makeStore().load(from: path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
    }

    struct ToyConfig: Codable, Equatable {
        var dModel: Int
        var heads: Int
        enum CodingKeys: String, CodingKey { case dModel = "d_model", heads }
    }

    func testConfigJSONIsSnakeCaseAndStrictAboutMissingKeys() throws {
        let path = dir.appendingPathComponent("config.json").path
        try ConfigFile.write(ToyConfig(dModel: 128, heads: 2), to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("\"d_model\" : 128"), text)
        XCTAssertEqual(try ConfigFile.read(ToyConfig.self, from: path), ToyConfig(dModel: 128, heads: 2))
        try "{\"heads\": 2}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigFile.read(ToyConfig.self, from: path)) { XCTAssertTrue("\($0)".contains("d_model"), "\($0)") }
        try "{not json".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigFile.read(ToyConfig.self, from: path)) { XCTAssertTrue("\($0)".contains("not valid JSON"), "\($0)") }
        // Valid JSON whose number does not fit its key is not called invalid JSON.
        try "{\"d_model\": 2.5, \"heads\": 2}".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigFile.read(ToyConfig.self, from: path)) { XCTAssertTrue("\($0)".contains("valid JSON, but a value does not fit"), "\($0)") }
    }

    // TrainingFolder + AdamW state: what `--resume` reads in every trainer.
    func testResumePointRestoresAdamMomentsAndRefusesMismatchedState() throws {
        let folder = try TrainingFolder(dir.appendingPathComponent("run/nested").path)
        XCTAssertThrowsError(try folder.resumePoint()) { XCTAssertTrue("\($0)".contains("--resume found no checkpoint"), "\($0)") }

        // Three real updates so the moments are not zero, then a checkpoint at step 3.
        let store = makeStore()
        let opt = AdamW(store, config: AdamWConfig(learningRate: 0.01))
        for k in 0..<3 {
            for t in store.tensors { t.grad = t.data.map { $0 * Float(k + 1) + 0.5 } }
            opt.update()
        }
        try store.save(to: folder.weights, metadata: ["step": "3"])
        var point = try folder.resumePoint()
        XCTAssertNil(point.state)
        XCTAssertTrue(folder.resumedMessage(point).contains("moments restart"))

        try opt.stateFile(step: 3).write(to: folder.state)
        point = try folder.resumePoint()
        XCTAssertEqual(point.step, 3)
        let fresh = AdamW(makeStore(seed: 9))
        try fresh.restore(from: XCTUnwrap(point.state), path: folder.state)
        XCTAssertEqual(fresh.step, 3)
        XCTAssertEqual(fresh.m, opt.m)
        XCTAssertEqual(fresh.v, opt.v)
        XCTAssertNotEqual(fresh.m, [Float](repeating: 0, count: fresh.m.count))
        XCTAssertEqual(folder.resumedMessage(point), "resumed at step 3 from \(folder.path)")

        // Moments of another model size, and state saved at another step than the weights, are refused.
        XCTAssertThrowsError(try AdamW(makeStore(hidden: 5)).restore(from: XCTUnwrap(point.state), path: folder.state)) {
            XCTAssertTrue("\($0)".contains("does not match the model"), "\($0)")
        }
        try store.save(to: folder.weights, metadata: ["step": "4"])
        XCTAssertThrowsError(try folder.resumePoint()) {
            XCTAssertTrue("\($0)".contains("from step 3, the weights from step 4"), "\($0)")
        }

        // Resuming a folder with weights alone (a shipped model) restarts the optimizer's own count at
        // 0 while the run goes on from step 4; what it saves next must still resume.
        try FileManager.default.removeItem(atPath: folder.state)
        let resumed = try folder.resumePoint()
        XCTAssertNil(resumed.state)
        let restarted = AdamW(store)
        for t in store.tensors { t.grad = t.data }
        restarted.update()
        XCTAssertEqual(restarted.step, 1)
        try store.save(to: folder.weights, metadata: ["step": "5"])
        try restarted.stateFile(step: resumed.step + 1).write(to: folder.state)
        let again = try folder.resumePoint()
        XCTAssertEqual(again.step, 5)
        XCTAssertNotNil(again.state)
    }
}
