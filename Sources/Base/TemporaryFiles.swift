// TemporaryFiles.swift — every output gen writes goes first to a hidden temporary file beside its
// final name and is renamed into place only when complete (DESIGN.md, "Exit codes"). This is the
// one place that names those files and knows which exist, so an interrupt (SIGINT, SIGTERM,
// SIGHUP) can remove them before the process exits: no partial file under the final name, and no
// hidden leftover either.
import Foundation

public enum TemporaryFiles {
    private static let lock = NSLock()
    private static var pending = Set<String>()
    private static var pendingFolders = Set<String>()
    private static var sources: [DispatchSourceSignal] = []

    /// A fresh hidden name in `path`'s folder: ".NAME.tmp-PID-RANDOM", registered until `finished`.
    public static func name(for path: String) -> String {
        let dir = PathName.parent(path), name = PathName.last(path)
        let temp = PathName.join(dir, ".\(name).tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
        lock.lock(); pending.insert(temp); lock.unlock()
        return temp
    }

    /// The temporary file was renamed into place or removed: an interrupt has nothing to clean.
    public static func finished(_ temp: String) {
        lock.lock(); pending.remove(temp); lock.unlock()
    }

    /// Renames `temp` to `path` (true on success; errno tells why not) and forgets it.
    public static func commit(_ temp: String, to path: String) -> Bool {
        let ok = rename(temp, path) == 0
        let saved = errno
        if !ok { unlink(temp) }
        finished(temp)
        errno = saved
        return ok
    }

    /// Removes `temp` and forgets it.
    public static func discard(_ temp: String) {
        unlink(temp)
        finished(temp)
    }

    /// A fresh scratch folder in the system's temporary folder, "gen-KIND-PID-RANDOM", registered
    /// so that an interrupt removes it with everything in it; `removeFolder` when done.
    public static func folder(kind: String) throws -> String {
        var template = Array(PathName.join(NSTemporaryDirectory(), "gen-\(kind)-\(getpid())-XXXXXX").utf8CString)
        lock.lock(); defer { lock.unlock() }   // created and registered at once: an interrupt sees both or neither
        guard mkdtemp(&template) != nil else {
            throw NSError(domain: NSPOSIXErrorDomain, code: Int(errno), userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        let path = String(cString: template)
        pendingFolders.insert(path)
        return path
    }

    /// Removes every pending temporary file and scratch folder now (an interrupted training run,
    /// which ends by its own exit once its checkpoint is written).
    public static func removeAllPending() {
        lock.lock(); removePending(); lock.unlock()
    }

    /// Removes a scratch folder from `folder(kind:)` and forgets it.
    public static func removeFolder(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        lock.lock(); pendingFolders.remove(path); lock.unlock()
    }

    /// Removes every pending file and scratch folder (the lock held by the caller).
    private static func removePending() {
        for p in pending { unlink(p) }
        pending.removeAll()
        for f in pendingFolders {   // again if a child process (mma, fluidsynth) added a file meanwhile
            for _ in 0..<3 where FileManager.default.fileExists(atPath: f) { try? FileManager.default.removeItem(atPath: f) }
        }
        pendingFolders.removeAll()
    }

    /// What an interrupt does instead of the default (`gen batch` first lets the file being
    /// written finish; a training run first writes its checkpoint). It must end the process, or
    /// see that it ends soon (`exit(onSignal:)` is the default's way).
    private static var interruptHook: ((Int32) -> Void)?

    /// Replaces the default reaction to SIGINT, SIGTERM and SIGHUP (installed by `cleanUpOnSignals`);
    /// nil restores it.
    public static func onInterrupt(_ hook: ((Int32) -> Void)?) {
        lock.lock(); interruptHook = hook; lock.unlock()
    }

    /// The reader of stdout went away (`gen speech -o - | head -c 100`): remove the pending
    /// temporary files and end as a Unix filter does, silently, killed by SIGPIPE (status 141 in
    /// the shell).
    public static func endOnBrokenPipe() -> Never {
        lock.lock()
        removePending()
        signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
        _exit(128 + SIGPIPE)
    }

    /// The default reaction to a signal: remove the pending temporary files and folders, say so on stderr, and
    /// exit with 128 + the signal number (the shell's convention). The registry's lock is held to
    /// the end, so a writer that reaches its rename meanwhile waits instead of failing on the
    /// removed file.
    public static func exit(onSignal sig: Int32) -> Never {
        lock.lock()
        removePending()
        FileHandle.standardError.write("\ngen: \(signalName(sig)); no partial output was left.\n".data(using: .utf8)!)
        _exit(128 + sig)
    }

    /// "interrupted", "terminated" or "hung up".
    public static func signalName(_ sig: Int32) -> String {
        sig == SIGINT ? "interrupted" : sig == SIGTERM ? "terminated" : "hung up"
    }

    /// On SIGINT, SIGTERM or SIGHUP: the hook set by `onInterrupt`, else `exit(onSignal:)`.
    public static func cleanUpOnSignals() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                lock.lock()
                let hook = interruptHook
                lock.unlock()
                if let hook { hook(sig) } else { exit(onSignal: sig) }
            }
            source.resume()
            lock.lock(); sources.append(source); lock.unlock()
        }
    }
}
