// Threads.swift — the process's one thread budget: how many workers the parallel loops of every
// layer (Engine's kernels, DSP's STFT and pitch frames, the loss ops) may use. `gen` sets it once
// from --threads, or to cores / jobs in `gen batch`; Engine's `Threads.set` also gives BLAS the
// same number. The budget only changes how independent work is grouped onto threads, never the
// arithmetic, so results are bit-identical at every width.
import Foundation
import Synchronization

public enum ThreadBudget {
    private static let lock = NSLock()
    private static var width = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Worker count for parallel loops (default: the active processor count); 1 on a thread that
    /// runs inline (`runInline`) whatever the process's budget.
    public static var count: Int {
        get {
            if pthread_getspecific(inlineKey) != nil { return 1 }
            lock.lock(); defer { lock.unlock() }; return width
        }
        set { lock.lock(); width = max(1, newValue); lock.unlock() }
    }

    /// Marks the calling thread as one that runs its parallel loops inline, in order: a lane of
    /// `madeInOrder`, which already has a core of its own. Other threads keep the process's budget,
    /// so lanes never change it under anyone's feet.
    static func runInline() { pthread_setspecific(inlineKey, UnsafeRawPointer(bitPattern: 1)) }

    private static let inlineKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "ThreadBudget: no thread-specific key left")
        return key
    }()

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
        let run: (Int) -> Void = { w in
            var i = w
            while i < iterations { body(i); i += workers }
        }
        // The same workers as parallelFor's: two pools would spin and wake against each other.
        LoopWorkers.shared.perform(workers, run)
    }
}

/// Splits 0..<n into at most `ThreadBudget.count` contiguous chunks and runs them concurrently.
/// Small loops (below `minChunk` items per worker) run inline: a dispatch costs microseconds.
/// The chunks go to `LoopWorkers` (threads that wait a moment spinning before they sleep), or to
/// Dispatch when those are busy (a loop inside a loop, or loops on two threads at once); either
/// way the chunks are the same, so results do not depend on which thread ran what.
@inline(__always)
public func parallelFor(_ n: Int, minChunk: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let workers = min(ThreadBudget.count, n / max(1, minChunk))
    if workers <= 1 { if n > 0 { body(0..<n) }; return }
    let chunk = (n + workers - 1) / workers
    let run: (Int) -> Void = { w in
        let lo = w * chunk, hi = min(n, lo + chunk)
        if lo < hi { body(lo..<hi) }
    }
    LoopWorkers.shared.perform(workers, run)
}

/// The threads behind `parallelFor`. A sentence of `gen speech` runs a few hundred parallel loops of
/// tens of microseconds each, back to back; Dispatch's workers sleep between them, and waking one
/// (a futex call each side, ~190 context switches a sentence) took about as long as the loops'
/// own work. These workers spin for up to `spin` after each loop, so the next one starts at once,
/// and then sleep on a condition until there is work again. The calling thread runs chunks too.
public final class LoopWorkers: @unchecked Sendable {
    public static let shared = LoopWorkers()
    /// How long an idle worker keeps looking for the next loop before it sleeps.
    static let spin: UInt64 = 50_000   // ns

    /// One posted loop: its chunks are claimed by counting, so a worker that comes late (after
    /// the loop is done, or while the next one is posted) claims nothing of it.
    final class Loop {
        var body: ((Int) -> Void)?
        let chunks: Int
        let next = Atomic<Int>(0), finished = Atomic<Int>(0)
        /// The poster, once it has spun `spin` waiting for the last chunk, sleeps here
        /// (`posterWaiting` under its lock); the thread that finishes the last chunk wakes it.
        let done = NSCondition()
        var posterWaiting = false
        init(_ body: @escaping (Int) -> Void, chunks: Int) { self.body = body; self.chunks = chunks }

        /// Claims and runs chunks until none is left.
        func work() {
            while true {
                let c = next.add(1, ordering: .acquiringAndReleasing).oldValue
                guard c < chunks else { return }
                body!(c)
                if finished.add(1, ordering: .acquiringAndReleasing).newValue == chunks {
                    done.lock()
                    if posterWaiting { done.signal() }
                    done.unlock()
                }
            }
        }

        /// Returns once every chunk has run: spinning at first, then asleep (a chunk of uneven
        /// work, or a worker that lost its core to a CPU quota, would otherwise cost a spinning core).
        func waitForAll() {
            if LoopWorkers.spinUntil({ finished.load(ordering: .acquiring) == chunks }) { return }
            done.lock()
            posterWaiting = true
            while finished.load(ordering: .acquiring) < chunks { done.wait() }
            done.unlock()
        }
    }

    /// Loops of more chunks go to Dispatch: on a machine with many cores, that many spinning
    /// workers would cost more than they save.
    static let maxChunks = 8

    private let busy = NSLock()                 // one loop at a time; the others go to Dispatch
    private let sleep = NSCondition()           // guards `current`, `sleepers`, `threads`
    private var current: Loop?
    private var sleepers = 0, threads = 0
    private let generation = Atomic<Int>(0)     // bumped when a loop is posted

