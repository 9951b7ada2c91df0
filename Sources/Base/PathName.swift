// PathName.swift — the parts of a path, by plain string handling. Foundation's NSString path
// methods (lastPathComponent, deletingLastPathComponent, deletingPathExtension) crash on some
// one-character strings on Linux (swift-corelibs-foundation 6.x: `gen music -o -` and
// `gen speech hello -o a` died with SIGILL), and user input reaches them, so gen uses these instead.
public enum PathName {
    /// Trailing slashes removed, except for the root itself.
    static func trimmed(_ p: String) -> Substring {
        var s = Substring(p)
        while s.count > 1 && s.hasSuffix("/") { s = s.dropLast() }
        return s
    }

    /// The last component: "a/b.wav" → "b.wav", "a/b/" → "b", "/" → "/", "" → "".
    public static func last(_ p: String) -> String {
        let s = trimmed(p)
        if s == "/" { return "/" }
        guard let slash = s.lastIndex(of: "/") else { return String(s) }
        return String(s[s.index(after: slash)...])
    }

    /// Everything before the last component: "a/b.wav" → "a", "b.wav" → "", "/b" → "/", "a/b/" → "a".
    public static func parent(_ p: String) -> String {
        let s = trimmed(p)
        guard let slash = s.lastIndex(of: "/") else { return "" }
        if slash == s.startIndex { return "/" }
        var head = s[..<slash]
        while head.count > 1 && head.hasSuffix("/") { head = head.dropLast() }
        return String(head)
    }

    /// The extension of the last component, without the dot; "" when it has none. A leading dot
    /// starts a name, not an extension (".wav" has none).
    public static func ext(_ p: String) -> String {
        let name = last(p)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...])
    }

    /// The path without its last component's extension: "a/b.wav" → "a/b", "a/.wav" → "a/.wav".
    public static func deletingExtension(_ p: String) -> String {
        let e = ext(p)
        guard !e.isEmpty else { return String(trimmed(p)) }
        let s = trimmed(p)
        return String(s.dropLast(e.count + 1))
    }

    /// The last component without its extension: "a/b.wav" → "b".
    public static func stem(_ p: String) -> String { deletingExtension(last(p)) }

    /// "dir" + "x.wav" → "dir/x.wav" (one slash between; an empty dir gives the name alone).
    public static func join(_ dir: String, _ name: String) -> String {
        if dir.isEmpty { return name }
        return dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }
}
