// Runtime.swift — process-level settings that the engine's speed depends on, measured on the
// FastSpeech training loop (2 cores, see models/speech/MODEL_CARD.md):
// - OpenBLAS's idle workers spin in sched_yield for 2^28 cycles by default, stealing the second
//   core from the Swift loops between BLAS calls. OPENBLAS_THREAD_TIMEOUT=4 lets them sleep at once
//   (measured: 45 s → 37 s for 40 training steps, system time 18 s → 4 s).
// - glibc returns large freed blocks to the kernel, and the next op's buffer then costs a page fault
//   per 4 KB and a kernel memset (6.6% of training time in clear_page). Raising the mmap and trim
//   thresholds (mallopt, and the environment for child processes) keeps those blocks in the heap.
// - OpenBLAS picks its kernels from the CPU model, and a CPU newer than the library (Debian 12's
//   0.3.21 on a Xeon with AVX512-FP16) falls back to Prescott's SSE3 kernels: sgemm at 32-55
//   GFLOP/s on 2 cores where the SkylakeX kernels give 190 (measured, 1024³). OPENBLAS_CORETYPE
//   names SkylakeX there (`kernels(flags:)`); a user's own OPENBLAS_CORETYPE is left alone.
// - A short command (a sentence of `gen speech`) runs OpenBLAS's products in the caller's thread
//   (OPENBLAS_NUM_THREADS=1): its own parallel loops then have the second core, where OpenBLAS's
//   workers would spin on it (measured in `blasInCallerThread`).
// OpenBLAS reads these settings from the environment when it is opened. It used to be linked, and
// opened before main, so gen restarted itself to set them (or, for a short command, stopped the
// thread pool and picked the kernels again in place). It is now opened with dlopen
// (Sources/COpenBLAS/blas.c): `configure` puts them in the environment, then opens it on a
// thread of its own while the command line is parsed and the models are read.
import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum Runtime {
    private static var configured = false
    /// Whether `configure` set up a short command (a sentence of `gen speech`): OpenBLAS in the
    /// caller's thread, so `--threads` then sizes gen's own loops alone (`GenMain.apply`).
    public private(set) static var shortCommand = false

    /// Call first thing in main (once; later calls do nothing). `short`: a sentence of `gen speech`,
    /// whose products run in the caller's thread and whose heap asks for huge pages.
    /// `openAhead`: OpenBLAS is opened now on a thread of its own (commands that will use it);
    /// otherwise the first product opens it. The environment must not change afterwards while
    /// that thread may still be opening it (blas.c).
    public static func configure(short: Bool = false, openAhead: Bool = true) {
        #if canImport(Glibc)
        guard !configured else { return }
        configured = true
        // (glibc's M_MMAP_THRESHOLD is −3, M_TRIM_THRESHOLD −1; mallopt is not in Swift's Glibc module.)
        let mallopt = symbols(["mallopt"])?.map { unsafeBitCast($0, to: (@convention(c) (Int32, Int32) -> Int32).self) }.first
        for (name, option, value) in [("MALLOC_MMAP_THRESHOLD_", Int32(-3), Int32(256 << 20)), ("MALLOC_TRIM_THRESHOLD_", -1, 1 << 30)]
        where getenv(name) == nil {
            setenv(name, String(value), 1)
            _ = mallopt?(option, value)
        }
        if getenv("OPENBLAS_CORETYPE") == nil, let kernels = kernels(flags: cpuFlags()) { setenv("OPENBLAS_CORETYPE", kernels, 1) }
        if getenv("OPENBLAS_THREAD_TIMEOUT") == nil { setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) }
        if short {
            shortCommand = true
            setenv("OPENBLAS_NUM_THREADS", "1", 1)
            hugePageHeap(mallopt: mallopt)
        }
        if openAhead { gk_blas_open_in_background() }
        #endif
    }

    /// Backs malloc's heap with transparent huge pages, for a short command: a sentence of `gen
    /// speech` first touches about 40 MB (weights, activations), and on 4 KB pages that is some
    /// 7,000 page faults, a fifth of its time. The heap is grown by 64 MB now (malloc's top pad)
    /// and that range marked MADV_HUGEPAGE, which is how a kernel in THP's "madvise" mode (Debian's
    /// default) gives 2 MB pages; growth past it is ordinary. glibc's own switch for this
    /// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) is read only when a process starts, before gen could
    /// set it. It needs `configure`'s mmap threshold (big blocks from the heap, not
    /// mmap). Nothing happens where the kernel has THP off or the heap cannot be found.
    static func hugePageHeap(mallopt: ((Int32, Int32) -> Int32)?) {
        #if os(Linux)
        guard let mallopt, let settings = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r") else { return }
        var mode = [CChar](repeating: 0, count: 128)
        let read = fgets(&mode, Int32(mode.count), settings) != nil
        fclose(settings)
        guard read, strstr(mode, "[never]") == nil else { return }
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
        // (procfs files report a size of 0, so they are read line by line, not as a whole file; with
        // C's string functions: Foundation's trimming cost a scan of the program's protocol
        // conformances, 0.18 ms of a one-sentence `gen speech`.)
        guard let maps = fopen("/proc/self/maps", "r") else { return }
        defer { fclose(maps) }
        var start: UInt = 0, end: UInt = 0
        var buffer: UnsafeMutablePointer<CChar>?, capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, maps) > 0, let buffer {
            guard strstr(buffer, "[heap]") != nil else { continue }
            var dash: UnsafeMutablePointer<CChar>?
            start = UInt(strtoul(buffer, &dash, 16))
            if let dash, dash.pointee == 0x2D { end = UInt(strtoul(dash + 1, nil, 16)) }   // "start-end ..."
            break
        }
        guard start > 0, end > start else { return }
        let huge: UInt = 2 << 20
        let from = (start + huge - 1) / huge * huge
        guard end > from + huge, let base = UnsafeMutableRawPointer(bitPattern: from) else { return }
        _ = madvise(base, Int(end - from), 14)    // MADV_HUGEPAGE
        #endif
    }

    /// Stops OpenBLAS's worker threads and has its products run in the calling thread: what a short
    /// command gets from OPENBLAS_NUM_THREADS=1 when OpenBLAS opens (`configure`), for a process that
    /// opened it with its pool (`gen-bench speech`, the tests). The workers spin in sched_yield on a
    /// core the command's own parallel loops need: measured (one sentence, 2 cores, beside a training
    /// run, 6 runs each) 0.31 s wall and 0.09 s system time with a pool of short spin, against 0.19 s
    /// and 0.03 s in the caller's thread; with the cores idle the two are equal (median 137 ms a
    /// sentence, 24 runs each). The count goes to 1 first, then the pool stops: OpenBLAS restarts a
    /// stopped pool whenever its thread count is set, as a later `--threads N` (`Threads.set`) does.
    /// False where the library does not export its hook.
    public static func blasInCallerThread() -> Bool {
        #if canImport(Glibc)
        guard let shutdown = gk_blas_symbol("blas_thread_shutdown_") else { return false }
        openblas_set_num_threads(1)
        unsafeBitCast(shutdown, to: Hook.self)()          // stop the workers
        return true
        #else
        return false
        #endif
    }

    #if canImport(Glibc)
    /// A C function of no arguments; one that returns an int is called the same way on the ABIs gen
    /// runs on, its result unread.
    typealias Hook = @convention(c) () -> Void

    /// The addresses of C functions linked into this process (gen itself, libc), all of them or nil.
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

    /// This machine's CPU flags: /proc/cpuinfo's first "flags" line ("" where there is none), read
    /// with C's functions (as `hugePageHeap` reads its files: Foundation's would cost start-up a scan of
    /// the program's protocol conformances).
    static func cpuFlags() -> String {
        guard let info = fopen("/proc/cpuinfo", "r") else { return "" }
        defer { fclose(info) }
        var buffer: UnsafeMutablePointer<CChar>?, capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, info) > 0, let buffer {
            if strncmp(buffer, "flags", 5) == 0 { return String(cString: buffer) }
        }
        return ""
    }

    /// The OpenBLAS core type to name for a CPU with these flags (a cpuinfo "flags" line: names
    /// separated by spaces), or nil to leave OpenBLAS's own choice. gen named kernels only where the
    /// library fell back to generic ones on a CPU newer than itself: Debian 12's 0.3.21 does not know
    /// Sapphire Rapids and later (the CPUs with AVX512-FP16) and runs Prescott's SSE3 kernels there,
    /// where SkylakeX's need AVX-512 F/BW/DQ/VL. Every CPU it knows keeps its own choice (Cooperlake
    /// on Cooper Lake and Zen 4, SkylakeX, Haswell, Zen), as it did while gen asked the loaded library
    /// which kernels it had picked: that took OpenBLAS opened first, and gen now names them before
    /// opening it. A CPU newer than the library without AVX512-FP16 keeps the library's fallback.
    static func kernels(flags line: String) -> String? {
        // Each name is looked for between spaces, tabs and newlines turned into spaces.
        let padded: [CChar] = [32] + line.utf8.map { $0 == 9 || $0 == 10 ? 32 : CChar(bitPattern: $0) } + [32, 0]
        func has(_ names: [String]) -> Bool { names.allSatisfy { name in strstr(padded, " " + name + " ") != nil } }
        return has(["avx512_fp16", "avx512f", "avx512bw", "avx512dq", "avx512vl"]) ? "SkylakeX" : nil
    }
}
