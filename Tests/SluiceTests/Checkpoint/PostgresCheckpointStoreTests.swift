import Foundation
import Logging
import Synchronization
import Testing

@testable import SluiceCore

/// What a shared store adds to the contract: leases that expire and are taken over, fencing, the
/// heartbeat, the planning turn, the end of the job, and riding out a server restart. Against the
/// tests' real PostgreSQL server, several stores standing for several workers.
@Suite(.serialized) struct PostgresCheckpointStoreTests {
    /// Two workers of one fresh job with a short lease, the first having planned `count` items, for the length of
    /// `body`. A test that stops a worker early closes it (its goodbye); the scope closes both again as it ends.
    private func withTwoWorkers(
        count: Int, lease: Int = 2, planningComplete: Bool = true,
        _ body: (PostgresCheckpointStore, PostgresCheckpointStore) async throws -> Void
    ) async throws {
        let server = try await PostgresTestServer.shared()
        let location = try PostgresLocation(parsing: server.url(job: PostgresTestServer.uniqueJobName()) + "&lease=\(lease)")
        try await PostgresCheckpointStore.withStore(location, role: .runner) { first in
            try await PostgresCheckpointStore.withStore(location, role: .runner) { second in
                try await first.saveInputs([
                    InputRecord(
                        fileIndex: 0, path: "in.jsonl", fingerprint: InputFingerprint(size: 1, checksum: 2), plannedLines: 0, planningComplete: false,
                        planningError: nil)
                ])
                try await first.insertPlanned(
                    (1...count).map { planned($0, key: "k\($0)") }, fileIndex: 0, throughLine: count, complete: planningComplete, replanning: false,
                    error: nil)
                try await body(first, second)
            }
        }
    }

    @Test func twoWorkersNeverHoldTheSameItem() async throws {
        try await withTwoWorkers(count: 300) { first, second in
            async let a = first.lease(limit: 200)
            async let b = second.lease(limit: 200)
            let (mine, theirs) = try await (a, b)
            #expect(mine.count + theirs.count == 300)
            #expect(Set(mine.map(\.id)).isDisjoint(with: theirs.map(\.id)))
        }
    }

    @Test func anExpiredLeaseIsTakenOverAndTheLateAnswerIsCountedNotStored() async throws {
        try await withTwoWorkers(count: 3) { first, second in
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
        }
    }

    /// A worker cut off for longer than a lease (its heartbeat failed, the server restarted) is not told that another
    /// worker took its items over: it must not send them once that worker may have stored their outcome. `maySend`
    /// says no past two thirds of a lease, the heartbeat renews only what the worker still holds, and an item it
    /// still holds is never leased to it a second time.
    @Test func aLeaseThatMayHaveLapsedIsNotSentAndOnlyWhatIsStillHeldIsRenewed() async throws {
        try await withTwoWorkers(count: 3) { first, second in
            let leased = try await first.lease(limit: 2)
            #expect(leased.allSatisfy { first.maySend($0.id) }, "a fresh lease may be sent")
            try await Task.sleep(for: .seconds(1.5))  // past two thirds of the 2 s lease, no heartbeat
            #expect(!leased.contains { first.maySend($0.id) }, "a lease that may lapse before the request arrives is not sent on")
            try await Task.sleep(for: .seconds(1))  // expired
            #expect(try await first.lease(limit: 3).map(\.customID) == ["k3"], "an item this worker still holds is not leased to it twice")
            let taken = try await second.lease(limit: 1)
            #expect(taken.map(\.id) == [leased[0].id])
            try await second.record([finished(taken[0].id)])
            _ = try await first.heartbeat(WorkerFigures(sent: 0, finished: 0, requestsPerSecond: 0))
            #expect(!first.maySend(leased[0].id), "taken over and finished by another worker: never sent again")
            #expect(first.maySend(leased[1].id), "still this worker's: the heartbeat renewed it")
        }
    }

    /// A gateway that refuses the first request with a Retry-After of 3 s and answers the others; it counts them.
    final class RefuseFirstTransport: GatewayTransport {
        let sent = Mutex(0)

