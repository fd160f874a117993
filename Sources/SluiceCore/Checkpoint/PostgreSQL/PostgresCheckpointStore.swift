import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The shared checkpoint: one PostgreSQL schema per job, for several sluice
/// workers (on one machine or many) running the same job.
///
/// The item lifecycle is the SQLite store's, with the strength many owners
/// need: a lease has an owner and an expiry that the owner's heartbeat
/// extends; `lease` takes pending items and expired leases with
/// `SELECT … FOR UPDATE SKIP LOCKED`, so workers never wait for each other;
/// an outcome is applied only while the recording worker still owns the
/// item's lease (fencing: a late answer from a worker that lost its lease is
/// counted, never stored). Every call goes through postgres-nio's connection
/// pool with bound parameters; groups of rows travel as one JSON parameter
/// (`jsonb_to_recordset`), so a commit of 500 outcomes is one round trip.
///
/// The store lives for a scope (`withStore`): its client is a service of a group that lives exactly as
/// long, so no connection outlives the code that uses them.
///
/// ```swift
/// try await PostgresCheckpointStore.withStore(try PostgresLocation(parsing: url), role: .runner) { store in
///     let page = try await store.lease(limit: 512)      // leased to this worker until its heartbeat stops
///     try await store.record([.finished(outcome)])      // applied only if this worker still holds the lease
/// }
/// ```
package actor PostgresCheckpointStore: CheckpointStore, SharedCheckpointStore {
    package static let schemaVersion = PostgresSchema.version
    package nonisolated let location: String
    package nonisolated let workerID: String
    package nonisolated let leaseSeconds: Double
    let settings: PostgresLocation
    let role: CheckpointRole
    let client: PostgresClient
    let logger: Logger
    let outage: PostgresOutage
    /// Items this worker leased and has not finished or released: what its heartbeat extends.
    /// A lease whose commit was lost with the connection is not here, so it expires and is taken over.
    var held: Set<Int64> = []
    /// When each held item's lease was last set or extended, by this process's clock read before the call that did
    /// it (the server's `now()`, from which the expiry counts, is later): what `maySend` judges by.
    nonisolated let leaseSetAt = Mutex<[Int64: ContinuousClock.Instant]>([:])
    /// Ids of the sets of sent headers already stored.
    var headerSets: [[UInt8]: Int64] = [:]

    /// `client` must be running (`withClient` runs it) for as long as the store is used.
    init(settings: PostgresLocation, role: CheckpointRole, client: PostgresClient, logger: Logger) {
        self.settings = settings
        self.role = role
        self.logger = logger
        self.client = client
        location = settings.display
        leaseSeconds = settings.leaseSeconds
        outage = PostgresOutage()
        var host = [UInt8](repeating: 0, count: 256)
        gethostname(&host, host.count)
        let hostname = String(decoding: host.prefix { $0 != 0 }, as: UTF8.self)
        workerID = "\(hostname):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// Connects, and for a runner creates or migrates the job's schema and registers the worker, then runs
    /// `body` with the store and closes it (`close`), however `body` ends. Readers and control connections
    /// need the job to exist. `environment`: where the password comes from (`PGPASSWORD`, `PGPASSFILE`, `HOME`).
    package static func withStore<T>(
        _ settings: PostgresLocation, role: CheckpointRole, logger: Logger = Logger(label: "sluice"),
        environment: [String: String] = ProcessInfo.processInfo.environment, _ body: (PostgresCheckpointStore) async throws -> T
    ) async throws -> T {
        let password = settings.password(environment: environment)
        try await checkLogin(settings, password: password, outage: PostgresOutage(), logger: logger)
        return try await withClient(settings, password: password, logger: logger) { client in
            let store = PostgresCheckpointStore(settings: settings, role: role, client: client, logger: logger)
            return try await CheckpointStores.closing(store) { store in
                try await store.setUp()
                return try await body(store)
            }
        }
    }

    /// Runs `body` with a pool of connections to the server. The client is the one service of a group that
    /// lives as long as `body`, and stops the way every service of sluice stops: by its group's graceful shutdown.
    static func withClient<T>(
        _ settings: PostgresLocation, password: String?, logger: Logger, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: password, database: settings.database,
            tls: try Self.clientTLS(settings))
        configuration.options.maximumConnections = 6
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.connectionIdleTimeout = .seconds(120)
        var background = logger
        background.logLevel = .critical
        let client = PostgresClient(configuration: configuration, backgroundLogger: background)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [client], logger: background))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body(client)
                await group.triggerGracefulShutdown()
                // The work is done and committed: how the pool ended cannot undo it.
                try? await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Runs `body` against the pool, retried across an outage (see `PostgresOutage`).
    nonisolated func database<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let client = client
        return try await outage.retrying(location, logger: logger) { try await body(client) }
    }

    /// A table of the job's schema, for SQL text (a schema name is only lowercase letters, digits and `_`: `PostgresJobName`).
    nonisolated func table(_ name: String) -> String { "\(settings.schema).\(name)" }

    private func setUp() async throws {
        let schema = settings.schema
        let exists = try await database { client in
            try await client.rows("SELECT count(*) FROM information_schema.tables WHERE table_schema = \(schema) AND table_name = 'items'")
                .first?.decode(Int64.self) ?? 0
        }
        guard role == .runner else {
            guard exists > 0 else { throw SluiceError(.checkpoint, "\(location): no sluice job \"\(settings.job)\" in that database") }
            try await checkVersion()
            try await checkName()
            return
        }
        let migrations = PostgresSchema.migrations(schema)
        let logger = logger
        try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                // One worker creates or migrates; the others wait here, then find it done.
                try await connection.rows("SELECT pg_advisory_xact_lock(hashtext(\(schema)))", logger: logger)
                try await connection.rows("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
                try await connection.rows(
                    "CREATE TABLE IF NOT EXISTS \(unescaped: schema).job (key TEXT PRIMARY KEY, value TEXT NOT NULL)", logger: logger)
                let stored =
                    try await connection.rows("SELECT value FROM \(unescaped: schema).job WHERE key = 'schema_version'", logger: logger)
                    .first.flatMap { Int(try $0.decode(String.self)) } ?? 0
                guard stored < PostgresSchema.version else { return }  // current, or newer: refused by checkVersion untouched
                for version in (stored + 1)...PostgresSchema.version {
                    for statement in migrations[version, default: ""].split(separator: ";") {
                        let sql = statement.trimmingCharacters(in: .whitespacesAndNewlines)
                        if !sql.isEmpty { try await connection.rows(PostgresQuery(unsafeSQL: sql), logger: logger) }
                    }
                }
                try await connection.rows(
                    """
                    INSERT INTO \(unescaped: schema).job (key, value) VALUES ('schema_version', \(String(PostgresSchema.version)))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value
                    """, logger: logger)
            }
        }
        try await checkVersion()
        try await checkName()
        try await registerWorker()
    }

    /// The job's name as the user gave it is kept beside its tables (the schema name may be a mapping of
    /// it): `sluice list` shows it, and a job whose schema holds another name is refused, not shared.
    /// Jobs made before names were kept get theirs from the first runner that opens them.
    private func checkName() async throws {
        let (job, name) = (table("job"), settings.job)
        if role == .runner {
            try await database { client in
                try await client.rows("INSERT INTO \(unescaped: job) (key, value) VALUES ('job_name', \(name)) ON CONFLICT (key) DO NOTHING")
            }
        }
        if let stored = try await value(forKey: "job_name"), PostgresJobName.canonical(stored) != PostgresJobName.canonical(name) {
            throw SluiceError(
                .checkpoint,
                "\(location): the schema \(settings.schema) holds the job \"\(stored)\", not \"\(name)\" (their names map to one schema); give this job another name"
            )
        }
    }

    private func checkVersion() async throws {
        let stored = try await value(forKey: "schema_version")
        guard stored == String(PostgresSchema.version) else {
            throw SluiceError(
                .checkpoint,
                "\(location): checkpoint schema \(stored ?? "unknown") is not supported by this sluice (it reads \(PostgresSchema.version)); a newer sluice wrote it"
            )
        }
    }

    /// An item may be sent while its lease is younger than two thirds of a lease: past that it may have expired
    /// (the heartbeat failed or was late, the server was away) and another worker may have taken it over, sent it
    /// and stored its outcome, which nothing would tell this worker. The last third is the margin for a request
    /// on its way; a heartbeat every third of a lease keeps a live worker's leases younger than that.
    package nonisolated func maySend(_ id: Int64) -> Bool {
        guard let setAt = leaseSetAt.withLock({ $0[id] }) else { return false }
        return ContinuousClock.now - setAt < .seconds(leaseSeconds * 2 / 3)
    }

    // MARK: - Job

    package func jobSettings() async throws -> String? { try await value(forKey: "settings") }
    package func saveJobSettings(_ json: String) async throws { try await setValue(json, forKey: "settings") }

    package func value(forKey key: String) async throws -> String? {
        let job = table("job")
        return try await database { client in
            try await client.rows("SELECT value FROM \(unescaped: job) WHERE key = \(key)").first?.decode(String.self)
        }
    }

    package func setValue(_ value: String, forKey key: String) async throws {
        let job = table("job")
        try await database { client in
            try await client.rows(
                "INSERT INTO \(unescaped: job) (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        }
    }

    // MARK: - Inputs

    package func inputs() async throws -> [InputRecord] {
        let inputs = table("inputs")
        return try await database { client in
            try await client.rows(
                "SELECT file_index, path, size, checksum, planned_lines, planning_complete, planning_error FROM \(unescaped: inputs) ORDER BY file_index"
            ).map { row in
                let (index, path, size, checksum, planned, complete, error) = try row.decode((Int, String, Int64, Int64, Int, Bool, String?).self)
                return InputRecord(
                    fileIndex: index, path: path, fingerprint: InputFingerprint(size: size, checksum: UInt32(truncatingIfNeeded: checksum)),
                    plannedLines: planned, planningComplete: complete, planningError: error)
            }
        }
    }

    /// Every worker saves the inputs it was given; a file whose fingerprint is unchanged keeps the planning
    /// progress another worker may be making, so a worker starting mid-planning never rewinds it.
    package func saveInputs(_ records: [InputRecord]) async throws {
        let inputs = table("inputs")
        let logger = logger
        try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.rows("DELETE FROM \(unescaped: inputs) WHERE file_index >= \(records.count)", logger: logger)
                for input in records {
                    try await connection.rows(
                        """
                        INSERT INTO \(unescaped: inputs) (file_index, path, size, checksum, planned_lines, planning_complete, planning_error)
                        VALUES (\(input.fileIndex), \(input.path), \(input.fingerprint.size), \(Int64(input.fingerprint.checksum)),
                            \(input.plannedLines), \(input.planningComplete), \(input.planningError))
                        ON CONFLICT (file_index) DO UPDATE SET path = excluded.path, size = excluded.size, checksum = excluded.checksum,
                            planned_lines = CASE WHEN inputs.size = excluded.size AND inputs.checksum = excluded.checksum
                                THEN greatest(inputs.planned_lines, excluded.planned_lines) ELSE excluded.planned_lines END,
                            planning_complete = CASE WHEN inputs.size = excluded.size AND inputs.checksum = excluded.checksum
                                THEN inputs.planning_complete OR excluded.planning_complete ELSE excluded.planning_complete END,
                            planning_error = coalesce(excluded.planning_error, inputs.planning_error)
                        """, logger: logger)
                }
            }
        }
    }

    // MARK: - Lifecycle

    /// Drops the job's schema: every table, every worker's row.
    package func destroy() async throws {
        let schema = settings.schema
        try await database { client in try await client.rows("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE") }
        held.removeAll()
        leaseSetAt.withLock { $0.removeAll() }
    }

    /// As the scope of `withStore` ends, a runner gives back what it still holds (a stopping run released its
    /// items already; this catches the rest) and says it stopped, so `sluice workers` and the shared budget
    /// stop counting it. The connections close with the scope.
    package func close() async {
        if role == .runner {
            let items = table("items")
            let workers = table("workers")
            let worker = workerID
            let ids = Array(held)
            _ = try? await PostgresOutage(patienceSeconds: 0, attemptSeconds: 5).retrying(location, logger: logger) { [client] in
                if !ids.isEmpty {
                    try await client.rows(
                        """
                        UPDATE \(unescaped: items) SET state = 0, lease_owner = NULL, lease_until = NULL
                        WHERE id = ANY(\(ids)) AND state = 1 AND lease_owner = \(worker) AND batch_ref IS NULL
                        """)
                }
                try await client.rows("UPDATE \(unescaped: workers) SET stopped_at = now(), seen_at = now() WHERE id = \(worker)")
            }
            held.removeAll()
            leaseSetAt.withLock { $0.removeAll() }
        }
    }
}
