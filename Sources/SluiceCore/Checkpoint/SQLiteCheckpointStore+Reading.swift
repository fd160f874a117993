/// Reading back: totals, results in input order, bad lines.
extension SQLiteCheckpointStore {
    public func counts() throws -> ItemCounts {
        var counts = ItemCounts()
        let byState = try statement("SELECT state, count(*), sum(attempts), sum(prompt_tokens), sum(completion_tokens) FROM items GROUP BY state").bind()
        defer { byState.reset() }
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
        counts.invalidInput = try statement("SELECT count(*) FROM items WHERE bad_line = 1").bind().firstRow { $0.int(0) } ?? 0
        return counts
    }

    public func results(after cursor: ResultCursor, limit: Int) throws -> [ResultRow] {
        // Read a page and reset: a statement left open on a row would pin a read transaction (see firstRow).
        let query = try statement(
            """
            SELECT id, custom_id, state, http_status, request_id, error_code, error_message, response, metadata, file_index, line
            FROM items WHERE (file_index, line) > (?, ?) ORDER BY file_index, line LIMIT ?
            """
        ).bind(.int(cursor.fileIndex), .int(cursor.line), .int(limit))
        defer { query.reset() }
        var rows: [ResultRow] = []
        rows.reserveCapacity(limit)
        while try query.step() {
            rows.append(
                ResultRow(
                    id: query.int64(0), customID: query.text(1) ?? "", state: ItemState(rawValue: query.int(2)) ?? .pending,
                    httpStatus: query.optionalInt(3), requestID: query.text(4), errorCode: query.text(5),
                    errorMessage: query.text(6), response: try query.blob(7).map { try answers.decode($0) }, metadata: query.blob(8),
                    position: ResultCursor(fileIndex: query.int(9), line: query.int(10))))
        }
        return rows
    }

    public func inputProblems(limit: Int) throws -> [InputProblemRecord] {
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
