import Foundation

/// Creates sluice's own working files (partial results, temporary exports and reports, the copy of
/// standard input) so that nothing planted at their names can redirect the writes: whatever is at the name
/// is removed first (a symlink itself, never what it points at), then the file is created exclusively,
/// without following a symlink, readable by its owner only. A link planted in between makes the creation
/// fail instead of writing through it.
package enum PrivateFile {
    static let mode: mode_t = 0o600

    /// A file descriptor open for writing, or -1 with `errno` set.
    package static func create(_ path: String) -> Int32 {
        if unlink(path) != 0 && errno != ENOENT { return -1 }
        return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    }

    /// A private scratch folder (mode 0700, a fresh name) under the system's temporary folder.
    package static func temporaryFolder(prefix: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + prefix + "XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw SluiceError(.configuration, "cannot create a temporary folder (\(String(cString: strerror(errno))))")
        }
        return String(cString: created)
    }
}
