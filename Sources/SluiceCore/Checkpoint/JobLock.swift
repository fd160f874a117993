import Foundation

/// Keeps a second sluice process off a job that is already running.
///
/// An advisory `flock` on `<checkpoint>.lock`: the kernel drops it when the
/// holder exits, however it exits (`kill -9` included), so a stale lock never
/// blocks a resume.
public final class JobLock {
    static let suffix = ".lock"
    let path: String
    private let fd: Int32

    init(checkpointPath: String) throws {
        path = checkpointPath + Self.suffix
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SluiceError(.checkpoint, "\(path): cannot create the job lock (\(String(cString: strerror(errno))))")
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
    public static func holder(checkpointPath: String) -> Int32? {
        let fd = open(checkpointPath + suffix, O_RDONLY | O_CLOEXEC)
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

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
