import Foundation
import Testing
@testable import SluiceCore

struct CheckpointStoreTests {
    func planned(_ line: Int, key: String, problem: InputProblem? = nil) -> PlannedItem {
        PlannedItem(fileIndex: 0, line: line, customID: key, lineHash: UInt64(line), endpoint: "/v1/chat/completions",
                    model: nil, body: Array(#"{"messages":[]}"#.utf8), overrides: nil, metadata: nil, problem: problem)
    }

    func makeStore(_ dir: TemporaryDirectory) throws -> SQLiteCheckpointStore {
        let store = try SQLiteCheckpointStore(path: dir.file("job.db"))
        try store.saveInputs([InputRecord(fileIndex: 0, path: "in.jsonl", fingerprint: InputFingerprint(size: 1, checksum: 2),
                                          plannedLines: 0, planningComplete: false, planningError: nil)])
        return store
    }

    @Test func duplicatesArePlannedAsFailedItemsNamingTheFirst() throws {
        let dir = TemporaryDirectory()
        let store = try makeStore(dir)
        let problems = try store.insertPlanned([planned(1, key: "a"), planned(2, key: "b"), planned(3, key: "a")],
                                               fileIndex: 0, throughLine: 3, complete: true, replanning: false, error: nil)
        #expect(problems == 1)
        let counts = try store.counts()
        #expect(counts.total == 3 && counts.pending == 2 && counts.failed == 1 && counts.invalidInput == 1)
        #expect(try store.inputProblems(limit: 10).first?.message == #"in.jsonl:3: duplicate custom_id "a" (first at in.jsonl:1)"#)
        #expect(try store.inputs().first?.planningComplete == true)
    }

    @Test func pagesInOrderAndAppliesOutcomesAtomically() throws {
        let dir = TemporaryDirectory()
        let store = try makeStore(dir)
        try store.insertPlanned((1...5).map { planned($0, key: "k\($0)") }, fileIndex: 0, throughLine: 5, complete: true, replanning: false, error: nil)
        let page = try store.pendingItems(after: 0, limit: 3)
        #expect(page.map(\.customID) == ["k1", "k2", "k3"])
        #expect(try store.pendingItems(after: page.last!.id, limit: 10).map(\.customID) == ["k4", "k5"])

        var outcome = ItemOutcome(id: page[0].id, succeeded: true, attempts: 2, headersSent: Array("{}".utf8), fallbacksUsed: 0, retries: 1)
        outcome.httpStatus = 200
        outcome.promptTokens = 7
        outcome.response = Array(#"{"ok":true}"#.utf8)
        try store.apply([.started(page[0].id), .started(page[1].id), .finished(outcome)])
        let counts = try store.counts()
        #expect(counts.succeeded == 1 && counts.inFlight == 1 && counts.pending == 3 && counts.promptTokens == 7 && counts.attempts == 2)
        #expect(try store.pendingItems(after: 0, limit: 10).map(\.customID) == ["k3", "k4", "k5"])

        // A crash leaves k2 in flight: the next run sends it again.
        let (recovered, requeued) = try store.prepareForRun(retryFailed: false)
        #expect(recovered == 1 && requeued == 0)
        #expect(try store.pendingItems(after: 0, limit: 10).map(\.customID) == ["k2", "k3", "k4", "k5"])
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func retryFailedRequeuesFailuresButNotBadLines() throws {
        let dir = TemporaryDirectory()
        let store = try makeStore(dir)
        try store.insertPlanned([planned(1, key: "a"), planned(2, key: "b", problem: InputProblem(code: "invalid_json_line", message: "bad"))],
                                fileIndex: 0, throughLine: 2, complete: true, replanning: false, error: nil)
        let item = try #require(try store.pendingItems(after: 0, limit: 1).first)
        try store.apply([.finished(ItemOutcome(id: item.id, succeeded: false, attempts: 5, headersSent: [], fallbacksUsed: 0, retries: 4))])
        #expect(try store.prepareForRun(retryFailed: false).requeuedFailed == 0)
        #expect(try store.prepareForRun(retryFailed: true).requeuedFailed == 1)
        #expect(try store.pendingItems(after: 0, limit: 10).map(\.customID) == ["a"])
        #expect(try store.pendingItems(after: 0, limit: 10).first?.previousAttempts == 5)
    }

    @Test func replanningKeepsUnchangedLines() throws {
        let dir = TemporaryDirectory()
        let store = try makeStore(dir)
        try store.insertPlanned([planned(1, key: "a"), planned(2, key: "b")], fileIndex: 0, throughLine: 2, complete: true, replanning: false, error: nil)
        let first = try #require(try store.pendingItems(after: 0, limit: 1).first)
        try store.apply([.finished(ItemOutcome(id: first.id, succeeded: true, attempts: 1, headersSent: [], fallbacksUsed: 0, retries: 0))])
        var changed = planned(2, key: "b")
        changed.lineHash = 999
        try store.insertPlanned([planned(1, key: "a"), changed, planned(3, key: "c")], fileIndex: 0, throughLine: 3, complete: true, replanning: true, error: nil)
        let counts = try store.counts()
        #expect(counts.succeeded == 1 && counts.pending == 2 && counts.total == 3)
    }

    @Test func theWriteAheadLogStaysBoundedAfterReads() throws {
        let dir = TemporaryDirectory()
        let store = try makeStore(dir)
        try store.saveJobSettings("{}")
        _ = try store.jobSettings()            // single-row reads must not pin a read transaction
        _ = try store.value(forKey: "nothing")
        _ = try store.counts()
        let body = Array(repeating: UInt8(ascii: "x"), count: 1000)
        for batch in 0..<20 {
            let items = (0..<1000).map { index -> PlannedItem in
                var item = planned(batch * 1000 + index + 1, key: "k\(batch)-\(index)")
                item.body = Array(#"{"p":""#.utf8) + body + Array(#""}"#.utf8)
                return item
            }
            try store.insertPlanned(items, fileIndex: 0, throughLine: (batch + 1) * 1000, complete: false, replanning: false, error: nil)
            _ = try store.value(forKey: "schema_version")
        }
        // About 20 MB was written; automatic checkpoints keep restarting the log at ~4 MB.
        let wal = try FileManager.default.attributesOfItem(atPath: dir.file("job.db-wal"))[.size] as? Int ?? 0
        #expect(wal < 8 << 20, "WAL grew to \(wal) bytes")
    }

    @Test func databaseIsPrivateAndJobSettingsRoundTrip() throws {
        let dir = TemporaryDirectory()
        let store = try makeStore(dir)
        try store.saveJobSettings(#"{"name":"x"}"#)
        #expect(try store.jobSettings() == #"{"name":"x"}"#)
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("job.db"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func lockKeepsASecondHolderOut() throws {
        let dir = TemporaryDirectory()
        let lock = try JobLock(checkpointPath: dir.file("job.db"))
        // flock is per open file description: a second open in the same process conflicts too.
        #expect { _ = try JobLock(checkpointPath: dir.file("job.db")) } throws: { ($0 as? SluiceError)?.code == .locked }
        withExtendedLifetime(lock) {}
    }
}
