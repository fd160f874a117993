import Foundation
import Testing

/// Settings and behaviours of `sluice run` end to end, each against the real mock.
@Suite(.serialized)
struct JobFeatureTests {
    private func run(_ input: String, _ mock: MockGatewayProcess, _ extra: [String] = [], environment: [String: String] = [:]) async throws -> Finished {
        try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"] + extra, environment: environment)
    }

    @Test func retryFailedSendsFailedItemsAgainAndRewritesResultsAndErrors() async throws {
        // Every body's first attempt is a 400 (never retried); the second time it is answered.
        let mock = try await MockGatewayProcess(["--p400", "1", "--fail-first", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 30)
        let first = try await run(input, mock)
        #expect(first.status == 1)
        #expect(try readJSONLines(dir.file("in.errors.jsonl")).count == 30)
        let again = try await run(input, mock)
        #expect(again.status == 1)
        #expect(try await mock.stats().totalRequests == 30, "failed items are not sent again without --retry-failed")
        let retried = try await run(input, mock, ["--retry-failed"])
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(retried.stdout.contains("retried    30 previously failed items"), "\(retried.stdout)")
        #expect(try await mock.stats().totalRequests == 60)
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.count == 30)
        #expect(results.allSatisfy { ($0["response"] as? [String: Any])?["status_code"] as? Int == 200 })
        #expect(try readJSONLines(dir.file("in.errors.jsonl")).isEmpty)
    }

    @Test func severalInputsKeepTheirOrderAndAnAddedOrRemovedFileIsReplannedWithForce() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let a = dir.writePrompts("a.jsonl", count: 10, prefix: "a")
        let b = dir.writePrompts("b.jsonl", count: 10, prefix: "b")
        let c = dir.writePrompts("c.jsonl", count: 10, prefix: "c")
        let output = dir.file("out.jsonl")
        func ids() throws -> [String] { try readJSONLines(output).compactMap { $0["custom_id"] as? String } }
        func job(_ inputs: [String], _ extra: [String] = []) async throws -> Finished {
            try await runSluice(
                ["run"] + inputs.flatMap { ["--input", $0] } + ["--output", output, "--model", "m", "--base-url", mock.baseURL, "--no-progress"] + extra)
        }
        #expect(try await job([a, b]).status == 0)
        #expect(try ids() == (0..<10).map { "a\($0)" } + (0..<10).map { "b\($0)" })

        let added = try await job([a, b, c])
        #expect(added.status == 2)
        #expect(added.stderr.contains("c.jsonl was not an input when the job started"), "\(added.stderr)")
        #expect(try await job([a, b, c], ["--force"]).status == 0)
        #expect(try ids() == ["a", "b", "c"].flatMap { prefix in (0..<10).map { "\(prefix)\($0)" } })
        #expect(try await mock.stats().totalRequests == 30, "only the new file's items were sent")

