// Runtime.swift — process-level settings that the engine's speed depends on, measured on the
// FastSpeech training loop (2 cores, see models/speech/MODEL_CARD.md):
// - OpenBLAS's idle workers spin in sched_yield for 2^28 cycles by default, stealing the second
//   core from the Swift loops between BLAS calls. OPENBLAS_THREAD_TIMEOUT=4 lets them sleep at once
//   (measured: 45 s → 37 s for 40 training steps, system time 18 s → 4 s). OpenBLAS reads it when
//   the library loads, before any Swift code runs, so the process re-executes itself once with it set.
// - glibc returns large freed blocks to the kernel, and the next op's buffer then costs a page fault
//   per 4 KB and a kernel memset (6.6% of training time in clear_page). Raising the mmap and trim
//   thresholds keeps those blocks in the heap for reuse; glibc also reads these only at start-up.
// - OpenBLAS picks its kernels from the CPU model, and a CPU newer than the library (Debian 12's
//   0.3.21 on a Xeon with AVX512-FP16) falls back to Prescott's SSE3 kernels: sgemm at 32-55
//   GFLOP/s on 2 cores where the SkylakeX kernels give 190 (measured, 1024³). When the kernels in
//   use are older than the CPU's flags allow, OPENBLAS_CORETYPE names the right ones (read at load
//   time too). A user's own OPENBLAS_CORETYPE is left alone.
import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Runtime {
    /// Call first thing in main. May replace the process image (same arguments, one extra
    /// environment variable); returns normally when nothing needs changing or exec fails.
    /// `reexec` false skips that: a short command (one sentence of speech, a listing) then does not
    /// pay for loading the program twice, which cost more than the spinning it avoids; unless
    /// OpenBLAS's kernels need naming, which pays even there (one sentence: 0.20 s → 0.15 s).
    public static func configure(reexec: Bool = true) {
        #if canImport(Glibc)
        let kernels = getenv("OPENBLAS_CORETYPE") == nil ? betterKernels() : nil
        if let kernels { setenv("OPENBLAS_CORETYPE", kernels, 1) }
        if (reexec && getenv("OPENBLAS_THREAD_TIMEOUT") == nil) || kernels != nil {
            setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
            if getenv("MALLOC_MMAP_THRESHOLD_") == nil { setenv("MALLOC_MMAP_THRESHOLD_", String(256 << 20), 1) }
            if getenv("MALLOC_TRIM_THRESHOLD_") == nil { setenv("MALLOC_TRIM_THRESHOLD_", String(1 << 30), 1) }
            var argv = CommandLine.arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", &argv)
            // exec failed (no /proc?): carry on with the default spin timeout.
        }
        #endif
    }

    /// OpenBLAS's kernels in use (its core name: "SkylakeX", "Haswell", "Prescott", …).
    public static var blasKernels: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// The OpenBLAS core type this CPU's flags allow when it is better than the one OpenBLAS
    /// detected (a generic fallback for a CPU the library does not know); nil when it is not.
    static func betterKernels() -> String? {
        let rank = ["Prescott": 0, "Core2": 0, "Penryn": 0, "Dunnington": 0, "Atom": 0, "Nehalem": 1, "Sandybridge": 2, "Haswell": 3]
        guard let current = rank[blasKernels],
              let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        return betterKernels(current: current, flags: Set(line.split(separator: " ").map(String.init)))
    }

    /// SkylakeX's kernels need AVX-512 F/BW/DQ/VL, Haswell's AVX2 and FMA; `current` ranks the
    /// detected kernels (0 generic SSE … 3 Haswell).
    static func betterKernels(current: Int, flags: Set<String>) -> String? {
        if current < 4 && flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if current < 3 && flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }
}
