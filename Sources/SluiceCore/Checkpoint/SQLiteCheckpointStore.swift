import CSQLite
import Foundation

/// The embedded checkpoint: one SQLite file per job, in WAL mode with
/// `synchronous=NORMAL`, so a committed result survives a `kill -9` of sluice.
///
/// One connection behind a lock: SQLite serialises writers anyway, and group
/// commits (many outcomes per transaction) are what make it fast.
public final class SQLiteCheckpointStore: CheckpointStore, @unchecked Sendable {
    public static let schemaVersion = "1"
    public let path: String
    private let database: SQLiteDatabase
    private let lock = NSLock()
    private var statements: [String: SQLiteStatement] = [:]

    public init(path: String) throws {
        self.path = path
        database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA journal_mode=WAL")
        try database.execute("PRAGMA synchronous=NORMAL")
        try database.execute(Self.schema)
        if let version = try value(forKey: "schema_version"), version != Self.schemaVersion {
            throw SluiceError(.checkpoint, "\(path): checkpoint schema \(version) is not supported by this sluice (expects \(Self.schemaVersion))")
        }
        try setValue(Self.schemaVersion, forKey: "schema_version")
    }

    static let schema = """
    CREATE TABLE IF NOT EXISTS job (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS inputs (
        file_index INTEGER PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, checksum INTEGER NOT NULL,
        planned_lines INTEGER NOT NULL DEFAULT 0, planning_complete INTEGER NOT NULL DEFAULT 0, planning_error TEXT);
    CREATE TABLE IF NOT EXISTS items (
        id INTEGER PRIMARY KEY,
        file_index INTEGER NOT NULL, line INTEGER NOT NULL,
        custom_id TEXT NOT NULL, unique_key TEXT UNIQUE, line_hash INTEGER NOT NULL,
        state INTEGER NOT NULL,
        endpoint TEXT NOT NULL, model TEXT, body BLOB, overrides BLOB, metadata BLOB,
        attempts INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0, fallbacks_used INTEGER NOT NULL DEFAULT 0,
        http_status INTEGER, error_code TEXT, error_message TEXT,
        answered_model TEXT, provider TEXT, request_id TEXT,
        prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER, latency_ms REAL,
        headers_sent BLOB, response BLOB, finished_at REAL,
        UNIQUE (file_index, line));
    CREATE INDEX IF NOT EXISTS items_by_state ON items (state, id);
    """

