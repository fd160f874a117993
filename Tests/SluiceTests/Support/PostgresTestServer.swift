import Foundation
import Synchronization

/// A real PostgreSQL server for the checkpoint tests, shared by the whole test process: initdb and start cost about
/// a second, and tests stay apart by job name (each job has its own rows) rather than by server.
/// `restart` and `bounce` take it away from every test at once, so tests calling them must not overlap with other
/// tests using it.
///
/// Two servers: `shared()` trusts every login and has no TLS (the tests of what a checkpoint does);
/// `secured()` is set up as a production server is (`Security`), for the tests of logging in.
final class PostgresTestServer: Sendable {
    let port: Int
    /// The secured server's certificates and login; nil for the trusting one.
    let security: Security?
    private let bin: String
    /// Its own folder under /tmp, so a server left over by a crashed earlier test process never conflicts.
    private let folder: String
    private var data: String { folder + "/data" }
    private var log: String { folder + "/server.log" }

    /// The secured server: TLS on, with a certificate signed by a private CA the test made (subjectAltName
    /// IP:127.0.0.1 and DNS:localhost), listening on 127.0.0.1 and ::1 (an address its certificate does not
    /// name); the role `role` logs in only over TLS (`hostssl`) with a SCRAM-SHA-256 password.
    struct Security: Sendable {
        let caCertificate: String
        /// A CA that signed nothing the server has, for the refused cases.
        let otherCACertificate: String
        let role = "sluice_app"
        let password: String
    }

    private init(port: Int, bin: String, folder: String, security: Security?) {
        self.port = port
        self.bin = bin
        self.folder = folder
        self.security = security
    }

    /// One startup for all callers: later and concurrent callers await the same task (and its error, if it failed).
    static func shared() async throws -> PostgresTestServer { try await once(trusting) { try PostgresTestServer.start(secured: false) } }

    /// The server with TLS and passwords (see `Security`), started once like `shared()`.
    static func secured() async throws -> PostgresTestServer { try await once(securing) { try PostgresTestServer.start(secured: true) } }

    private static func once(
        _ startup: borrowing Mutex<Task<PostgresTestServer, any Error>?>, _ start: @escaping @Sendable () throws -> PostgresTestServer
    ) async throws -> PostgresTestServer {
        let task = startup.withLock { task in
            if let task { return task }
            let started = Task.detached { try start() }
            task = started
            return started
        }
        return try await task.value
    }

    /// "postgres://postgres@127.0.0.1:PORT/sluice?job=NAME"
    func url(job: String) -> String { "postgres://postgres@127.0.0.1:\(port)/sluice?job=\(job)" }

    /// The secured server's URL for its password role: `host` as a URL writes it (`[::1]`), `query` appended.
    func url(job: String, host: String, query: String) -> String {
        "postgres://\(security?.role ?? "postgres")@\(host):\(port)/sluice?job=\(job)" + (query.isEmpty ? "" : "&" + query)
    }

