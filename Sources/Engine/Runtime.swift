// Runtime.swift — process-level settings that the engine's speed depends on, measured on the
// FastSpeech training loop (2 cores, see models/speech/MODEL_CARD.md):
// - OpenBLAS's idle workers spin in sched_yield for 2^28 cycles by default, stealing the second
//   core from the Swift loops between BLAS calls. OPENBLAS_THREAD_TIMEOUT=4 lets them sleep at once
//   (measured: 45 s → 37 s for 40 training steps, system time 18 s → 4 s). OpenBLAS reads it when
//   the library loads, before any Swift code runs, so the process re-executes itself once with it set.
// - glibc returns large freed blocks to the kernel, and the next op's buffer then costs a page fault
//   per 4 KB and a kernel memset (6.6% of training time in clear_page). Raising the mmap and trim
//   thresholds keeps those blocks in the heap for reuse; glibc also reads these only at start-up.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Runtime {
    /// Call first thing in main. May replace the process image (same arguments, one extra
    /// environment variable); returns normally when nothing needs changing or exec fails.
    /// `reexec` false skips that: a short command (one sentence of speech, a listing) then does not
    /// pay for loading the program twice, which cost more than the spinning it avoids.
    public static func configure(reexec: Bool = true) {
        #if canImport(Glibc)
        if reexec && getenv("OPENBLAS_THREAD_TIMEOUT") == nil {
            setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
            if getenv("MALLOC_MMAP_THRESHOLD_") == nil { setenv("MALLOC_MMAP_THRESHOLD_", String(256 << 20), 1) }
            if getenv("MALLOC_TRIM_THRESHOLD_") == nil { setenv("MALLOC_TRIM_THRESHOLD_", String(1 << 30), 1) }
            var argv = CommandLine.arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", &argv)
            // exec failed (no /proc?): carry on with the default spin timeout.
        }
        #endif
    }
}
