// Progress.swift — the one progress line gen draws on stderr for long work ("\r  120/6000
// utterances, 6.1 min of audio, ETA 580 s"): rate and ETA from the elapsed time, redrawn at most
// every `interval` seconds, silent when disabled (--quiet, or stderr not a terminal where asked).
import Foundation

public final class ProgressLine {
    private let enabled: Bool
    private let interval: TimeInterval
    private let started = Date()
    private var lastDraw = Date.distantPast
    private let lock = NSLock()
    /// Whether a line is drawn and not yet ended (a message printed now should start a new line).
    public private(set) var isOpen = false

    public init(enabled: Bool = true, interval: TimeInterval = 0.25) {
        self.enabled = enabled
        self.interval = interval
    }

    /// Seconds since the line was created.
    public var elapsed: TimeInterval { Date().timeIntervalSince(started) }

    /// Seconds left at the rate so far, for `done` of `total` items.
    public func eta(done: Int, total: Int) -> Double {
        let rate = Double(done) / max(elapsed, 1e-3)
        return Double(max(total - done, 0)) / max(rate, 1e-9)
    }

    /// Redraws "\r<text>  ETA n s" (the ETA left out when `total` is nil); the last item always draws.
    public func update(done: Int, total: Int?, _ text: String) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let last = total.map { done >= $0 } ?? false
        guard last || Date().timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = Date()
        let suffix = total.map { String(format: "  ETA %.0f s", self.eta(done: done, total: $0)) } ?? ""
        FileHandle.standardError.write(("\r" + text + suffix + "   ").data(using: .utf8)!)
        isOpen = true
    }

    /// Ends the line (a newline) if one is drawn.
    public func end() {
        lock.lock(); defer { lock.unlock() }
        if isOpen { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        isOpen = false
    }
}
