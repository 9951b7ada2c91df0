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

    /// Whether OpenBLAS runs its products in the calling thread (one BLAS thread), as in `gen speech`
    /// (`Runtime.blasInCallerThread`): work may then run on threads of its own (`madeInOrder`) without
    /// BLAS's workers contending with them.
    public static var blasInCallerThreads: Bool { openblas_get_num_threads() == 1 }
}

// Small vector helpers over raw pointers.
@inline(__always) func vAdd(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n { dst[i] += src[i] }
}
