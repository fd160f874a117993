import CSQLite
import Foundation
import Testing

@testable import SluiceCore

/// What only the SQLite store promises, beyond the shared contract.
struct SQLiteCheckpointStoreTests {
    private func open(_ dir: TemporaryDirectory) async throws -> SQLiteCheckpointStore {
        let store = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .runner)
        try await store.saveInputs([
            InputRecord(
                fileIndex: 0, path: "in.jsonl", fingerprint: InputFingerprint(size: 1, checksum: 2),
                plannedLines: 0, planningComplete: false, planningError: nil)
        ])
        return store
    }

    @Test func theWriteAheadLogStaysBoundedAfterReads() async throws {
        let dir = TemporaryDirectory()
        let store = try await open(dir)
        try await store.saveJobSettings("{}")
        _ = try await store.jobSettings()  // single-row reads must not pin a read transaction
        _ = try await store.value(forKey: "nothing")
        _ = try await store.counts()
        _ = try await store.results(after: .start, limit: 10)
        let body = Array(repeating: UInt8(ascii: "x"), count: 1000)
        for batch in 0..<20 {
            let items = (0..<1000).map { index -> PlannedItem in
                var item = planned(batch * 1000 + index + 1, key: "k\(batch)-\(index)")
                item.body = Array(#"{"p":""#.utf8) + body + Array(#""}"#.utf8)
                return item
            }
            try await store.insertPlanned(items, fileIndex: 0, throughLine: (batch + 1) * 1000, complete: false, replanning: false, error: nil)
            _ = try await store.value(forKey: "schema_version")
            _ = try await store.results(after: .start, limit: 5)
        }
        // About 20 MB was written; automatic checkpoints keep restarting the log at ~4 MB.
        let wal = try FileManager.default.attributesOfItem(atPath: dir.file("job.db-wal"))[.size] as? Int ?? 0
        #expect(wal < 8 << 20, "WAL grew to \(wal) bytes")
        await store.close()
    }

    @Test func everyFileOfTheCheckpointIsPrivate() async throws {
        let dir = TemporaryDirectory()
        let store = try await open(dir)
        try await store.insertPlanned([planned(1, key: "a")], fileIndex: 0, throughLine: 1, complete: true, replanning: false, error: nil)
        for suffix in ["", "-wal", "-shm", ".lock"] {
            let mode = try FileManager.default.attributesOfItem(atPath: dir.file("job.db" + suffix))[.posixPermissions] as? Int
            #expect(mode == 0o600, "job.db\(suffix) has mode \(String(mode ?? 0, radix: 8))")
        }
        await store.close()
    }

    @Test func theJobLockKeepsASecondRunnerOutButNotAReader() async throws {
        let dir = TemporaryDirectory()
        let store = try await open(dir)
        try await store.insertPlanned([planned(1, key: "a")], fileIndex: 0, throughLine: 1, complete: true, replanning: false, error: nil)
        // flock is per open file description: a second open in the same process conflicts too.
        await #expect { _ = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .runner) } throws: { ($0 as? SluiceError)?.code == .locked }
        let reader = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .reader)
        #expect(try await reader.counts().total == 1)
        await reader.close()
        await store.close()
        // Closed: the lock is free again.
        let next = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .runner)
        await next.close()
    }

    @Test func aReaderRefusesSomethingThatIsNotACheckpoint() async throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("other.db"), Data())
        await #expect(throws: SluiceError.self) { _ = try await SQLiteCheckpointStore.open(path: dir.file("other.db"), role: .reader) }
        await #expect(throws: SluiceError.self) { _ = try await SQLiteCheckpointStore.open(path: dir.file("missing.db"), role: .reader) }
    }

    @Test func answersAreStoredCompressedOnceTheDictionaryIsTrained() async throws {
        let dir = TemporaryDirectory()
        let store = try await open(dir)
        let count = 400
        try await store.insertPlanned(
            (1...count).map { planned($0, key: "k\($0)") }, fileIndex: 0, throughLine: count, complete: true, replanning: false, error: nil)
        let leased = try await store.lease(limit: count)
        let answer = { (key: String) in
            #"{"id":"chatcmpl-\#(key)","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"The ticket \#(key) is about billing.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":9,"total_tokens":40},"system_fingerprint":"fp_0ba0d124f1"}"#
        }
        for chunk in stride(from: 0, to: count, by: 50) {
            try await store.record(leased[chunk..<min(chunk + 50, count)].map { finished($0.id, response: answer($0.customID)) })
        }
        await store.close()
        let stored = try queryCheckpoint(dir.file("job.db"), "SELECT sum(length(response)), count(*) FROM items WHERE id > 100")
        let plain = (101...count).reduce(0) { $0 + answer("k\($1)").utf8.count }
        let bytes = Int(stored.first?[0] ?? "") ?? plain
        #expect(bytes * 3 < plain, "answers take \(bytes) bytes stored against \(plain) plain")
        #expect(try queryCheckpoint(dir.file("job.db"), "SELECT count(*) FROM header_sets").first?.first == "1")
        // And they read back exactly.
        let reopened = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .reader)
        let rows = try await reopened.results(after: .start, limit: count)
        #expect(rows.map(\.customID) == (1...count).map { "k\($0)" }, "every answer is read back, in order")
        #expect(rows.allSatisfy { String(decoding: $0.response ?? [], as: UTF8.self) == answer($0.customID) })
        await reopened.close()
    }

    @Test func aVersion1CheckpointIsMigratedWithItsResults() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("v1.db")
        // The schema of sluice's first release, with one finished and one pending item.
        try executeSQL(
            path,
            """
            CREATE TABLE job (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE inputs (file_index INTEGER PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL, checksum INTEGER NOT NULL,
                planned_lines INTEGER NOT NULL DEFAULT 0, planning_complete INTEGER NOT NULL DEFAULT 0, planning_error TEXT);
            CREATE TABLE items (id INTEGER PRIMARY KEY, file_index INTEGER NOT NULL, line INTEGER NOT NULL,
                custom_id TEXT NOT NULL, unique_key TEXT UNIQUE, line_hash INTEGER NOT NULL, state INTEGER NOT NULL,
                endpoint TEXT NOT NULL, model TEXT, body BLOB, overrides BLOB, metadata BLOB,
                attempts INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0, fallbacks_used INTEGER NOT NULL DEFAULT 0,
                http_status INTEGER, error_code TEXT, error_message TEXT, answered_model TEXT, provider TEXT, request_id TEXT,
                prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER, latency_ms REAL,
                headers_sent BLOB, response BLOB, finished_at REAL, UNIQUE (file_index, line));
            CREATE INDEX items_by_state ON items (state, id);
            INSERT INTO job VALUES ('schema_version', '1'), ('settings', '{}');
            INSERT INTO inputs VALUES (0, 'in.jsonl', 10, 20, 2, 1, NULL);
            INSERT INTO items (file_index, line, custom_id, unique_key, line_hash, state, endpoint, body, attempts, http_status, headers_sent, response)
                VALUES (0, 1, 'a', 'a', 1, 2, '/v1/chat/completions', '{}', 1, 200, '{"x":"y"}', '{"answer":1}'),
                       (0, 2, 'b', 'b', 2, 0, '/v1/chat/completions', '{}', 0, NULL, NULL, NULL);
            """)
        let store = try await SQLiteCheckpointStore.open(path: path, role: .runner)
        let rows = try await store.results(after: .start, limit: 10)
        #expect(rows.map(\.customID) == ["a", "b"])
        #expect(rows.first.map { String(decoding: $0.response ?? [], as: UTF8.self) } == #"{"answer":1}"#)
        #expect(try await store.lease(limit: 10).map(\.customID) == ["b"])
        #expect(try await store.value(forKey: "schema_version") == String(SQLiteCheckpointStore.schemaVersion))
        #expect(try await store.integrityCheck() == "ok")
        await store.close()
        #expect(try queryCheckpoint(path, "SELECT json FROM header_sets").first?.first == #"{"x":"y"}"#)
    }

    @Test func aVersion3CheckpointGainsRoutesAndBatchesInPlace() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("v3.db")
        let first = try await SQLiteCheckpointStore.open(path: path, role: .runner)
        try await first.insertPlanned(
            [planned(1, key: "a"), planned(2, key: "b")], fileIndex: 0, throughLine: 2, complete: true, replanning: false, error: nil)
        await first.close()
        // What version 3 looked like: no route, no batch reference, no batches table.
        try executeSQL(
            path,
            """
            DROP INDEX IF EXISTS items_by_request;
            DROP INDEX IF EXISTS items_pending_live;
            ALTER TABLE items DROP COLUMN route;
            ALTER TABLE items DROP COLUMN batch_ref;
            DROP TABLE batches;
            UPDATE job SET value = '3' WHERE key = 'schema_version';
            """)
        let store = try await SQLiteCheckpointStore.open(path: path, role: .runner)
        #expect(try await store.value(forKey: "schema_version") == String(SQLiteCheckpointStore.schemaVersion))
        #expect(try await store.lease(limit: 10, route: .batch).map(\.customID) == ["a", "b"])
        #expect(try await store.batches(openOnly: false).isEmpty)
        #expect(try await store.integrityCheck() == "ok")
        await store.close()
        #expect(try Self.stateIndexes(path) == ["items_failed", "items_leased", "items_pending", "items_pending_live"])
    }

    static func stateIndexes(_ path: String) throws -> [String] {
        try queryCheckpoint(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'items\\_%' ESCAPE '\\' ORDER BY name")
            .compactMap { $0.first ?? nil }.filter { !["items_by_key", "items_by_request"].contains($0) && !$0.hasPrefix("sqlite_") }
    }

    /// Schema 5: a finished item is in no state index, and the endpoint most items share is stored as "" but read back
    /// as itself; a version 4 checkpoint (every item indexed by state) is migrated in place and reads the same.
    @Test func finishedItemsLeaveTheStateIndexesAndTheCommonEndpointIsStoredEmpty() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("v5.db")
        let store = try await SQLiteCheckpointStore.open(path: path, role: .runner)
        var embedding = planned(3, key: "c")
        embedding.endpoint = "/v1/embeddings"
        try await store.insertPlanned(
            [planned(1, key: "a"), planned(2, key: "b"), embedding], fileIndex: 0, throughLine: 3, complete: true, replanning: false, error: nil)
        let leased = try await store.lease(limit: 10)
        #expect(leased.map(\.endpoint) == ["/v1/chat/completions", "/v1/chat/completions", "/v1/embeddings"])
        try await store.record([finished(leased[0].id), finished(leased[1].id)])
        await store.close()
        #expect(try queryCheckpoint(path, "SELECT endpoint FROM items ORDER BY line").map { $0.first ?? nil } == ["", "", "/v1/embeddings"])
        let partial = try queryCheckpoint(
            path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql LIKE '%ON items (file_index, line) WHERE state = %'")
        #expect(partial.first?.first == "4", "the state indexes hold only the states they name (pending twice: all, and routed live)")
        // Leasing, recovery and retry-failed still find their items through an index, not a scan of every item.
        for (query, index) in [
            ("SELECT id FROM items WHERE state = 0 AND route = 1 ORDER BY file_index, line LIMIT 10", "items_pending_live"),
            ("SELECT id FROM items WHERE state = 1 AND batch_ref IS NULL", "items_leased"),
            ("SELECT id FROM items WHERE state = 3 AND bad_line = 0", "items_failed"),
        ] {
            let plan = try queryCheckpoint(path, "EXPLAIN QUERY PLAN " + query).compactMap { $0.last ?? nil }.joined(separator: " ")
            #expect(plan.contains(index), "\(query): \(plan)")
        }
        // Only the leased item is in a state index.
        #expect(try queryCheckpoint(path, "SELECT count(*) FROM items INDEXED BY items_leased WHERE state = 1").first?.first == "1")
        #expect(try queryCheckpoint(path, "SELECT count(*) FROM items INDEXED BY items_pending WHERE state = 0").first?.first == "0")

        // Back to what version 4 wrote: one index over every item's state, endpoints spelled out.
        try executeSQL(
            path,
            """
            DROP INDEX items_pending; DROP INDEX items_pending_live; DROP INDEX items_leased; DROP INDEX items_failed;
            CREATE INDEX items_by_state ON items (state, file_index, line);
            DROP TABLE answers_by_request;
            CREATE INDEX items_by_request ON items (request_digest) WHERE request_digest IS NOT NULL;
            UPDATE items SET endpoint = '/v1/chat/completions' WHERE endpoint = '';
            UPDATE job SET value = '4' WHERE key = 'schema_version';
            """)
        let reader = try await SQLiteCheckpointStore.open(path: path, role: .reader)
        #expect(try await reader.counts().succeeded == 2, "a reader reads version 4 without migrating it")
        await reader.close()
        let runner = try await SQLiteCheckpointStore.open(path: path, role: .runner)
        #expect(try await runner.value(forKey: "schema_version") == String(SQLiteCheckpointStore.schemaVersion))
        #expect(try await runner.integrityCheck() == "ok")
        await runner.close()
        #expect(try Self.stateIndexes(path) == ["items_failed", "items_leased", "items_pending", "items_pending_live"])
        let again = try await SQLiteCheckpointStore.open(path: path, role: .runner)
        #expect(try await again.prepareForRun(retryFailed: false).recoveredInFlight == 1)
        #expect(try await again.lease(limit: 10).map(\.endpoint) == ["/v1/embeddings"])
        await again.close()
    }
}
