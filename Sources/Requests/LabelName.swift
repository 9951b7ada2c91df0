// LabelName.swift — names a user types for voices, genres, artists, subcommands and flags:
// matched without regard to case ("Jazz", "RMS"), and, when nothing matches, the closest known
// name suggested ("did you mean 'speech'?"), as git and cargo do.

public enum LabelName {
    /// The name in `names` that `name` spells, ignoring case (an exact match first).
    public static func match(_ name: String, in names: [String]) -> String? {
        if names.contains(name) { return name }
        let folded = name.lowercased()
        return names.first { $0.lowercased() == folded }
    }

    /// The known name closest to `name`: at most a third of its letters changed (at least 1,
    /// at most 3 edits; Damerau–Levenshtein, so a swapped pair counts once), or a name it begins.
    /// nil when nothing is that close.
    public static func suggestion(for name: String, in names: [String]) -> String? {
        let folded = name.lowercased()
        guard !folded.isEmpty else { return nil }
        let limit = min(3, max(1, folded.count / 3))
        var best: (name: String, distance: Int)?
        for candidate in names {
            let d = distance(folded, candidate.lowercased())
            if d <= limit && d < (best?.distance ?? Int.max) { best = (candidate, d) }
        }
        if let best { return best.name }
        if folded.count >= 3 { return names.first { $0.lowercased().hasPrefix(folded) } }
        return nil
    }

    /// "unknown genre 'jaz'. Did you mean 'jazz'? Valid genres: …"
    public static func unknown(_ kind: String, _ name: String, valid: [String], command: String? = nil, alternative: String? = nil) -> String {
        var message = "unknown \(kind) '\(name)'."
        if let s = suggestion(for: name, in: valid) { message += " Did you mean '\(s)'?" }
        message += " Valid \(kind)s: \(valid.joined(separator: ", "))"
        if let command { message += " (see `gen \(command)`)" }
        if let alternative { message += ", or \(alternative)" }
        return message + "."
    }

    /// Optimal string alignment distance (insertions, deletions, substitutions, adjacent swaps).
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[x.count][y.count]
    }
}
