import Foundation
import Testing

/// Several real `sluice` workers on one job kept in the tests' real PostgreSQL server, against the real
/// `sluice-mock`: the same exactly-once results as one worker on SQLite, however workers die.
@Suite(.serialized) struct SharedJobIntegrationTests {
    private func workerArguments(input: String, url: String, output: String, mock: MockGatewayProcess, concurrency: Int = 32) -> [String] {
        [
            "run", "--input", input, "--model", "primary", "--fallback", "backup", "--base-url", mock.baseURL, "--checkpoint", url,
            "--output", output, "--concurrency", String(concurrency), "--max-attempts", "8", "--timeout", "2", "--grace", "2", "--no-progress",
        ]
    }

    /// Items finished in the shared job, read through psql.
    private func finishedCount(_ server: PostgresTestServer, job: String) -> Int {
        Int((try? server.query("SELECT count(*) FROM sluice_\(job).items WHERE state IN (2, 3)"))?.first?.first ?? "") ?? 0
    }

    @Test func threeWorkersKilledStoppedAndCutOffStillGiveEveryItemExactlyOnce() async throws {
        let count = Int(ProcessInfo.processInfo.environment["SLUICE_SHARED_ITEMS"] ?? "") ?? 20_000
        let server = try await PostgresTestServer.shared()
        let mock = try await MockGatewayProcess([
            "--seed", "7", "--latency-ms", "2-10", "--p429", "0.003", "--retry-after", "0.2", "--p500", "0.01", "--p503", "0.005",
            "--pdrop", "0.004", "--failing-model", "primary",
        ])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: count)
        let job = PostgresTestServer.uniqueJobName()
        let url = server.url(job: job) + "&lease=3"
        let arguments = workerArguments(input: input, url: url, output: dir.file("out.jsonl"), mock: mock)
        var workers = try (0..<3).map { _ in try Child(Binaries.sluice, arguments) }
        var firstSeen: [String: Int] = [:]  // body digest of a committed item -> times the mock had received it then
        // Committed items first, then the mock's counts: an item committed in between would look unsent. The other
        // workers keep running meanwhile, so any later send of a watched item shows as a higher count at the end.
        func watchCommitted() async throws {
            let committed = try await committedDigests(url)
            let bodies = try await mock.stats().bodies
            for digest in committed where firstSeen[digest] == nil { firstSeen[digest] = bodies[digest] ?? 0 }
        }
        func waitForShare(_ share: Double) async throws {
            // Each look is a psql process: twice a second, not waitFor's fifty.
            let deadline = Date().addingTimeInterval(300)
            while finishedCount(server, job: job) < Int(Double(count) * share), Date() < deadline {
                try await Task.sleep(for: .milliseconds(500))
            }
            if finishedCount(server, job: job) < Int(Double(count) * share) {
                let states = (try? server.query("SELECT state, count(*) FROM sluice_\(job).items GROUP BY state")) ?? []
                throw TestFailure(
                    "\(share * 100) % not finished: \(states)\n" + workers.map { String($0.stderrSoFar.suffix(1500)) }.joined(separator: "\n---\n"))
            }
        }

        // Worker 0 is killed twice, worker 1 stopped once; the server restarts once in between. Each comes back.
        try await waitForShare(0.1)
        workers[0].signal(SIGKILL)
        _ = await workers[0].wait(timeout: 30)
        try await watchCommitted()
        workers[0] = try Child(Binaries.sluice, arguments)

        try await waitForShare(0.2)
        try await server.bounce(downFor: 2)

        try await waitForShare(0.3)
        workers[0].signal(SIGKILL)
        _ = await workers[0].wait(timeout: 30)
        try await watchCommitted()
        workers[0] = try Child(Binaries.sluice, arguments)

        try await waitForShare(0.4)
        workers[1].signal(SIGTERM)
        #expect(finishedCount(server, job: job) < count, "the job should still have work after the interruptions")
        let stopped = await workers[1].wait(timeout: 60)
        #expect(stopped.status == 143, "\(stopped.stderr.suffix(2000))")
        try await watchCommitted()
        workers[1] = try Child(Binaries.sluice, arguments)

