// Parallel.swift — thread settings and the parallel loop used by elementwise and attention kernels.
@_exported import Base
import Foundation
import COpenBLAS

public enum Threads {
    /// Worker count for parallel loops (the process's one budget, Base.ThreadBudget); BLAS uses the same number.
    public static var count: Int { ThreadBudget.count }

    /// Sets the thread budget of every parallel loop (Engine, DSP) and OpenBLAS's thread count.
    public static func set(_ n: Int) {
        ThreadBudget.count = max(1, n)
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// Runs `body` with OpenBLAS's products in each calling thread (one BLAS thread) when `on`, its
    /// thread count put back afterwards: for work that runs on several threads of its own
    /// (`madeInOrder`), where BLAS's workers would only contend with them. A short command's BLAS
    /// already runs in the caller's thread (`Runtime.blasInCallerThread`) and is left as it is.
    public static func withBLASInCallerThreads<R>(_ on: Bool, _ body: () throws -> R) rethrows -> R {
        let n = openblas_get_num_threads()
        guard on && n > 1 else { return try body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(n) }
        return try body()
    }
}

// Small vector helpers over raw pointers.
@inline(__always) func vAdd(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { dst[i] += src[i] }
}
