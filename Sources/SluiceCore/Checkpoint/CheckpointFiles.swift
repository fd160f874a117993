import Foundation

/// Finding sluice's SQLite checkpoints on disk: `sluice list` walks a folder for them, `--reuse` takes a folder
/// of them, and a command given a path tells a checkpoint from a job file by its first bytes.
package enum CheckpointFiles {
    /// Files under `directory` (hidden folders and build folders skipped) that are sluice checkpoints, sorted.
    package static func under(_ directory: String) -> [String] {
        let root = URL(fileURLWithPath: directory)
        guard
            let walker = FileManager.default.enumerator(
                at: root, includingPropertiesForKeys: [.isDirectoryKey], options: [.skipsHiddenFiles, .skipsPackageDescendants])
        else { return [] }
        var found: [String] = []
        for case let url as URL in walker {
            if (try? url.resourceValues(forKeys: [.isDirectoryKey]))?.isDirectory == true {
                if url.lastPathComponent.hasPrefix(".build") || url.lastPathComponent == "node_modules" { walker.skipDescendants() }
                continue
            }
            guard url.pathExtension == "db" || url.lastPathComponent.hasSuffix(".sluice.db") else { continue }
            if isSQLiteFile(url.path) { found.append(relative(url.path, to: root.path, shownAs: directory)) }
        }
        return found.sorted()
    }

    /// SQLite files start with this 16-byte header.
    static func isSQLiteFile(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 16)) == Data("SQLite format 3\0".utf8)
    }

    private static func relative(_ path: String, to root: String, shownAs shown: String) -> String {
        let rootPath = (root as NSString).standardizingPath
        let full = (path as NSString).standardizingPath
        guard full.hasPrefix(rootPath + "/") else { return path }
        let rest = String(full.dropFirst(rootPath.count + 1))
        return shown == "." ? rest : (shown as NSString).appendingPathComponent(rest)
    }
}
