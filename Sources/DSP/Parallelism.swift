// Parallelism.swift — DSP's loops (STFT frames, YIN frames) share the process's one thread budget
// (Base.ThreadBudget), which `gen` sets once; these names keep the DSP call sites readable.
import Base

public enum DSPParallelism {
    /// At most this many blocks of a DSP loop run at once: the process's thread budget.
    public static var maxWidth: Int { ThreadBudget.count }

    /// `ThreadBudget.forEach`: body(i) for every i, strided over the workers.
    public static func forEach(_ iterations: Int, _ body: (Int) -> Void) { ThreadBudget.forEach(iterations, body) }
}
