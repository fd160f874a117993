import Foundation
import Testing

/// Operating a running job end to end: cancel, the cost cap, retry by error
/// class, `validate`, `list`, and the per-minute history the report draws.
@Suite(.serialized)
struct OperatingTests {
    private func job(_ dir: TemporaryDirectory, _ mock: MockGatewayProcess, count: Int, extra: String = "") -> String {
        dir.writePrompts("in.jsonl", count: count)
        let path = dir.file("job.json")
        writeFile(path, Data(#"{"name": "ops", "inputs": ["in.jsonl"], "model": "m", "base_url": "\#(mock.baseURL)"\#(extra)}"#.utf8))
        return path
    }

    @Test func cancelDrainsTheRunningJobAndALaterRunNeedsForce() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "80"])
        let dir = TemporaryDirectory()
        let job = job(dir, mock, count: 200, extra: #", "concurrency": 4"#)
        let db = dir.file("in.results.jsonl.sluice.db")
        let child = try Child(Binaries.sluice, ["run", job, "--no-progress"])
        try await waitFor { ((try? checkpointCountIfPresent(db, "state = 2")) ?? 0) >= 10 }

        let cancel = try await runSluice(["cancel", job, "--wait"], timeout: 60)
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(cancel.stdout.contains("asked the job running as pid \(child.pid) to stop"), "\(cancel.stdout)")
        let stopped = await child.wait(timeout: 30)
        #expect(stopped.status == 130, "cancelled like an interrupt: \(stopped.stderr)")
        #expect(stopped.stderr.contains("the job was cancelled"), "\(stopped.stderr)")
        #expect(stopped.stderr.contains("--force"), "the resume command says how to continue")
        #expect(stopped.stdout.contains("cancelled in"))
        let done = try checkpointCount(db, "state = 2")
        let leased = try checkpointCount(db, "state = 1")
        #expect(done < 200 && leased == 0, "nothing is left leased")
        let status = try await runSluice(["status", job, "--json"])
        #expect(status.stdout.contains(#""state" : "cancelled""#), "\(status.stdout)")

        let refused = try await runSluice(["run", job, "--no-progress"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("was cancelled") && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(try checkpointCount(db, "state = 2") == done, "a refused run sends nothing")

        let resumed = try await runSluice(["run", job, "--no-progress", "--force"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let stats = try await mock.stats()
        #expect(stats.totalRequests == 200, "every item sent exactly once over both runs")
        #expect(stats.bodies.values.allSatisfy { $0 == 1 })
    }

    @Test func maxCostStopsWithinOneInFlightWindowOfTheCapAndResumesWithAHigherOne() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "20"])
        let dir = TemporaryDirectory()
        let job = job(dir, mock, count: 300, extra: #", "concurrency": 8, "body_defaults": {"max_tokens": 40}"#)
        // $1 per thousand tokens: an answer costs a few cents, a cap of $2 is reached after some dozens.
        let price = ["--price", "m=1000,1000"]
        let capped = try await runSluice(["run", job, "--no-progress", "--max-cost", "2"] + price)
        #expect(capped.status == 3, "exit code 3 at the cap: \(capped.stderr)")
        #expect(capped.stderr.contains("the cost cap of $2.00 is reached"), "\(capped.stderr)")
        #expect(capped.stdout.contains("stopped at the cost cap"))
        let db = dir.file("in.results.jsonl.sluice.db")
        let prompt = Int((try queryCheckpoint(db, "SELECT sum(prompt_tokens) FROM items").first?.first ?? nil) ?? "") ?? 0
        let completion = Int((try queryCheckpoint(db, "SELECT sum(completion_tokens) FROM items").first?.first ?? nil) ?? "") ?? 0
        let spent = Double(prompt + completion) * 1000 / 1_000_000
        // The worst case of one request: its body bytes / 4 at the input price plus max_tokens at the output price.
        let bodyBytes = #"{"messages":[{"role":"user","content":"question number 299"}],"max_tokens":40}"#.utf8.count
        let worstRequest = Double(bodyBytes / 4 + 40) * 1000 / 1_000_000
        #expect(spent <= 2.0, "never over the cap: spent \(spent)")
        #expect(spent >= 2.0 - 8 * worstRequest, "stopped within one in-flight window (8 requests) of the cap: spent \(spent)")
        #expect(try checkpointCount(db, "state = 0") > 0, "the rest is pending")
        #expect(try await mock.stats().totalRequests == (try checkpointCount(db, "state = 2")), "no request was sent past the cap")

        let resumed = try await runSluice(["run", job, "--no-progress", "--max-cost", "1000"] + price)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try checkpointCount(db, "state = 2") == 300)
        #expect(resumed.stdout.contains("cost       $"), "\(resumed.stdout)")
    }

    @Test func maxCostRefusesAModelWithoutAPrice() async throws {
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 3)
        let refused = try await runSluice(["run", "--input", input, "--model", "unpriced-model", "--max-cost", "5", "--no-progress"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("needs a price for unpriced-model"), "\(refused.stderr)")
    }

    @Test func retryFailedSendsTransientClassesByDefaultAndOthersOnlyWhenNamed() async throws {
        // Every body's first attempt fails: about half with a 500 (server), the rest with a 400 (bad_request).
        let mock = try await MockGatewayProcess(["--p500", "0.5", "--p400", "1", "--fail-first", "1", "--seed", "11"])
        let dir = TemporaryDirectory()
        let job = job(dir, mock, count: 60, extra: #", "max_attempts": 1"#)
        let db = dir.file("in.results.jsonl.sluice.db")
        #expect(try await runSluice(["run", job, "--no-progress"]).status == 1)
        let server = try checkpointCount(db, "state = 3 AND http_status = 500")
        let badRequest = try checkpointCount(db, "state = 3 AND http_status = 400")
        #expect(server > 0 && badRequest > 0 && server + badRequest == 60)

        let transient = try await runSluice(["retry-failed", db, "--no-progress"])
        #expect(transient.status == 1, "the bad requests are still failed: \(transient.stderr)")
        #expect(transient.stdout.contains("retried    \(server) previously failed items"), "\(transient.stdout)")
        #expect(try await mock.stats().totalRequests == 60 + server, "only the server errors were sent again")
        #expect(try checkpointCount(db, "state = 3 AND http_status = 400") == badRequest)

        let named = try await runSluice(["retry-failed", job, "--class", "bad_request", "--no-progress"])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(try await mock.stats().totalRequests == 120)
        #expect(try checkpointCount(db, "state = 2") == 60)

        let wrong = try await runSluice(["retry-failed", job, "--class", "flaky"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("flaky"))
    }

    @Test func validateCountsShapesProblemsAndCostWithoutSendingOrWritingACheckpoint() async throws {
        let dir = TemporaryDirectory()
        let lines = [
            #"{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":100}}"#,
            #"{"id":"b","messages":[{"role":"user","content":"hello there"}],"model":"gpt-4o"}"#,
            #"{"id":"c","prompt":"a prompt of some length"}"#,
            #"{"id":"d","prompt":"#,
            "",
            #"{"id":"b","prompt":"the same id again"}"#,
            #"{"id":"e","prompt":"one more"}"#,
        ]
        let input = dir.file("mixed.jsonl")
        writeFile(input, Data((lines.joined(separator: "\n") + "\n").utf8))
        let arguments = ["--input", input, "--model", "gpt-4o-mini", "--base-url", "http://127.0.0.1:9/v1", "--price", "gpt-4o=2.5,10"]
        let validate = try await runSluice(["validate"] + arguments)
        #expect(validate.status == 1, "bad lines make it exit 1: \(validate.stderr)")
        let out = validate.stdout
        #expect(out.contains("7 lines read"), "\(out)")
        #expect(out.contains("lines      4 requests · 2 problems · 1 blank"), "\(out)")
        #expect(out.contains("batch 1 · chat 1 · prompt 2"), "\(out)")
        #expect(out.contains("models     gpt-4o-mini 3 · gpt-4o 1"), "\(out)")
        #expect(out.contains("mixed.jsonl:4: invalid JSON"), "\(out)")
        #expect(out.contains("\(input):6: the custom_id of line \(input):2 is used again"), "\(out)")
        #expect(out.contains("1 of 4 lines set max_tokens"), "\(out)")
        #expect(out.contains("cost       ~$"), "\(out)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("mixed.results.jsonl.sluice.db")), "no checkpoint is written")

        let dryRun = try await runSluice(["run", "--dry-run"] + arguments)
        #expect(dryRun.status == 1)
        #expect(dryRun.stdout.contains("lines      4 requests · 2 problems · 1 blank"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("mixed.results.jsonl.sluice.db")))
    }

    @Test func listShowsEachJobUnderAFolderWithItsState() async throws {
        let mock = try await MockGatewayProcess(["--p400", "0.5", "--seed", "5"])
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("one"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.file("two"), withIntermediateDirectories: true)
        let first = dir.writePrompts("one/a.jsonl", count: 10)
        let second = dir.writePrompts("two/b.jsonl", count: 20)
        _ = try await runSluice(["run", "--input", first, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--max-attempts", "1"])
        _ = try await runSluice(["run", "--input", second, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--max-attempts", "1"])
        let cancelled = try await runSluice(["cancel", dir.file("two/b.results.jsonl.sluice.db")])
        #expect(cancelled.status == 0 && cancelled.stdout.contains("is not running"), "\(cancelled.stdout)")

        let list = try await runSluice(["list", dir.path])
        #expect(list.status == 0, "\(list.stderr)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(list.stdout)")
        let failedOne = try checkpointCount(dir.file("one/a.results.jsonl.sluice.db"), "state = 3")
        #expect(lines[0].hasPrefix("finished") && lines[0].contains("10/10") && lines[0].contains("failed \(failedOne) "), "\(lines[0])")
        #expect(lines[1].contains("20/20") && lines[1].contains("b.results.jsonl.sluice.db"), "\(lines[1])")

        let json = try await runSluice(["list", dir.path, "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["total"] as? Int } == [10, 20])
    }

    @Test func theHistoryRecordsEveryRequestOfTheRun() async throws {
        let mock = try await MockGatewayProcess(["--p500", "0.2", "--seed", "9"])
        let dir = TemporaryDirectory()
        let job = job(dir, mock, count: 80)
        #expect(try await runSluice(["run", job, "--no-progress"]).status == 0)
        let db = dir.file("in.results.jsonl.sluice.db")
        let rows = try queryCheckpoint(db, "SELECT figures FROM history ORDER BY minute")
        #expect(!rows.isEmpty)
        var requests = 0
        var succeeded = 0
        var serverErrors = 0
        for row in rows {
            let figures = try #require(try JSONSerialization.jsonObject(with: Data((row[0] ?? "").utf8)) as? [String: Any])
            requests += figures["requests"] as? Int ?? 0
            succeeded += figures["succeeded"] as? Int ?? 0
            serverErrors += (figures["errors"] as? [String: Int])?["server"] ?? 0
        }
        let stats = try await mock.stats()
        #expect(requests == stats.totalRequests)
        #expect(succeeded == 80)
        #expect(serverErrors == stats.count("status", "500"))
    }
}