    /// Tests share one database, so each needs a job name no other test (or earlier run) used.
    static func uniqueJobName() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return "t" + String((0..<10).map { _ in alphabet.randomElement()! })
    }

    /// Rows of `psql -At -F '|'`: the columns of each row as psql prints them ('' for NULL).
    func query(_ sql: String) throws -> [[String]] {
        let output = try psql(["-d", "sluice", "-At", "-F", "|", "-c", sql])
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Drops every connection, for tests of a lost connection; the server is back on the same port on return.
    func restart() throws { try pgctl(["-m", "fast", "-w", "restart"]) }

    /// Keeps the server down for `seconds`, for tests of retrying while it is unreachable.
    func bounce(downFor seconds: Double) async throws {
        try pgctl(["-m", "fast", "-w", "stop"])
        // Started again even if the test was cancelled meanwhile: the server is shared.
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
        try pgctl(["-w", "start"])
    }

    private func pgctl(_ arguments: [String]) throws {
        // Given on every start (also restart): otherwise pg_ctl would fall back to the port in postmaster.opts
        // and the server's output would go to pg_ctl's own output.
        var options = "-p \(port) -k \(folder) -c fsync=off -c max_connections=200"
        if security == nil {
            options += " -c listen_addresses=127.0.0.1"
        } else {
            // Relative to the data folder.
            options += " -c listen_addresses=127.0.0.1,::1 -c ssl=on -c ssl_cert_file=server.pem -c ssl_key_file=server.key"
            options += " -c password_encryption=scram-sha-256"
        }
        try Self.run(bin + "/pg_ctl", ["-D", data, "-o", options, "-l", log] + arguments, asServer: true, in: folder)
    }

    @discardableResult
    private func psql(_ arguments: [String]) throws -> String {
        // -X: no ~/.psqlrc; -q: no command tags ("INSERT 0 1") among the rows.
        let common = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres"]
        return try Self.run(Self.psqlPath(bin), common + arguments, asServer: false, in: folder)
    }

    private static func start(secured: Bool) throws -> PostgresTestServer {
        let bin = try serverBinaries()
        var template = Array("/tmp/sluice-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed: \(String(cString: strerror(errno)))") }
        let folder = String(cString: made)
        leftover.withLock { $0.append((bin, folder)) }
        atexit { stopLeftover() }
        // initdb refuses to run as root: then the server runs as postgres, who must own and reach its folder.
        chmod(folder, 0o755)
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else { throw TestFailure("running as root, and there is no postgres user to run the server as") }
            chown(folder, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        // --locale=C: a container's LANG may name a locale that is not installed, which initdb rejects.
        let initdb = ["-D", folder + "/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]
        try run(bin + "/initdb", initdb, asServer: true, in: folder)
        let security = secured ? try secure(folder + "/data") : nil
        // The free port is only free when asked: another process may take it before the server binds it.
        var failures: [String] = []
        for _ in 0..<3 {
            let server = PostgresTestServer(port: try freeLoopbackPort(), bin: bin, folder: folder, security: security)
            do {
                try server.pgctl(["-w", "start"])
            } catch {
                failures.append(String(describing: error))
                continue
            }
            try server.psql(["-d", "postgres", "-c", "CREATE DATABASE sluice"])
            if let security {
                try server.psql(["-d", "postgres", "-c", "CREATE ROLE \(security.role) LOGIN PASSWORD '\(security.password)'"])
                try server.psql(["-d", "postgres", "-c", "GRANT CONNECT, CREATE ON DATABASE sluice TO \(security.role)"])
            }
            return server
        }
        throw TestFailure("PostgreSQL did not start in 3 attempts:\n" + failures.joined(separator: "\n"))
    }

    /// Certificates (made with openssl by `TLSFixture`) and the login rules of the secured server, in its data folder.
    private static func secure(_ data: String) throws -> Security {
        let scratch = TemporaryDirectory(), other = TemporaryDirectory()
        let tls = try TLSFixture(in: scratch)
        let otherCA = try TLSFixture(in: other).caCertificate
        let files = FileManager.default
        try files.copyItem(atPath: tls.serverCertificate, toPath: data + "/server.pem")
        try files.copyItem(atPath: tls.serverKey, toPath: data + "/server.key")
        try files.copyItem(atPath: tls.caCertificate, toPath: data + "/../ca.pem")
        try files.copyItem(atPath: otherCA, toPath: data + "/../other-ca.pem")
        // The server refuses a key others may read; when we are root it runs as postgres, who must own it.
        chmod(data + "/server.key", 0o600)
        if getuid() == 0, let user = getpwnam("postgres") {
            for file in ["/server.pem", "/server.key"] { chown(data + file, user.pointee.pw_uid, user.pointee.pw_gid) }
        }
        // The administrator (psql, for the tests' queries) is trusted; the application role needs TLS and its password.
        let rules = """
            local all all trust
            host all postgres 127.0.0.1/32 trust
            host all postgres ::1/128 trust
            hostssl all sluice_app 127.0.0.1/32 scram-sha-256
            hostssl all sluice_app ::1/128 scram-sha-256

            """
        try rules.write(toFile: data + "/pg_hba.conf", atomically: false, encoding: .utf8)
        let password = "pw-" + UUID().uuidString.prefix(13).lowercased()
        let folder = (data as NSString).deletingLastPathComponent
        return Security(caCertificate: folder + "/ca.pem", otherCACertificate: folder + "/other-ca.pem", password: password)
    }

    private static func serverBinaries() throws -> String {
        let files = FileManager.default
        let has = { (folder: String) in files.isExecutableFile(atPath: folder + "/initdb") }
        if has("/usr/lib/postgresql/15/bin") { return "/usr/lib/postgresql/15/bin" }
        if files.isExecutableFile(atPath: "/usr/bin/dpkg"), let listed = try? run("/usr/bin/dpkg", ["-L", "postgresql-15"], asServer: false),
            let line = listed.split(separator: "\n").first(where: { $0.hasSuffix("bin/initdb") })
        {
            return String(line.dropLast("/initdb".count))
        }
        let versions = (try? files.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        let newestFirst = versions.sorted { (Double($0) ?? 0) > (Double($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        if let found = (newestFirst + path).first(where: has) { return found }
        throw TestFailure("PostgreSQL server binaries not found: `make test` installs them (scripts/system-packages.txt), or apt-get install postgresql")
    }

    private static func psqlPath(_ bin: String) -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { String($0) + "/psql" }
        return ([bin + "/psql"] + path).first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/psql"
    }

    /// Runs a command to completion and returns its stdout. `asServer`: as the postgres user when we are root.
    /// posix_spawn rather than Foundation's Process: the server pg_ctl starts inherits every descriptor not closed,
    /// and Process notices a child's exit only once the socket it gives the child is closed by all holders, so it
    /// would wait for the server to stop. Output goes to files for the same reason (a pipe would stay open).
    @discardableResult
    fileprivate static func run(_ executable: String, _ arguments: [String], asServer: Bool, in folder: String? = nil) throws -> String {
        var argv = [executable] + arguments
        if asServer && getuid() == 0 {
            let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
            argv = [runuser ?? "/usr/sbin/runuser", "-u", "postgres", "--"] + argv
        }
        // No PG* variable of the machine may point psql or pg_ctl elsewhere.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["PGCONNECT_TIMEOUT"] = "5"
        let scratch = NSTemporaryDirectory() + "sluice-pg-command-" + UUID().uuidString.prefix(8)
        defer {
            unlink(scratch + ".out")
            unlink(scratch + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, scratch + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, scratch + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard let closeFrom = spawnExtension("posix_spawn_file_actions_addclosefrom_np", SpawnCloseFrom.self),
            let changeDirectory = spawnExtension("posix_spawn_file_actions_addchdir_np", SpawnChangeDirectory.self)
        else { throw TestFailure("this C library lacks posix_spawn_file_actions_addclosefrom_np (glibc 2.34+)") }
        _ = closeFrom(&actions, 3)
        // Somewhere the postgres user may enter (not root's home), or it warns on every command.
        _ = changeDirectory(&actions, folder ?? "/tmp")
        // The test process blocks or ignores signals (SIGPIPE) that the server and psql expect as usual.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArguments + cEnvironment).forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard spawned == 0 else { throw TestFailure("cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let stdout = (try? String(contentsOfFile: scratch + ".out", encoding: .utf8)) ?? ""
        guard status == 0 else {
            let stderr = (try? String(contentsOfFile: scratch + ".err", encoding: .utf8)) ?? ""
            let log = folder.flatMap { try? String(contentsOfFile: $0 + "/server.log", encoding: .utf8) } ?? ""
            let tail = log.split(separator: "\n").suffix(15).joined(separator: "\n")
            let ended = status & 0x7f == 0 ? "exited with \(status >> 8 & 0xff)" : "was killed by signal \(status & 0x7f)"
            throw TestFailure("\(argv.joined(separator: " ")) \(ended):\n\(stderr)\(tail.isEmpty ? "" : "server log:\n\(tail)")")
        }
        return stdout
    }
}

/// glibc's posix_spawn extensions, which the Swift Glibc module leaves out (they need _GNU_SOURCE).
private typealias SpawnCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
private typealias SpawnChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
private func spawnExtension<Function>(_ name: String, _ type: Function.Type) -> Function? {
    dlsym(dlopen(nil, RTLD_NOW), name).map { unsafeBitCast($0, to: type) }
}

private let trusting = Mutex<Task<PostgresTestServer, any Error>?>(nil)
private let securing = Mutex<Task<PostgresTestServer, any Error>?>(nil)

/// The server binaries and folders for the exit handler, which cannot capture them.
private let leftover = Mutex<[(bin: String, folder: String)]>([])

/// At exit, so no server outlives the test process (immediate: its data is thrown away anyway).
private func stopLeftover() {
    let servers = leftover.withLock { servers in
        let all = servers
        servers.removeAll()
        return all
    }
    for (bin, folder) in servers {
        _ = try? PostgresTestServer.run(bin + "/pg_ctl", ["-D", folder + "/data", "-m", "immediate", "stop"], asServer: true, in: folder)
        try? FileManager.default.removeItem(atPath: folder)
    }
}
