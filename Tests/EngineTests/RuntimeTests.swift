// RuntimeTests.swift — Engine.Runtime's settings for OpenBLAS and malloc (Runtime.swift).
//
// Expected kernels: SkylakeX's (which need AVX-512 F/BW/DQ/VL) named only on the CPUs Debian 12's
// OpenBLAS 0.3.21 does not know (AVX512-FP16: Sapphire Rapids and later), where it falls back to
// Prescott's; the flag lines are as /proc/cpuinfo shows them.
@testable import Engine
import Base
import Foundation
import XCTest

final class RuntimeTests: XCTestCase {
    func testKernelsAreNamedOnlyWhereTheLibraryFallsBack() {
        let sapphire = "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 avx512_fp16 amx_tile\n"
        let cooperLake = "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16\n"
        let skylakeX = "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl\n"
        let zen2 = "flags\t\t: fpu sse4_2 avx avx2 fma\n"
        let oddFP16 = "flags\t\t: avx2 fma avx512f avx512_fp16\n"   // AVX512-FP16 without BW/DQ/VL: not SkylakeX's
        XCTAssertEqual(Runtime.kernels(flags: sapphire), "SkylakeX")   // Debian 12's OpenBLAS falls back to Prescott here
        XCTAssertNil(Runtime.kernels(flags: cooperLake))               // OpenBLAS picks Cooperlake itself
        XCTAssertNil(Runtime.kernels(flags: skylakeX))
        XCTAssertNil(Runtime.kernels(flags: zen2))
        XCTAssertNil(Runtime.kernels(flags: oddFP16))
        XCTAssertNil(Runtime.kernels(flags: ""))
        XCTAssertNil(Runtime.kernels(flags: "flags : avx512_fp16x avx512f avx512bw avx512dq avx512vl\n"), "whole names only")
        #if arch(x86_64) && os(Linux)
        XCTAssertTrue(Runtime.cpuFlags().hasPrefix("flags"), "no flags line read from /proc/cpuinfo")
        #endif
        XCTAssertFalse(Runtime.blasKernels.isEmpty)
        // OpenBLAS opened with OPENBLAS_CORETYPE set (`configure` sets it, or make does for the
        // tests) uses those kernels.
        if let asked = getenv("OPENBLAS_CORETYPE").map({ String(cString: $0) }), ["SkylakeX", "Cooperlake", "Haswell"].contains(asked) {
            XCTAssertEqual(Runtime.blasKernels.lowercased(), asked.lowercased())
        }
    }

    /// OpenBLAS's thread pool stopped and its products run in the caller's thread (what a short
    /// command gets when OpenBLAS opens; `blasInCallerThread` for a process that opened it with a
    /// pool): products are unchanged up to float rounding, a large one too (one that OpenBLAS splits
    /// over its threads); and a pool started again by a thread count (`--threads`) gives them
    /// unchanged as well. Rounding, not bit identity: on an AMD Zen machine (OpenBLAS 0.3.21's ZEN
    /// kernels) the one-thread and the pooled products differ in the last bits (seen 2026-12-02), on
    /// a SkylakeX one they did not. Entries are sums of 80 or 256 products of N(0, 1) values
    /// (magnitude about 9 to 16), so 1e-3 is a few hundred ulps and a wrong product misses it by orders.
    func testProductsInTheCallersThreadAndInAPoolAgree() throws {
        var rng = RNG(seed: 3)
        let a = Tensor(randn: [96, 80], rng: &rng)
        let b = Tensor(randn: [80, 72], rng: &rng)
        let before = matmul(a, b).data
        func close(_ x: [Float], _ y: [Float], _ what: String) {
            XCTAssertEqual(x.count, y.count, what)
            XCTAssertLessThan(zip(x, y).map { abs($0 - $1) }.max() ?? 0, 1e-3, what)
        }
        let big = (Tensor(randn: [256, 256], rng: &rng), Tensor(randn: [256, 256], rng: &rng))
        let bigBefore = matmul(big.0, big.1).data
        let count = Threads.count
        guard Runtime.blasInCallerThread() else { throw XCTSkip("this OpenBLAS cannot run its products in the caller's thread") }
        XCTAssertEqual(Runtime.blasThreads, 1)
        close(matmul(a, b).data, before, "small product, caller's thread")
        close(matmul(big.0, big.1).data, bigBefore, "large product, caller's thread")
        Threads.set(max(2, count))
        XCTAssertEqual(Runtime.blasThreads, max(2, count))
        close(matmul(big.0, big.1).data, bigBefore, "large product, pool started again")
        Threads.set(count)
    }