        var outputs: [Finished] = []
        for worker in workers { outputs.append(await worker.wait(timeout: 600)) }
        for output in outputs { #expect(output.status == 0, "\(output.stderr.suffix(3000))") }
        #expect(outputs.filter { $0.stdout.contains("written by worker") }.count == 2, "exactly one worker writes the results")

        // 1. Every item exactly once, in input order, each the right answer.
        let results = try readJSONLines(dir.file("out.jsonl"))
        #expect(results.count == count)
        let wrong = results.enumerated().filter { index, result in
            let body = (result["response"] as? [String: Any])?["body"] as? [String: Any]
            let content = ((body?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            return result["custom_id"] as? String != "i\(index)" || content?.hasSuffix("question number \(index)") != true
        }
        #expect(wrong.isEmpty, "\(wrong.count) wrong lines")

        // 2. No item committed before an interruption was ever sent again.
        #expect(!firstSeen.isEmpty, "no committed item was watched: the test would prove nothing")
        let bodies = try await mock.stats().bodies
        let resent = firstSeen.filter { bodies[$0.key] != $0.value }
        #expect(resent.isEmpty, "\(resent.count) committed items were sent again")

        // 3. The same result lines as one worker on SQLite (the mock's answers depend only on the request;
        //    the request id counts how often it saw that request, so it is left out).
        let single = try await runSluice(
            [
                "run", "--input", input, "--model", "primary", "--fallback", "backup", "--base-url", mock.baseURL, "--output", dir.file("single.jsonl"),
                "--concurrency", "64", "--max-attempts", "8", "--timeout", "2", "--no-progress",
            ], timeout: 600)
        #expect(single.status == 0, "\(single.stderr.suffix(2000))")
        #expect(try comparable(dir.file("single.jsonl")) == comparable(dir.file("out.jsonl")))
        let workerRows = try server.query("SELECT count(*), sum(late_answers), sum(taken_over) FROM sluice_\(job).workers")
        print(
            "shared: \(count) items, workers \(workerRows), \(try await mock.stats().totalRequests) requests in all, \(firstSeen.count) committed items watched"
        )
    }

    /// The results file's lines without the mock's per-request counter.
    private func comparable(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            $0.replacingOccurrences(of: #""request_id":"req_[0-9a-f]+_[0-9]+""#, with: "", options: .regularExpression)
        }
    }
}

/// Operating a job kept in PostgreSQL: the same commands as for SQLite, from anywhere, while workers run.
@Suite(.serialized) struct SharedJobOperatingTests {
    @Test func workersStatusListCancelAndExportWorkOnASharedJob() async throws {
        let server = try await PostgresTestServer.shared()
        let mock = try await MockGatewayProcess(["--latency-ms", "300"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 400)
        let url = server.url(job: PostgresTestServer.uniqueJobName()) + "&lease=3"
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--checkpoint", url, "--output", dir.file("out.jsonl"),
            "--concurrency", "4", "--no-progress",
        ]
        let workers = try (0..<2).map { _ in try Child(Binaries.sluice, arguments) }
        // Both workers started and hold leases (a loaded machine may take a while to start the second).
        let holders = "SELECT count(DISTINCT lease_owner) FROM \(Self.schema(url)).items WHERE state = 1"
        try await waitFor(
            {
                try? await Task.sleep(for: .milliseconds(250))  // a look is a psql process
                return (try? server.query(holders))?.first?.first == "2"
            }, timeout: 60)

        let listed = try await runSluice(["workers", url])
        #expect(listed.status == 0, "\(listed.stderr)")
        let live = listed.stdout.split(separator: "\n").filter { $0.contains(" live ") || $0.contains(" planning ") }
        #expect(live.count == 2, "\(listed.stdout)")
        let json = try await runSluice(["workers", url, "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(Set(rows.compactMap { $0["pid"] as? Int }) == Set(workers.map { Int($0.pid) }))
        #expect(rows.allSatisfy { ($0["leases"] as? Int ?? 0) > 0 }, "each worker holds leases: \(rows)")

        let status = try await runSluice(["status", url, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let items = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["items"] as? [String: Any]
        #expect(items?["total"] as? Int == 400, "\(status.stdout.prefix(600))")

        let database = String(url.prefix { $0 != "?" })
        let jobs = try await runSluice(["list", database])
        #expect(jobs.status == 0 && jobs.stdout.contains("running") && jobs.stdout.contains(Self.job(url)), "\(jobs.stdout) \(jobs.stderr)")

        let cancel = try await runSluice(["cancel", url, "--wait"], timeout: 60)
        #expect(cancel.status == 0 && cancel.stdout.contains("2 live workers"), "\(cancel.stdout) \(cancel.stderr)")
        for worker in workers { #expect(await worker.wait(timeout: 30).status == 130) }
        #expect(try await runSluice(["workers", url]).stdout.contains(" stopped "))

        let exported = try await runSluice(["export", url, "--output", dir.file("so-far.jsonl")])
        #expect(exported.status == 0, "\(exported.stderr)")
        let done = Int(try server.query("SELECT count(*) FROM \(Self.schema(url)).items WHERE state = 2").first?.first ?? "") ?? -1
        #expect(try readJSONLines(dir.file("so-far.jsonl")).count == done && done > 0 && done < 400)

        // A cancelled job continues only when asked, and then finishes.
        let refused = try await runSluice(arguments)
        #expect(refused.status == 2 && refused.stderr.contains("cancelled"), "\(refused.stderr)")
        let resumed = try await runSluice(arguments + ["--force", "--concurrency", "64"], timeout: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try readJSONLines(dir.file("out.jsonl")).map { $0["custom_id"] as? String } == (0..<400).map { "i\($0)" })
        #expect(try await runSluice(["list", database]).stdout.contains("finished"))
    }

    @Test func theRateBudgetIsTheJobsNotEachWorkers() async throws {
        let server = try await PostgresTestServer.shared()
        let mock = try await MockGatewayProcess(["--latency-ms", "5"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 2000)
        let url = server.url(job: PostgresTestServer.uniqueJobName()) + "&lease=3"
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--checkpoint", url, "--output", dir.file("out.jsonl"),
            "--concurrency", "8", "--rpm", "600", "--no-progress",
        ]
        let workers = try (0..<2).map { _ in try Child(Binaries.sluice, arguments) }
        try await Task.sleep(for: .seconds(12))
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { _ = await worker.wait(timeout: 30) }
        // Past the first heartbeats (both workers live and sharing), the job as a whole keeps to 600 a minute.
        let times = try await mock.timeline().map(\.time).sorted()
        guard let first = times.first else { throw TestFailure("nothing was sent") }
        let window = times.filter { $0 >= first + 4 && $0 < first + 10 }
        let rate = Double(window.count) / 6
        #expect(rate > 7 && rate <= 11.5, "\(rate) requests/s in all with --rpm 600 (10/s) shared by 2 workers; unshared they would send 20/s")
    }

    @Test func aChangedInputIsRefusedByEveryWorkerAndAPasswordNeverGoesInTheURL() async throws {
        let server = try await PostgresTestServer.shared()
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 50)
        let url = server.url(job: PostgresTestServer.uniqueJobName())
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--checkpoint", url, "--output", dir.file("out.jsonl"), "--no-progress",
        ]
        #expect(try await runSluice(arguments).status == 0)
        dir.writePrompts("in.jsonl", count: 51)  // another worker's copy of the input differs
        let changed = try await runSluice(arguments)
        #expect(changed.status == 2 && changed.stderr.contains("changed since the job started"), "\(changed.stderr)")

        let batch = try await runSluice(arguments + ["--mode", "batch"])
        #expect(batch.status == 2 && batch.stderr.contains("provider batches are collected by one worker"), "\(batch.stderr)")

        let withPassword = url.replacingOccurrences(of: "postgres@", with: "postgres:hunter2@")
        let refused = try await runSluice(["status", withPassword])
        #expect(refused.status == 2 && refused.stderr.contains("PGPASSWORD") && !refused.stderr.contains("hunter2"), "\(refused.stderr)")
    }

    static func job(_ url: String) -> String { String(url.split(separator: "job=").last?.prefix { $0 != "&" } ?? "") }
    static func schema(_ url: String) -> String { "sluice_" + job(url) }
}
