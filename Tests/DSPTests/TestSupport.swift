// TestSupport.swift: helpers shared by the DSP tests: a seeded generator and naive references.

import Foundation

/// A 64-bit linear congruential generator (Knuth's MMIX constants), so the tests' random
/// inputs do not depend on the platform RNG or on the DSP module's own generator.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func uniform() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24)   // [0, 1)
    }
    /// Uniform in [-1, 1).
    mutating func signed() -> Float { 2 * uniform() - 1 }
}

/// O(n²) DFT in Double: X[k] = Σ_j x[j]·exp(-2πi·jk/n), the definition the FFT must match.
func naiveDFT(re: [Float], im: [Float]) -> (re: [Double], im: [Double]) {
    let n = re.count
    var outRe = [Double](repeating: 0, count: n), outIm = [Double](repeating: 0, count: n)
    for k in 0..<n {
        var sr = 0.0, si = 0.0
        for j in 0..<n {
            // Reduce jk mod n first so the angle stays small and exact.
            let angle = -2 * Double.pi * Double((j * k) % n) / Double(n)
            let c = cos(angle), s = sin(angle)
            sr += Double(re[j]) * c - Double(im[j]) * s
            si += Double(re[j]) * s + Double(im[j]) * c
        }
        outRe[k] = sr; outIm[k] = si
    }
    return (outRe, outIm)
}