    /// Runs `body(c)` for c in 0..<chunks on the workers and this thread, or on Dispatch's when
    /// the workers are busy with another loop or `chunks` is over `maxChunks`.
    func perform(_ chunks: Int, _ body: (Int) -> Void) {
        guard chunks <= Self.maxChunks, busy.try() else {
            return DispatchQueue.concurrentPerform(iterations: chunks, execute: body)
        }
        defer { busy.unlock() }
        withoutActuallyEscaping(body) { body in
            let loop = Loop(body, chunks: chunks)
            sleep.lock()
            while threads < chunks - 1 { threads += 1; startWorker() }
            current = loop
            generation.add(1, ordering: .releasing)
            if sleepers > 0 { sleep.broadcast() }
            sleep.unlock()
            loop.work()
            loop.waitForAll()
            // Every chunk has run: no worker calls the body again (late ones claim past the end).
            sleep.lock(); current = nil; sleep.unlock()
            loop.body = nil
        }
    }

    /// Spins until `ready()` or until `spin` has passed; whether it is ready.
    @inline(__always)
    static func spinUntil(_ ready: () -> Bool) -> Bool {
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        while !ready() {
            spins &+= 1
            if spins & 255 == 0, DispatchTime.now().uptimeNanoseconds &- start > spin { return ready() }
        }
        return true
    }

    private func startWorker() {
        let thread = Thread { [self] in
            var seen = generation.load(ordering: .acquiring)
            while true {
                // Wait for a new loop: spinning first, then asleep.
                if !Self.spinUntil({ generation.load(ordering: .acquiring) != seen }) {
                    sleep.lock()
                    sleepers += 1
                    while generation.load(ordering: .acquiring) == seen { sleep.wait() }
                    sleepers -= 1
                    sleep.unlock()
                }
                sleep.lock()
                seen = generation.load(ordering: .acquiring)
                let loop = current
                sleep.unlock()
                loop?.work()
            }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// Items made side by side and used in order: `produce(i)` for i in 0..<count runs on `lanes`
/// threads at once, each with a thread budget of one (`ThreadBudget.runInline`: their own parallel
/// loops run inline rather than fight over the cores), and `consume(i, item)` gets each item on the calling
/// thread in order of i, as soon as it and every one before it are made. At most `window` items
/// are made ahead of the one being consumed, so memory stays bounded for any count. The first
/// error in order of i, from either closure, is thrown here once the threads have stopped (an
/// item already started is finished; no new one starts).
///
/// For many independent pieces of work that are each too small to spread over the cores well (a
/// long text's sentences: 30 of them one after another ran 1.4× faster on two cores than on one,
/// two at a time on one core each 1.9×).
public func madeInOrder<T>(_ count: Int, lanes: Int, window: Int, produce: (Int) throws -> T,
                           consume: (Int, T) throws -> Void) throws {
    let lanes = max(1, min(lanes, count))
    if lanes == 1 {
        for i in 0..<count { try consume(i, try produce(i)) }
        return
    }
    try withoutActuallyEscaping(produce) { produce in
        // The lanes reach `produce` through the line, which lets go of it before this returns
        // (a thread object may outlive its last line of work, and with it what its block holds).
        let line = ProductionLine<T>(count: count, window: max(window, lanes), lanes: lanes, produce: produce)
        for _ in 0..<lanes {
            let thread = Thread { ThreadBudget.runInline(); line.run() }
            thread.stackSize = 8 << 20
            thread.start()
        }
        defer { line.stop() }
        for i in 0..<count { try consume(i, try line.take(i).get()) }
    }
}

/// The shared state of `madeInOrder`: which item is next to start, the items made and not yet
/// taken, and how many lanes still run.
private final class ProductionLine<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private let count: Int, window: Int
    private var next = 0, taken = 0, lanes = 0, stopped = false
    private var made: [Int: Result<T, Error>] = [:]
    private var produce: ((Int) throws -> T)?

    init(count: Int, window: Int, lanes: Int, produce: @escaping (Int) throws -> T) {
        self.count = count; self.window = window; self.lanes = lanes; self.produce = produce
    }

    /// A lane: makes items until none is left or the line stops.
    func run() {
        do {   // the lane's hold on `produce` ends with this scope, before it reports itself done
            let produce = self.produce!
            while let i = claim() { put(i, Result { try produce(i) }) }
        }
        laneDone()
    }

    /// The next item for a lane to make, once it is within the window; nil when none is left.
    private func claim() -> Int? {
        condition.lock(); defer { condition.unlock() }
        while !stopped && next < count && next >= taken + window { condition.wait() }
        guard !stopped && next < count else { return nil }
        next += 1
        return next - 1
    }

    private func put(_ i: Int, _ item: Result<T, Error>) {
        condition.lock(); made[i] = item; condition.broadcast(); condition.unlock()
    }

    /// Item i, waiting until it is made.
    func take(_ i: Int) -> Result<T, Error> {
        condition.lock(); defer { condition.unlock() }
        while made[i] == nil { condition.wait() }
        taken = i + 1
        condition.broadcast()
        return made.removeValue(forKey: i)!
    }

    private func laneDone() { condition.lock(); lanes -= 1; condition.broadcast(); condition.unlock() }

    /// No new item starts; returns once every lane has finished the one it was making, and lets
    /// go of `produce`.
    func stop() {
        condition.lock(); defer { condition.unlock() }
        stopped = true
        condition.broadcast()
        while lanes > 0 { condition.wait() }
        produce = nil
    }
}
