// STFTTests.swift: STFT framing, padding and the STFT→iSTFT round trip.

import XCTest
@testable import DSP

final class STFTTests: XCTestCase {
    // Expected values: numpy's documentation example for np.pad(mode="reflect"):
    // np.pad([1, 2, 3, 4, 5], (2, 3), "reflect") → [3, 2, 1, 2, 3, 4, 5, 4, 3, 2]; with equal pads of 2
    // that is [3, 2, 1, 2, 3, 4, 5, 4, 3].
    func testReflectPadMatchesNumpy() {
        XCTAssertEqual(reflectPad([1, 2, 3, 4, 5], pad: 2), [3, 2, 1, 2, 3, 4, 5, 4, 3])
        XCTAssertEqual(reflectPad([1, 2, 3], pad: 0), [1, 2, 3])
        // np.pad([1, 2, 3], 5, "reflect") and np.pad([7], 3, "reflect"), run with numpy: pads longer
        // than the signal keep reflecting; a single sample is repeated.
        XCTAssertEqual(reflectPad([1, 2, 3], pad: 5), [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2])
        XCTAssertEqual(reflectPad([7], pad: 3), [7, 7, 7, 7, 7, 7, 7])
    }

    // Expected values: librosa.stft with center=True gives 1 + len // hop frames (librosa docs);
    // the periodic Hann window is 0.5 − 0.5·cos(2πj/N), so w[0] = 0, w[N/4] = 0.5, w[N/2] = 1.
    func testFrameCountAndWindow() {
        let stft = STFT()
        XCTAssertEqual(stft.frameCount(length: 22050), 1 + 22050 / 256)
        XCTAssertEqual(stft.frameCount(length: 256), 2)
        XCTAssertEqual(stft.forward([Float](repeating: 0.1, count: 1000)).frames, 1 + 1000 / 256)
        XCTAssertEqual(stft.window[0], 0)
        XCTAssertEqual(stft.window[256], 0.5, accuracy: 1e-6)
        XCTAssertEqual(stft.window[512], 1, accuracy: 1e-6)
        XCTAssertEqual(stft.window[768], 0.5, accuracy: 1e-6)
    }

    // Expected values: one frame computed by hand: slice the reflect-padded signal at t·hop,
    // multiply by the window and run the naive DFT. Frame 100 of a 2 s signal goes through the
    // parallel path (more than 64 frames), so this also checks the chunking.
    func testFrameMatchesWindowedNaiveDFT() {
        var rng = TestRNG(seed: 3)
        let x = (0..<44100).map { _ in rng.signed() }
        let stft = STFT()
        let spec = stft.forward(x)
        let padded = reflectPad(x, pad: 512)
        for t in [0, 100, spec.frames - 1] {
            let frame = (0..<1024).map { padded[t * 256 + $0] * stft.window[$0] }
            let ref = naiveDFT(re: frame, im: [Float](repeating: 0, count: 1024))
            for f in stride(from: 0, to: 513, by: 16) {
                XCTAssertEqual(Double(spec.re[t * 513 + f]), ref.re[f], accuracy: 1e-3, "t=\(t) f=\(f)")
                XCTAssertEqual(Double(spec.im[t * 513 + f]), ref.im[f], accuracy: 1e-3, "t=\(t) f=\(f)")
            }
        }
    }

    // Expected values: the input itself. With Hann at hop N/4 the window-square sum never vanishes
    // inside the signal, so weighted overlap-add inverts the STFT exactly up to Float rounding.
    func testRoundTripReconstructsSignal() {
        var rng = TestRNG(seed: 11)
        for length in [33075, 22050 + 123] {   // 1.5 s, and a length that is not a multiple of the hop
            let x = (0..<length).map { j -> Float in
                let t = Double(j) / 22050
                return 0.3 * rng.signed() + Float(0.5 * sin(2 * .pi * 440 * t) + 0.2 * sin(2 * .pi * 3100 * t))
            }
            let stft = STFT()
            let y = stft.inverse(stft.forward(x), length: length)
            XCTAssertEqual(y.count, length)
            let err = zip(x, y).map { abs($0 - $1) }.max()!
            print("STFT round trip, \(length) samples: max abs error \(err)")
            XCTAssertLessThan(err, 1e-4)
        }
    }

    // Expected values: the input itself, for a non-default setting (window shorter than nFFT, no centring),
    // checked away from the edges where an uncentred STFT has no full window overlap.
    func testRoundTripWithShortWindowUncentred() {
        var rng = TestRNG(seed: 12)
        let x = (0..<8000).map { _ in rng.signed() }
        let stft = STFT(nFFT: 512, winLength: 400, hop: 100, center: false)
        let y = stft.inverse(stft.forward(x), length: x.count)
        let err = (600..<7400).map { abs(x[$0] - y[$0]) }.max()!
        XCTAssertLessThan(err, 1e-4)
    }

    // Expected values: the input itself, as above, for FFT sizes on both sides of the fast kernel's
    // threshold (rfft of n < 32 runs on the reference kernel) and for a hop that does not divide
    // nFFT, where the window-square sum is periodic in hop but not constant.
    func testRoundTripAcrossFFTSizesAndHops() {
        var rng = TestRNG(seed: 13)
        let x = (0..<5000).map { _ in rng.signed() }
        for (nFFT, hop) in [(8, 2), (16, 4), (32, 8), (64, 16), (2048, 512), (1024, 300)] {
            let stft = STFT(nFFT: nFFT, winLength: nFFT, hop: hop, center: true)
            let y = stft.inverse(stft.forward(x), length: x.count)
            let err = zip(x, y).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(err, 1e-4, "nFFT=\(nFFT) hop=\(hop)")
        }
    }
}
