import Foundation
import Testing

@testable import SluiceCore

/// What a shared store adds to the contract: leases that expire and are taken over, fencing, the
/// heartbeat, the planning turn, the end of the job, and riding out a server restart. Against the
/// tests' real PostgreSQL server, several stores standing for several workers.
@Suite(.serialized) struct PostgresCheckpointStoreTests {
    /// Two workers of one fresh job with a short lease, the first having planned `count` items.
    private func twoWorkers(count: Int, lease: Int = 2, planningComplete: Bool = true) async throws -> (PostgresCheckpointStore, PostgresCheckpointStore) {
        let server = try await PostgresTestServer.shared()
        let url = server.url(job: PostgresTestServer.uniqueJobName()) + "&lease=\(lease)"
        let first = try await PostgresCheckpointStore.open(try PostgresLocation(parsing: url), role: .runner)
        let second = try await PostgresCheckpointStore.open(try PostgresLocation(parsing: url), role: .runner)
        try await first.saveInputs([
            InputRecord(
                fileIndex: 0, path: "in.jsonl", fingerprint: InputFingerprint(size: 1, checksum: 2), plannedLines: 0, planningComplete: false,
                planningError: nil)
        ])
        try await first.insertPlanned(
            (1...count).map { planned($0, key: "k\($0)") }, fileIndex: 0, throughLine: count, complete: planningComplete, replanning: false, error: nil)
        return (first, second)
    }

    @Test func twoWorkersNeverHoldTheSameItem() async throws {
        let (first, second) = try await twoWorkers(count: 300)
        async let a = first.lease(limit: 200)
        async let b = second.lease(limit: 200)
        let (mine, theirs) = try await (a, b)
        #expect(mine.count + theirs.count == 300)
        #expect(Set(mine.map(\.id)).isDisjoint(with: theirs.map(\.id)))
        await first.close()
        await second.close()
    }

