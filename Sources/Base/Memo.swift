// Memo.swift — values made once per key and kept for the process: immutable tables (FFT plans, the
// source phase's minimum-phase products) that one thread builds and every thread then reads.
import Foundation

public final class Memo<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Key: Value] = [:]
    private let limit: Int

    /// `limit`: how many values are kept at most; past it a value is made afresh for each call.
    public init(limit: Int = .max) { self.limit = limit }

    /// The value for `key`, made by `make` the first time. `make` runs outside the lock, so it may
    /// use a memo itself (an FFT plan shares its half-length plan); two threads that ask at once
    /// may both make it, and both get the one kept first.
    public func value(_ key: Key, make: () -> Value) -> Value {
        lock.lock()
        let known = values[key]
        lock.unlock()
        if let known { return known }
        let made = make()
        lock.lock()
        defer { lock.unlock() }
        if let first = values[key] { return first }
        if values.count < limit { values[key] = made }
        return made
    }
}
