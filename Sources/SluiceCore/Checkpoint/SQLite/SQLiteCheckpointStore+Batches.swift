import Foundation

/// Provider batch bookkeeping: which items an uploaded file holds, the batch made from it, and its end.
extension SQLiteCheckpointStore {
    package func recordBatchFile(fileID: String, endpoint: String, items: [Int64]) throws -> Int64 {
        try committing {
            try statement("INSERT INTO batches (file_id, endpoint, state, items, created_at) VALUES (?, ?, 'uploaded', ?, ?)")
                .bind(.text(fileID), .text(endpoint), .int(items.count), .real(Date().timeIntervalSince1970)).run()
            let row = try db().lastInsertRowID
            let assign = try statement("UPDATE items SET batch_ref = ? WHERE id = ? AND state = 1")
            for id in items { try assign.bind(.integer(row), .integer(id)).run() }
            return row
        }
    }

    package func joinBatch(_ row: Int64, items: [Int64]) throws -> Int {
        try committing {
            let assign = try statement("UPDATE items SET batch_ref = ? WHERE id = ? AND state = 1")
            var joined = 0
            for id in items {
                try assign.bind(.integer(row), .integer(id)).run()
                joined += try db().changes
            }
            try statement("UPDATE batches SET items = items + ? WHERE id = ?").bind(.int(joined), .integer(row)).run()
            return joined
        }
    }

    package func setBatchID(_ batchID: String, forBatch row: Int64) throws {
        try committing {
            try statement("UPDATE batches SET batch_id = ?, state = 'submitted' WHERE id = ?").bind(.text(batchID), .integer(row)).run()
        }
    }

    package func finishBatch(_ row: Int64, note: String?) throws {
        try committing {
            try statement("UPDATE batches SET state = 'done', finished_at = ?, note = ? WHERE id = ?")
                .bind(.real(Date().timeIntervalSince1970), .optional(note), .integer(row)).run()
            // Lines the batch never answered and nobody re-routed would stay leased for ever: back to pending.
            try statement("UPDATE items SET state = 0, batch_ref = NULL WHERE batch_ref = ? AND state = 1").bind(.integer(row)).run()
        }
    }

    package func batches(openOnly: Bool) throws -> [BatchRecord] {
        let query = try statement(
            """
            SELECT id, file_id, batch_id, endpoint, state, items, created_at, note, finished_at FROM batches
            \(openOnly ? "WHERE state != 'done'" : "") ORDER BY id
            """
        ).bind()
        defer { query.reset() }
        var records: [BatchRecord] = []
        while try query.step() {
            records.append(
                BatchRecord(
                    row: query.int64(0), fileID: query.text(1) ?? "", batchID: query.text(2), endpoint: query.text(3) ?? "",
                    state: query.text(4) ?? "", items: query.int(5), createdAt: query.double(6), finishedAt: query.optionalDouble(8),
                    note: query.text(7)))
        }
        return records
    }

    package func batchLineStates() throws -> [Int64: [ItemState: Int]] {
        let query = try statement("SELECT batch_ref, state, count(*) FROM items WHERE batch_ref IS NOT NULL GROUP BY batch_ref, state").bind()
        defer { query.reset() }
        var counts: [Int64: [ItemState: Int]] = [:]
        while try query.step() {
            guard let state = ItemState(rawValue: query.int(1)) else { continue }
            counts[query.int64(0), default: [:]][state] = query.int(2)
        }
        return counts
    }

    package func batchItems(_ row: Int64) throws -> [DispatchItem] {
        let query = try statement(
            "SELECT id, custom_id, endpoint, model, body, overrides, attempts FROM items WHERE batch_ref = ? AND state = 1 ORDER BY file_index, line"
        ).bind(.integer(row))
        defer { query.reset() }
        var items: [DispatchItem] = []
        let decoder = JSONDecoder()
        while try query.step() {
            items.append(
                DispatchItem(
                    id: query.int64(0), customID: query.text(1) ?? "", endpoint: Self.endpoint(stored: query.text(2)), model: query.text(3),
                    body: try requests.decode(query.blob(4) ?? []),
                    overrides: query.blob(5).flatMap { try? decoder.decode(LineOverrides.self, from: Data($0)) }, previousAttempts: query.int(6)))
        }
        return items
    }
}
