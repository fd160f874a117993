import Foundation
import Testing

@testable import SluiceCore

/// The store contract of `CheckpointStore`'s doc comment, one test per rule,
/// run against every implementation: each test takes the kind of store as its
/// argument, so a new store is added to `StoreKind.allCases` and must pass them all.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    /// A job of its own on the tests' PostgreSQL server (see `PostgresTestServer`).
    case postgres

    var testDescription: String { rawValue }

    /// Runs `body` with a fresh, empty store (`fresh`), or with the same job opened again as a runner, and
    /// closes it after: a store is open for a scope (`CheckpointStores.withStore`).
    func withStore<T>(_ dir: TemporaryDirectory, fresh: Bool = true, _ body: (any CheckpointStore) async throws -> T) async throws -> T {
        let location = self == .sqlite ? dir.file("job.db") : try await Self.postgresURL(dir)
        return try await CheckpointStores.withStore(location, role: .runner) { store in
            if fresh { try await Self.registerInputs(store) }
            return try await body(store)
        }
    }

    /// The test's job on the PostgreSQL server: named once per folder, so reopening finds the same job.
    static func postgresURL(_ dir: TemporaryDirectory) async throws -> String {
        let server = try await PostgresTestServer.shared()
        let file = dir.file("postgres-job")
        if let job = try? String(contentsOfFile: file, encoding: .utf8) { return server.url(job: job) }
        let job = PostgresTestServer.uniqueJobName()
        try job.write(toFile: file, atomically: true, encoding: .utf8)
        return server.url(job: job)
    }

    /// A fresh, empty store gets one input (`in.jsonl`) and a second (`b.jsonl`) registered.
    private static func registerInputs(_ store: any CheckpointStore) async throws {
        try await store.saveInputs([
            InputRecord(
                fileIndex: 0, path: "in.jsonl", fingerprint: InputFingerprint(size: 1, checksum: 2), plannedLines: 0, planningComplete: false,
                planningError: nil),
            InputRecord(
                fileIndex: 1, path: "b.jsonl", fingerprint: InputFingerprint(size: 3, checksum: 4), plannedLines: 0, planningComplete: false, planningError: nil
            ),
        ])
    }
}

/// An SQLite checkpoint with one input whose lines 1...`count` are planned (keys `k1`, `k2`...; `keys` to name them).
func plannedStore(_ dir: TemporaryDirectory, count: Int, keys: [String]? = nil) async throws -> SQLiteCheckpointStore {
    let store = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .runner)
    try await store.saveInputs([
        InputRecord(
            fileIndex: 0, path: "in.jsonl", fingerprint: InputFingerprint(size: 1, checksum: 2), plannedLines: 0, planningComplete: false,
            planningError: nil)
    ])
    let names = keys ?? (1...count).map { "k\($0)" }
    try await store.insertPlanned(
        (1...count).map { planned($0, key: names[$0 - 1]) }, fileIndex: 0, throughLine: count, complete: true, replanning: false, error: nil)
    return store
}