        let removed = try await job([a, c], ["--force"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(try ids() == (0..<10).map { "a\($0)" } + (0..<10).map { "c\($0)" })
    }

    @Test func aJobFileRunsWithPathsRelativeToItselfFromAnotherFolder() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("project/jobs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.file("project/data"), withIntermediateDirectories: true)
        dir.writePrompts("project/data/in.jsonl", count: 12)
        let job =
            #"{"name": "relative", "inputs": ["../data/in.jsonl"], "output": "../out/results.jsonl", "model": "m", "base_url": "\#(mock.baseURL)", "properties": {"team": "evals"}}"#
        try job.write(toFile: dir.file("project/jobs/job.json"), atomically: true, encoding: .utf8)
        let child = try Child(Binaries.sluice, ["run", "project/jobs/job.json", "--no-progress"], directory: dir.path)
        let finished = await child.wait()
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stdout.contains(#"job "relative" finished"#))
        #expect(try readJSONLines(dir.file("project/out/results.jsonl")).count == 12)
        #expect(FileManager.default.fileExists(atPath: dir.file("project/out/results.jsonl.sluice.db")))
        #expect(try await mock.stats().nested("properties", "team", "evals") == 12)
    }

    @Test func theDemoJobFileRuns() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let finished = try await runSluice([
            "run", repository.appendingPathComponent("jobs/demo.json").path, "--base-url", mock.baseURL,
            "--output", dir.file("demo.results.jsonl"), "--no-progress",
        ])
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stdout.contains(#"job "demo" finished"#), "\(finished.stdout)")
        let results = try readJSONLines(dir.file("demo.results.jsonl"))
        let lines = try ["samples/prompts.jsonl", "samples/batch.jsonl"].map {
            try String(contentsOf: repository.appendingPathComponent($0), encoding: .utf8).split(separator: "\n").count
        }.reduce(0, +)
        #expect(results.count > lines, "every line of the three sample files, the gzip one included")
        #expect(results.allSatisfy { ($0["response"] as? [String: Any])?["status_code"] as? Int == 200 })
        let stats = try await mock.stats()
        #expect(stats.nested("properties", "batch", "demo") == stats.totalRequests)
        #expect(stats.nested("floopy_headers", "floopy-session-id", "sluice-demo") == stats.totalRequests)
    }

    @Test func bodyDefaultsEndpointCacheAndPerLineSettingsReachTheGateway() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.file("in.jsonl")
        let lines = [
            #"{"id":"plain","prompt":"one"}"#,
            #"{"id":"own","prompt":"two","temperature":0.9,"properties":{"team":"red"},"session_id":"s-line","user_id":"u-line","cache":"exact","fallback":["line-backup"]}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        let finished = try await run(
            input, mock,
            [
                "--body", "temperature=0", "--body", "max_tokens=16", "--cache", "semantic",
                "--property", "team=blue", "--session-id", "s-job", "--tpm", "100000",
            ])
        #expect(finished.status == 0, "\(finished.stderr)")
        let stats = try await mock.stats()
        #expect(stats.nested("body_fields", "max_tokens", "16") == 2)
        #expect(stats.nested("body_fields", "temperature", "0") == 1)
        #expect(stats.nested("body_fields", "temperature", "0.9") == 1, "a line's own parameter wins over --body")
        #expect(stats.nested("floopy_headers", "floopy-cache", "semantic") == 1)
        #expect(stats.nested("floopy_headers", "floopy-cache", "exact") == 1)
        #expect(stats.nested("properties", "team", "blue") == 1)
        #expect(stats.nested("properties", "team", "red") == 1)
        #expect(stats.nested("floopy_headers", "floopy-session-id", "s-line") == 1)
        #expect(stats.nested("floopy_headers", "floopy-session-id", "s-job") == 1)
        #expect(stats.nested("floopy_headers", "floopy-user-id", "u-line") == 1)
        #expect(stats.nested("floopy_headers", "floopy-fallback", "line-backup") == 1)

        let embedded = try await run(input, mock, ["--endpoint", "/v1/embeddings", "--output", dir.file("emb.jsonl")])
        #expect(embedded.status == 0, "\(embedded.stderr)")
        #expect(try await mock.stats().count("paths", "/v1/embeddings") == 2)
    }

    @Test func aTokenBudgetPacesRequests() async throws {
        // 40 requests of about 16 tokens each (as the mock bills them), 640 in all. sluice's budget is 6,000 a minute,
        // 100 a second with a second of burst: about 5.4 s of sending. The gateway allows 400 per 2-second window,
        // which the paced requests never reach (at most ~320 in any 2 s) and the unpaced ones do at once.
        let mockArguments = ["--tpm", "400", "--rate-window", "2"]
        let mock = try await MockGatewayProcess(mockArguments)
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 40)
        let finished = try await run(input, mock, ["--tpm", "6000", "--concurrency", "16"])
        #expect(finished.status == 0, "\(finished.stderr)")
        let stats = try await mock.stats()
        let statuses = try #require(stats.raw["status"] as? [String: Int], "the mock counts answers by status: \(stats.raw)")
        #expect(statuses == ["200": 40], "every request answered, none refused")
        let tokens = try #require(stats.raw["tokens"] as? [String: Int])
        let total = Double((tokens["prompt"] ?? 0) + (tokens["completion"] ?? 0))
        #expect(total > 500 && total < 800, "\(tokens)")

        // The pacing itself, on the arrival times: 100 tokens a second after a second's burst, and not much slower.
        let arrivals = try await mock.timeline().map(\.time).sorted()
        #expect(arrivals.count == 40)
        let span = (arrivals.last ?? 0) - (arrivals.first ?? 0)
        let perSecond = 6000.0 / 60
        let perRequest = total / 40
        print("token budget: \(Int(total)) tokens sent over \(String(format: "%.2f", span)) s at \(Int(perSecond)) tokens/s")
        // The last request leaves once all before it are paid for, less the burst (and an estimate's error of a request).
        #expect(span >= (total - perRequest - perSecond - perRequest) / perSecond, "paced: \(span) s for \(total) tokens")
        #expect(span <= total / perSecond * 1.6, "not over-throttled: \(span) s for \(total) tokens")

        // Counter-case: unpaced, the same job overruns the gateway's window, so the absence of 429s above means something.
        let unpacedMock = try await MockGatewayProcess(mockArguments)
        _ = try await run(dir.writePrompts("again.jsonl", count: 40), unpacedMock, ["--concurrency", "16"])
        let refused = try await unpacedMock.stats().raw["status"] as? [String: Int]
        #expect((refused?["429"] ?? 0) > 0, "unpaced, the window refuses some: \(refused ?? [:])")
    }