        func send(_ request: GatewayRequest, timeout: Double) async -> GatewayResult {
            let first = sent.withLock {
                $0 += 1
                return $0 == 1
            }
            guard first else { return .okCompletion(latencySeconds: 0.001) }
            return .response(GatewayResponse(status: 429, headers: [("retry-after", "3")], body: Array(#"{"error":{}}"#.utf8), latencySeconds: 0.001))
        }

        func shutdown() async {}
    }

    /// The real scheduler on a shared job: its item waits out a Retry-After longer than the lease (no heartbeat: a
    /// worker cut off from the server), another worker takes it over and stores its outcome meanwhile. The first
    /// worker, told nothing, must not send it again when its wait ends; its release changes nothing.
    @Test(.timeLimit(.minutes(1))) func anItemTakenOverWhileItWaitsToRetryIsNotSentAgain() async throws {
        try await withTwoWorkers(count: 1) { first, second in
            let transport = RefuseFirstTransport()
            let control = RunControl()
            let run = RunContext(control: control, counters: RunCounters(), logger: Logger(label: "test"))
            let limiter = ConcurrencyLimiter(limit: 4)
            let pacing = Pacing(
                limiter: limiter, adaptive: nil, gate: RateGate(control: control),
                budget: RateBudget(requestsPerMinute: nil, tokensPerMinute: nil, control: control))
            let recorder = CheckpointRecorder(store: first, counters: run.counters, control: control)
            let scheduler = Scheduler(
                settings: .init(maxAttemptsPerModel: 3, timeoutSeconds: 10, maxItemsHeld: Scheduler.Settings.itemsHeld(concurrency: 4)),
                parts: .init(
                    transport: transport, builder: RequestBuilder(baseURL: "http://127.0.0.1:1/v1", defaultModel: "m", settings: GatewaySettings()),
                    recorder: recorder, pacing: pacing, breaker: nil, run: run))
            let loop = Task { await recorder.run() }
            // The moment the 2 s lease expires (a loaded machine may lease late), while the item waits its 3 s.
            let takeOver = Task {
                // Not before the first worker leased and sent it (a pending item would simply be the second's).
                while transport.sent.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(50)) }
                try await Task.sleep(for: .seconds(1.5))
                let deadline = ContinuousClock.now + .seconds(10)
                var taken = try await second.lease(limit: 1)
                while taken.isEmpty, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    taken = try await second.lease(limit: 1)
                }
                try await second.record(taken.map { finished($0.id) })
                return taken.count
            }
            try await scheduler.run(feed: ItemFeed(store: first, planningDone: true))
            loop.cancel()
            await loop.value
            #expect(try await takeOver.value == 1, "the other worker took the item over")
            #expect(transport.sent.withLock { $0 } == 1, "the item was sent again after another worker stored its outcome")
            #expect(try await first.counts().succeeded == 1)
        }
    }

