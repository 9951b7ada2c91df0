// RuntimeTests.swift — Engine.Runtime's choice of OpenBLAS kernels (Runtime.swift).
//
// Expected values are OpenBLAS's own requirements (its SkylakeX kernels use AVX-512 F/BW/DQ/VL,
// its Haswell kernels AVX2 and FMA) and the rule that a detected core is only ever replaced by a
// better one; the flag sets are those /proc/cpuinfo shows.
@testable import Engine
import XCTest

final class RuntimeTests: XCTestCase {
    func testKernelsAreRaisedOnlyToWhatTheFlagsAllow() {
        let sapphire: Set<String> = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_fp16"]
        let zen2: Set<String> = ["sse4_2", "avx", "avx2", "fma"]
        let oldXeon: Set<String> = ["sse4_2", "avx"]
        XCTAssertEqual(Runtime.betterKernels(current: 0, flags: sapphire), "SkylakeX")   // Prescott fallback on an AVX-512 CPU
        XCTAssertEqual(Runtime.betterKernels(current: 3, flags: sapphire), "SkylakeX")   // Haswell kernels on it
        XCTAssertEqual(Runtime.betterKernels(current: 0, flags: zen2), "Haswell")
        XCTAssertNil(Runtime.betterKernels(current: 3, flags: zen2))                     // already the best it allows
        XCTAssertNil(Runtime.betterKernels(current: 0, flags: oldXeon))                  // no AVX2: nothing better to name
        XCTAssertNil(Runtime.betterKernels(current: 4, flags: sapphire))
        XCTAssertFalse(Runtime.blasKernels.isEmpty)
    }

    /// OpenBLAS's kernels picked again, and its thread pool restarted, in place (`gen` does both at
    /// start-up of a short command instead of restarting):
    /// the core name follows, and a product computed with the generic SSE3 kernels equals, up to
    /// float rounding, the same product with the kernels this process started with. OpenBLAS's
    /// work buffer is one fixed size for every core of a DYNAMIC_ARCH build, which is what makes
    /// the switch safe after earlier calls. Skipped where the library lacks the hooks.
    func testKernelsArePickedAgainInPlace() throws {
        let original = Runtime.blasKernels
        var rng = RNG(seed: 3)
        let a = Tensor(randn: [96, 80], rng: &rng)
        let b = Tensor(randn: [80, 72], rng: &rng)
        let before = matmul(a, b).data
        guard Runtime.selectKernels("Prescott") else { throw XCTSkip("this OpenBLAS cannot pick its kernels again in place") }
        XCTAssertEqual(Runtime.blasKernels, "Prescott")
        let generic = matmul(a, b).data
        XCTAssertTrue(Runtime.selectKernels(original))
        XCTAssertEqual(Runtime.blasKernels, original)
        let after = matmul(a, b).data
        XCTAssertLessThan(zip(before, generic).map { abs($0 - $1) }.max()!, 1e-3)
        XCTAssertEqual(before, after)
        // The thread pool stopped, products in the caller's thread (`blasInCallerThread`): they are
        // unchanged up to float rounding, a large one too (one that OpenBLAS splits over its
        // threads); and a pool started again by a thread count (`--threads`) gives them unchanged as
        // well. Rounding, not bit identity: on an AMD Zen machine (OpenBLAS 0.3.21's ZEN kernels) the
        // one-thread and the pooled products differ in the last bits (seen 2026-12-02), on a SkylakeX
        // one they did not. Entries are sums of 80 or 256 products of N(0, 1) values (magnitude
        // about 9 to 16), so 1e-3 is a few hundred ulps and a wrong product misses it by orders.
        func close(_ x: [Float], _ y: [Float], _ what: String) {
            XCTAssertEqual(x.count, y.count, what)
            XCTAssertLessThan(zip(x, y).map { abs($0 - $1) }.max() ?? 0, 1e-3, what)
        }
        let big = (Tensor(randn: [256, 256], rng: &rng), Tensor(randn: [256, 256], rng: &rng))
        let bigBefore = matmul(big.0, big.1).data
        let count = Threads.count
        XCTAssertTrue(Runtime.blasInCallerThread())
        XCTAssertEqual(Runtime.blasThreads, 1)
        close(matmul(a, b).data, before, "small product, caller's thread")
        close(matmul(big.0, big.1).data, bigBefore, "large product, caller's thread")
        Threads.set(max(2, count))
        XCTAssertEqual(Runtime.blasThreads, max(2, count))
        close(matmul(big.0, big.1).data, bigBefore, "large product, pool started again")
        Threads.set(count)
    }
}
