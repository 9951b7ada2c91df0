// Shared helpers for the Audio tests: closed-form test signals, a direct DFT probe, and a
// scratch directory per test.

import Foundation
import XCTest

/// A sine of `frequency` Hz: amplitude · sin(2π f t / rate), t = 0..<frames.
func sine(_ frequency: Double, rate: Int, frames: Int, amplitude: Float = 0.5) -> [Float] {
    (0..<frames).map { t in amplitude * Float(sin(2 * Double.pi * frequency * Double(t) / Double(rate))) }
}

/// |Σ x[t] e^{-2πi f t / rate}|, the DFT magnitude at one frequency (not necessarily a bin).
func dftMagnitude(_ x: [Float], at frequency: Double, rate: Int) -> Double {
    var re = 0.0, im = 0.0
    let w = 2 * Double.pi * frequency / Double(rate)
    for (t, v) in x.enumerated() {
        re += Double(v) * cos(w * Double(t))
        im -= Double(v) * sin(w * Double(t))
    }
    return (re * re + im * im).squareRoot()
}

func rms(_ x: ArraySlice<Float>) -> Double {
    guard !x.isEmpty else { return 0 }
    return (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot()
}

func rms(_ x: [Float]) -> Double { rms(x[...]) }

/// Sign changes from negative to non-negative and back; a sine of f Hz over d seconds has 2·f·d.
func zeroCrossings(_ x: ArraySlice<Float>) -> Int {
    var count = 0
    var previous = x.first ?? 0
    for v in x.dropFirst() {
        if (previous < 0) != (v < 0) { count += 1 }
        previous = v
    }
    return count
}

/// A fresh, empty directory removed again in tearDown.
class ScratchDirectoryTestCase: XCTestCase {
    var scratch: String = ""

    override func setUpWithError() throws {
        scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("gen-audio-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func path(_ name: String) -> String { scratch + "/" + name }

    func writeFile(_ path: String, contents: Data) throws {
        try contents.write(to: URL(fileURLWithPath: path))
    }

    func listing(_ dir: String? = nil) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir ?? scratch).sorted()
    }
}
