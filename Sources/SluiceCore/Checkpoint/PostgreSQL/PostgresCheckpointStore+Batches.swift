import Foundation
import NIOCore
import PostgresNIO

/// Provider batch bookkeeping (rule 7), as in the SQLite store. Items recorded to a batch never expire:
/// the batch, not a worker's heartbeat, holds them.
extension PostgresCheckpointStore {
    package func recordBatchFile(fileID: String, endpoint: String, items: [Int64]) async throws -> Int64 {
        let (batches, table, logger) = (table("batches"), self.table("items"), logger)
        return try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                let row =
                    try await connection.rows(
                        """
                        INSERT INTO \(unescaped: batches) (file_id, endpoint, state, items, created_at)
                        VALUES (\(fileID), \(endpoint), 'uploaded', \(items.count), \(Date().timeIntervalSince1970)) RETURNING id
                        """, logger: logger
                    ).first?.decode(Int64.self) ?? 0
                try await connection.rows(
                    "UPDATE \(unescaped: table) SET batch_ref = \(row), lease_until = NULL WHERE id = ANY(\(items)) AND state = 1", logger: logger)
                return row
            }
        }
    }

    package func joinBatch(_ row: Int64, items: [Int64]) async throws -> Int {
        let (batches, table, logger) = (table("batches"), self.table("items"), logger)
        return try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                let joined = try await connection.rows(
                    "UPDATE \(unescaped: table) SET batch_ref = \(row), lease_until = NULL WHERE id = ANY(\(items)) AND state = 1 RETURNING id", logger: logger
                ).count
                try await connection.rows("UPDATE \(unescaped: batches) SET items = items + \(joined) WHERE id = \(row)", logger: logger)
                return joined
            }
        }
    }

    package func setBatchID(_ batchID: String, forBatch row: Int64) async throws {
        let batches = table("batches")
        _ = try await database { client in
            try await client.rows("UPDATE \(unescaped: batches) SET batch_id = \(batchID), state = 'submitted' WHERE id = \(row)")
        }
    }

    package func finishBatch(_ row: Int64, note: String?) async throws {
        let (batches, items, logger) = (table("batches"), table("items"), logger)
        let freed: [Int64] = try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.rows(
                    "UPDATE \(unescaped: batches) SET state = 'done', finished_at = \(Date().timeIntervalSince1970), note = \(note) WHERE id = \(row)",
                    logger: logger)
                // Lines the batch never answered and nobody re-routed would stay leased for ever: back to pending.
                return try await connection.rows(
                    "UPDATE \(unescaped: items) SET state = 0, batch_ref = NULL, lease_owner = NULL WHERE batch_ref = \(row) AND state = 1 RETURNING id",
                    logger: logger
                ).map { try $0.decode(Int64.self) }
            }
        }
        // No longer this worker's: it may lease them again (`lease` passes over what it still holds).
        held.subtract(freed)
        leaseSetAt.withLock { setAt in for id in freed { setAt[id] = nil } }
    }

    package func batches(openOnly: Bool) async throws -> [BatchRecord] {
        let batches = table("batches")
        let filter = openOnly ? "WHERE state <> 'done'" : ""
        return try await database { client in
            try await client.rows(
                """
                SELECT id, file_id, batch_id, endpoint, state, items, created_at, note, finished_at FROM \(unescaped: batches) \(unescaped: filter)
                ORDER BY id
                """
            ).map { row in
                let (id, file, batch, endpoint, state, items, created, note, finished) = try row.decode(
                    (Int64, String, String?, String, String, Int, Double, String?, Double?).self)
                return BatchRecord(
                    row: id, fileID: file, batchID: batch, endpoint: endpoint, state: state, items: items, createdAt: created, finishedAt: finished,
                    note: note)
            }
        }
    }

    package func batchLineStates() async throws -> [Int64: [ItemState: Int]] {
        let items = table("items")
        let rows = try await database { client in
            try await client.rows(
                "SELECT batch_ref, state, count(*) FROM \(unescaped: items) WHERE batch_ref IS NOT NULL GROUP BY batch_ref, state"
            ).map { try $0.decode((Int64, Int, Int).self) }
        }
        var counts: [Int64: [ItemState: Int]] = [:]
        for (batch, state, count) in rows {
            guard let state = ItemState(rawValue: state) else { continue }
            counts[batch, default: [:]][state] = count
        }
        return counts
    }

    package func batchItems(_ row: Int64) async throws -> [DispatchItem] {
        let items = table("items")
        let found: [DispatchItem] = try await database { client in
            let decoder = JSONDecoder()
            return try await client.rows(
                """
                SELECT id, custom_id, endpoint, model, body, overrides, attempts FROM \(unescaped: items)
                WHERE batch_ref = \(row) AND state = 1 ORDER BY file_index, line
                """
            ).map { row in
                let (id, key, endpoint, model, body, overrides, attempts) = try row.decode(
                    (Int64, String, String, String?, ByteBuffer?, ByteBuffer?, Int).self)
                return DispatchItem(
                    id: id, customID: key, endpoint: endpoint, model: model, body: body.map { Array($0.readableBytesView) } ?? [],
                    overrides: overrides.flatMap { try? decoder.decode(LineOverrides.self, from: Data($0.readableBytesView)) },
                    previousAttempts: attempts)
            }
        }
        held.formUnion(found.map(\.id))
        return found
    }
}