    private func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] { return cached }
        let prepared = try database.prepare(sql)
        statements[sql] = prepared
        return prepared
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: - Job

    public func jobSettings() throws -> String? { try value(forKey: "settings") }
    public func saveJobSettings(_ json: String) throws { try setValue(json, forKey: "settings") }

    public func value(forKey key: String) throws -> String? {
        try locked {
            let query = try statement("SELECT value FROM job WHERE key = ?").bind(.text(key))
            return try query.firstRow { $0.text(0) } ?? nil
        }
    }

    public func setValue(_ value: String, forKey key: String) throws {
        try locked {
            try statement("INSERT INTO job (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
                .bind(.text(key), .text(value)).run()
        }
    }

    // MARK: - Inputs

    public func inputs() throws -> [InputRecord] {
        try locked {
            let query = try statement("SELECT file_index, path, size, checksum, planned_lines, planning_complete, planning_error FROM inputs ORDER BY file_index").bind()
            var records: [InputRecord] = []
            while try query.step() {
                records.append(InputRecord(fileIndex: query.int(0), path: query.text(1) ?? "",
                                           fingerprint: InputFingerprint(size: query.int64(2), checksum: UInt32(truncatingIfNeeded: query.int64(3))),
                                           plannedLines: query.int(4), planningComplete: query.int(5) != 0, planningError: query.text(6)))
            }
            return records
        }
    }

    public func saveInputs(_ inputs: [InputRecord]) throws {
        try locked {
            try database.transaction {
                try database.execute("DELETE FROM inputs")
                let insert = try statement("INSERT INTO inputs (file_index, path, size, checksum, planned_lines, planning_complete, planning_error) VALUES (?, ?, ?, ?, ?, ?, ?)")
                for input in inputs {
                    try insert.bind(.int(input.fileIndex), .text(input.path), .integer(input.fingerprint.size),
                                    .integer(Int64(input.fingerprint.checksum)), .int(input.plannedLines),
                                    .int(input.planningComplete ? 1 : 0), .optional(input.planningError)).run()
                }
            }
        }
    }

    // MARK: - Planning

    @discardableResult
    public func insertPlanned(_ items: [PlannedItem], fileIndex: Int, throughLine: Int, complete: Bool, replanning: Bool, error: String?) throws -> Int {
        try locked {
            try database.transaction {
                var problems = 0
                let pathQuery = try statement("SELECT path FROM inputs WHERE file_index = ?").bind(.int(fileIndex))
                let path = try pathQuery.firstRow { $0.text(0) }.flatMap { $0 } ?? "input \(fileIndex)"
                for var item in items {
                    if replanning, try keepUnchanged(item) { continue }
                    if item.problem == nil, let first = try firstOccurrence(of: item.customID, except: item) {
                        item.problem = InputProblem(code: InputProblem.codes.duplicateKey,
                                                    message: "\(path):\(item.line): duplicate custom_id \"\(item.customID)\" (first at \(first))")
                    }
                    if item.problem != nil { problems += 1 }
                    try insertOrReplace(item)
                }
                try statement("UPDATE inputs SET planned_lines = ?, planning_complete = ?, planning_error = ? WHERE file_index = ?")
                    .bind(.int(throughLine), .int(complete ? 1 : 0), .optional(error), .int(fileIndex)).run()
                return problems
            }
        }
    }

    /// True when the same line with the same content is already stored (its progress is kept).
    private func keepUnchanged(_ item: PlannedItem) throws -> Bool {
        let query = try statement("SELECT line_hash FROM items WHERE file_index = ? AND line = ?").bind(.int(item.fileIndex), .int(item.line))
        return try query.firstRow { UInt64(bitPattern: $0.int64(0)) == item.lineHash } ?? false
    }

    private func firstOccurrence(of key: String, except item: PlannedItem) throws -> String? {
        let query = try statement("""
            SELECT inputs.path, items.line FROM items JOIN inputs USING (file_index)
            WHERE items.unique_key = ? AND NOT (items.file_index = ? AND items.line = ?)
            """).bind(.text(key), .int(item.fileIndex), .int(item.line))
        return try query.firstRow { "\($0.text(0) ?? "?"):\($0.int(1))" }
    }

    private func insertOrReplace(_ item: PlannedItem) throws {
        let state: ItemState = item.problem == nil ? .pending : .failed
        try statement("""
            INSERT INTO items (file_index, line, custom_id, unique_key, line_hash, state, endpoint, model, body, overrides, metadata, error_code, error_message)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (file_index, line) DO UPDATE SET
                custom_id = excluded.custom_id, unique_key = excluded.unique_key, line_hash = excluded.line_hash,
                state = excluded.state, endpoint = excluded.endpoint, model = excluded.model, body = excluded.body,
                overrides = excluded.overrides, metadata = excluded.metadata, error_code = excluded.error_code,
                error_message = excluded.error_message, attempts = 0, retries = 0, fallbacks_used = 0, http_status = NULL,
                answered_model = NULL, provider = NULL, request_id = NULL, prompt_tokens = NULL, completion_tokens = NULL,
                total_tokens = NULL, latency_ms = NULL, headers_sent = NULL, response = NULL, finished_at = NULL
            """).bind(
                .int(item.fileIndex), .int(item.line), .text(item.customID),
                item.problem?.code == InputProblem.codes.duplicateKey ? .null : .text(item.customID),
                .integer(Int64(bitPattern: item.lineHash)), .int(state.rawValue), .text(item.endpoint), .optional(item.model),
                .optional(item.problem == nil ? item.body : nil), .optional(item.overrides), .optional(item.metadata),
                .optional(item.problem?.code), .optional(item.problem?.message)
            ).run()
    }

    public func removeItems(fileIndex: Int, afterLine: Int) throws {
        try locked {
            try statement("DELETE FROM items WHERE file_index = ? AND line > ?").bind(.int(fileIndex), .int(afterLine)).run()
        }
    }

    // MARK: - Dispatch

    public func prepareForRun(retryFailed: Bool) throws -> (recoveredInFlight: Int, requeuedFailed: Int) {
        try locked {
            try database.transaction {
                try statement("UPDATE items SET state = 0 WHERE state = 1").bind().run()
                let recovered = database.changes
                var requeued = 0
                if retryFailed {
                    // Bad input lines stay failed: sending them again cannot help.
                    try statement("UPDATE items SET state = 0 WHERE state = 3 AND body IS NOT NULL").bind().run()
                    requeued = database.changes
                }
                return (recovered, requeued)
            }
        }
    }

    public func pendingItems(after: Int64, limit: Int) throws -> [DispatchItem] {
        try locked {
            let query = try statement("""
                SELECT id, custom_id, endpoint, model, body, overrides, attempts FROM items
                WHERE state = 0 AND id > ? ORDER BY id LIMIT ?
                """).bind(.integer(after), .int(limit))
            var items: [DispatchItem] = []
            items.reserveCapacity(limit)
            let decoder = JSONDecoder()
            while try query.step() {
                let overrides = query.blob(5).flatMap { try? decoder.decode(LineOverrides.self, from: Data($0)) }
                items.append(DispatchItem(id: query.int64(0), customID: query.text(1) ?? "", endpoint: query.text(2) ?? "",
                                          model: query.text(3), body: query.blob(4) ?? [], overrides: overrides,
                                          previousAttempts: query.int(6)))
            }
            return items
        }
    }

    public func apply(_ events: [CheckpointEvent]) throws {
        guard !events.isEmpty else { return }
        try locked {
            try database.transaction {
                let started = try statement("UPDATE items SET state = 1 WHERE id = ? AND state = 0")
                let released = try statement("UPDATE items SET state = 0, attempts = ? WHERE id = ? AND state = 1")
                let finished = try statement("""
                    UPDATE items SET state = ?, attempts = ?, retries = ?, fallbacks_used = ?, http_status = ?, error_code = ?,
                        error_message = ?, answered_model = ?, provider = ?, request_id = ?, prompt_tokens = ?,
                        completion_tokens = ?, total_tokens = ?, latency_ms = ?, headers_sent = ?, response = ?, finished_at = ?
                    WHERE id = ?
                    """)
                let now = Date().timeIntervalSince1970
                for event in events {
                    switch event {
                    case .started(let id):
                        try started.bind(.integer(id)).run()
                    case .released(let id, let attempts):
                        try released.bind(.int(attempts), .integer(id)).run()
                    case .finished(let outcome):
                        try finished.bind(
                            .int(outcome.succeeded ? ItemState.succeeded.rawValue : ItemState.failed.rawValue),
                            .int(outcome.attempts), .int(outcome.retries), .int(outcome.fallbacksUsed), .optional(outcome.httpStatus),
                            .optional(outcome.errorCode), .optional(outcome.errorMessage), .optional(outcome.answeredModel),
                            .optional(outcome.provider), .optional(outcome.requestID), .optional(outcome.promptTokens),
                            .optional(outcome.completionTokens), .optional(outcome.totalTokens), .optional(outcome.latencyMilliseconds),
                            .blob(outcome.headersSent), .optional(outcome.response), .real(now), .integer(outcome.id)
                        ).run()
                    }
                }
            }
        }
    }

    // MARK: - Reporting

    public func counts() throws -> ItemCounts {
        try locked {
            var counts = ItemCounts()
            let byState = try statement("SELECT state, count(*), sum(attempts), sum(prompt_tokens), sum(completion_tokens) FROM items GROUP BY state").bind()
            while try byState.step() {
                let count = byState.int(1)
                counts.total += count
                counts.attempts += byState.int(2)
                counts.promptTokens += byState.int(3)
                counts.completionTokens += byState.int(4)
                switch ItemState(rawValue: byState.int(0)) {
                case .pending: counts.pending = count
                case .inFlight: counts.inFlight = count
                case .succeeded: counts.succeeded = count
                case .failed: counts.failed = count
                case nil: break
                }
            }
            let invalid = try statement("SELECT count(*) FROM items WHERE state = 3 AND body IS NULL").bind()
            counts.invalidInput = try invalid.firstRow { $0.int(0) } ?? 0
            return counts
        }
    }

    public func results(after cursor: ResultCursor, limit: Int) throws -> [ResultRow] {
        try locked {
            // Read a page and reset: a statement left open on a row would pin a read transaction (see firstRow).
            let query = try statement("""
                SELECT id, custom_id, state, http_status, request_id, error_code, error_message, response, metadata, file_index, line
                FROM items WHERE (file_index, line) > (?, ?) ORDER BY file_index, line LIMIT ?
                """).bind(.int(cursor.fileIndex), .int(cursor.line), .int(limit))
            defer { query.reset() }
            var rows: [ResultRow] = []
            while try query.step() {
                rows.append(ResultRow(id: query.int64(0), customID: query.text(1) ?? "", state: ItemState(rawValue: query.int(2)) ?? .pending,
                                      httpStatus: query.optionalInt(3), requestID: query.text(4), errorCode: query.text(5),
                                      errorMessage: query.text(6), response: query.blob(7), metadata: query.blob(8),
                                      position: ResultCursor(fileIndex: query.int(9), line: query.int(10))))
            }
            return rows
        }
    }

    public func inputProblems(limit: Int) throws -> [InputProblemRecord] {
        try locked {
            let query = try statement("""
                SELECT inputs.path, items.line, items.error_code, items.error_message FROM items JOIN inputs USING (file_index)
                WHERE items.state = 3 AND items.body IS NULL
                ORDER BY items.file_index, items.line LIMIT ?
                """).bind(.int(limit))
            var problems: [InputProblemRecord] = []
            while try query.step() {
                problems.append(InputProblemRecord(file: query.text(0) ?? "", line: query.int(1), code: query.text(2) ?? "", message: query.text(3) ?? ""))
            }
            return problems
        }
    }

    /// Closes the connection; the store must not be used afterwards.
    public func close() {
        locked {
            statements.removeAll()
            database.close()
        }
    }

    /// `PRAGMA integrity_check`, for tests and `sluice` diagnostics.
    public func integrityCheck() throws -> String {
        try locked {
            let query = try database.prepare("PRAGMA integrity_check")
            return try query.firstRow { $0.text(0) ?? "" } ?? ""
        }
    }
}
