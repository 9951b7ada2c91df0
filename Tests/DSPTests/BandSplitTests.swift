// BandSplitTests — the Kaiser-windowed resampler the codec's bass decoder reads and writes its
// band with (DSP/BandSplit.swift).
//
// Expected values come from the filter's definition, not from the code: SciPy's firwin taps are
// symmetric with unit DC gain; I₀ against its tabulated values; a tone well inside the pass band
// (100 Hz, cut-off 345 Hz at factor 32) keeps its amplitude and a tone well inside the stop band
// (1 kHz, 2.9 × the cut-off) is removed, to the Kaiser window's (β = 5) stop-band attenuation of
// about 55 dB; down then up gives a pass-band tone back.
import XCTest
@testable import DSP

final class BandSplitTests: XCTestCase {
    func tone(_ hz: Double, _ n: Int, rate: Double = 22050) -> [Float] {
        (0..<n).map { Float(0.5 * sin(2 * Double.pi * hz * Double($0) / rate)) }
    }

    /// RMS of the middle half (away from the edges, where the filter reads zeros).
    func middleRMS(_ x: [Float]) -> Float {
        let m = x[(x.count / 4)..<(3 * x.count / 4)]
        return (m.reduce(Float(0)) { $0 + $1 * $1 } / Float(m.count)).squareRoot()
    }

    func testTapsAndBessel() {
        // I₀(1) = 1.2660658777520082, I₀(5) = 27.239871823604442 (Abramowitz & Stegun, table 9.8).
        XCTAssertEqual(BandSplit.besselI0(1), 1.2660658777520082, accuracy: 1e-12)
        XCTAssertEqual(BandSplit.besselI0(5), 27.239871823604442, accuracy: 1e-10)
        let s = BandSplit(factor: 32)
        XCTAssertEqual(s.taps.count, 641)
        XCTAssertEqual(s.taps.reduce(0, +), 1, accuracy: 1e-5)
        for i in 0..<320 { XCTAssertEqual(s.taps[i], s.taps[640 - i], accuracy: 1e-9) }
        XCTAssertEqual(s.taps.firstIndex(of: s.taps.max()!), 320)
    }

    func testPassBandKeptStopBandRemovedAndRoundTrip() {
        let s = BandSplit(factor: 32), n = 22050
        let low = s.decimate(tone(100, n)), high = s.decimate(tone(1000, n))
        XCTAssertEqual(low.count, (n + 31) / 32)
        let amplitude = Float(0.5 / 2.0.squareRoot())
        XCTAssertEqual(middleRMS(low), amplitude, accuracy: 0.01 * amplitude)
        XCTAssertLessThan(middleRMS(high), 0.003 * amplitude)              // below −50 dB
        let back = s.interpolate(low, length: n)
        XCTAssertEqual(back.count, n)
        let x = tone(100, n)
        let err = middleRMS(zip(back, x).map { $0 - $1 })
        XCTAssertLessThan(err, 0.01 * amplitude, "down and up again")
        // The band of a full-rate tone above it, brought back up, is (nearly) nothing.
        XCTAssertLessThan(middleRMS(s.interpolate(high, length: n)), 0.003 * amplitude)
        XCTAssertEqual(s.interpolate([], length: 5), [0, 0, 0, 0, 0])
        XCTAssertEqual(s.decimate([]), [])
    }

    // Reference: the two sums of the definitions above (BandSplit's doc comments), written out
    // directly in Double over every input the taps reach, edges included. The fast forms (one
    // contiguous dot product per output; polyphase convolutions) must equal them to float rounding
    // for several factors, lengths that are and are not multiples of the factor, and a requested
    // length beyond the signal's reach.
    func testFastFormsEqualTheDefiningSums() {
        var seed: UInt64 = 7
        func random() -> Float { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1 }
        for (r, n) in [(32, 1000), (32, 4097), (4, 37), (3, 10), (1, 9)] {
            let s = BandSplit(factor: r), h = s.taps.map(Double.init), hl = s.half
            let x = (0..<n).map { _ in random() }
            let down = s.decimate(x)
            XCTAssertEqual(down.count, (n + r - 1) / r)
            for m in down.indices {
                var sum = 0.0
                for i in 0..<n where abs(m * r - i) <= hl { sum += h[hl + m * r - i] * Double(x[i]) }
                XCTAssertEqual(Double(down[m]), sum, accuracy: 1e-5, "decimate r \(r) n \(n) m \(m)")
            }
            let band = Array(down)
            for length in [band.count * r, band.count * r + 3 * r + 1, max(1, band.count * r / 2)] {
                let up = s.interpolate(band, length: length)
                XCTAssertEqual(up.count, length)
                for k in up.indices {
                    var sum = 0.0
                    for i in band.indices where abs(k - i * r) <= hl { sum += h[hl + k - i * r] * Double(band[i]) }
                    XCTAssertEqual(Double(up[k]), Double(r) * sum, accuracy: 1e-4, "interpolate r \(r) length \(length) k \(k)")
                }
            }
        }
    }
}
