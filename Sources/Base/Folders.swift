// Folders.swift — `mkdir -p` with a message a user can act on (Foundation's createDirectory reports
// "Error Domain=NSCocoaErrorDomain Code=4 …" on Linux).
import Foundation

public struct FolderError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot create the folder '\(path)': \(reason). Check the path and its permissions, or choose another folder." }
}

public enum Folders {
    /// Creates `path` and any missing parents; an existing folder is fine, an existing file is not.
    public static func create(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR { return }
            throw FolderError(path: path, reason: "a file with that name exists")
        }
        let parent = PathName.parent(path)
        if !parent.isEmpty && parent != path { try create(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw FolderError(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
