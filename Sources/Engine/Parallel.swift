// Parallel.swift — thread settings and the parallel loop used by elementwise and attention kernels.
import Foundation
import COpenBLAS

public enum Threads {
    /// Worker count for parallel loops; BLAS uses the same number.
    public private(set) static var count: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Sets both the parallel-loop width and OpenBLAS's thread count.
    public static func set(_ n: Int) {
        count = max(1, n)
        openblas_set_num_threads(Int32(count))
    }
}

/// Splits 0..<n into at most `Threads.count` contiguous chunks and runs them concurrently.
/// Small loops (below `minChunk` items per worker) run inline: a dispatch costs microseconds.
@inline(__always)
public func parallelFor(_ n: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let workers = min(Threads.count, n / max(1, minChunk))
    if workers <= 1 { if n > 0 { body(0..<n) }; return }
    let chunk = (n + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let lo = w * chunk, hi = min(n, lo + chunk)
        if lo < hi { body(lo..<hi) }
    }
}

// Small vector helpers over raw pointers.
@inline(__always) func vAdd(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { dst[i] += src[i] }
}