    @Test func theHeartbeatKeepsLeasesAliveAndSaysHowManyWorkersLive() async throws {
        try await withTwoWorkers(count: 2) { first, second in
            _ = try await first.lease(limit: 2)
            for _ in 0..<6 {
                _ = try await second.heartbeat(WorkerFigures(sent: 0, finished: 0, requestsPerSecond: 0))
                #expect(try await first.heartbeat(WorkerFigures(sent: 1, finished: 0, requestsPerSecond: 1)) == 2)
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(try await second.lease(limit: 2).isEmpty, "leases extended by the heartbeat never expired")
            await second.close()
            #expect(try await first.heartbeat(WorkerFigures(sent: 1, finished: 0, requestsPerSecond: 1)) == 1, "a stopped worker is not live")
        }
    }

    @Test func oneWorkerPlansAndAnotherTakesOverWhenItStopsBeating() async throws {
        try await withTwoWorkers(count: 1, planningComplete: false) { first, second in
            #expect(try await first.takePlanning())
            #expect(try await !second.takePlanning())
            try await Task.sleep(for: .seconds(2.5))
            #expect(try await second.takePlanning(), "the planner stopped beating: its turn passes")
            try await second.insertPlanned([planned(2, key: "k2")], fileIndex: 0, throughLine: 2, complete: true, replanning: false, error: nil)
            try await second.finishPlanning()
            #expect(try await !first.takePlanning(), "nothing is left to plan")
        }
    }

    @Test func theJobEndsWhenNothingIsLeftAnywhereAndOneWorkerPublishes() async throws {
        try await withTwoWorkers(count: 2) { first, second in
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
            try await PostgresCheckpointStore.withStore(try PostgresLocation(parsing: second.location + "&lease=2"), role: .runner) { third async throws in
                #expect(try await third.claimPublication() == second.workerID)
            }
        }
    }

    @Test func aCallDuringAServerRestartWaitsAndSucceeds() async throws {
        let server = try await PostgresTestServer.shared()
        try await withTwoWorkers(count: 5) { first, second in
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
        }
    }

    /// A store's connection pool is a service of a group scoped to `withStore`: it stops as the scope ends,
    /// also when the body throws (and a runner still says goodbye), so nothing outlives the code using it.
    @Test(.timeLimit(.minutes(1))) func theConnectionsLiveExactlyAsLongAsTheScope() async throws {
        struct Thrown: Error {}
        let server = try await PostgresTestServer.shared()
        let location = try PostgresLocation(parsing: server.url(job: PostgresTestServer.uniqueJobName()))
        let kept = Mutex<[PostgresCheckpointStore]>([])
        await #expect(throws: Thrown.self) {
            try await PostgresCheckpointStore.withStore(location, role: .runner) { store in
                kept.withLock { $0.append(store) }
                #expect(try await store.counts().total == 0)
                throw Thrown()
            }
        }
        try await PostgresCheckpointStore.withStore(location, role: .reader) { store in kept.withLock { $0.append(store) } }
        let stores = kept.withLock { $0 }
        #expect(stores.count == 2)
        for store in stores {
            // The pool is shut down: a query fails at once instead of connecting again.
            await #expect(throws: (any Error).self) { try await store.counts() }
        }
        #expect(try server.query("SELECT count(*) FROM \(location.schema).workers WHERE stopped_at IS NOT NULL") == [["1"]])
    }

