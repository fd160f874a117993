import Foundation
import NIOCore
import PostgresNIO

/// Reading back: totals, results in input order, summaries, history, bad lines. Any machine can read while
/// workers run (`status`, `export`, `report`).
extension PostgresCheckpointStore {
    package func counts() async throws -> ItemCounts {
        let items = table("items")
        return try await database { client in
            var counts = ItemCounts()
            for row in try await client.rows(
                """
                SELECT state, count(*), sum(attempts)::int8, coalesce(sum(prompt_tokens), 0)::int8, coalesce(sum(completion_tokens), 0)::int8,
                    count(*) FILTER (WHERE bad_line), coalesce(sum(greatest(attempts - 1, 0)), 0)::int8
                FROM \(unescaped: items) GROUP BY state
                """
            ) {
                let (state, count, attempts, prompt, completion, bad, retries) = try row.decode((Int16, Int, Int, Int, Int, Int, Int).self)
                counts.total += count
                counts.attempts += attempts
                counts.promptTokens += prompt
                counts.completionTokens += completion
                counts.invalidInput += bad
                counts.retries += retries
                switch ItemState(rawValue: Int(state)) {
                case .pending: counts.pending = count
                case .inFlight: counts.inFlight = count
                case .succeeded: counts.succeeded = count
                case .failed: counts.failed = count
                case nil: break
                }
            }
            return counts
        }
    }

    package func usage() async throws -> [ModelUsage] {
        let items = table("items")
        return try await database { client in
            try await client.rows(
                """
                SELECT answered_model, count(*), coalesce(sum(prompt_tokens), 0)::int8, coalesce(sum(completion_tokens), 0)::int8,
                    coalesce(sum(cached_tokens), 0)::int8, coalesce(answer_source LIKE 'batch:%', false) AS batched
                FROM \(unescaped: items)
                WHERE answered_model IS NOT NULL AND (prompt_tokens IS NOT NULL OR completion_tokens IS NOT NULL)
                GROUP BY answered_model, batched
                """
            ).map { row in
                let (model, count, prompt, completion, cached, batched) = try row.decode((String, Int, Int, Int, Int, Bool).self)
                return ModelUsage(model: model, items: count, promptTokens: prompt, completionTokens: completion, cachedTokens: cached, batch: batched)
            }
        }
    }

    package func results(after cursor: ResultCursor, limit: Int) async throws -> [ResultRow] {
        let items = table("items")
        return try await database { client in
            let decoder = JSONDecoder()
            return try await client.rows(
                """
                SELECT id, custom_id, state, http_status, request_id, error_code, error_message, response, metadata, file_index, line,
                    answered_model, prompt_tokens, completion_tokens, total_tokens, latency_ms, overrides, bad_line
                FROM \(unescaped: items) WHERE (file_index, line) > (\(cursor.fileIndex), \(cursor.line)) ORDER BY file_index, line LIMIT \(limit)
                """
            ).map { row in
                let (id, key, state, status, requestID, code, message, response, metadata, file, line) = try row.decode(
                    (Int64, String, Int16, Int?, String?, String?, String?, ByteBuffer?, ByteBuffer?, Int, Int).self)
                let random = row.makeRandomAccess()
                var result = ResultRow(
                    id: id, customID: key, state: ItemState(rawValue: Int(state)) ?? .pending, httpStatus: status, requestID: requestID,
                    errorCode: code, errorMessage: message, response: response.map { Array($0.readableBytesView) },
                    metadata: metadata.map { Array($0.readableBytesView) }, position: ResultCursor(fileIndex: file, line: line))
                result.answeredModel = try random[11].decode(String?.self)
                result.promptTokens = try random[12].decode(Int?.self)
                result.completionTokens = try random[13].decode(Int?.self)
                result.totalTokens = try random[14].decode(Int?.self)
                result.latencyMilliseconds = try random[15].decode(Double?.self)
                result.overrides = try random[16].decode(ByteBuffer?.self).flatMap {
                    try? decoder.decode(LineOverrides.self, from: Data($0.readableBytesView))
                }
                result.badLine = try random[17].decode(Bool.self)
                return result
            }
        }
    }

