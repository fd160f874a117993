import CSQLite
import Foundation

/// The embedded checkpoint: one SQLite file per job, in WAL mode with
/// `synchronous=NORMAL`, so a committed result survives a `kill -9` of sluice.
///
/// An actor on a thread of its own: every call hops onto that thread, so the
/// blocking SQLite calls never hold one of the cooperative pool's threads, and
/// the one connection needs no lock. Group commits (many outcomes per
/// transaction) are what make it fast. The process that runs a job holds an
/// `flock` on `<checkpoint>.lock` (see `JobLock`): SQLite's single owner, whose
/// leases never need to expire while it lives.
///
/// ```swift
/// let store = try await SQLiteCheckpointStore.open(path: "out.results.jsonl.sluice.db", role: .runner)
/// let page = try await store.lease(limit: 512)
/// ```
package actor SQLiteCheckpointStore: CheckpointStore {
    /// 2: answers compressed against a trained dictionary, sent headers interned, no separate key column.
    /// 3: the request digest (dedup, --reuse), where a shared answer came from, the time to the first streamed token.
    /// 4: each item's route (live or provider batch) and the batches (file id, batch id, state, which items).
    /// 5: items by state only while pending, leased or failed (partial indexes); the common endpoint stored as "".
    /// 6: answers found by request digest through `answers_by_request`, written in sorted groups (`AnswerIndex`),
    /// not through an index on the items.
    package static let schemaVersion = 6

    /// The endpoint most items have, stored as "" (20 bytes less per item); any other is stored as it is.
    static let commonEndpoint = "/v1/chat/completions"
    static func storedEndpoint(_ endpoint: String) -> String { endpoint == commonEndpoint ? "" : endpoint }
    static func endpoint(stored: String?) -> String {
        guard let stored, !stored.isEmpty else { return commonEndpoint }
        return stored
    }
    package nonisolated let location: String
    package nonisolated var unownedExecutor: UnownedSerialExecutor { thread.executor }

    private let thread = DedicatedThread()
    let role: CheckpointRole
    var database: SQLiteDatabase?
    private var lock: JobLock?
    private var statements: [String: SQLiteStatement] = [:]
    /// Answers and request bodies, each compressed against a dictionary trained on the job's own.
    var answers = BodyCodec(dictionary: nil)
    var requests = BodyCodec(dictionary: nil)
    /// Header sets already stored, by their JSON, so each distinct set is stored once.
    var headerSets: [[UInt8]: Int64] = [:]
    /// Answers committed and not yet in `answers_by_request`; nil for a checkpoint of schema 4 or 5 (read only).
    var answerIndex: AnswerIndex?
    /// A reader has looked for the answers its table does not have yet (see `candidates(forRequest:)`).
    var readerLoadedPending = false

    private init(path: String, role: CheckpointRole) {
        location = path
        self.role = role
    }

    /// Opens (and for a runner, creates) the checkpoint. A runner takes the job
    /// lock first; a reader opens read-only and takes no lock, so it works while
    /// a job runs.
    package static func open(path: String, role: CheckpointRole) async throws -> SQLiteCheckpointStore {
        let store = SQLiteCheckpointStore(path: path, role: role)
        do {
            try await store.setUp()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private func setUp() throws {
        if role == .runner { lock = try JobLock(checkpointPath: location) }
        if role != .runner, access(location, F_OK) != 0 {
            throw SluiceError(.checkpoint, "\(location): no checkpoint there (\(String(cString: strerror(errno))))")
        }
        let database = try SQLiteDatabase(path: location, readOnly: role == .reader)
        self.database = database
        if role != .runner {
            guard try database.has("items") else {
                throw SluiceError(.checkpoint, "\(location): not a sluice checkpoint")
            }
        } else {
            try database.execute("PRAGMA journal_mode=WAL")
            try database.execute("PRAGMA synchronous=NORMAL")
            try SQLiteSchema.createOrMigrate(database)
        }
        try SQLiteSchema.checkVersion(database)
        try openAnswerIndex()
        let dictionary = try statement("SELECT bytes FROM dictionaries WHERE kind = ?")
        answers = BodyCodec(dictionary: try dictionary.bind(.text("answers")).firstRow { $0.blob(0) } ?? nil)
        requests = BodyCodec(dictionary: try dictionary.bind(.text("requests")).firstRow { $0.blob(0) } ?? nil)
    }

    /// Runs `body` in one transaction; what the codecs proposed in it is saved with it and used only once it
    /// has committed, and the header-set cache forgets ids a rolled-back transaction gave out.
    func committing<T>(_ body: () throws -> T) throws -> T {
        do {
            let result = try db().transaction {
                let result = try body()
                for (codec, kind) in [(answers, "answers"), (requests, "requests")] {
                    guard let dictionary = codec.proposedDictionary else { continue }
                    try statement("INSERT INTO dictionaries (kind, bytes) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET bytes = excluded.bytes")
                        .bind(.text(kind), .blob(dictionary)).run()
                }
                return result
            }
            answers.confirmDictionary()
            requests.confirmDictionary()
            return result
        } catch {
            answers.discardProposal()
            requests.discardProposal()
            headerSets.removeAll()
            throw error
        }
    }

    func db() throws -> SQLiteDatabase {
        guard let database else { throw SluiceError(.checkpoint, "\(location): the checkpoint is closed") }
        return database
    }

    /// Prepared once per connection and reused.
    func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] { return cached }
        let prepared = try db().prepare(sql)
        statements[sql] = prepared
        return prepared
    }

    // MARK: - Job

    package func jobSettings() throws -> String? { try value(forKey: "settings") }
    package func saveJobSettings(_ json: String) throws { try setValue(json, forKey: "settings") }

    package func value(forKey key: String) throws -> String? {
        try statement("SELECT value FROM job WHERE key = ?").bind(.text(key)).firstRow { $0.text(0) } ?? nil
    }

    package func setValue(_ value: String, forKey key: String) throws {
        try statement("INSERT INTO job (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(.text(key), .text(value)).run()
    }

    // MARK: - Inputs

    package func inputs() throws -> [InputRecord] {
        let query = try statement("SELECT file_index, path, size, checksum, planned_lines, planning_complete, planning_error FROM inputs ORDER BY file_index")
            .bind()
        defer { query.reset() }
        var records: [InputRecord] = []
        while try query.step() {
            records.append(
                InputRecord(
                    fileIndex: query.int(0), path: query.text(1) ?? "",
                    fingerprint: InputFingerprint(size: query.int64(2), checksum: UInt32(truncatingIfNeeded: query.int64(3))),
                    plannedLines: query.int(4), planningComplete: query.int(5) != 0, planningError: query.text(6)))
        }
        return records
    }

    package func saveInputs(_ inputs: [InputRecord]) throws {
        try db().transaction {
            try db().execute("DELETE FROM inputs")
            let insert = try statement(
                "INSERT INTO inputs (file_index, path, size, checksum, planned_lines, planning_complete, planning_error) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for input in inputs {
                try insert.bind(
                    .int(input.fileIndex), .text(input.path), .integer(input.fingerprint.size),
                    .integer(Int64(input.fingerprint.checksum)), .int(input.plannedLines),
                    .int(input.planningComplete ? 1 : 0), .optional(input.planningError)
                ).run()
            }
        }
    }

    // MARK: - Lifecycle

    package func destroy() throws {
        let path = location
        closeNow()
        let besideTheRealFile = JobLock.resolved(path)
        unlink(path)
        for suffix in ["-wal", "-shm", JobLock.suffix] { unlink(besideTheRealFile + suffix) }
    }

    /// Not isolated: it must not wait for its own thread to end while running on it.
    package nonisolated func close() async {
        await writeAnswerIndexBeforeClosing()
        await closeNow()
        await thread.shutdown()
    }

    private func closeNow() {
        statements.removeAll()
        database?.close()
        database = nil
        lock = nil
    }

    /// `PRAGMA integrity_check`, for tests and diagnostics.
    package func integrityCheck() throws -> String {
        try db().prepare("PRAGMA integrity_check").firstRow { $0.text(0) ?? "" } ?? ""
    }
}
