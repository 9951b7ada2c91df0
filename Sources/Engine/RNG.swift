// RNG.swift — a small seeded generator (SplitMix64 seeding xoshiro256**), so runs are reproducible
// across machines and Swift versions (the standard library's generator is not seedable).

import Base
import Foundation

public struct RNG: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private var spareNormal: Float?

    public init(seed: UInt64) {
        var z = SplitMix64(seed: seed)
        s = (z.next(), z.next(), z.next(), z.next())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform integer in 0..<n.
    public mutating func int(below n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Standard normal (Box–Muller, caching the second value).
    public mutating func normal() -> Float {
        if let z = spareNormal { spareNormal = nil; return z }
        var u1 = uniform()
        while u1 <= 1e-12 { u1 = uniform() }
        let u2 = uniform()
        let r = (-2 * Float.log(u1)).squareRoot()
        let theta = 2 * Float.pi * u2
        spareNormal = r * sin(theta)
        return r * cos(theta)
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang (2000); a shape below 1 is boosted by U^(1/shape).
    public mutating func gamma(shape: Float) -> Float {
        precondition(shape > 0 && shape.isFinite, "gamma: shape \(shape) must be positive")
        if shape < 1 {
            var u = uniform()
            while u <= 1e-12 { u = uniform() }
            return gamma(shape: shape + 1) * Foundation.pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Float, v: Float
            repeat { x = normal(); v = 1 + c * x } while v <= 0
            v = v * v * v
            let u = uniform()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if u > 0, Float.log(u) < 0.5 * x * x + d * (1 - v + Float.log(v)) { return d * v }
        }
    }

    /// Beta(a, b) as X / (X + Y) of two Gamma draws.
    public mutating func beta(_ a: Float, _ b: Float) -> Float {
        let x = gamma(shape: a), y = gamma(shape: b)
        return x + y > 0 ? x / (x + y) : 0.5
    }

    /// A child generator whose stream depends on this one's seed and `index` (per-item seeds in a batch).
    public static func derive(seed: UInt64, index: UInt64) -> RNG {
        RNG(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ index &* 0xD1B5_4A32_D192_ED03 &+ 1)
    }
}

extension Float {
    @inline(__always) static func log(_ x: Float) -> Float { Foundation.log(x) }
}
