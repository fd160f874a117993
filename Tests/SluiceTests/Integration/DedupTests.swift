import Foundation
import Testing

/// Identical requests are sent once: within a job (dedup, on by default), from an earlier job's
/// checkpoint (`--reuse`), and `--idempotency-key` for gateways that deduplicate themselves.
@Suite(.serialized)
struct DedupTests {
    /// `count` prompt lines cycling through `distinct` different texts.
    func repeated(_ dir: TemporaryDirectory, _ name: String, count: Int, distinct: Int, prefix: String = "k") -> String {
        let path = dir.file(name)
        let text = (0..<count).map { #"{"id":"\#(prefix)\#($0)","prompt":"question \#($0 % distinct)"}"# }.joined(separator: "\n")
        writeFile(path, Data((text + "\n").utf8))
        return path
    }

    @Test func identicalRequestsOfAJobAreSentOnceAndEveryItemHasItsAnswer() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "30"])
        let dir = TemporaryDirectory()
        let input = repeated(dir, "in.jsonl", count: 30, distinct: 6)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--concurrency", "8",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 6)
        #expect(run.stdout.contains("shared     24 requests not sent: 24 identical to another of this job"), "\(run.stdout)")
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.count == 30)
        for (index, line) in results.enumerated() {
            #expect(line["custom_id"] as? String == "k\(index)")
            #expect(AnswerText.of(line).hasSuffix("to: question \(index % 6)"), "\(line)")
        }
        let checkpoint = dir.file("in.results.jsonl.sluice.db")
        #expect(try queryCheckpoint(checkpoint, "SELECT count(*) FROM items WHERE answer_source LIKE 'dedup:k%'") == [["24"]])
        let status = try await runSluice(["status", checkpoint, "--json"])
        let cache = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["cache"] as? [String: Any]
        #expect(cache?["deduplicated"] as? Int == 24 && cache?["reused"] as? Int == 0, "\(status.stdout.prefix(300))")
        // Shared answers are not billed twice.
        #expect(try queryCheckpoint(checkpoint, "SELECT count(*) FROM items WHERE prompt_tokens > 0") == [["6"]])
    }

    /// A request identical to one answered long before (its answer committed and let go from memory) is
    /// answered from the checkpoint, not sent again.
    @Test func aDuplicateOfACommittedAnswerIsAnsweredFromTheCheckpoint() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = repeated(dir, "in.jsonl", count: 60, distinct: 20)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--concurrency", "2",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 20)
        let checkpoint = dir.file("in.results.jsonl.sluice.db")
        #expect(try queryCheckpoint(checkpoint, "SELECT count(*) FROM items WHERE answer_source LIKE 'dedup:k%'") == [["40"]])
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.count == 60)
        for (index, line) in results.enumerated() {
            #expect(AnswerText.of(line).hasSuffix("to: question \(index % 20)"), "\(line)")
        }
    }

    @Test func aResumedJobFindsAnswersOfEarlierRunsInItsCheckpoint() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = repeated(dir, "in.jsonl", count: 10, distinct: 10)
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"]
        #expect(try await runSluice(arguments).status == 0)
        // Ten more lines asking the same ten questions, appended: replanned with --force, answered from the checkpoint.
        let more = (10..<20).map { #"{"id":"k\#($0)","prompt":"question \#($0 % 10)"}"# }.joined(separator: "\n")
        let handle = try #require(FileHandle(forWritingAtPath: input))
        handle.seekToEndOfFile()
        handle.write(Data((more + "\n").utf8))
        try handle.close()
        let resumed = try await runSluice(arguments + ["--force"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try await mock.stats().totalRequests == 10)
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 20)
    }

    @Test func noDedupSendsEveryItem() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = repeated(dir, "in.jsonl", count: 12, distinct: 3)
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--no-dedup"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 12)
    }

    @Test func whenTheLeaderFailsTheOthersStillGetAnAnswer() async throws {
        // Every body's first attempt fails with a 500; the retry succeeds, and the items waiting on it take that answer.
        let mock = try await MockGatewayProcess(["--p500", "1", "--fail-first", "1"])
        let dir = TemporaryDirectory()
        let input = repeated(dir, "in.jsonl", count: 10, distinct: 2)
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 4)

        // A permanent failure is not shared: each identical item tries for itself, and nothing hangs.
        let failing = try await MockGatewayProcess(["--p400", "1"])
        let again = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", failing.baseURL, "--no-progress", "--output", dir.file("fail.jsonl"),
            "--no-circuit-breaker",
        ])
        #expect(again.status == 1, "\(again.stderr)")
        #expect(try await failing.stats().totalRequests == 10)
        #expect(try readJSONLines(dir.file("fail.errors.jsonl")).count == 10)
    }

    /// A `--reuse` checkpoint that does not open stops the run before anything is sent, with the flag and the file
    /// named, and the run's connections closed (a debug build aborted on the client left open, with no message).
    @Test func aReuseCheckpointThatDoesNotOpenIsNamedAndNothingIsSent() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = repeated(dir, "in.jsonl", count: 4, distinct: 4)
        let notACheckpoint = dir.file("notes.db")
        writeFile(notACheckpoint, Data("not a database, just notes\n".utf8))
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--reuse", notACheckpoint,
        ])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("--reuse \(notACheckpoint):"), "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 0)
    }

    @Test func reuseTakesAnswersFromAnEarlierJobsCheckpoint() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let monday = repeated(dir, "monday.jsonl", count: 8, distinct: 8)
        #expect(try await runSluice(["run", "--input", monday, "--model", "m", "--base-url", mock.baseURL, "--no-progress"]).status == 0)
        // Tuesday's job: 8 of its requests are Monday's, 4 are new, and one uses another model (a different request).
        var lines = (0..<12).map { #"{"id":"t\#($0)","prompt":"question \#($0)"}"# }
        lines.append(#"{"id":"t-other-model","prompt":"question 0","model":"m2"}"#)
        let tuesday = dir.file("tuesday.jsonl")
        writeFile(tuesday, Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice([
            "run", "--input", tuesday, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--reuse", dir.path,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 8 + 5)
        #expect(run.stdout.contains("8 answered by a --reuse checkpoint"), "\(run.stdout)")
        let source = try queryCheckpoint(dir.file("tuesday.results.jsonl.sluice.db"), "SELECT answer_source FROM items WHERE custom_id = 't3'")
        #expect(source == [["reuse:\(dir.file("monday.results.jsonl.sluice.db"))#k3"]], "\(source)")
        let status = try await runSluice(["status", dir.file("tuesday.results.jsonl.sluice.db")])
        #expect(status.stdout.contains("0 answers shared within the job, 8 reused from earlier jobs"), "\(status.stdout)")
        let results = try readJSONLines(dir.file("tuesday.results.jsonl"))
        #expect(AnswerText.of(results[3]).hasSuffix("to: question 3"))
    }

    @Test func idempotencyKeysAreStableAcrossRetriesAndDistinctPerItem() async throws {
        let mock = try await MockGatewayProcess(["--record-requests", "100", "--p500", "1", "--fail-first", "1"])
        let dir = TemporaryDirectory()
        let input = repeated(dir, "in.jsonl", count: 3, distinct: 3)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--idempotency-key",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let requests = try await httpGet("http://127.0.0.1:\(mock.port)/stats/requests")
        let sent = try JSONSerialization.jsonObject(with: requests) as? [[String: Any]] ?? []
        #expect(sent.count == 6)
        let keys = sent.compactMap { request in
            (request["headers"] as? [[String]])?.first { $0.first == "idempotency-key" }?.last
        }
        #expect(keys.count == 6, "\(sent)")
        #expect(Set(keys).count == 3, "\(keys)")
        #expect(keys.allSatisfy { $0.hasPrefix("sluice-") })

        let plain = try await MockGatewayProcess(["--record-requests", "10"])
        _ = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", plain.baseURL, "--no-progress", "--output", dir.file("b.jsonl")])
        let plainSent = String(decoding: try await httpGet("http://127.0.0.1:\(plain.port)/stats/requests"), as: UTF8.self)
        #expect(plainSent.contains("\"headers\"") && !plainSent.contains("idempotency-key"))
    }
}