    @Test func aLineOverTheLimitIsReportedAndTheRestRuns() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.file("in.jsonl")
        let long = #"{"id":"long","prompt":"\#(String(repeating: "x", count: 3000))"}"#
        try ([#"{"id":"a","prompt":"short"}"#, long, #"{"id":"b","prompt":"short too"}"#].joined(separator: "\n") + "\n")
            .write(toFile: input, atomically: true, encoding: .utf8)
        let finished = try await run(input, mock, ["--max-line-bytes", "1024"])
        #expect(finished.status == 1)
        #expect(finished.stderr.contains("in.jsonl:2: line is \(long.utf8.count) bytes, over the limit of 1024 bytes (--max-line-bytes)"), "\(finished.stderr)")
        #expect(try await mock.stats().totalRequests == 2)
    }

    @Test func aSuccessWhoseBodyIsNotJSONIsRetriedAndThenFails() async throws {
        let mock = try await MockGatewayProcess(["--pmalformed", "1", "--fail-first", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 5)
        let recovered = try await run(input, mock)
        #expect(recovered.status == 0, "\(recovered.stderr)")
        #expect(try await mock.stats().count("faults", "malformed") == 5)

        let always = try await MockGatewayProcess(["--pmalformed", "1"])
        let failed = try await run(input, always, ["--max-attempts", "2", "--output", dir.file("bad.jsonl")])
        #expect(failed.status == 1)
        let errors = try readJSONLines(dir.file("bad.errors.jsonl"))
        #expect(errors.count == 5)
        #expect((errors.first?["error"] as? [String: Any])?["code"] as? String == "invalid_response")
    }

    @Test(arguments: ["date", "ms"])
    func retryAfterAsAnHTTPDateOrMillisecondsIsHonoured(format: String) async throws {
        let mock = try await MockGatewayProcess(["--p429", "1", "--fail-first", "1", "--retry-after", "1", "--retry-after-format", format])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 6)
        let finished = try await run(input, mock, ["--concurrency", "6"])
        #expect(finished.status == 0, "\(finished.stderr)")
        let timeline = try await mock.timeline()
        for refusal in timeline where refusal.status == 429 {
            let again = try #require(timeline.first { $0.body == refusal.body && $0.time > refusal.time })
            // A date has whole seconds: the wait is at least what is left of the current second.
            #expect(again.time - refusal.time >= (format == "ms" ? 0.99 : 0.5), "sent again after \(again.time - refusal.time) s")
        }
        #expect(timeline.filter { $0.status == 429 }.count == 6)
    }

    @Test func metadataIsEchoedAndResultIdsAreBatchRequestIds() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.file("in.jsonl")
        try
            ([
                #"{"id":"a","prompt":"x","metadata":{"row":7,"tags":["q"]}}"#,
                #"{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"y"}]},"metadata":{"row":8}}"#,
            ]
            .joined(separator: "\n") + "\n").write(toFile: input, atomically: true, encoding: .utf8)
        #expect(try await run(input, mock).status == 0)
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect((results[0]["metadata"] as? [String: Any])?["row"] as? Int == 7)
        #expect((results[0]["metadata"] as? [String: Any])?["tags"] as? [String] == ["q"])
        #expect((results[1]["metadata"] as? [String: Any])?["row"] as? Int == 8)
        let ids = results.compactMap { $0["id"] as? String }
        #expect(ids.count == 2 && Set(ids).count == 2 && ids.allSatisfy { $0.hasPrefix("batch_req_") })
    }
}
