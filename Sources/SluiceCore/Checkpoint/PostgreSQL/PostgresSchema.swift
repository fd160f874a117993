/// The job's tables in its own schema, created and migrated by sluice under a
/// transaction-scoped advisory lock, so workers starting together do not race.
///
/// Versions are applied in order from what the job table says; a schema newer
/// than this sluice knows is refused untouched.
enum PostgresSchema {
    static let version = 1

    /// Version 1. Differences from the SQLite checkpoint, and why:
    /// - `lease_owner` / `lease_until`: many workers lease; a lease expires unless its owner's heartbeat extends it,
    ///   and an outcome is applied only while `lease_owner` is still the recording worker (fencing). The owner
    ///   stays on a finished item: it says who answered it.
    /// - bodies are stored as they are (TOAST compresses large values); the SQLite store's trained dictionaries
    ///   would need every worker to agree on one while they all write.
    /// - an item's id is its position (`file_index << 32 | line`), not a sequence: whichever worker plans a
    ///   line (a planner taking over plans some twice) gives it the same id, so result lines (`batch_req_<id>`)
    ///   do not depend on who planned (for a one-file job they equal the SQLite store's).
    /// - `workers`: one row per worker process, refreshed by its heartbeat (`sluice workers`, the shared rate budget).
    static func migrations(_ schema: String) -> [Int: String] {
        [
            1: """
            CREATE TABLE IF NOT EXISTS \(schema).inputs (
                file_index BIGINT PRIMARY KEY, path TEXT NOT NULL, size BIGINT NOT NULL, checksum BIGINT NOT NULL,
                planned_lines BIGINT NOT NULL DEFAULT 0, planning_complete BOOLEAN NOT NULL DEFAULT false, planning_error TEXT);
            CREATE TABLE IF NOT EXISTS \(schema).items (
                id BIGINT PRIMARY KEY,
                file_index BIGINT NOT NULL, line BIGINT NOT NULL, custom_id TEXT NOT NULL, line_hash BIGINT NOT NULL,
                state SMALLINT NOT NULL, bad_line BOOLEAN NOT NULL DEFAULT false,
                endpoint TEXT NOT NULL, model TEXT, body BYTEA, overrides BYTEA, metadata BYTEA,
                attempts BIGINT NOT NULL DEFAULT 0, retries BIGINT NOT NULL DEFAULT 0, fallbacks_used BIGINT NOT NULL DEFAULT 0,
                http_status BIGINT, error_code TEXT, error_message TEXT, answered_model TEXT, provider TEXT, request_id TEXT,
                prompt_tokens BIGINT, completion_tokens BIGINT, total_tokens BIGINT, cached_tokens BIGINT, latency_ms DOUBLE PRECISION,
                cache_hit BOOLEAN, headers_id BIGINT, response BYTEA, finished_at DOUBLE PRECISION,
                request_digest BIGINT, answer_source TEXT, first_token_ms DOUBLE PRECISION,
                route SMALLINT NOT NULL DEFAULT 0, batch_ref BIGINT,
                lease_owner TEXT, lease_until TIMESTAMPTZ,
                UNIQUE (file_index, line));
            CREATE INDEX IF NOT EXISTS items_pending ON \(schema).items (file_index, line) WHERE state = 0;
            CREATE INDEX IF NOT EXISTS items_leased ON \(schema).items (lease_until) WHERE state = 1;
            CREATE INDEX IF NOT EXISTS items_owner ON \(schema).items (lease_owner) WHERE state = 1;
            CREATE UNIQUE INDEX IF NOT EXISTS items_by_key ON \(schema).items (custom_id) WHERE NOT bad_line;
            CREATE INDEX IF NOT EXISTS items_by_request ON \(schema).items (request_digest) WHERE request_digest IS NOT NULL;
            CREATE TABLE IF NOT EXISTS \(schema).header_sets (id BIGSERIAL PRIMARY KEY, json BYTEA NOT NULL UNIQUE);
            CREATE TABLE IF NOT EXISTS \(schema).history (minute BIGINT PRIMARY KEY, figures TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS \(schema).batches (
                id BIGSERIAL PRIMARY KEY, file_id TEXT NOT NULL, batch_id TEXT, endpoint TEXT NOT NULL, state TEXT NOT NULL,
                items BIGINT NOT NULL, created_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION, note TEXT);
            CREATE TABLE IF NOT EXISTS \(schema).workers (
                id TEXT PRIMARY KEY, host TEXT NOT NULL, pid BIGINT NOT NULL, started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), stopped_at TIMESTAMPTZ,
                sent BIGINT NOT NULL DEFAULT 0, finished BIGINT NOT NULL DEFAULT 0, late_answers BIGINT NOT NULL DEFAULT 0,
                taken_over BIGINT NOT NULL DEFAULT 0, requests_per_second DOUBLE PRECISION NOT NULL DEFAULT 0,
                planning BOOLEAN NOT NULL DEFAULT false);
            """
        ]
    }
}
