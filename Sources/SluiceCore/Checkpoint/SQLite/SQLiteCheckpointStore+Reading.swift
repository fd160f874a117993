import Foundation

/// Reading back: totals, results in input order, summaries, history, bad lines.
extension SQLiteCheckpointStore {
    package func counts() throws -> ItemCounts {
        var counts = ItemCounts()
        let byState = try statement(
            "SELECT state, count(*), sum(attempts), sum(prompt_tokens), sum(completion_tokens), sum(max(attempts - 1, 0)) FROM items GROUP BY state"
        ).bind()
        defer { byState.reset() }
        while try byState.step() {
            let count = byState.int(1)
            counts.total += count
            counts.attempts += byState.int(2)
            counts.promptTokens += byState.int(3)
            counts.completionTokens += byState.int(4)
            counts.retries += byState.int(5)
            switch ItemState(rawValue: byState.int(0)) {
            case .pending: counts.pending = count
            case .inFlight: counts.inFlight = count
            case .succeeded: counts.succeeded = count
            case .failed: counts.failed = count
            case nil: break
            }
        }
        counts.invalidInput = try statement("SELECT count(*) FROM items WHERE bad_line = 1").bind().firstRow { $0.int(0) } ?? 0
        return counts
    }

    package func usage() throws -> [ModelUsage] {
        let query = try statement(
            """
            SELECT answered_model, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cached_tokens),
                coalesce(answer_source LIKE 'batch:%', 0) AS batched FROM items
            WHERE answered_model IS NOT NULL AND (prompt_tokens IS NOT NULL OR completion_tokens IS NOT NULL) GROUP BY answered_model, batched
            """
        ).bind()
        defer { query.reset() }
        var usage: [ModelUsage] = []
        while try query.step() {
            usage.append(
                ModelUsage(
                    model: query.text(0) ?? "", items: query.int(1), promptTokens: query.int(2), completionTokens: query.int(3),
                    cachedTokens: query.int(4), batch: query.int(5) != 0))
        }
        return usage
    }

    package func results(after cursor: ResultCursor, limit: Int) throws -> [ResultRow] {
        // Read a page and reset: a statement left open on a row would pin a read transaction (see firstRow).
        let query = try statement(
            """
            SELECT id, custom_id, state, http_status, request_id, error_code, error_message, response, metadata, file_index, line,
                answered_model, prompt_tokens, completion_tokens, total_tokens, latency_ms, overrides, bad_line
            FROM items WHERE (file_index, line) > (?, ?) ORDER BY file_index, line LIMIT ?
            """
        ).bind(.int(cursor.fileIndex), .int(cursor.line), .int(limit))
        defer { query.reset() }
        var rows: [ResultRow] = []
        rows.reserveCapacity(limit)
        let decoder = JSONDecoder()
        while try query.step() {
            var row = ResultRow(
                id: query.int64(0), customID: query.text(1) ?? "", state: ItemState(rawValue: query.int(2)) ?? .pending,
                httpStatus: query.optionalInt(3), requestID: query.text(4), errorCode: query.text(5),
                errorMessage: query.text(6), response: try query.blob(7).map { try answers.decode($0) }, metadata: query.blob(8),
                position: ResultCursor(fileIndex: query.int(9), line: query.int(10)))
            row.answeredModel = query.text(11)
            row.promptTokens = query.optionalInt(12)
            row.completionTokens = query.optionalInt(13)
            row.totalTokens = query.optionalInt(14)
            row.latencyMilliseconds = query.isNull(15) ? nil : query.double(15)
            row.overrides = query.blob(16).flatMap { try? decoder.decode(LineOverrides.self, from: Data($0)) }
            row.badLine = query.int(17) != 0
            rows.append(row)
        }
        return rows
    }

