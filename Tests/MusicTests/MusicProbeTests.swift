// MusicProbeTests — the probes behind `make eval-music`: the features respond to what they are
// meant to measure (a click train's period, a tone's band), and the logistic probe separates
// classes that are separable and generalises to held-out points; the rates they report carry Wilson's interval.
import DSP
import Engine
@testable import Music
import XCTest

final class MusicProbeTests: XCTestCase {
    let fb = MelFilterbank()

    func testOnsetAutocorrelationPeaksAtTheClickPeriod() {
        // A click every 10240 samples = 40 STFT frames of 256 samples.
        var audio = [Float](repeating: 0, count: 22050 * 8)
        for start in stride(from: 1000, to: audio.count - 64, by: 10240) { for i in 0..<64 { audio[start + i] = 0.8 * (i % 2 == 0 ? 1 : -1) } }
        let f = ProbeFeatures.of(audio, filterbank: fb)
        XCTAssertEqual(f.count, ProbeFeatures.count)
        let lags = ProbeFeatures.lagFrames, auto = Array(f.suffix(lags.count))
        let at40 = auto[lags.firstIndex(of: 40)!], at22 = auto[lags.firstIndex(of: 22)!], at64 = auto[lags.firstIndex(of: 64)!]
        XCTAssertGreaterThan(at40, 0.5, "period lag should correlate strongly")
        XCTAssertLessThan(at22, 0.15); XCTAssertLessThan(at64, 0.15)
        XCTAssertEqual(lags[auto.indices.max { auto[$0] < auto[$1] }!] % 40, 0, "the strongest lag is a multiple of the period")
    }

    func testToneRaisesItsOwnBandGroup() {
        let audio = (0..<22050 * 3).map { Float(0.5 * sin(2 * Double.pi * 1000 * Double($0) / 22050)) }
        let f = ProbeFeatures.of(audio, filterbank: fb)
        let means = (0..<ProbeFeatures.bandGroups).map { f[3 * $0] }
        let loudest = means.indices.max { means[$0] < means[$1] }!
        // 1 kHz lies in mel band 26 of 80 (DSPTests), i.e. group 26 / 4 = 6.
        XCTAssertEqual(loudest, 6)
    }

    func testLogisticProbeSeparatesAndGeneralises() {
        var rng = RNG(seed: 3)
        let centres: [[Float]] = [[2, 0, 0, 1, -1], [0, 2, 0, -1, 1], [0, 0, 2, 1, 1]]
        func draw(_ n: Int) -> ([[Float]], [Int]) {
            var x: [[Float]] = [], y: [Int] = []
            for i in 0..<n {
                let c = i % 3
                x.append(centres[c].map { $0 + 0.5 * rng.normal() } + [Float(100) + rng.normal()])   // a large uninformative feature
                y.append(c)
            }
            return (x, y)
        }
        let (tx, ty) = draw(300), (vx, vy) = draw(150)
        let probe = LogisticProbe.fit(tx, labels: ty, classes: ["a", "b", "c"])
        XCTAssertGreaterThan(probe.accuracy(tx, labels: ty), 0.95)
        XCTAssertGreaterThan(probe.accuracy(vx, labels: vy), 0.93)
        let p = probe.probabilities(vx[0])
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-5)
    }

    func testLogisticProbeOnNoiseLabelsStaysNearChanceOnHeldOut() {
        var rng = RNG(seed: 5)
        let x = (0..<400).map { _ in (0..<6).map { _ in rng.normal() } }
        let y = (0..<400).map { _ in rng.int(below: 2) }
        let probe = LogisticProbe.fit(Array(x[0..<200]), labels: Array(y[0..<200]), classes: ["0", "1"])
        XCTAssertLessThan(probe.accuracy(Array(x[200...]), labels: Array(y[200...])), 0.65)
    }

    // The score interval's closed forms at the ends and the middle, z = 1.96 (Wilson 1927):
    // 0 of n: [0, z²/(n + z²)]; n of n: [n/(n + z²), 1]; n/2 of n: ½ ± z·√(n/4 + z²/4)/(n + z²).
    // With n = 10, z² = 3.8415: [0, 0.2775], [0.7225, 1], [0.2366, 0.7634].
    func testMeasuredRateIntervalMatchesWilsonsClosedForms() {
        let none = MeasuredRate(hits: 0, trials: 10).interval(), all = MeasuredRate(hits: 10, trials: 10).interval()
        let half = MeasuredRate(hits: 5, trials: 10).interval()
        XCTAssertEqual(none.lowerBound, 0, accuracy: 1e-12); XCTAssertEqual(none.upperBound, 0.2775, accuracy: 1e-4)
        XCTAssertEqual(all.lowerBound, 0.7225, accuracy: 1e-4); XCTAssertEqual(all.upperBound, 1, accuracy: 1e-12)
        XCTAssertEqual(half.lowerBound, 0.2366, accuracy: 1e-4); XCTAssertEqual(half.upperBound, 0.7634, accuracy: 1e-4)
        // The same rate on four times the clips: the interval holds the rate and about halves.
        let small = MeasuredRate(hits: 28, trials: 40).interval(), large = MeasuredRate(hits: 112, trials: 160).interval()
        XCTAssertTrue(small.contains(0.7) && large.contains(0.7))
        let ratio = (large.upperBound - large.lowerBound) / (small.upperBound - small.lowerBound)
        XCTAssertEqual(ratio, 0.5, accuracy: 0.03)
        XCTAssertEqual(MeasuredRate(hits: 54, trials: 80).description, "54/80 = 67.5% (95% interval 56.6–76.8%)")
    }
}
