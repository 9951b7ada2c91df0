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
// A short command need not restart for any of these: the malloc thresholds are set with mallopt,
// a DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels again when its exported
// gotoblas_dynamic_quit / gotoblas_dynamic_init are called with OPENBLAS_CORETYPE set, and it
// stops its thread pool when blas_thread_shutdown_ is called (what it does before a fork), its
// products then running in the caller's thread. A sentence of `gen speech` starts once, with the
// right kernels and no spinning worker (measured in models/vocoder/MODEL_CARD.md). Long commands
// still restart (unchanged, and cheap beside them); an OpenBLAS without the hooks restarts as before.
import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Runtime {
    /// Call first thing in main. May replace the process image (same arguments, one extra
    /// environment variable); returns normally when nothing needs changing or exec fails.
    /// `reexec` false skips that: a short command (one sentence of speech, a listing) does not pay
    /// for loading the program twice; its kernels and OpenBLAS's worker spin are set in place
    /// instead (`selectKernels`, `blasInCallerThread`), and it restarts only where those hooks are missing
    /// and the kernels need naming.
    public static func configure(reexec: Bool = true) {
        #if canImport(Glibc)
        let kernels = getenv("OPENBLAS_CORETYPE") == nil ? betterKernels() : nil
        if let kernels { setenv("OPENBLAS_CORETYPE", kernels, 1) }
        // Set for this process and, through the environment, for a restarted one.
        // (glibc's M_MMAP_THRESHOLD is −3, M_TRIM_THRESHOLD −1; mallopt is not in Swift's Glibc module.)
        let mallopt = symbols(["mallopt"])?.map { unsafeBitCast($0, to: (@convention(c) (Int32, Int32) -> Int32).self) }.first
        for (name, option, value) in [("MALLOC_MMAP_THRESHOLD_", Int32(-3), Int32(256 << 20)), ("MALLOC_TRIM_THRESHOLD_", -1, 1 << 30)]
        where getenv(name) == nil {
            setenv(name, String(value), 1)
            _ = mallopt?(option, value)
        }
        let spinning = getenv("OPENBLAS_THREAD_TIMEOUT") == nil
        // A short command (or one already restarted) stays in this process: the kernels and the
        // workers' spin are set in place where OpenBLAS allows it, and only a missing hook restarts.
        if !reexec || !spinning {
            if kernels == nil || selectKernels(kernels!) {
                if spinning { _ = blasInCallerThread() }
                if !reexec { hugePageHeap(mallopt: mallopt) }
                return
            }
        }
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
        var argv = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // exec failed (no /proc?): carry on with the default spin timeout.
        #endif
    }

    /// Backs malloc's heap with transparent huge pages, for a short command: a sentence of `gen
    /// speech` first touches about 40 MB (weights, activations), and on 4 KB pages that is some
    /// 7,000 page faults, a fifth of its time. The heap is grown by 64 MB now (malloc's top pad)
    /// and that range marked MADV_HUGEPAGE, which is how a kernel in THP's "madvise" mode (Debian's
    /// default) gives 2 MB pages; growth past it is ordinary. glibc's own switch for this
    /// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) is read only at start-up, which a short command
    /// does not repeat. It needs `configure`'s mmap threshold (big blocks from the heap, not
    /// mmap). Nothing happens where the kernel has THP off or the heap cannot be found.
    static func hugePageHeap(mallopt: ((Int32, Int32) -> Int32)?) {
        #if os(Linux)
        guard let mallopt,
              let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8),
              !mode.contains("[never]") else { return }
        _ = mallopt(-2, 64 << 20)                 // M_TOP_PAD: the heap grows 64 MB at a time
        // Grown now, so the range below covers it (the block's size is read back through libc,
        // so the compiler cannot drop the allocation as unused). 8 MB: more than a heap's top
        // keeps free after earlier work (glibc's dynamic thresholds let it keep twice the largest
        // block freed), so the heap spans well over the 2 MB page the advice needs.
        guard let usable = symbols(["malloc_usable_size"])?.first.map({ unsafeBitCast($0, to: (@convention(c) (UnsafeMutableRawPointer?) -> Int).self) }) else { return }
        let grow = malloc(8 << 20)
        let grown = usable(grow) >= 8 << 20
        free(grow)
        guard grown else { return }
        // (procfs files report a size of 0, so they are read line by line, not as a whole file.)
        guard let maps = fopen("/proc/self/maps", "r") else { return }
        defer { fclose(maps) }
        var heap: Substring?
        var buffer: UnsafeMutablePointer<CChar>?, capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, maps) > 0, let buffer {
            let line = String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasSuffix("[heap]") { heap = line.split(separator: " ").first; break }
        }
        guard let range = heap?.split(separator: "-"), range.count == 2,
              let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16) else { return }
        let huge: UInt = 2 << 20
        let from = (start + huge - 1) / huge * huge
        guard end > from + huge, let base = UnsafeMutableRawPointer(bitPattern: from) else { return }
        _ = madvise(base, Int(end - from), 14)    // MADV_HUGEPAGE
        #endif
    }

    /// Stops OpenBLAS's worker threads and has its products run in the calling thread, for a short
    /// command (a sentence of `gen speech`), whose own parallel loops then have the second core. The
    /// workers OpenBLAS starts when it loads spin in sched_yield for 2^28 cycles, about as long as a
    /// sentence takes, on a core the sentence needs. Restarting the pool with the short spin (what
    /// this did before, `OPENBLAS_THREAD_TIMEOUT=4` re-read) still left the caller yielding thousands
    /// of times per sentence while it waited on a worker: measured (one sentence, 2 cores, beside a
    /// training run, 6 runs each) 0.31 s wall and 0.09 s system time, against 0.19 s and 0.03 s in
    /// the caller's thread, as fast as `OPENBLAS_NUM_THREADS=1` set before start (0.19 s). With the
    /// cores idle the two are equal (median 137 ms a sentence, 24 runs each): the gain is under load.
    /// The count goes to 1 first, then the pool stops: OpenBLAS restarts a stopped pool whenever its
    /// thread count is set. A later `--threads N` (`Threads.set`) starts a pool of N that reads the
    /// short spin. False where the library does not export what it takes.
    public static func blasInCallerThread() -> Bool {
        #if canImport(Glibc)
        guard let hooks = symbols(["openblas_read_env", "blas_thread_shutdown_"]) else { return false }
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
        unsafeBitCast(hooks[0], to: Hook.self)()          // a pool started later reads the short spin
        openblas_set_num_threads(1)
        unsafeBitCast(hooks[1], to: Hook.self)()          // stop the workers
        return true
        #else
        return false
        #endif
    }

    /// Has OpenBLAS pick its kernels again, as `name` (its core name), in this process: true when
    /// they are now in use; false (nothing changed) where the library does not export the hooks
    /// (only a DYNAMIC_ARCH build does). `configure` calls it before any BLAS call; a later switch
    /// is safe too, since such a build sizes its work buffer once for every core (the test switches
    /// back and forth between products).
    static func selectKernels(_ name: String) -> Bool {
        #if canImport(Glibc)
        guard let hooks = symbols(["gotoblas_dynamic_quit", "gotoblas_dynamic_init"]) else { return false }
        let saved = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        setenv("OPENBLAS_CORETYPE", name, 1)
        defer { if let saved { setenv("OPENBLAS_CORETYPE", saved, 1) } else { unsetenv("OPENBLAS_CORETYPE") } }
        hooks.forEach { unsafeBitCast($0, to: Hook.self)() }   // forget the kernels, pick them again
        return blasKernels.lowercased() == name.lowercased()
        #else
        return false
        #endif
    }

    #if canImport(Glibc)
    /// A C function of no arguments; one that returns an int is called the same way on the ABIs gen
    /// runs on, its result unread.
    typealias Hook = @convention(c) () -> Void

    /// The addresses of C functions loaded in this process (gen itself, OpenBLAS, libc), all of
    /// them or nil.
    static func symbols(_ names: [String]) -> [UnsafeMutableRawPointer]? {
        guard let process = dlopen(nil, RTLD_NOW) else { return nil }
        let found = names.compactMap { dlsym(process, $0) }
        return found.count == names.count ? found : nil
    }
    #endif

    /// OpenBLAS's thread count (1: products run in the caller's thread).
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

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
