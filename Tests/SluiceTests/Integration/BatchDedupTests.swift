import Foundation
import Testing

/// Dedup and `--reuse` in provider batches (`BatchSharing`): identical requests travel in a batch once, the
/// others ride in that batch and take its answer, across leases, crashes and jobs.
@Suite(.serialized)
struct BatchDedupTests {
    /// `count` prompt lines cycling through `distinct` texts.
    func repeated(_ dir: TemporaryDirectory, _ name: String, count: Int, distinct: Int, prefix: String = "k") -> String {
        let text = (0..<count).map { #"{"id":"\#(prefix)\#($0)","prompt":"question \#($0 % distinct)"}"# }.joined(separator: "\n")
        writeFile(dir.file(name), Data((text + "\n").utf8))
        return dir.file(name)
    }

    /// A batch-mode job over `count` prompts cycling through `distinct` texts (`in.jsonl` in `dir`): its arguments.
    func batchJob(_ dir: TemporaryDirectory, mock: MockGatewayProcess, count: Int, distinct: Int, _ extra: [String] = []) -> [String] {
        let input = repeated(dir, "in.jsonl", count: count, distinct: distinct)
        return ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1"] + extra
    }

    func batchStats(_ mock: MockGatewayProcess) async throws -> (batch: [String: Any], live: Int, bodies: [String: Int]) {
        let stats = try await mock.stats()
        return (stats.raw["batch"] as? [String: Any] ?? [:], stats.totalRequests, stats.bodies)
    }

    /// Every item has its own prompt's answer, in input order.
    func expectAnswers(_ path: String, count: Int, distinct: Int) throws {
        let results = try readJSONLines(path)
        #expect(results.count == count)
        for (index, line) in results.enumerated() {
            #expect(line["custom_id"] as? String == "k\(index)")
            #expect(AnswerText.of(line).hasSuffix("to: question \(index % distinct)"), "\(line)")
        }
    }

    /// 300 items, 100 distinct requests, leased 120 at a time: the first lease's duplicates ride with their lines,
    /// the later leases' join the open batch. One batch of 100 lines answers all 300.
    @Test func identicalRequestsTravelInABatchOnceAndEveryItemHasItsAnswer() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "1"])
        let dir = TemporaryDirectory()
        let run = try await runSluice(batchJob(dir, mock: mock, count: 300, distinct: 100, ["--batch-max-lines", "120"]))
        #expect(run.status == 0, "\(run.stderr)")
        let (batch, live, bodies) = try await batchStats(mock)
        #expect(batch["batches_created"] as? Int == 1 && batch["lines_answered"] as? Int == 100 && live == 0, "\(batch)")
        #expect(bodies.count == 100 && bodies.values.allSatisfy { $0 == 1 }, "\(bodies.values.sorted().suffix(3))")
        #expect(run.stdout.contains("shared     200 requests not sent: 200 identical to another of this job"), "\(run.stdout)")
        try expectAnswers(dir.file("in.results.jsonl"), count: 300, distinct: 100)
        let checkpoint = dir.file("in.results.jsonl.sluice.db")
        #expect(try queryCheckpoint(checkpoint, "SELECT count(*) FROM items WHERE answer_source LIKE 'dedup:k%'") == [["200"]])
        #expect(try queryCheckpoint(checkpoint, "SELECT count(*) FROM items WHERE answer_source LIKE 'batch:%'") == [["100"]])
        // Billed once: only the lines carry tokens.
        #expect(try queryCheckpoint(checkpoint, "SELECT count(*) FROM items WHERE prompt_tokens > 0") == [["100"]])
    }

    /// Killed with the batch open (riders recorded to it), then killed halfway through committing its answers:
    /// each resume settles the riders from the batch, and nothing travels twice.
    @Test(arguments: ["batch-created", "batch-polled", "batch-committed"])
    func ridersSurviveACrashAndAResume(_ point: String) async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.5"])
        let dir = TemporaryDirectory()
        let arguments = batchJob(dir, mock: mock, count: 90, distinct: 30, ["--batch-max-lines", "40"])
        let crashed = try await runSluice(arguments, environment: ["SLUICE_CRASH_AT": point])
        #expect(crashed.status == 9, "\(point): \(crashed.stderr)")
        let resumed = try await runSluice(arguments)
        #expect(resumed.status == 0, "\(point): \(resumed.stderr)")
        let (batch, live, bodies) = try await batchStats(mock)
        #expect(batch["batches_created"] as? Int == 1 && live == 0, "\(point): \(batch)")
        #expect(bodies.count == 30 && bodies.values.allSatisfy { $0 == 1 }, "\(point): \(bodies.values.sorted().suffix(3))")
        try expectAnswers(dir.file("in.results.jsonl"), count: 90, distinct: 30)
    }

    /// Killed between two commits of a batch's collection (groups of 500): riders are committed with their
    /// line, so none is left without it, charged an attempt, or sent again.
    @Test func ridersAreCommittedWithTheirLine() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3"])
        let dir = TemporaryDirectory()
        let arguments = batchJob(dir, mock: mock, count: 1_200, distinct: 600)
        let crashed = try await runSluice(arguments, environment: ["SLUICE_CRASH_AT": "batch-group-committed"])
        #expect(crashed.status == 9, "\(crashed.stderr)")
        let checkpoint = dir.file("in.results.jsonl.sluice.db")
        let settled = try queryCheckpoint(checkpoint, "SELECT count(*) FROM items WHERE state = 2")
        #expect(settled != [["0"]] && settled != [["1200"]], "killed between two commits: \(settled)")
        let resumed = try await runSluice(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let (batch, live, bodies) = try await batchStats(mock)
        #expect(batch["batches_created"] as? Int == 1 && live == 0, "\(batch)")
        #expect(bodies.count == 600 && bodies.values.allSatisfy { $0 == 1 })
        try expectAnswers(dir.file("in.results.jsonl"), count: 1_200, distinct: 600)
        #expect(try queryCheckpoint(checkpoint, "SELECT count(*), max(attempts) FROM items WHERE answer_source LIKE 'dedup:%'") == [["600", "0"]])
    }

    /// A batch the gateway will not create (it does not batch /v1/moderations): its lines are charged the attempt,
    /// the items riding with them are not (they never travelled).
    @Test func ridersOfABatchThatCouldNotBeCreatedAreNotCharged() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3"])
        let dir = TemporaryDirectory()
        let lines = (0..<6).map { #"{"custom_id":"m\#($0)","method":"POST","url":"/v1/moderations","body":{"input":"text \#($0 % 3)"}}"# }
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice([
            "run", "--input", dir.file("in.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1",
        ])
        #expect(run.status != 0 && run.stderr.contains("creating a batch"), "\(run.stderr)")
        let attempts = try queryCheckpoint(dir.file("in.results.jsonl.sluice.db"), "SELECT custom_id, attempts, state FROM items ORDER BY id")
        #expect(attempts == [["m0", "1", "0"], ["m1", "1", "0"], ["m2", "1", "0"], ["m3", "0", "0"], ["m4", "0", "0"], ["m5", "0", "0"]], "\(attempts)")
    }

    /// A line whose answer is not the JSON asked for goes to a follow-up batch with the reason; the items identical to
    /// it ride with the follow-up line and take the answer it is accepted with, instead of sending the request that
    /// answered prose again (`mock-stubborn-json` answers JSON only once told why).
    @Test func ridersOfAReaskedLineTakeItsAcceptedAnswer() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        let text = (0..<6).map { #"{"id":"q\#($0)","messages":[{"role":"user","content":"Is \#($0 % 2) even?"}],"temperature":0}"# }
        writeFile(dir.file("in.jsonl"), Data((text.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice([
            "run", "--input", dir.file("in.jsonl"), "--model", "mock-stubborn-json", "--base-url", mock.baseURL, "--no-progress", "--expect-json",
            "--mode", "batch", "--poll-interval", "0.1",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let batch = try await mock.stats().raw["batch"] as? [String: Any] ?? [:]
        // Two requests, each asked twice (the prose answer, then the re-ask); never the first request again.
        #expect(batch["batches_created"] as? Int == 2 && batch["lines_answered"] as? Int == 4, "\(batch)")
        let sources = try queryCheckpoint(
            dir.file("in.results.jsonl.sluice.db"), "SELECT count(*) FROM items WHERE state = 2 AND answer_source LIKE 'dedup:q%'")
        #expect(sources == [["4"]])
    }

    /// `--reuse` in batch mode: what an earlier job answered is not sent again; only the new requests travel.
    @Test func reuseTakesAnEarlierJobsAnswersInBatchMode() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3"])
        let dir = TemporaryDirectory()
        let base = ["--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1"]
        let monday = repeated(dir, "monday.jsonl", count: 40, distinct: 40)
        #expect(try await runSluice(["run", "--input", monday] + base).status == 0)
        let tuesday = repeated(dir, "tuesday.jsonl", count: 60, distinct: 60)
        let run = try await runSluice(["run", "--input", tuesday, "--reuse", dir.file("monday.results.jsonl.sluice.db")] + base)
        #expect(run.status == 0, "\(run.stderr)")
        let (batch, live, bodies) = try await batchStats(mock)
        #expect(batch["batches_created"] as? Int == 2 && batch["lines_answered"] as? Int == 60 && live == 0, "\(batch)")
        #expect(bodies.count == 60 && bodies.values.allSatisfy { $0 == 1 })
        #expect(run.stdout.contains("40 answered by a --reuse checkpoint"), "\(run.stdout)")
        try expectAnswers(dir.file("tuesday.results.jsonl"), count: 60, distinct: 60)
        let sources = try queryCheckpoint(dir.file("tuesday.results.jsonl.sluice.db"), "SELECT count(*) FROM items WHERE answer_source LIKE 'reuse:%'")
        #expect(sources == [["40"]])
    }

    /// `--no-dedup`: every line travels, as before.
    @Test func noDedupSendsEveryLine() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3"])
        let dir = TemporaryDirectory()
        let run = try await runSluice(batchJob(dir, mock: mock, count: 30, distinct: 10, ["--no-dedup"]))
        #expect(run.status == 0, "\(run.stderr)")
        let (batch, _, _) = try await batchStats(mock)
        #expect(batch["lines_answered"] as? Int == 30, "\(batch)")
        try expectAnswers(dir.file("in.results.jsonl"), count: 30, distinct: 10)
    }
}
