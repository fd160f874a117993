import Foundation

/// Planning, leasing and recording outcomes: the item lifecycle of the contract.
extension SQLiteCheckpointStore {
    // MARK: - Planning

    @discardableResult
    package func insertPlanned(_ items: [PlannedItem], fileIndex: Int, throughLine: Int, complete: Bool, replanning: Bool, error: String?) throws -> Int {
        try committing {
            var problems = 0
            let path =
                try statement("SELECT path FROM inputs WHERE file_index = ?").bind(.int(fileIndex)).firstRow { $0.text(0) }.flatMap { $0 }
                ?? "input \(fileIndex)"
            for var item in items {
                if replanning, try keepUnchanged(item) { continue }
                if item.problem == nil, let first = try firstOccurrence(of: item.customID, except: item) {
                    item.problem = InputProblem(
                        code: .duplicateKey,
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

    /// True when the same line with the same content is already stored (its progress is kept).
    private func keepUnchanged(_ item: PlannedItem) throws -> Bool {
        try statement("SELECT line_hash FROM items WHERE file_index = ? AND line = ?").bind(.int(item.fileIndex), .int(item.line))
            .firstRow { UInt64(bitPattern: $0.int64(0)) == item.lineHash } ?? false
    }

    private func firstOccurrence(of key: String, except item: PlannedItem) throws -> String? {
        try statement(
            """
            SELECT inputs.path, items.line FROM items JOIN inputs USING (file_index)
            WHERE items.custom_id = ? AND items.bad_line = 0 AND NOT (items.file_index = ? AND items.line = ?)
            """
        ).bind(.text(key), .int(item.fileIndex), .int(item.line)).firstRow { "\($0.text(0) ?? "?"):\($0.int(1))" }
    }

    private func insertOrReplace(_ item: PlannedItem) throws {
        let state: ItemState = item.problem == nil ? .pending : .failed
        try statement(
            """
            INSERT INTO items (file_index, line, custom_id, line_hash, state, bad_line, endpoint, model, body, overrides, metadata, error_code, error_message,
                route)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (file_index, line) DO UPDATE SET
                custom_id = excluded.custom_id, line_hash = excluded.line_hash, bad_line = excluded.bad_line,
                state = excluded.state, endpoint = excluded.endpoint, model = excluded.model, body = excluded.body,
                overrides = excluded.overrides, metadata = excluded.metadata, error_code = excluded.error_code,
                error_message = excluded.error_message, attempts = 0, retries = 0, fallbacks_used = 0, http_status = NULL,
                answered_model = NULL, provider = NULL, request_id = NULL, prompt_tokens = NULL, completion_tokens = NULL,
                total_tokens = NULL, cached_tokens = NULL, latency_ms = NULL, cache_hit = NULL, headers_id = NULL, response = NULL,
                finished_at = NULL, request_digest = NULL, answer_source = NULL, first_token_ms = NULL, route = excluded.route, batch_ref = NULL
            """
        ).bind(
            .int(item.fileIndex), .int(item.line), .text(item.customID),
            .integer(Int64(bitPattern: item.lineHash)), .int(state.rawValue), .int(item.problem == nil ? 0 : 1), .text(Self.storedEndpoint(item.endpoint)),
            .optional(item.model),
            .optional(item.problem == nil ? requests.encode(item.body) : nil), .optional(item.overrides), .optional(item.metadata),
            .optional(item.problem?.code.rawValue), .optional(item.problem?.message), .int(item.live ? 1 : 0)
        ).run()
    }

    package func removeItems(fileIndex: Int, afterLine: Int) throws {
        try statement("DELETE FROM items WHERE file_index = ? AND line > ?").bind(.int(fileIndex), .int(afterLine)).run()
    }

    // MARK: - Dispatch

    /// One owner (the process holding the job lock): every leased item was leased by a run that is over.
    package func prepareForRun(retryFailed: Bool) throws -> RunPreparation {
        try db().transaction {
            // Items in a provider batch stay with it (a resume re-attaches to the batch); every other lease is recovered.
            try statement(
                "UPDATE items SET state = 0, batch_ref = NULL WHERE state = 1 AND (batch_ref IS NULL OR batch_ref IN (SELECT id FROM batches WHERE state = 'done'))"
            ).bind().run()
            let recovered = try db().changes
            var requeued = 0
            if retryFailed {
                // Bad input lines stay failed: sending them again cannot help.
                try statement("UPDATE items SET state = 0 WHERE state = 3 AND bad_line = 0").bind().run()
                requeued = try db().changes
            }
            return RunPreparation(recoveredInFlight: recovered, requeuedFailed: requeued)
        }
    }

    package func lease(limit: Int, route: LeaseRoute) throws -> [DispatchItem] {
        try db().transaction {
            let filter =
                switch route {
                case .all: ""
                case .live: "AND route = 1"
                case .batch: "AND route = 0"
                }
            let query = try statement(
                """
                SELECT id, custom_id, endpoint, model, body, overrides, attempts FROM items
                WHERE state = 0 \(filter) ORDER BY file_index, line LIMIT ?
                """
            ).bind(.int(limit))
            defer { query.reset() }
            var items: [DispatchItem] = []
            items.reserveCapacity(limit)
            let decoder = JSONDecoder()
            while try query.step() {
                let overrides = query.blob(5).flatMap { try? decoder.decode(LineOverrides.self, from: Data($0)) }
                items.append(
                    DispatchItem(
                        id: query.int64(0), customID: query.text(1) ?? "", endpoint: Self.endpoint(stored: query.text(2)),
                        model: query.text(3), body: try requests.decode(query.blob(4) ?? []), overrides: overrides,
                        previousAttempts: query.int(6)))
            }
            query.reset()
            let mark = try statement("UPDATE items SET state = 1 WHERE id = ?")
            for item in items { try mark.bind(.integer(item.id)).run() }
            return items
        }
    }

    package func record(_ events: [CheckpointEvent]) throws {
        guard !events.isEmpty else { return }
        var answered: [(digest: UInt64, id: Int64)] = []
        let wroteGroup = try committing {
            let released = try statement("UPDATE items SET state = 0, attempts = ?, batch_ref = NULL WHERE id = ? AND state = 1")
            let rerouted = try statement("UPDATE items SET state = 0, attempts = ?, batch_ref = NULL, route = 1 WHERE id = ? AND state = 1")
            // Only a leased item is finished: a late answer never overwrites a result.
            let finished = try statement(
                """
                UPDATE items SET state = ?, attempts = ?, retries = ?, fallbacks_used = ?, http_status = ?, error_code = ?,
                    error_message = ?, answered_model = ?, provider = ?, request_id = ?, prompt_tokens = ?,
                    completion_tokens = ?, total_tokens = ?, cached_tokens = ?, latency_ms = ?, cache_hit = ?, headers_id = ?, response = ?,
                    finished_at = ?, request_digest = ?, answer_source = ?, first_token_ms = ?
                WHERE id = ? AND state = 1
                """)
            let now = Date().timeIntervalSince1970
            for event in events {
                switch event {
                case .released(let id, let attempts):
                    try released.bind(.int(attempts), .integer(id)).run()
                case .rerouted(let id, let attempts):
                    try rerouted.bind(.int(attempts), .integer(id)).run()
                case .finished(let outcome):
                    try finished.bind(
                        .int(outcome.succeeded ? ItemState.succeeded.rawValue : ItemState.failed.rawValue),
                        .int(outcome.attempts), .int(outcome.retries), .int(outcome.fallbacksUsed), .optional(outcome.httpStatus),
                        .optional(outcome.errorCode), .optional(outcome.errorMessage), .optional(outcome.answeredModel),
                        .optional(outcome.provider), .optional(outcome.requestID), .optional(outcome.promptTokens),
                        .optional(outcome.completionTokens), .optional(outcome.totalTokens), .optional(outcome.cachedTokens),
                        .optional(outcome.latencyMilliseconds), .optional(outcome.cacheHit.map { $0 ? 1 : 0 }),
                        .integer(try headerSet(outcome.headersSent)), .optional(outcome.response.map(answers.encode)), .real(now),
                        .optional(outcome.requestDigest.map { Int(Int64(bitPattern: $0)) }), .optional(outcome.answerSource),
                        .optional(outcome.firstTokenMilliseconds), .integer(outcome.id)
                    ).run()
                    if outcome.succeeded, let digest = outcome.requestDigest, try db().changes == 1 { answered.append((digest, outcome.id)) }
                }
            }
            return try indexAnswers(answered)
        }
        answersCommitted(answered, wroteGroup: wroteGroup)
    }

    /// The id of a set of sent headers, stored the first time it is seen.
    private func headerSet(_ json: [UInt8]) throws -> Int64 {
        if let id = headerSets[json] { return id }
        let insert = try statement("INSERT INTO header_sets (json) VALUES (?) ON CONFLICT (json) DO NOTHING")
        try insert.bind(.blob(json)).run()
        let id = try statement("SELECT id FROM header_sets WHERE json = ?").bind(.blob(json)).firstRow { $0.int64(0) } ?? 0
        headerSets[json] = id
        return id
    }

    // MARK: - Operating

    package func requeueFailed(classes: Set<ErrorClass>) throws -> Int {
        try committing {
            let failed = try statement("SELECT id, bad_line, http_status, error_code FROM items WHERE state = 3").bind()
            var ids: [Int64] = []
            while try failed.step() {
                let itemClass = ErrorClass.of(badLine: failed.int(1) != 0, httpStatus: failed.optionalInt(2), errorCode: failed.text(3))
                if itemClass != .input, classes.contains(itemClass) { ids.append(failed.int64(0)) }
            }
            failed.reset()
            let requeue = try statement("UPDATE items SET state = 0 WHERE id = ? AND state = 3")
            for id in ids { try requeue.bind(.integer(id)).run() }
            return ids.count
        }
    }

    package func addHistory(_ entry: HistoryEntry) throws {
        try committing {
            let existing = try statement("SELECT figures FROM history WHERE minute = ?").bind(.integer(entry.minute))
                .firstRow { $0.blob(0) }.flatMap { $0 }
            var merged = entry
            if let existing, let earlier = try? JSONDecoder().decode(HistoryEntry.self, from: Data(existing)) {
                merged = earlier.adding(entry)
            }
            let json = try JSONEncoder().encode(merged)
            try statement("INSERT INTO history (minute, figures) VALUES (?, ?) ON CONFLICT (minute) DO UPDATE SET figures = excluded.figures")
                .bind(.integer(entry.minute), .text(String(decoding: json, as: UTF8.self))).run()
        }
    }
}