    package func summaries(after id: Int64, limit: Int) async throws -> [ItemSummary] {
        let items = table("items")
        return try await database { client in
            let decoder = JSONDecoder()
            return try await client.rows(
                """
                SELECT id, custom_id, state, bad_line, model, answered_model, http_status, error_code, error_message,
                    coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0), coalesce(cached_tokens, 0), latency_ms, attempts, retries,
                    fallbacks_used, coalesce(cache_hit, false), overrides, finished_at, first_token_ms, answer_source
                FROM \(unescaped: items) WHERE id > \(id) ORDER BY id LIMIT \(limit)
                """
            ).map { row in
                let (id, key, state, bad, model, answered, status, code, message, prompt, completion) = try row.decode(
                    (Int64, String, Int16, Bool, String?, String?, Int?, String?, String?, Int, Int).self)
                let random = row.makeRandomAccess()
                return ItemSummary(
                    id: id, customID: key, state: ItemState(rawValue: Int(state)) ?? .pending, badLine: bad, requestedModel: model,
                    answeredModel: answered, httpStatus: status, errorCode: code, errorMessage: message, promptTokens: prompt,
                    completionTokens: completion, cachedTokens: try random[11].decode(Int.self), latencyMilliseconds: try random[12].decode(Double?.self),
                    attempts: try random[13].decode(Int.self), retries: try random[14].decode(Int.self), fallbacksUsed: try random[15].decode(Int.self),
                    cacheHit: try random[16].decode(Bool.self),
                    overrides: try random[17].decode(ByteBuffer?.self).flatMap { try? decoder.decode(LineOverrides.self, from: Data($0.readableBytesView)) },
                    finishedAt: try random[18].decode(Double?.self), firstTokenMilliseconds: try random[19].decode(Double?.self),
                    answerSource: try random[20].decode(String?.self))
            }
        }
    }

    package func answer(forRequest digest: UInt64, endpoint: String, body: [UInt8]) async throws -> SharedAnswer? {
        let items = table("items")
        let stored = ByteBuffer(bytes: body)
        return try await database { client in
            // The digest finds candidates; the bytes decide (compared by the server).
            guard
                let row = try await client.rows(
                    """
                    SELECT custom_id, response, http_status, answered_model, provider, request_id, prompt_tokens, completion_tokens,
                        total_tokens, cached_tokens, latency_ms
                    FROM \(unescaped: items)
                    WHERE request_digest = \(Int64(bitPattern: digest)) AND state = 2 AND response IS NOT NULL AND endpoint = \(endpoint)
                        AND body = \(stored)
                    LIMIT 1
                    """
                ).first
            else { return nil }
            let (key, response, status, model, provider, requestID, prompt, completion, total, cached, latency) = try row.decode(
                (String, ByteBuffer, Int?, String?, String?, String?, Int?, Int?, Int?, Int?, Double?).self)
            var answer = SharedAnswer(customID: key, response: Array(response.readableBytesView))
            answer.httpStatus = status
            answer.answeredModel = model
            answer.provider = provider
            answer.requestID = requestID
            answer.promptTokens = prompt
            answer.completionTokens = completion
            answer.totalTokens = total
            answer.cachedTokens = cached
            answer.latencyMilliseconds = latency
            return answer
        }
    }

    package func history() async throws -> [HistoryEntry] {
        let history = table("history")
        return try await database { client in
            let decoder = JSONDecoder()
            return try await client.rows("SELECT figures FROM \(unescaped: history) ORDER BY minute").compactMap { row in
                try? decoder.decode(HistoryEntry.self, from: Data(try row.decode(String.self).utf8))
            }
        }
    }

    package func inputProblems(limit: Int) async throws -> [InputProblemRecord] {
        let (items, inputs) = (table("items"), table("inputs"))
        return try await database { client in
            try await client.rows(
                """
                SELECT p.path, i.line, coalesce(i.error_code, ''), coalesce(i.error_message, '')
                FROM \(unescaped: items) i JOIN \(unescaped: inputs) p USING (file_index)
                WHERE i.bad_line ORDER BY i.file_index, i.line LIMIT \(limit)
                """
            ).map { row in
                let (path, line, code, message) = try row.decode((String, Int, String, String).self)
                return InputProblemRecord(file: path, line: line, code: code, message: message)
            }
        }
    }
}