    @Test func aJobWithAnyNameKeepsThatNameAndListShowsIt() async throws {
        let server = try await PostgresTestServer.shared()
        let name = "Nightly-Eval \(PostgresTestServer.uniqueJobName()).v2"
        let location = try PostgresLocation(parsing: server.url(job: name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        #expect(location.job == name)
        try await PostgresCheckpointStore.withStore(location, role: .runner) { _ in }
        #expect(try server.query("SELECT value FROM \(location.schema).job WHERE key = 'job_name'") == [[name]])
        var lowercase = location
        lowercase.job = name.lowercased()
        try await PostgresCheckpointStore.withStore(lowercase, role: .reader) { _ in }
        let listed = try await PostgresCheckpointStore.jobs(in: try PostgresLocation(parsing: server.url(job: ""), requireJob: false))
        #expect(listed.contains(location.display), "\(listed)")
        #expect(try PostgresLocation(parsing: location.display).job == name)
    }

    @Test func aNameWhoseSchemaHoldsAnotherJobIsRefused() async throws {
        let server = try await PostgresTestServer.shared()
        let first = try PostgresLocation(parsing: server.url(job: "x-" + PostgresTestServer.uniqueJobName()))
        try await PostgresCheckpointStore.withStore(first, role: .runner) { _ in }
        // A plain name equal to the first job's schema (without `sluice_`) maps to that schema too.
        var second = first
        second.job = String(first.schema.dropFirst("sluice_".count))
        #expect(second.schema == first.schema)
        for role in [CheckpointRole.runner, .reader] {
            let refused = await #expect(throws: SluiceError.self) { try await PostgresCheckpointStore.withStore(second, role: role) { _ in } }
            #expect(refused?.message.contains("holds the job \"\(first.job)\", not \"\(second.job)\"") == true, "\(refused?.message ?? "")")
        }
    }

    @Test func aJobMadeBeforeNamesWereKeptStillOpensAndGetsItsName() async throws {
        let server = try await PostgresTestServer.shared()
        let location = try PostgresLocation(parsing: server.url(job: "Old_" + PostgresTestServer.uniqueJobName()))
        #expect(location.schema == "sluice_" + location.job.lowercased())
        try await PostgresCheckpointStore.withStore(location, role: .runner) { _ in }
        _ = try server.query("DELETE FROM \(location.schema).job WHERE key = 'job_name'")
        try await PostgresCheckpointStore.withStore(location, role: .reader) { _ in }
        try await PostgresCheckpointStore.withStore(location, role: .runner) { _ in }
        #expect(try server.query("SELECT value FROM \(location.schema).job WHERE key = 'job_name'") == [[location.job]])
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
        // Any name is taken; what reaches SQL text is its plain schema name.
        #expect(try PostgresLocation(parsing: "postgres://sluice@db/batch?job=a;drop").schema.hasPrefix("sluice_a_drop_"))
        #expect(throws: SluiceError.self) { try PostgresLocation(parsing: "postgres://sluice@db/batch?job=a%09b") }
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

@Suite struct PostgresJobNameTests {
    private func schema(_ name: String) -> String { PostgresJobName.schema(for: name) }

    /// Names a user might type, each a job of its own (none differs from another only in case or Unicode form).
    static let names = [
        "nightly-eval", "nightly_eval", "nightly.eval", "nightly eval", "nightly--eval", "nightly_eval_", "a-b", "a_b", "a.b", "a b", "ab",
        "Évaluation 2", "évaluation-2", "評価", "評価2", "🙂", "-", "_", "100%", "a&b", "a=b", "a/b", "a'b", "a\"b; DROP SCHEMA public",
        String(repeating: "x", count: 48), String(repeating: "x", count: 49), String(repeating: "x", count: 50),
        String(repeating: "long-name ", count: 20) + "1", String(repeating: "long-name ", count: 20) + "2",
    ]

    @Test func namesSluiceAlwaysTookKeepTheirSchema() {
        #expect(schema("nightly") == "sluice_nightly")
        #expect(schema("Nightly_2") == "sluice_nightly_2")
        #expect(schema(String(repeating: "a", count: 48)) == "sluice_" + String(repeating: "a", count: 48))
    }

    @Test func everyOtherNameGetsAPlainReadableSchemaOfItsOwnWithin63Bytes() {
        var seen: [String: String] = [:]
        for name in Self.names {
            let schema = schema(name)
            #expect(schema.hasPrefix("sluice_") && schema.utf8.count <= 63, "\(name): \(schema)")
            #expect(schema.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }, "\(name): \(schema)")
            #expect(seen[schema] == nil, "\(name) and \(seen[schema] ?? "") share \(schema)")
            seen[schema] = name
        }
        #expect(schema("nightly-eval").hasPrefix("sluice_nightly_eval_"))
        #expect(schema("Évaluation 2").hasPrefix("sluice_valuation_2_"))
        #expect(schema("評価").hasPrefix("sluice_job_"))
        // Pinned: a change of the mapping would leave every existing job with such a name behind.
        #expect(schema("nightly-eval") == "sluice_nightly_eval_93b8118a")
    }

    @Test func oneNameTypedDifferentlyIsOneJob() {
        #expect(schema("Nightly-Eval") == schema("nightly-eval"))
        #expect(schema("e\u{301}valuation-2") == schema("\u{e9}valuation-2"), "é composed or decomposed")
    }

    @Test func aURLCarriesAnyNameAndWhatItShowsParsesBackToTheSameJob() throws {
        var location = try PostgresLocation(parsing: "postgres://app@db/batch?job=x")
        for name in Self.names {
            location.job = name
            #expect(try PostgresLocation(parsing: location.display).job == name, "\(location.display)")
        }
        #expect(try PostgresLocation(parsing: "postgres://app@db/batch?job=nightly eval&sslmode=require").job == "nightly eval")
        #expect(try PostgresLocation(parsing: "postgres://app@db/batch?job=Évaluation 2").job == "Évaluation 2")
        #expect(try PostgresLocation(parsing: "postgres://app@db/batch?job=100%").job == "100%")
        #expect(try PostgresLocation(parsing: "postgres://app@db/batch?job=a%26b&lease=5").job == "a&b")
        let refused = #expect(throws: SluiceError.self) { try PostgresLocation(parsing: "postgres://app@db/batch?job=a%0Ab") }
        #expect(refused?.message.contains("control character") == true, "\(refused?.message ?? "")")
    }
}
