import CSQLite

/// The checkpoint's tables, created on first use and migrated from earlier
/// versions in one transaction (a crash mid-migration leaves the old version).
enum SQLiteSchema {
    static let version = SQLiteCheckpointStore.schemaVersion

    static let inputs = """
        CREATE TABLE IF NOT EXISTS inputs (
            file_index INTEGER PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, checksum INTEGER NOT NULL,
            planned_lines INTEGER NOT NULL DEFAULT 0, planning_complete INTEGER NOT NULL DEFAULT 0, planning_error TEXT);
        """

    /// `headers_id` points into `header_sets`, which holds each distinct set of sent headers once (most jobs
    /// send the same set to every item). `bad_line` marks lines that could not become a request (duplicates
    /// included); keys are unique among the others (a partial index), so a bad line never blocks a good one's key.
    static func items(_ name: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(name) (
            id INTEGER PRIMARY KEY,
            file_index INTEGER NOT NULL, line INTEGER NOT NULL,
            custom_id TEXT NOT NULL, line_hash INTEGER NOT NULL,
            state INTEGER NOT NULL, bad_line INTEGER NOT NULL DEFAULT 0,
            endpoint TEXT NOT NULL, model TEXT, body BLOB, overrides BLOB, metadata BLOB,
            attempts INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0, fallbacks_used INTEGER NOT NULL DEFAULT 0,
            http_status INTEGER, error_code TEXT, error_message TEXT,
            answered_model TEXT, provider TEXT, request_id TEXT,
            prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER, cached_tokens INTEGER, latency_ms REAL,
            cache_hit INTEGER, headers_id INTEGER, response BLOB, finished_at REAL,
            request_digest INTEGER, answer_source TEXT, first_token_ms REAL,
            route INTEGER NOT NULL DEFAULT 0, batch_ref INTEGER,
            UNIQUE (file_index, line));
        """
    }

    /// The bodies' compression dictionaries (one per kind), the distinct sets of sent headers, and the
    /// per-minute history (its figures as JSON, see `HistoryEntry`).
    static let shared = """
        CREATE TABLE IF NOT EXISTS dictionaries (kind TEXT PRIMARY KEY, bytes BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS header_sets (id INTEGER PRIMARY KEY, json BLOB NOT NULL UNIQUE);
        CREATE TABLE IF NOT EXISTS history (minute INTEGER PRIMARY KEY, figures TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS batches (
            id INTEGER PRIMARY KEY, file_id TEXT NOT NULL, batch_id TEXT, endpoint TEXT NOT NULL, state TEXT NOT NULL,
            items INTEGER NOT NULL, created_at REAL NOT NULL, finished_at REAL, output_file_id TEXT, error_file_id TEXT, note TEXT);
        """

    /// Items by state only where a query looks for them (pending to lease, leased to recover, failed to retry),
    /// in input order: succeeded items, most of a finished job, are in no state index (schema 5; it was
    /// `items_by_state` over every item, 16 bytes each). `items_pending_live`: in batch modes the live dispatcher
    /// looks for the few lines routed live among a million pending batch lines; through `items_pending` that
    /// was a walk over all of them (and their rows) every time, most of the CPU of submitting a large job.
    static let indexes = """
        DROP INDEX IF EXISTS items_by_state;
        CREATE INDEX IF NOT EXISTS items_pending ON items (file_index, line) WHERE state = 0;
        CREATE INDEX IF NOT EXISTS items_pending_live ON items (file_index, line) WHERE state = 0 AND route = 1;
        CREATE INDEX IF NOT EXISTS items_leased ON items (file_index, line) WHERE state = 1;
        CREATE INDEX IF NOT EXISTS items_failed ON items (file_index, line) WHERE state = 3;
        CREATE UNIQUE INDEX IF NOT EXISTS items_by_key ON items (custom_id) WHERE bad_line = 0;
        DROP INDEX IF EXISTS items_by_request;
        CREATE TABLE IF NOT EXISTS answers_by_request (digest INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (digest, id)) WITHOUT ROWID;
        """

    /// Every answer a request digest finds, as schema 6 keeps them apart (`answers_by_request`): after a
    /// migration, and after a run that ended without writing its last group (see `AnswerIndex`).
    static let fillAnswers = """
        INSERT OR IGNORE INTO answers_by_request (digest, id)
        SELECT request_digest, id FROM items WHERE request_digest IS NOT NULL AND state = 2 ORDER BY request_digest;
        """

    static let current = """
        CREATE TABLE IF NOT EXISTS job (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        \(inputs)
        \(shared)
        \(items("items"))
        \(indexes)
        """

    /// Version 1 kept every item's sent headers in full and a second copy of its key (`unique_key`).
    /// SQLite cannot drop a UNIQUE column, so the items table is rebuilt.
    static let fromVersion1 = """
        \(shared)
        INSERT OR IGNORE INTO header_sets (json) SELECT DISTINCT headers_sent FROM items WHERE headers_sent IS NOT NULL;
        \(items("items_v2"))
        INSERT INTO items_v2 (id, file_index, line, custom_id, line_hash, state, bad_line, endpoint, model, body, overrides, metadata,
            attempts, retries, fallbacks_used, http_status, error_code, error_message, answered_model, provider, request_id,
            prompt_tokens, completion_tokens, total_tokens, latency_ms, headers_id, response, finished_at)
        SELECT id, file_index, line, custom_id, line_hash, state, state = 3 AND body IS NULL, endpoint, model, body, overrides, metadata,
            attempts, retries, fallbacks_used, http_status, error_code, error_message, answered_model, provider, request_id,
            prompt_tokens, completion_tokens, total_tokens, latency_ms,
            (SELECT header_sets.id FROM header_sets WHERE header_sets.json = items.headers_sent), response, finished_at
        FROM items;
        DROP TABLE items;
        ALTER TABLE items_v2 RENAME TO items;
        \(indexes)
        """

    /// Version 2 had no request digest (dedup and --reuse find answers by it), answer source or time to first token.
    static let fromVersion2 = """
        ALTER TABLE items ADD COLUMN request_digest INTEGER;
        ALTER TABLE items ADD COLUMN answer_source TEXT;
        ALTER TABLE items ADD COLUMN first_token_ms REAL;
        \(fromVersion3)
        """

    /// Version 3 had no route (live or provider batch) and no batch bookkeeping.
    static let fromVersion3 = """
        ALTER TABLE items ADD COLUMN route INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE items ADD COLUMN batch_ref INTEGER;
        \(shared)
        \(fromVersion5)
        """

    /// Version 4 indexed every item by state, and spelled out every item's endpoint (now "" for the common one).
    static let fromVersion4 = fromVersion5

    /// Version 5 indexed the items by request digest: one random page written per answer (see `AnswerIndex`).
    static let fromVersion5 = """
        \(indexes)
        \(fillAnswers)
        """

    /// Versions a reader (`status`, `export`...) reads without migrating: 4's and 5's rows read the same (their
    /// answers are found by the items' own digest index).
    static let readable: Set<String> = ["4", "5", String(version)]

    static func createOrMigrate(_ database: SQLiteDatabase) throws {
        try database.transaction {
            try database.execute("CREATE TABLE IF NOT EXISTS job (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            let stored = try database.prepare("SELECT value FROM job WHERE key = 'schema_version'").firstRow { $0.text(0) } ?? nil
            if stored == "1" {
                try database.execute(fromVersion1)
            } else if stored == "2" {
                try database.execute(fromVersion2)
            } else if stored == "3" {
                try database.execute(fromVersion3)
            } else if stored == "4" {
                try database.execute(fromVersion4)
            } else if stored == "5" {
                try database.execute(fromVersion5)
            } else if stored == nil || stored == String(version) {
                try database.execute(current)
            } else {
                return  // newer: refused by checkVersion without touching it
            }
            try database.execute("INSERT INTO job (key, value) VALUES ('schema_version', '\(version)') ON CONFLICT(key) DO UPDATE SET value = excluded.value")
        }
    }

    static func checkVersion(_ database: SQLiteDatabase) throws {
        let stored = try database.prepare("SELECT value FROM job WHERE key = 'schema_version'").firstRow { $0.text(0) } ?? nil
        guard let stored, readable.contains(stored) else {
            throw SluiceError(
                .checkpoint,
                "\(database.path): checkpoint schema \(stored ?? "unknown") is not supported by this sluice (it reads \(version)); "
                    + "a newer sluice wrote it, or it was never migrated")
        }
    }
}
