import Foundation

/// Keeps a second sluice process off a job that is already running.
///
/// An advisory `flock` on `<checkpoint>.lock`: the kernel drops it when the
/// holder exits, however it exits (`kill -9` included), so a stale lock never
/// blocks a resume. The lock sits beside the checkpoint's real file (a checkpoint reached through a
/// symlink and by its own name share one lock, as SQLite's side files do), and is opened without
/// following a symlink: a link planted at its name must not turn the pid written below into a write
/// through to someone else's file.
package final class JobLock {
    static let suffix = ".lock"
    let path: String
    private let fd: Int32

    init(checkpointPath: String) throws {
        path = Self.lockPath(checkpointPath)
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link, which sluice does not follow" : String(cString: strerror(errno))
            throw SluiceError(.checkpoint, "\(path): cannot create the job lock (\(reason))")
        }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SluiceError(.checkpoint, "\(path): cannot use it as the job lock (not a regular file)")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var holder = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &holder, holder.count, 0)
            let pid = count > 0 ? String(decoding: holder[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw SluiceError(
                .locked,
                "another sluice process (pid \(pid)) is running this job: checkpoint \(checkpointPath) is locked. Wait for it to finish or stop it, then run again to resume."
            )
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// The pid of the sluice process running the job, nil when none is. Taken
    /// with a shared lock held for an instant, so a runner starting at that
    /// very moment could see the job as locked: `status` and `list` only report.
    package static func holder(checkpointPath: String) -> Int32? {
        let fd = open(lockPath(checkpointPath), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        var text = [UInt8](repeating: 0, count: 32)
        let count = pread(fd, &text, text.count, 0)
        return count > 0 ? Int32(String(decoding: text[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 : 0
    }

    static func lockPath(_ checkpointPath: String) -> String { resolved(checkpointPath) + suffix }

    /// Where SQLite keeps the checkpoint's `-wal` and `-shm` files and sluice its lock: beside the checkpoint,
    /// or, when the checkpoint's name is a symlink, beside the file it leads to (as SQLite does).
    static func resolved(_ checkpointPath: String) -> String {
        var status = stat()
        guard lstat(checkpointPath, &status) == 0, status.st_mode & S_IFMT == S_IFLNK, let real = realpath(checkpointPath, nil) else {
            return checkpointPath
        }
        defer { free(real) }
        return String(cString: real)
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
