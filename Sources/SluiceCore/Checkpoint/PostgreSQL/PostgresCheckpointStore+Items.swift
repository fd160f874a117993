import Foundation
import NIOCore
import PostgresNIO

/// Planning, leasing and recording outcomes: the item lifecycle, with leases that expire and fenced outcomes.
extension PostgresCheckpointStore {
    /// Rows travel to the server as one JSON array (`jsonb_to_recordset`): one round trip per group.
    static func json(_ rows: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    private struct PlannedRow: Encodable {
        var fileIndex: Int, line: Int, customId: String, lineHash: Int64, state: Int, badLine: Bool, endpoint: String
        var model: String?, body: Data?, overrides: Data?, metadata: Data?, errorCode: String?, errorMessage: String?, route: Int
    }

    // MARK: - Planning

    @discardableResult
    package func insertPlanned(
        _ items: [PlannedItem], fileIndex: Int, throughLine: Int, complete: Bool, replanning: Bool, error: String?
    ) async throws
        -> Int
    {
        let (table, inputs, logger) = (table("items"), self.table("inputs"), logger)
        let keys = Array(Set(items.filter { $0.problem == nil }.map(\.customID)))
        let lines = items.map(\.line)
        return try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                let path =
                    try await connection.rows("SELECT path FROM \(unescaped: inputs) WHERE file_index = \(fileIndex)", logger: logger)
                    .first?.decode(String.self) ?? "input \(fileIndex)"
                var unchanged: [Int: Int64] = [:]
                if replanning {
                    for row in try await connection.rows(
                        "SELECT line, line_hash FROM \(unescaped: table) WHERE file_index = \(fileIndex) AND line = ANY(\(lines))", logger: logger
                    ) {
                        let (line, hash) = try row.decode((Int, Int64).self)
                        unchanged[line] = hash
                    }
                }
                // Where each key is already taken, by position; a line is never a duplicate of itself.
                var taken: [String: [(fileIndex: Int, line: Int, at: String)]] = [:]
                for row in try await connection.rows(
                    """
                    SELECT i.custom_id, p.path, i.line, i.file_index FROM \(unescaped: table) i JOIN \(unescaped: inputs) p USING (file_index)
                    WHERE i.custom_id = ANY(\(keys)) AND NOT i.bad_line
                    """, logger: logger
                ) {
                    let (key, path, line, file) = try row.decode((String, String, Int, Int).self)
                    taken[key, default: []].append((file, line, "\(path):\(line)"))
                }
                var rows: [PlannedRow] = []
                var problems = 0
                for var item in items {
                    if replanning, unchanged[item.line] == Int64(bitPattern: item.lineHash) { continue }
                    if item.problem == nil,
                        let first = taken[item.customID]?.first(where: { !($0.fileIndex == item.fileIndex && $0.line == item.line) })
                    {
                        item.problem = InputProblem(
                            code: .duplicateKey, message: "\(path):\(item.line): duplicate custom_id \"\(item.customID)\" (first at \(first.at))")
                    }
                    if item.problem != nil {
                        problems += 1
                    } else if taken[item.customID] == nil {
                        taken[item.customID] = [(item.fileIndex, item.line, "\(path):\(item.line)")]
                    }
                    rows.append(
                        PlannedRow(
                            fileIndex: item.fileIndex, line: item.line, customId: item.customID, lineHash: Int64(bitPattern: item.lineHash),
                            state: item.problem == nil ? ItemState.pending.rawValue : ItemState.failed.rawValue, badLine: item.problem != nil,
                            endpoint: item.endpoint, model: item.model, body: item.problem == nil ? Data(item.body) : nil,
                            overrides: item.overrides.map { Data($0) }, metadata: item.metadata.map { Data($0) },
                            errorCode: item.problem?.code.rawValue, errorMessage: item.problem?.message, route: item.live ? 1 : 0))
                }
                if !rows.isEmpty {
                    // Another worker planning the same lines (a planner taking over) finds them stored: nothing doubles.
                    let onConflict =
                        replanning
                        ? """
                        DO UPDATE SET custom_id = excluded.custom_id, line_hash = excluded.line_hash, bad_line = excluded.bad_line,
                            state = excluded.state, endpoint = excluded.endpoint, model = excluded.model, body = excluded.body,
                            overrides = excluded.overrides, metadata = excluded.metadata, error_code = excluded.error_code,
                            error_message = excluded.error_message, attempts = 0, retries = 0, fallbacks_used = 0, http_status = NULL,
                            answered_model = NULL, provider = NULL, request_id = NULL, prompt_tokens = NULL, completion_tokens = NULL,
                            total_tokens = NULL, cached_tokens = NULL, latency_ms = NULL, cache_hit = NULL, headers_id = NULL, response = NULL,
                            finished_at = NULL, request_digest = NULL, answer_source = NULL, first_token_ms = NULL, route = excluded.route,
                            batch_ref = NULL, lease_owner = NULL, lease_until = NULL
                        """ : "DO NOTHING"
                    try await connection.rows(
                        """
                        INSERT INTO \(unescaped: table) (id, file_index, line, custom_id, line_hash, state, bad_line, endpoint, model, body, overrides,
                            metadata, error_code, error_message, route)
                        SELECT file_index * 4294967296 + line, file_index, line, custom_id, line_hash, state, bad_line, endpoint, model, decode(body, 'base64'),
                            decode(overrides, 'base64'), decode(metadata, 'base64'), error_code, error_message, route
                        FROM jsonb_to_recordset(\(try Self.json(rows))::jsonb) AS u(file_index BIGINT, line BIGINT, custom_id TEXT, line_hash BIGINT,
                            state SMALLINT, bad_line BOOLEAN, endpoint TEXT, model TEXT, body TEXT, overrides TEXT, metadata TEXT, error_code TEXT,
                            error_message TEXT, route SMALLINT)
                        ORDER BY file_index, line
                        ON CONFLICT (file_index, line) \(unescaped: onConflict)
                        """, logger: logger)
                }
                try await connection.rows(
                    """
                    UPDATE \(unescaped: inputs) SET planned_lines = greatest(planned_lines, \(throughLine)),
                        planning_complete = planning_complete OR \(complete), planning_error = coalesce(\(error), planning_error)
                    WHERE file_index = \(fileIndex)
                    """, logger: logger)
                return problems
            }
        }
    }

    package func removeItems(fileIndex: Int, afterLine: Int) async throws {
        let table = table("items")
        _ = try await database { client in
            try await client.rows("DELETE FROM \(unescaped: table) WHERE file_index = \(fileIndex) AND line > \(afterLine)")
        }
    }

    // MARK: - Dispatch

    /// Leases whose owner is gone: expired, or this worker's own from before (it is only starting), or held by a
    /// finished provider batch.
    package func prepareForRun(retryFailed: Bool) async throws -> RunPreparation {
        let (items, batches, worker, logger) = (table("items"), table("batches"), workerID, logger)
        held.removeAll()
        leaseSetAt.withLock { $0.removeAll() }
        return try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                let recovered =
                    try await connection.rows(
                        """
                        WITH freed AS (
                            UPDATE \(unescaped: items) SET state = 0, batch_ref = NULL, lease_owner = NULL, lease_until = NULL
                            WHERE state = 1 AND (
                                (batch_ref IS NULL AND (lease_owner IS NULL OR lease_owner = \(worker) OR lease_until < now()))
                                OR batch_ref IN (SELECT id FROM \(unescaped: batches) WHERE state = 'done'))
                            RETURNING 1)
                        SELECT count(*) FROM freed
                        """, logger: logger
                    ).first?.decode(Int.self) ?? 0
                var requeued = 0
                if retryFailed {
                    requeued =
                        try await connection.rows(
                            """
                            WITH again AS (UPDATE \(unescaped: items) SET state = 0, lease_owner = NULL WHERE state = 3 AND NOT bad_line RETURNING 1)
                            SELECT count(*) FROM again
                            """, logger: logger
                        ).first?.decode(Int.self) ?? 0
                }
                return RunPreparation(recoveredInFlight: recovered, requeuedFailed: requeued)
            }
        }
    }

    /// Expired leases first (another worker died holding them), then pending items, both in input order. Never an
    /// item this worker still holds (its own lease expired while it was cut off): that would put it in memory twice,
    /// and one copy could be sent after the other's outcome was stored; its heartbeat renews it, or another takes it.
    package func lease(limit: Int, route: LeaseRoute) async throws -> [DispatchItem] {
        let (items, workers, worker, seconds) = (table("items"), table("workers"), workerID, leaseSeconds)
        let (mine, start) = (Array(held), ContinuousClock.now)
        let filter =
            switch route {
            case .all: ""
            case .live: "AND route = 1"
            case .batch: "AND route = 0"
            }
        let leased: [(DispatchItem, Int, Int)] = try await database { client in
            var leased: [(DispatchItem, Int, Int)] = []
            for (condition, takeover) in [("state = 1 AND batch_ref IS NULL AND lease_until < now()", true), ("state = 0", false)] {
                let wanted = limit - leased.count
                guard wanted > 0 else { break }
                let rows = try await client.rows(
                    """
                    WITH picked AS (
                        SELECT id FROM \(unescaped: items) WHERE \(unescaped: condition) \(unescaped: filter) AND NOT id = ANY(\(mine))
                        ORDER BY file_index, line LIMIT \(wanted) FOR UPDATE SKIP LOCKED)
                    UPDATE \(unescaped: items) i SET state = 1, lease_owner = \(worker), lease_until = now() + \(seconds) * interval '1 second'
                    FROM picked WHERE i.id = picked.id
                    RETURNING i.id, i.custom_id, i.endpoint, i.model, i.body, i.overrides, i.attempts, i.file_index, i.line
                    """
                )
                let decoder = JSONDecoder()
                for row in rows {
                    let (id, key, endpoint, model, body, overrides, attempts, file, line) = try row.decode(
                        (Int64, String, String, String?, ByteBuffer?, ByteBuffer?, Int, Int, Int).self)
                    let decoded = overrides.flatMap { try? decoder.decode(LineOverrides.self, from: Data($0.readableBytesView)) }
                    leased.append(
                        (
                            DispatchItem(
                                id: id, customID: key, endpoint: endpoint, model: model, body: body.map { Array($0.readableBytesView) } ?? [],
                                overrides: decoded, previousAttempts: attempts), file, line
                        ))
                }
                if takeover, !rows.isEmpty {
                    try await client.rows("UPDATE \(unescaped: workers) SET taken_over = taken_over + \(rows.count) WHERE id = \(worker)")
                }
            }
            return leased
        }
        let ordered = leased.sorted { ($0.1, $0.2) < ($1.1, $1.2) }.map(\.0)
        held.formUnion(ordered.map(\.id))
        leaseSetAt.withLock { setAt in for item in ordered { setAt[item.id] = start } }
        return ordered
    }
}