    package func summaries(after id: Int64, limit: Int) throws -> [ItemSummary] {
        let query = try statement(
            """
            SELECT id, custom_id, state, bad_line, model, answered_model, http_status, error_code, error_message,
                prompt_tokens, completion_tokens, cached_tokens, latency_ms, attempts, retries, fallbacks_used, cache_hit, overrides, finished_at,
                first_token_ms, answer_source
            FROM items WHERE id > ? ORDER BY id LIMIT ?
            """
        ).bind(.integer(id), .int(limit))
        defer { query.reset() }
        var rows: [ItemSummary] = []
        rows.reserveCapacity(limit)
        let decoder = JSONDecoder()
        while try query.step() {
            rows.append(
                ItemSummary(
                    id: query.int64(0), customID: query.text(1) ?? "", state: ItemState(rawValue: query.int(2)) ?? .pending,
                    badLine: query.int(3) != 0, requestedModel: query.text(4), answeredModel: query.text(5), httpStatus: query.optionalInt(6),
                    errorCode: query.text(7), errorMessage: query.text(8), promptTokens: query.int(9), completionTokens: query.int(10),
                    cachedTokens: query.int(11), latencyMilliseconds: query.isNull(12) ? nil : query.double(12), attempts: query.int(13),
                    retries: query.int(14), fallbacksUsed: query.int(15), cacheHit: query.int(16) != 0,
                    overrides: query.blob(17).flatMap { try? decoder.decode(LineOverrides.self, from: Data($0)) },
                    finishedAt: query.isNull(18) ? nil : query.double(18), firstTokenMilliseconds: query.isNull(19) ? nil : query.double(19),
                    answerSource: query.text(20)))
        }
        return rows
    }

    package func answer(forRequest digest: UInt64, endpoint: String, body: [UInt8]) throws -> SharedAnswer? {
        let query = try statement(
            """
            SELECT custom_id, endpoint, body, response, http_status, answered_model, provider, request_id,
                prompt_tokens, completion_tokens, total_tokens, cached_tokens, latency_ms
            FROM items WHERE id = ? AND request_digest = ? AND state = 2 AND response IS NOT NULL
            """)
        for id in try candidates(forRequest: digest) {
            _ = query.bind(.integer(id), .integer(Int64(bitPattern: digest)))
            defer { query.reset() }
            // The digest finds candidates; the bytes decide.
            guard try query.step(), Self.endpoint(stored: query.text(1)) == endpoint, try requests.decode(query.blob(2) ?? []) == body,
                let response = query.blob(3)
            else { continue }
            var answer = SharedAnswer(customID: query.text(0) ?? "", response: try answers.decode(response))
            answer.httpStatus = query.optionalInt(4)
            answer.answeredModel = query.text(5)
            answer.provider = query.text(6)
            answer.requestID = query.text(7)
            answer.promptTokens = query.optionalInt(8)
            answer.completionTokens = query.optionalInt(9)
            answer.totalTokens = query.optionalInt(10)
            answer.cachedTokens = query.optionalInt(11)
            answer.latencyMilliseconds = query.isNull(12) ? nil : query.double(12)
            return answer
        }
        return nil
    }

    package func history() throws -> [HistoryEntry] {
        let query = try statement("SELECT figures FROM history ORDER BY minute").bind()
        defer { query.reset() }
        var entries: [HistoryEntry] = []
        let decoder = JSONDecoder()
        while try query.step() {
            if let data = query.blob(0), let entry = try? decoder.decode(HistoryEntry.self, from: Data(data)) { entries.append(entry) }
        }
        return entries
    }

    package func inputProblems(limit: Int) throws -> [InputProblemRecord] {
        let query = try statement(
            """
            SELECT inputs.path, items.line, items.error_code, items.error_message FROM items JOIN inputs USING (file_index)
            WHERE items.bad_line = 1
            ORDER BY items.file_index, items.line LIMIT ?
            """
        ).bind(.int(limit))
        defer { query.reset() }
        var problems: [InputProblemRecord] = []
        while try query.step() {
            problems.append(InputProblemRecord(file: query.text(0) ?? "", line: query.int(1), code: query.text(2) ?? "", message: query.text(3) ?? ""))
        }
        return problems
    }
}
