import Foundation

/// A child process started with posix_spawn and reaped with wait4, so the
/// benchmark gets the child's own CPU time and peak memory (rusage).
final class ChildProcess {
    let pid: pid_t
    private(set) var usage = rusage()
    private(set) var status: Int32 = -1
    private var reaped = false

    init(_ path: String, _ arguments: [String], environment: [String: String] = [:], log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, path, &actions, nil, argv, envp)
        guard result == 0 else { throw BenchError("cannot start \(path): \(String(cString: strerror(result)))") }
        pid = child
    }

    /// Waits for exit and records rusage; returns the exit status (128+n for a signal).
    @discardableResult
    func wait() -> Int32 {
        guard !reaped else { return status }
        var raw: Int32 = 0
        while wait4(pid, &raw, 0, &usage) < 0 && errno == EINTR {}
        reaped = true
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return status
    }

    func signal(_ number: Int32) { kill(pid, number) }

    var cpuSeconds: Double {
        Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Peak resident set size in MB (ru_maxrss is in KiB on Linux).
    var peakRSSMegabytes: Double { Double(usage.ru_maxrss) / 1024 }

    deinit {
        if !reaped { kill(pid, SIGKILL); wait() }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}
