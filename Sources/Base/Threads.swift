// Threads.swift — the process's one thread budget: how many workers the parallel loops of every
// layer (Engine's kernels, DSP's STFT and pitch frames, the loss ops) may use. `gen` sets it once
// from --threads, or to cores / jobs in `gen batch`; Engine's `Threads.set` also gives BLAS the
// same number. The budget only changes how independent work is grouped onto threads, never the
// arithmetic, so results are bit-identical at every width.
import Foundation

public enum ThreadBudget {
    private static let lock = NSLock()
    private static var width = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Worker count for parallel loops (default: the active processor count).
    public static var count: Int {
        get { lock.lock(); defer { lock.unlock() }; return width }
        set { lock.lock(); width = max(1, newValue); lock.unlock() }
    }

    /// Runs `body(i)` for every i in 0..<iterations on at most `count` threads at once: worker w
    /// takes i = w, w + width, w + 2·width, … in order. With one iteration or a width of 1 it runs
    /// inline on this thread, in order.
    public static func forEach(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 0 else { return }
        let workers = min(count, iterations)
        if workers == 1 {
            for i in 0..<iterations { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < iterations { body(i); i += workers }
        }
    }
}

/// Splits 0..<n into at most `ThreadBudget.count` contiguous chunks and runs them concurrently.
/// Small loops (below `minChunk` items per worker) run inline: a dispatch costs microseconds.
@inline(__always)
public func parallelFor(_ n: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let workers = min(ThreadBudget.count, n / max(1, minChunk))
    if workers <= 1 { if n > 0 { body(0..<n) }; return }
    let chunk = (n + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let lo = w * chunk, hi = min(n, lo + chunk)
        if lo < hi { body(lo..<hi) }
    }
}