    /// `sgemmForward` with OpenBLAS in the caller's thread and two workers splits a product into
    /// blocks of rows computed concurrently. Expected values: the product summed in Double by the
    /// test, so a block missing, doubled or misplaced fails by whole entries, float rounding (sums
    /// of up to 400 products of U(−1, 1) values) by under 1e-3. Odd row counts (a last block that is
    /// not a multiple of 16), B transposed and beta 1 (a bias already in C) are covered.
    func testForwardProductsSplitIntoRowBlocksEqualTheProduct() throws {
        let count = Threads.count
        defer { Threads.set(count) }
        guard Runtime.blasInCallerThread() else { throw XCTSkip("this OpenBLAS cannot run its products in the caller's thread") }
        ThreadBudget.count = 2
        var rng = RNG(seed: 5)
        for (m, n, k, transB, beta) in [(131, 97, 400, false, Float(0)), (200, 150, 160, true, 1), (64, 257, 300, false, 1)] {
            XCTAssertGreaterThanOrEqual(m * n * k, 1 << 22, "big enough to be split")
            let a = (0..<(m * k)).map { _ in (2 * rng.uniform() - 1) }, b = (0..<(k * n)).map { _ in (2 * rng.uniform() - 1) }
            let c0 = (0..<(m * n)).map { _ in (2 * rng.uniform() - 1) }
            var c = c0
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                sgemmForward(ap.baseAddress!, bp.baseAddress!, cp.baseAddress!, m: m, n: n, k: k, transB: transB, beta: beta)
            } } }
            var worst = 0.0
            for i in 0..<m { for j in 0..<n {
                var sum = Double(beta) * Double(c0[i * n + j])
                for p in 0..<k { sum += Double(a[i * k + p]) * Double(transB ? b[j * k + p] : b[p * n + j]) }
                worst = max(worst, abs(sum - Double(c[i * n + j])))
            } }
            XCTAssertLessThan(worst, 1e-3, "m \(m) n \(n) k \(k) transB \(transB) beta \(beta)")
        }
    }

    /// A short command's heap asks for transparent huge pages (`hugePageHeap`, after `configure`'s
    /// malloc settings, which put big blocks on the heap): afterwards the
    /// kernel's own record of the heap mapping (/proc/self/smaps, VmFlags) carries "hg", the flag
    /// MADV_HUGEPAGE sets. Skipped where the kernel has THP off or no such file.
    func testShortCommandsHeapAsksForHugePages() throws {
        guard let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8),
              !mode.contains("[never]") else { throw XCTSkip("transparent huge pages are off or absent here") }
        let mallopt = Runtime.symbols(["mallopt"])?.map { unsafeBitCast($0, to: (@convention(c) (Int32, Int32) -> Int32).self) }.first
        _ = mallopt?(-3, 256 << 20)   // M_MMAP_THRESHOLD as `configure` sets it: big blocks come from the heap
        Runtime.hugePageHeap(mallopt: mallopt)
        let smaps = try XCTUnwrap(fopen("/proc/self/smaps", "r"))
        defer { fclose(smaps) }
        var buffer: UnsafeMutablePointer<CChar>?, capacity = 0
        defer { free(buffer) }
        // The advice starts at the first 2 MB boundary, so the heap shows as two mappings: the
        // head before it, and the rest with the flag.
        var inHeap = false, flags: [String] = []
        while getline(&buffer, &capacity, smaps) > 0, let buffer {
            let line = String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.range(of: #"^[0-9a-f]+-[0-9a-f]+ "#, options: .regularExpression) != nil { inHeap = line.hasSuffix("[heap]") }
            if inHeap && line.hasPrefix("VmFlags:") { flags.append(line) }
        }
        XCTAssertFalse(flags.isEmpty, "no [heap] mapping in /proc/self/smaps")
        XCTAssertTrue(flags.contains { $0.split(separator: " ").contains("hg") }, "\(flags)")
    }
}
