import Foundation

/// Which file a path names, whatever its spelling: `./in.jsonl`, `data/../in.jsonl`, a symlink to it and a
/// hard link to it are all the same file. Two paths are compared by device and inode when both exist (the
/// only way to see a hard link), else by their canonical spelling.
///
/// ```swift
/// FileIdentity(path: "./in.jsonl").isSameFile(as: FileIdentity(path: "/work/in.jsonl"))  // true, in /work
/// ```
package struct FileIdentity: Sendable, Equatable {
    /// The absolute path with `.`, `..` and symlinks resolved: the file's real path when it exists, else
    /// its deepest existing folder's real path and the rest of the path as written.
    package let canonicalPath: String
    /// Device and inode, when the file exists.
    package let node: Node?

    package struct Node: Sendable, Equatable {
        package let device: UInt64
        package let inode: UInt64
    }

    package init(path: String) {
        canonicalPath = Self.canonical(path)
        var info = stat()
        node = stat(path, &info) == 0 ? Node(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) : nil
    }

    package func isSameFile(as other: FileIdentity) -> Bool {
        if let node, let otherNode = other.node { return node == otherNode }
        return canonicalPath == other.canonicalPath
    }

    /// The real path of the longest prefix of `path` that exists, then the rest resolved as text (a
    /// missing folder has no symlinks to follow, and the system would refuse a `..` below it anyway).
    static func canonical(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let parts = absolute.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for existing in stride(from: parts.count, through: 0, by: -1) {
            guard let real = realPath("/" + parts[0..<existing].joined(separator: "/")) else { continue }
            var resolved = real.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            for part in parts[existing...] {
                if part == "." { continue }
                if part == ".." {
                    _ = resolved.popLast()
                    continue
                }
                resolved.append(part)
            }
            return "/" + resolved.joined(separator: "/")
        }
        return absolute
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