    @Test func anExpiredLeaseIsTakenOverAndTheLateAnswerIsCountedNotStored() async throws {
        let (first, second) = try await twoWorkers(count: 3)
        let leased = try await first.lease(limit: 3)
        #expect(try await second.lease(limit: 3).isEmpty, "live leases are not taken")
        try await Task.sleep(for: .seconds(2.5))  // the first worker stops beating: its leases expire
        let taken = try await second.lease(limit: 3)
        #expect(taken.map(\.customID) == ["k1", "k2", "k3"])
        // The first worker's answer arrives after all: fenced out.
        try await first.record([finished(leased[0].id, response: #"{"late":true}"#)])
        try await second.record([finished(taken[0].id, response: #"{"mine":true}"#)])
        let rows = try await second.results(after: .start, limit: 10)
        #expect(rows.first.map { String(decoding: $0.response ?? [], as: UTF8.self) } == #"{"mine":true}"#)
        let workers = try await second.workers(seenWithin: 60)
        #expect(workers.first { $0.id == first.workerID }?.lateAnswers == 1)
        #expect(workers.first { $0.id == second.workerID }?.takenOver == 3)
        await first.close()
        await second.close()
    }

    @Test func theHeartbeatKeepsLeasesAliveAndSaysHowManyWorkersLive() async throws {
        let (first, second) = try await twoWorkers(count: 2)
        _ = try await first.lease(limit: 2)
        for _ in 0..<6 {
            _ = try await second.heartbeat(WorkerFigures(sent: 0, finished: 0, requestsPerSecond: 0))
            #expect(try await first.heartbeat(WorkerFigures(sent: 1, finished: 0, requestsPerSecond: 1)) == 2)
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(try await second.lease(limit: 2).isEmpty, "leases extended by the heartbeat never expired")
        await second.close()
        #expect(try await first.heartbeat(WorkerFigures(sent: 1, finished: 0, requestsPerSecond: 1)) == 1, "a stopped worker is not live")
        await first.close()
    }

    @Test func oneWorkerPlansAndAnotherTakesOverWhenItStopsBeating() async throws {
        let (first, second) = try await twoWorkers(count: 1, planningComplete: false)
        #expect(try await first.takePlanning())
        #expect(try await !second.takePlanning())
        try await Task.sleep(for: .seconds(2.5))
        #expect(try await second.takePlanning(), "the planner stopped beating: its turn passes")
        try await second.insertPlanned([planned(2, key: "k2")], fileIndex: 0, throughLine: 2, complete: true, replanning: false, error: nil)
        try await second.finishPlanning()
        #expect(try await !first.takePlanning(), "nothing is left to plan")
        await first.close()
        await second.close()
    }

    @Test func theJobEndsWhenNothingIsLeftAnywhereAndOneWorkerPublishes() async throws {
        let (first, second) = try await twoWorkers(count: 2)
        let leased = try await first.lease(limit: 2)
        #expect(try await second.workRemains(), "another worker's leases are work left")
        try await first.record(leased.map { finished($0.id) })
        #expect(try await !second.workRemains())
        #expect(try await first.claimPublication() == nil)
        #expect(try await second.claimPublication() == first.workerID)
        // The claimer dies before writing: the claim passes on; once written, it stays.
        await first.close()
        #expect(try await second.claimPublication() == nil)
        try await second.publicationWritten()
        let third = try await PostgresCheckpointStore.open(try PostgresLocation(parsing: second.location + "&lease=2"), role: .runner)
        #expect(try await third.claimPublication() == second.workerID)
        await third.close()
        await first.close()
        await second.close()
    }

    @Test func aCallDuringAServerRestartWaitsAndSucceeds() async throws {
        let server = try await PostgresTestServer.shared()
        let (first, second) = try await twoWorkers(count: 5)
        let leased = try await first.lease(limit: 5)
        let bounce = Task { try await server.bounce(downFor: 2) }
        try await Task.sleep(for: .milliseconds(300))
        // Issued while the server is down: retried until it is back, then committed once.
        let start = ContinuousClock.now
        try await first.record(leased.map { finished($0.id) })
        #expect(ContinuousClock.now - start > .seconds(1), "the call overlapped the downtime")
        try await bounce.value
        #expect(try await second.counts().succeeded == 5)
        // The same outcomes again (a commit whose acknowledgement was lost, retried): stored once, not late.
        try await first.record(leased.map { finished($0.id) })
        #expect(try await second.workers(seenWithin: 60).first { $0.id == first.workerID }?.lateAnswers == 0)
        await first.close()
        await second.close()
    }
}

@Suite struct PostgresLocationTests {
    @Test func aURLNamesServerDatabaseAndJobButNeverThePassword() throws {
        let location = try PostgresLocation(parsing: "postgres://sluice@db.internal:6543/batch?job=Nightly_2&sslmode=require&lease=12")
        #expect(location.host == "db.internal" && location.port == 6543 && location.user == "sluice" && location.database == "batch")
        #expect(location.schema == "sluice_nightly_2" && location.tls == .require && location.leaseSeconds == 12)
        #expect(location.display == "postgres://sluice@db.internal:6543/batch?job=Nightly_2")
        let refused = #expect(throws: SluiceError.self) { try PostgresLocation(parsing: "postgres://sluice:hunter2@db/batch?job=x") }
        #expect(refused.map { !$0.message.contains("hunter2") } == true, "the refusal must not echo the password")
        #expect(throws: SluiceError.self) { try PostgresLocation(parsing: "postgres://sluice@db/batch") }
        #expect(throws: SluiceError.self) { try PostgresLocation(parsing: "postgres://sluice@db/batch?job=a;drop") }
        #expect(throws: SluiceError.self) { try PostgresLocation(parsing: "postgres://sluice@db/batch?job=a&sslmode=maybe") }
    }

    @Test func thePasswordComesFromTheEnvironmentOrAPgpassFile() throws {
        let dir = TemporaryDirectory()
        let pgpass = dir.file("pgpass")
        try """
        # comment
        other:5432:batch:sluice:wrong
        db.internal:6543:*:sluice:s\\:ecret
        *:*:*:*:fallback
        """.write(toFile: pgpass, atomically: true, encoding: .utf8)
        chmod(pgpass, 0o600)  // libpq's rule: a file others may read is ignored
        let location = try PostgresLocation(parsing: "postgres://sluice@db.internal:6543/batch?job=x")
        #expect(location.password(environment: ["PGPASSFILE": pgpass]) == "s:ecret")
        #expect(location.password(environment: ["PGPASSWORD": "env", "PGPASSFILE": pgpass]) == "env")
        let other = try PostgresLocation(parsing: "postgres://admin@elsewhere/db?job=x")
        #expect(other.password(environment: ["PGPASSFILE": pgpass]) == "fallback")
        #expect(other.password(environment: ["PGPASSFILE": dir.file("missing")]) == nil)
    }
}
