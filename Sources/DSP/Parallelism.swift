// Parallelism.swift — how many threads DSP's parallel loops (STFT frames, YIN frames) may use.
// DSP stands alone (it cannot see Engine's `Threads`), so the gen executable sets this limit to
// the same budget as `Threads.set` (--threads, or cores / jobs in `gen batch`). The limit only
// changes how independent frames are grouped onto threads, never the arithmetic, so results are
// bit-identical at every width.
import Foundation

public enum DSPParallelism {
    private static let lock = NSLock()
    private static var width = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// At most this many blocks of a DSP loop run at once (default: the active processor count).
    /// Process-wide: set it once, before rendering, e.g. to cores / jobs.
    public static var maxWidth: Int {
        get { lock.lock(); defer { lock.unlock() }; return width }
        set { lock.lock(); width = max(1, newValue); lock.unlock() }
    }

    /// Runs `body(i)` for every i in 0..<iterations on at most `maxWidth` threads at once: worker w
    /// takes i = w, w + width, w + 2·width, … in order. With one iteration or a width of 1 it runs
    /// inline on this thread, in order.
    public static func forEach(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 0 else { return }
        let workers = min(maxWidth, iterations)
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