func planned(_ line: Int, key: String, file: Int = 0, problem: InputProblem? = nil) -> PlannedItem {
    PlannedItem(
        fileIndex: file, line: line, customID: key, lineHash: UInt64(line), endpoint: "/v1/chat/completions",
        model: nil, body: Array(#"{"messages":[]}"#.utf8), overrides: nil, metadata: nil, problem: problem)
}

func finished(_ id: Int64, succeeded: Bool = true, attempts: Int = 1, response: String = #"{"ok":true}"#) -> CheckpointEvent {
    var outcome = ItemOutcome(id: id, succeeded: succeeded, attempts: attempts, headersSent: Array(#"{"a":"b"}"#.utf8), fallbacksUsed: 0, retries: attempts - 1)
    outcome.httpStatus = succeeded ? 200 : 400
    outcome.promptTokens = 7
    outcome.response = Array(response.utf8)
    return .finished(outcome)
}

@Suite struct CheckpointStoreContract {
    @Test(arguments: StoreKind.allCases)
    func planningIsIdempotentByInputAndLine(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            let batch = [planned(1, key: "a"), planned(2, key: "b"), planned(3, key: "a")]
            #expect(try await store.insertPlanned(batch, fileIndex: 0, throughLine: 3, complete: false, replanning: false, error: nil) == 1)
            // The same batch again (a crash after it was committed, before the next): nothing doubles.
            try await store.insertPlanned(batch, fileIndex: 0, throughLine: 3, complete: true, replanning: false, error: nil)
            let counts = try await store.counts()
            #expect(counts.total == 3 && counts.pending == 2 && counts.failed == 1 && counts.invalidInput == 1)
            #expect(try await store.inputProblems(limit: 10).map(\.message) == [#"in.jsonl:3: duplicate custom_id "a" (first at in.jsonl:1)"#])
            #expect(try await store.inputs().first?.planningComplete == true)
            #expect(try await store.inputs().first?.plannedLines == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aBadLineNeverHoldsAKey(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            // A bad line that names a key (garbage from a damaged file, a wrong field), before and after good lines with that key.
            let bad = InputProblem(code: .invalidField, message: "bad")
            try await store.insertPlanned(
                [planned(1, key: "x", problem: bad), planned(2, key: "x"), planned(3, key: "x", problem: bad), planned(4, key: "x")],
                fileIndex: 0, throughLine: 4, complete: true, replanning: false, error: nil)
            let counts = try await store.counts()
            #expect(counts.total == 4 && counts.pending == 1 && counts.invalidInput == 3)
            #expect(try await store.inputProblems(limit: 10).map(\.line) == [1, 3, 4])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func replanningKeepsUnchangedLinesAndTheirResults(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            try await store.insertPlanned(
                [planned(1, key: "a"), planned(2, key: "b")], fileIndex: 0, throughLine: 2, complete: true, replanning: false, error: nil)
            let first = try #require(try await store.lease(limit: 1).first)
            try await store.record([finished(first.id)])
            var changed = planned(2, key: "b")
            changed.lineHash = 999
            try await store.insertPlanned(
                [planned(1, key: "a"), changed, planned(3, key: "c")], fileIndex: 0, throughLine: 3, complete: true, replanning: true, error: nil)
            let counts = try await store.counts()
            #expect(counts.succeeded == 1 && counts.pending == 2 && counts.total == 3)
            // A file shortened and replanned loses the lines past its end.
            try await store.removeItems(fileIndex: 0, afterLine: 2)
            #expect(try await store.counts().total == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leasesHandOutPendingItemsInInputOrderOnce(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            try await store.insertPlanned(
                (1...5).map { planned($0, key: "k\($0)") }, fileIndex: 0, throughLine: 5, complete: true, replanning: false, error: nil)
            let first = try await store.lease(limit: 3)
            let second = try await store.lease(limit: 10)
            #expect(first.map(\.customID) == ["k1", "k2", "k3"])
            #expect(second.map(\.customID) == ["k4", "k5"])
            #expect(try await store.lease(limit: 10).isEmpty)
            let counts = try await store.counts()
            #expect(counts.inFlight == 5 && counts.pending == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leasesFollowInputOrderAcrossFilesWhateverThePlanningOrder(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            // File 1 planned first, then file 0; then file 0 replanned with a line appended (as --force does).
            try await store.insertPlanned([planned(1, key: "b1", file: 1)], fileIndex: 1, throughLine: 1, complete: true, replanning: false, error: nil)
            try await store.insertPlanned(
                [planned(1, key: "a1"), planned(2, key: "a2")], fileIndex: 0, throughLine: 2, complete: true, replanning: false, error: nil)
            try await store.insertPlanned(
                [planned(1, key: "a1"), planned(2, key: "a2"), planned(3, key: "a3")], fileIndex: 0, throughLine: 3,
                complete: true, replanning: true, error: nil)
            #expect(try await store.lease(limit: 10).map(\.customID) == ["a1", "a2", "a3", "b1"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leasedItemsCarryWhatWasPlanned(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        // Enough alike bodies for a store that compresses them to have learned how.
        let items = (1...200).map { line -> PlannedItem in
            var item = planned(line, key: "k\(line)")
            item.body = Array(
                #"{"messages":[{"role":"user","content":"Classify ticket \#(line): the export fails after update \#(line % 7)."}],"max_tokens":16}"#.utf8)
            item.model = line % 2 == 0 ? "gpt-4o-mini" : nil
            item.overrides = line == 3 ? Array(#"{"properties":{"team":"red"}}"#.utf8) : nil
            return item
        }
        try await kind.withStore(dir) { store in
            try await store.insertPlanned(items, fileIndex: 0, throughLine: 200, complete: true, replanning: false, error: nil)
            var leased: [DispatchItem] = []
            while true {
                let page = try await store.lease(limit: 64)
                if page.isEmpty { break }
                leased += page
            }
            #expect(leased.map(\.customID) == items.map(\.customID))
            #expect(leased.map(\.body) == items.map(\.body))
            #expect(leased.map(\.model) == items.map(\.model))
            #expect(leased.map(\.endpoint) == items.map(\.endpoint))
            #expect(leased[2].overrides?.properties == ["team": "red"])
            // Read back by a fresh connection (compressed bodies need what the store saved to read them).
            try await store.record(leased.map { .released($0.id, attempts: 0) })
        }
        try await kind.withStore(dir, fresh: false) { reopened async throws in
            #expect(try await reopened.lease(limit: 500).map(\.body) == items.map(\.body))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func outcomesAreRecordedOnlyForLeasedItemsAndReleasesComeBack(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            try await store.insertPlanned(
                (1...3).map { planned($0, key: "k\($0)") }, fileIndex: 0, throughLine: 3, complete: true, replanning: false, error: nil)
            let leased = try await store.lease(limit: 2)
            try await store.record([finished(leased[0].id, attempts: 2), .released(leased[1].id, attempts: 3)])
            var counts = try await store.counts()
            #expect(counts.succeeded == 1 && counts.pending == 2 && counts.inFlight == 0 && counts.promptTokens == 7)
            #expect(counts.attempts == 2 + 3)
            // A late answer for an item that is not leased (already finished, or released) changes nothing.
            try await store.record([finished(leased[0].id, succeeded: false, response: #"{"late":1}"#), finished(leased[1].id)])
            counts = try await store.counts()
            #expect(counts.succeeded == 1 && counts.failed == 0 && counts.pending == 2)
            let again = try await store.lease(limit: 10)
            #expect(again.map(\.customID) == ["k2", "k3"])
            #expect(again.first?.previousAttempts == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func recoveryMakesAbandonedLeasesAndAskedForFailuresPendingButNotBadLines(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            try await store.insertPlanned(
                [planned(1, key: "a"), planned(2, key: "b"), planned(3, key: "c", problem: InputProblem(code: .invalidJSON, message: "bad"))],
                fileIndex: 0, throughLine: 3, complete: true, replanning: false, error: nil)
            let leased = try await store.lease(limit: 2)
            try await store.record([finished(leased[0].id, succeeded: false, attempts: 5)])
            // leased[1] stays leased: its run crashed.
            #expect(try await store.prepareForRun(retryFailed: false) == RunPreparation(recoveredInFlight: 1, requeuedFailed: 0))
            #expect(try await store.prepareForRun(retryFailed: true) == RunPreparation(recoveredInFlight: 0, requeuedFailed: 1))
            let pending = try await store.lease(limit: 10)
            #expect(pending.map(\.customID) == ["a", "b"])
            #expect(pending.first?.previousAttempts == 5)
            #expect(try await store.counts().invalidInput == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func resultsPageThroughEveryItemInInputOrderWithTheirAnswers(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            // File 1 planned before file 0, and lines out of order within a batch: results follow file, then line.
            try await store.insertPlanned(
                [planned(2, key: "b2", file: 1), planned(1, key: "b1", file: 1)], fileIndex: 1, throughLine: 2, complete: true, replanning: false, error: nil)
            try await store.insertPlanned(
                (1...300).map { planned($0, key: "a\($0)") }, fileIndex: 0, throughLine: 300, complete: true, replanning: false, error: nil)
            var leased: [DispatchItem] = []
            while true {
                let page = try await store.lease(limit: 100)
                if page.isEmpty { break }
                leased += page
            }
            // Answers long enough and alike enough to be compressed once a dictionary is trained.
            let answers = leased.map {
                #"{"id":"chatcmpl-\#($0.customID)","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Answer to \#($0.customID)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#
            }
            try await store.record(zip(leased, answers).map { finished($0.0.id, response: $0.1) })
            var rows: [ResultRow] = []
            var cursor = ResultCursor.start
            while true {
                let page = try await store.results(after: cursor, limit: 64)
                guard let last = page.last else { break }
                rows += page
                cursor = last.position
            }
            #expect(rows.map(\.customID) == (1...300).map { "a\($0)" } + ["b1", "b2"])
            let byKey = Dictionary(uniqueKeysWithValues: zip(leased.map(\.customID), answers))
            #expect(rows.allSatisfy { String(decoding: $0.response ?? [], as: UTF8.self) == byKey[$0.customID] })
            #expect(rows.allSatisfy { $0.state == .succeeded && $0.httpStatus == 200 })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func settingsValuesAndInputsRoundTrip(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            #expect(try await store.jobSettings() == nil)
            try await store.saveJobSettings(#"{"name":"x"}"#)
            try await store.setValue("12", forKey: "learned_concurrency")
            #expect(try await store.jobSettings() == #"{"name":"x"}"#)
            #expect(try await store.value(forKey: "learned_concurrency") == "12")
            #expect(try await store.value(forKey: "nothing") == nil)
            #expect(try await store.inputs().map(\.path) == ["in.jsonl", "b.jsonl"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func destroyLeavesNothingBehind(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            try await store.insertPlanned([planned(1, key: "a")], fileIndex: 0, throughLine: 1, complete: true, replanning: false, error: nil)
            try await store.destroy()
        }
        try await kind.withStore(dir) { again async throws in
            #expect(try await again.counts().total == 0)
            #expect(try await again.jobSettings() == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aSucceededAnswerIsFoundByItsRequestAndOnlyByItsBytes(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            var other = planned(3, key: "k3")
            other.body = Array(#"{"messages":[1]}"#.utf8)
            try await store.insertPlanned(
                [planned(1, key: "k1"), planned(2, key: "k2"), other], fileIndex: 0, throughLine: 3, complete: true, replanning: false, error: nil)
            let leased = try await store.lease(limit: 3)
            guard case .finished(var answered) = finished(leased[0].id, response: #"{"answer":1}"#),
                case .finished(var failed) = finished(leased[1].id, succeeded: false)
            else { return }
            answered.requestDigest = 42
            answered.answeredModel = "m"
            failed.requestDigest = 43
            try await store.record([.finished(answered), .finished(failed)])
            let body = Array(#"{"messages":[]}"#.utf8)
            let found = try await store.answer(forRequest: 42, endpoint: "/v1/chat/completions", body: body)
            #expect(found?.customID == "k1")
            #expect(found?.response == Array(#"{"answer":1}"#.utf8))
            #expect(found?.answeredModel == "m" && found?.promptTokens == 7)
            // Another digest, another endpoint, other bytes, or a failed item: nothing to share.
            #expect(try await store.answer(forRequest: 41, endpoint: "/v1/chat/completions", body: body) == nil)
            #expect(try await store.answer(forRequest: 42, endpoint: "/v1/responses", body: body) == nil)
            #expect(try await store.answer(forRequest: 42, endpoint: "/v1/chat/completions", body: other.body) == nil)
            #expect(try await store.answer(forRequest: 43, endpoint: "/v1/chat/completions", body: body) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func batchItemsStayWithTheirBatchAcrossARestartAndReroutedOnesGoLive(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            var urgent = planned(4, key: "k4")
            urgent.live = true
            try await store.insertPlanned(
                (1...3).map { planned($0, key: "k\($0)") } + [urgent], fileIndex: 0, throughLine: 4, complete: true, replanning: false, error: nil)
            let forBatch = try await store.lease(limit: 10, route: .batch)
            #expect(forBatch.map(\.customID) == ["k1", "k2", "k3"], "a line marked live never goes to a batch")
            let row = try await store.recordBatchFile(fileID: "file-1", endpoint: "/v1/chat/completions", items: forBatch.map(\.id))
            #expect(try await store.batches(openOnly: true).map(\.fileID) == ["file-1"])
            #expect(try await store.batches(openOnly: true).first?.batchID == nil)
            try await store.setBatchID("batch_1", forBatch: row)

            // A restart recovers ordinary leases, not the items a live batch holds.
            _ = try await store.lease(limit: 10, route: .live)
            let preparation = try await store.prepareForRun(retryFailed: false)
            #expect(preparation.recoveredInFlight == 1)
            #expect(try await store.batchItems(row).map(\.customID) == ["k1", "k2", "k3"])
            #expect(try await store.batches(openOnly: true).first?.batchID == "batch_1")

            #expect(try await store.batchLineStates() == [row: [.inFlight: 3]])
            // One answered, one back to the live route, one left without a line: finishing the batch frees it.
            try await store.record([finished(forBatch[0].id), .rerouted(forBatch[1].id, attempts: 1)])
            try await store.finishBatch(row, note: "completed")
            #expect(try await store.batches(openOnly: true).isEmpty)
            #expect(try await store.batches(openOnly: false).first?.note == "completed")
            #expect(try await store.batches(openOnly: false).first?.finishedAt != nil)
            // status's per-batch view: the answered line stays counted under its batch, the others came back.
            #expect(try await store.batchLineStates() == [row: [.succeeded: 1]])
            let live = try await store.lease(limit: 10, route: .live)
            #expect(Set(live.map(\.customID)) == ["k2", "k4"])
            #expect(try await store.lease(limit: 10, route: .batch).map(\.customID) == ["k3"])
        }
    }

    /// Riders (dedup in batches): leased items joined to an open batch stay with it across a restart, count in its
    /// items, and finishing the batch frees the ones it left unsettled. Items not leased do not join.
    @Test(arguments: StoreKind.allCases)
    func itemsThatJoinAnOpenBatchStayWithIt(kind: StoreKind) async throws {
        let dir = TemporaryDirectory()
        try await kind.withStore(dir) { store in
            try await store.insertPlanned(
                (1...5).map { planned($0, key: "k\($0)") }, fileIndex: 0, throughLine: 5, complete: true, replanning: false, error: nil)
            let first = try await store.lease(limit: 2, route: .batch)
            let row = try await store.recordBatchFile(fileID: "file-1", endpoint: "/v1/chat/completions", items: first.map(\.id))
            let later = try await store.lease(limit: 2, route: .batch)
            let pendingID = try #require(later.last?.id) + 1
            #expect(try await store.joinBatch(row, items: later.map(\.id) + [pendingID]) == 2, "k5 was never leased: it does not join")
            #expect(try await store.batches(openOnly: true).first?.items == 4)
            _ = try await store.prepareForRun(retryFailed: false)
            #expect(try await store.batchItems(row).map(\.customID) == ["k1", "k2", "k3", "k4"])
            try await store.record([finished(first[0].id), finished(later[0].id, attempts: 0)])
            try await store.finishBatch(row, note: "completed")
            #expect(try await store.lease(limit: 10, route: .batch).map(\.customID) == ["k2", "k4", "k5"])
        }
    }
}
