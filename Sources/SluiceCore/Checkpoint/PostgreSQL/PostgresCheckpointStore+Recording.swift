import Foundation
import NIOCore
import PostgresNIO

/// Outcomes, fenced: applied only to items this worker still holds.
extension PostgresCheckpointStore {
    private struct FinishedRow: Encodable {
        var id: Int64, state: Int, attempts: Int, retries: Int, fallbacksUsed: Int, httpStatus: Int?, errorCode: String?
        var errorMessage: String?, answeredModel: String?, provider: String?, requestId: String?, promptTokens: Int?
        var completionTokens: Int?, totalTokens: Int?, cachedTokens: Int?, latencyMs: Double?, cacheHit: Bool?, headersId: Int64
        var response: Data?, finishedAt: Double, requestDigest: Int64?, answerSource: String?, firstTokenMs: Double?
    }

    private struct ReleasedRow: Encodable {
        var id: Int64, attempts: Int, reroute: Bool
    }

    /// Applies the events in one transaction, in order (runs of one kind at a time). An outcome for an item
    /// this worker no longer holds (its lease expired and another worker took it) is a late answer: counted
    /// on the worker's row and logged, never stored. One this worker already stored (a commit whose
    /// acknowledgement was lost with the connection, then retried) is neither.
    package func record(_ events: [CheckpointEvent]) async throws {
        guard !events.isEmpty else { return }
        var headerIDs: [[UInt8]: Int64] = [:]
        for case .finished(let outcome) in events where headerIDs[outcome.headersSent] == nil {
            headerIDs[outcome.headersSent] = try await headerSet(outcome.headersSent)
        }
        let now = Date().timeIntervalSince1970
        var runs: [(finished: Bool, json: String, ids: [Int64])] = []
        var finished: [FinishedRow] = []
        var released: [ReleasedRow] = []
        func flush() throws {
            if !finished.isEmpty { runs.append((true, try Self.json(finished), finished.map(\.id))) }
            if !released.isEmpty { runs.append((false, try Self.json(released), released.map(\.id))) }
            finished.removeAll()
            released.removeAll()
        }
        for event in events {
            switch event {
            case .finished(let outcome):
                if !released.isEmpty { try flush() }
                finished.append(
                    FinishedRow(
                        id: outcome.id, state: outcome.succeeded ? ItemState.succeeded.rawValue : ItemState.failed.rawValue, attempts: outcome.attempts,
                        retries: outcome.retries, fallbacksUsed: outcome.fallbacksUsed, httpStatus: outcome.httpStatus, errorCode: outcome.errorCode,
                        errorMessage: outcome.errorMessage, answeredModel: outcome.answeredModel, provider: outcome.provider,
                        requestId: outcome.requestID, promptTokens: outcome.promptTokens, completionTokens: outcome.completionTokens,
                        totalTokens: outcome.totalTokens, cachedTokens: outcome.cachedTokens,
                        latencyMs: outcome.latencyMilliseconds.flatMap { $0.isFinite ? $0 : nil }, cacheHit: outcome.cacheHit,
                        headersId: headerIDs[outcome.headersSent] ?? 0, response: outcome.response.map { Data($0) }, finishedAt: now,
                        requestDigest: outcome.requestDigest.map { Int64(bitPattern: $0) }, answerSource: outcome.answerSource,
                        firstTokenMs: outcome.firstTokenMilliseconds.flatMap { $0.isFinite ? $0 : nil }))
            case .released(let id, let attempts), .rerouted(let id, let attempts):
                if !finished.isEmpty { try flush() }
                var reroute = false
                if case .rerouted = event { reroute = true }
                released.append(ReleasedRow(id: id, attempts: attempts, reroute: reroute))
            }
        }
        try flush()
        let (items, workers, worker, logger, groups) = (table("items"), table("workers"), workerID, logger, runs)
        let late: [Int64] = try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                var late: [Int64] = []
                for run in groups {
                    let query: PostgresQuery =
                        run.finished
                        ? """
                        UPDATE \(unescaped: items) i SET state = u.state, attempts = u.attempts, retries = u.retries, fallbacks_used = u.fallbacks_used,
                            http_status = u.http_status, error_code = u.error_code, error_message = u.error_message, answered_model = u.answered_model,
                            provider = u.provider, request_id = u.request_id, prompt_tokens = u.prompt_tokens, completion_tokens = u.completion_tokens,
                            total_tokens = u.total_tokens, cached_tokens = u.cached_tokens, latency_ms = u.latency_ms, cache_hit = u.cache_hit,
                            headers_id = u.headers_id, response = decode(u.response, 'base64'), finished_at = u.finished_at,
                            request_digest = u.request_digest, answer_source = u.answer_source, first_token_ms = u.first_token_ms, lease_until = NULL
                        FROM jsonb_to_recordset(\(run.json)::jsonb) AS u(id BIGINT, state SMALLINT, attempts BIGINT, retries BIGINT,
                            fallbacks_used BIGINT, http_status BIGINT, error_code TEXT, error_message TEXT, answered_model TEXT, provider TEXT,
                            request_id TEXT, prompt_tokens BIGINT, completion_tokens BIGINT, total_tokens BIGINT, cached_tokens BIGINT,
                            latency_ms DOUBLE PRECISION, cache_hit BOOLEAN, headers_id BIGINT, response TEXT, finished_at DOUBLE PRECISION,
                            request_digest BIGINT, answer_source TEXT, first_token_ms DOUBLE PRECISION)
                        WHERE i.id = u.id AND i.state = 1 AND i.lease_owner = \(worker)
                        RETURNING i.id
                        """
                        : """
                        UPDATE \(unescaped: items) i SET state = 0, attempts = u.attempts, batch_ref = NULL, lease_owner = NULL, lease_until = NULL,
                            route = CASE WHEN u.reroute THEN 1 ELSE i.route END
                        FROM jsonb_to_recordset(\(run.json)::jsonb) AS u(id BIGINT, attempts BIGINT, reroute BOOLEAN)
                        WHERE i.id = u.id AND i.state = 1 AND i.lease_owner = \(worker)
                        RETURNING i.id
                        """
                    let applied = Set(try await connection.rows(query, logger: logger).map { try $0.decode(Int64.self) })
                    let missed = run.ids.filter { !applied.contains($0) }
                    guard run.finished, !missed.isEmpty else { continue }
                    let mine = Set(
                        try await connection.rows(
                            "SELECT id FROM \(unescaped: items) WHERE id = ANY(\(missed)) AND state IN (2, 3) AND lease_owner = \(worker)",
                            logger: logger
                        ).map { try $0.decode(Int64.self) })
                    late += missed.filter { !mine.contains($0) }
                }
                if !late.isEmpty {
                    try await connection.rows(
                        "UPDATE \(unescaped: workers) SET late_answers = late_answers + \(late.count) WHERE id = \(worker)", logger: logger)
                }
                return late
            }
        }
        if !late.isEmpty {
            logger.warning(
                "\(late.count) answer\(late.count == 1 ? "" : "s") came after this worker's lease expired and another worker took the item; not stored (counted as late answers)"
            )
        }
        for run in runs { held.subtract(run.ids) }
        leaseSetAt.withLock { setAt in for run in runs { for id in run.ids { setAt[id] = nil } } }
    }

    /// The id of a set of sent headers, stored the first time it is seen (outside the outcomes' transaction,
    /// so a rolled-back commit never leaves a cached id that does not exist).
    private func headerSet(_ json: [UInt8]) async throws -> Int64 {
        if let id = headerSets[json] { return id }
        let table = table("header_sets")
        let bytes = ByteBuffer(bytes: json)
        let id = try await database { client in
            try await client.rows("INSERT INTO \(unescaped: table) (json) VALUES (\(bytes)) ON CONFLICT (json) DO NOTHING")
            return try await client.rows("SELECT id FROM \(unescaped: table) WHERE json = \(bytes)").first?.decode(Int64.self) ?? 0
        }
        headerSets[json] = id
        return id
    }

    // MARK: - Operating

    package func requeueFailed(classes: Set<ErrorClass>) async throws -> Int {
        let (items, logger) = (table("items"), logger)
        return try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                var ids: [Int64] = []
                for row in try await connection.rows(
                    "SELECT id, bad_line, http_status, error_code FROM \(unescaped: items) WHERE state = 3 FOR UPDATE", logger: logger
                ) {
                    let (id, badLine, status, code) = try row.decode((Int64, Bool, Int?, String?).self)
                    let itemClass = ErrorClass.of(badLine: badLine, httpStatus: status, errorCode: code)
                    if itemClass != .input, classes.contains(itemClass) { ids.append(id) }
                }
                if !ids.isEmpty {
                    try await connection.rows(
                        "UPDATE \(unescaped: items) SET state = 0, lease_owner = NULL WHERE id = ANY(\(ids)) AND state = 3", logger: logger)
                }
                return ids.count
            }
        }
    }

    /// Workers share minutes: the row is locked while its figures are merged.
    package func addHistory(_ entry: HistoryEntry) async throws {
        let (history, logger) = (table("history"), logger)
        let json = String(decoding: try JSONEncoder().encode(entry), as: UTF8.self)
        try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                let inserted = try await connection.rows(
                    "INSERT INTO \(unescaped: history) (minute, figures) VALUES (\(entry.minute), \(json)) ON CONFLICT (minute) DO NOTHING RETURNING 1",
                    logger: logger
                )
                guard inserted.isEmpty else { return }
                let existing = try await connection.rows(
                    "SELECT figures FROM \(unescaped: history) WHERE minute = \(entry.minute) FOR UPDATE", logger: logger
                ).first?.decode(String.self)
                var merged = entry
                if let existing, let earlier = try? JSONDecoder().decode(HistoryEntry.self, from: Data(existing.utf8)) {
                    merged = earlier.adding(entry)
                }
                let figures = String(decoding: try JSONEncoder().encode(merged), as: UTF8.self)
                try await connection.rows("UPDATE \(unescaped: history) SET figures = \(figures) WHERE minute = \(entry.minute)", logger: logger)
            }
        }
    }
}
