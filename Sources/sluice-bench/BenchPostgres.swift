import Foundation

/// A PostgreSQL server of the benchmark's own (initdb in the scratch folder, a free loopback port),
/// with pg_stat_statements loaded so the figures count every statement the workers sent.
/// As root, initdb and pg_ctl run as the `postgres` user (initdb refuses root).
final class BenchPostgres {
    let port: Int
    private let folder: String
    private let bin: String

    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    init(folder: String) throws {
        guard
            let bin = ["/usr/lib/postgresql/15/bin"].first(where: { FileManager.default.fileExists(atPath: $0 + "/initdb") })
                ?? (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted().last.map({ "/usr/lib/postgresql/\($0)/bin" })
        else { throw BenchError("no PostgreSQL server binaries (install the Debian package postgresql)") }
        self.bin = bin
        self.folder = folder
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        chmod(folder, 0o777)
        port = try Self.freePort()
        try run(bin + "/initdb", ["-D", folder + "/data", "-A", "trust", "-U", "postgres", "--no-sync"])
        try run(
            bin + "/pg_ctl",
            [
                "-D", folder + "/data", "-l", folder + "/server.log", "-w", "-o",
                "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c shared_preload_libraries=pg_stat_statements -c max_connections=100",
                "start",
            ])
        _ = try sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    }

    deinit { try? run(bin + "/pg_ctl", ["-D", folder + "/data", "-m", "immediate", "stop"]) }

    /// Statements executed since the last reset (every round trip a worker made, BEGIN and COMMIT included).
    func statements() throws -> Int { Int(try sql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements")) ?? 0 }
    func resetStatements() throws { _ = try sql("SELECT pg_stat_statements_reset()") }

    /// CPU seconds of the server: the postmaster and every backend that has exited (connections are closed
    /// when workers exit, so measure after they have).
    func cpuSeconds() throws -> Double {
        let pid = try String(contentsOfFile: folder + "/data/postmaster.pid", encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        // utime, stime, cutime, cstime are fields 14-17 of /proc/PID/stat (12-15 after the name).
        let ticks = fields[11...14].compactMap { Double($0) }.reduce(0, +)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @discardableResult
    func sql(_ text: String) throws -> String {
        let output = folder + "/psql.out"
        try run("/usr/bin/psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-At", "-o", output, "-c", text], asPostgres: false)
        return (try String(contentsOfFile: output, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// posix_spawn and wait4 (ChildProcess), not Foundation's Process: the server pg_ctl leaves running would
    /// inherit the descriptor Process watches, and waiting for pg_ctl would last as long as the server.
    private func run(_ tool: String, _ arguments: [String], asPostgres: Bool = true) throws {
        let root = getuid() == 0 && asPostgres
        let child = try ChildProcess(
            root ? "/usr/sbin/runuser" : tool, root ? ["-u", "postgres", "--", tool] + arguments : arguments, log: folder + "/commands.log")
        guard child.wait() == 0 else { throw BenchError("\(tool) \(arguments.joined(separator: " ")) failed; see \(folder)/server.log") }
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BenchError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
