import Foundation
import Testing

@testable import SluiceCore

/// The SQLite checkpoint finds answers by request digest through `answers_by_request`, written in groups
/// (`AnswerIndex`): an answer is found before its group is written, after a kill, and in older checkpoints.
struct AnswerIndexTests {
    /// Spread like real digests, so the group is written in an order of its own.
    private static func digest(_ id: Int64) -> UInt64 { UInt64(bitPattern: id) &* 0x9E37_79B9_7F4A_7C15 }

    private func answer(_ id: Int64) -> CheckpointEvent {
        guard case .finished(var outcome) = finished(id, response: #"{"answer":\#(id)}"#) else { fatalError() }
        outcome.requestDigest = Self.digest(id)
        return .finished(outcome)
    }

    private func found(_ store: SQLiteCheckpointStore, _ id: Int64) async throws -> String? {
        let answer = try await store.answer(forRequest: Self.digest(id), endpoint: "/v1/chat/completions", body: Array(#"{"messages":[]}"#.utf8))
        return answer.map { String(decoding: $0.response, as: UTF8.self) }
    }

    private func indexed(_ path: String) throws -> (rows: String?, mark: String?) {
        let rows = try queryCheckpoint(path, "SELECT count(*) FROM answers_by_request").first?.first ?? nil
        let mark = try queryCheckpoint(path, "SELECT value FROM job WHERE key = 'answers_indexed'").first?.first ?? nil
        return (rows, mark)
    }

    @Test func answersAreFoundBeforeTheirGroupIsWrittenAndAfterAKill() async throws {
        let dir = TemporaryDirectory()
        let count = AnswerIndex.groupSize + 10
        let store = try await plannedStore(dir, count: count)
        let path = dir.file("job.db")
        let leased = try await store.lease(limit: count).map(\.id)
        #expect(leased.count == count)
        try await store.record(leased.prefix(100).map(answer))
        #expect(try indexed(path) == ("0", "partial"), "a few answers wait for their group")
        #expect(try await found(store, leased[7]) == #"{"answer":\#(leased[7])}"#, "an answer is found while its group is not written")
        for start in stride(from: 100, to: count, by: 100) {
            try await store.record(leased[start..<min(start + 100, count)].map(answer))
        }
        // Recorded 100 at a time: the group is written with the commit that takes it to its size or past it.
        let written = (AnswerIndex.groupSize + 99) / 100 * 100
        #expect(try indexed(path) == (String(written), "partial"), "one group written, \(count - written) answers pending")
        #expect(await store.answerIndex?.count == count - written, "what a group wrote is no longer pending")
        let pendingOne = leased[count - 1]
        #expect(try await found(store, pendingOne) == #"{"answer":\#(pendingOne)}"#)
        #expect(try await found(store, leased[3]) == #"{"answer":\#(leased[3])}"#, "found through the table")

        // What a kill leaves on disk now: the committed answers, a few of them in no group.
        let killed = TemporaryDirectory()
        for suffix in ["", "-wal", "-shm"] {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: killed.file("job.db") + suffix)
        }
        let reopened = try await SQLiteCheckpointStore.open(path: killed.file("job.db"), role: .runner)
        #expect(try await found(reopened, pendingOne) == #"{"answer":\#(pendingOne)}"#, "the next run rebuilds what the kill did not write")
        await reopened.close()
        #expect(try indexed(killed.file("job.db")) == (String(count), "complete"))

        await store.close()
        #expect(try indexed(path) == (String(count), "complete"), "closing writes what is pending")
    }

    @Test func aReaderOfARunningJobFindsTheAnswersNotYetInTheTable() async throws {
        let dir = TemporaryDirectory()
        let store = try await plannedStore(dir, count: 5)
        let leased = try await store.lease(limit: 5).map(\.id)
        try await store.record(leased.map(answer))
        #expect(try indexed(dir.file("job.db")) == ("0", "partial"))
        let reader = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .reader)
        #expect(try await found(reader, leased[4]) == #"{"answer":\#(leased[4])}"#, "--reuse of a job that is still running")
        await reader.close()
        await store.close()
    }

    /// Twenty lines ask the same; sixteen are then edited and replanned. Their rows stay in the table, and must
    /// not fill the places of the one answer still there.
    @Test func replannedLinesLeaveNoStaleAnswerInTheWay() async throws {
        let dir = TemporaryDirectory()
        let store = try await plannedStore(dir, count: 20)
        let leased = try await store.lease(limit: 20).map(\.id)
        let digest: UInt64 = 0xABCD
        try await store.record(
            leased.map { id in
                guard case .finished(var outcome) = finished(id, response: #"{"answer":\#(id)}"#) else { fatalError() }
                outcome.requestDigest = digest
                return .finished(outcome)
            })
        await store.close()
        let runner = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .runner)
        let edited = (1...16).map { line -> PlannedItem in
            var item = planned(line, key: "k\(line)")
            item.lineHash = 1000 + UInt64(line)
            return item
        }
        try await runner.insertPlanned(
            edited + (17...20).map { planned($0, key: "k\($0)") }, fileIndex: 0, throughLine: 20, complete: true, replanning: true, error: nil)
        #expect(try queryCheckpoint(dir.file("job.db"), "SELECT count(*) FROM answers_by_request").first?.first == "20")
        let answer = try await runner.answer(forRequest: digest, endpoint: "/v1/chat/completions", body: Array(#"{"messages":[]}"#.utf8))
        #expect(answer.map { String(decoding: $0.response, as: UTF8.self) } == #"{"answer":\#(leased[16])}"#)
        await runner.close()
    }

    @Test func aVersion5CheckpointIsReadAsItIsAndMigratedWithItsAnswers() async throws {
        let dir = TemporaryDirectory()
        let path = dir.file("job.db")
        let store = try await plannedStore(dir, count: 3)
        let leased = try await store.lease(limit: 3).map(\.id)
        try await store.record(leased.map(answer))
        await store.close()
        // What version 5 looked like: answers found through an index on the items' digest.
        try executeSQL(
            path,
            """
            DROP TABLE answers_by_request;
            DELETE FROM job WHERE key = 'answers_indexed';
            CREATE INDEX items_by_request ON items (request_digest) WHERE request_digest IS NOT NULL;
            UPDATE job SET value = '5' WHERE key = 'schema_version';
            """)
        let reader = try await SQLiteCheckpointStore.open(path: path, role: .reader)
        #expect(try await found(reader, leased[1]) == #"{"answer":\#(leased[1])}"#, "--reuse reads a version 5 checkpoint without migrating it")
        await reader.close()
        let runner = try await SQLiteCheckpointStore.open(path: path, role: .runner)
        #expect(try await runner.value(forKey: "schema_version") == String(SQLiteCheckpointStore.schemaVersion))
        #expect(try await found(runner, leased[2]) == #"{"answer":\#(leased[2])}"#)
        #expect(try await runner.integrityCheck() == "ok")
        await runner.close()
        #expect(try indexed(path).rows == "3")
        #expect(try queryCheckpoint(path, "SELECT count(*) FROM sqlite_master WHERE name = 'items_by_request'").first?.first == "0")
    }
}
