import Foundation
import Testing

/// Issue 20's enqueued-token budget against a real sluice-mock with `--batch-enqueued-token-limit`: a job
/// of many batches waits for batches to finish instead of burning its lines' attempts on refusals.
@Suite(.serialized)
struct EnqueuedTokenLimitTests {
    /// By the mock's count, a line of these prompts is 105 tokens ("question number N": 5 tokens of text, plus
    /// max_tokens 100), a 100-line file 10,500: the limit holds three files at once, not four.
    static let mockLimit = 35_000

    func batchStats(_ mock: MockGatewayProcess) async throws -> [String: Any] {
        try await mock.stats().raw["batch"] as? [String: Any] ?? [:]
    }

    func run(_ input: String, _ mock: MockGatewayProcess, _ extra: [String] = [], mode: String = "batch") async throws -> Finished {
        try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", mode, "--batch-max-lines", "100",
                "--poll-interval", "0.1", "--body", "max_tokens=100",
            ] + extra, timeout: 180)
    }

    @Test func fortyBatchesUnderALimitOfThreeFinishWithOneAttemptEach() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.5", "--batch-enqueued-token-limit", "\(Self.mockLimit)"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 4_000)
        let started = ContinuousClock.now
        let finished = try await run(input, mock)
        let elapsed = ContinuousClock.now - started
        #expect(finished.status == 0, "\(finished.stderr.suffix(2000))")
        let checkpoint = dir.file("in.results.jsonl.sluice.db")
        #expect(try checkpointCount(checkpoint, "state = 2") == 4_000, "every item answered")
        #expect(try checkpointCount(checkpoint, "attempts != 1") == 0, "no attempt burned on token_limit_exceeded")
        let stats = try await batchStats(mock)
        let refused = stats["batches_refused"] as? Int ?? -1
        let peak = stats["enqueued_tokens_peak"] as? Int ?? -1
        #expect(refused > 0, "no limit given: sluice learns it from refusals")
        // The first wave (at most 37) and a few more while the learned limit settles: each later refusal lowers it by a file.
        #expect(refused < 80, "the budget waits for batches to finish instead of resubmitting into refusals")
        #expect(peak > 0 && peak <= Self.mockLimit, "\(stats)")
        #expect(stats["lines_answered"] as? Int == 4_000 && stats["custom_ids_answered_twice"] as? Int == 0, "\(stats)")
        #expect(finished.stdout.contains("\(refused) refused at the enqueued-token limit (lines not charged)"), "\(finished.stdout)")

        let status = try await runSluice(["status", checkpoint, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let queue = try #require(object?["batch_queue"] as? [String: Any], "\(status.stdout.prefix(600))")
        #expect(queue["limit_source"] as? String == "learned" && (queue["limit"] as? Int ?? 0) > 0, "\(queue)")
        #expect(queue["refused_batches"] as? Int == refused && queue["enqueued_tokens"] as? Int == 0 && queue["open_batches"] as? Int == 0, "\(queue)")
        let text = try await runSluice(["status", checkpoint])
        #expect(text.stdout.contains("batches    0 tokens enqueued in 0 open batches · limit"), "\(text.stdout)")
        print(
            "40-batch run: \(stats["batches_created"] ?? "?") batches created, \(refused) refused, peak \(peak) of \(Self.mockLimit) enqueued tokens, "
                + "learned limit \(queue["limit"] ?? "?"), \(elapsed)")
    }

    /// Killed once the refusals were learned and a batch's answers committed: the resume starts from the
    /// learned limit, re-attaches to the open batches (their tokens counted again) and charges nobody.
    @Test func aResumeStartsFromTheLearnedLimit() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.5", "--batch-enqueued-token-limit", "\(Self.mockLimit)"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 1_000)
        let crashed = try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--batch-max-lines", "100",
                "--poll-interval", "0.1", "--body", "max_tokens=100",
            ], environment: ["SLUICE_CRASH_AT": "batch-committed"])
        #expect(crashed.status == 9, "\(crashed.stderr.suffix(2000))")
        let resumed = try await run(input, mock)
        #expect(resumed.status == 0, "\(resumed.stderr.suffix(2000))")
        #expect(resumed.stderr.contains("starting from the enqueued-token limits an earlier run learned: m "), "\(resumed.stderr.suffix(3000))")
        #expect(resumed.stderr.contains("re-attached to"), "\(resumed.stderr.suffix(3000))")
        let checkpoint = dir.file("in.results.jsonl.sluice.db")
        #expect(try checkpointCount(checkpoint, "state = 2 AND attempts = 1") == 1_000)
        let stats = try await batchStats(mock)
        #expect(stats["lines_answered"] as? Int == 1_000 && stats["custom_ids_answered_twice"] as? Int == 0, "\(stats)")
        #expect((stats["enqueued_tokens_peak"] as? Int ?? .max) <= Self.mockLimit, "\(stats)")
    }

    /// In `auto` a refused batch's lines wait for a later batch too: a refusal is not a failure to send live.
    @Test func autoSendsNothingLiveForARefusal() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3", "--batch-enqueued-token-limit", "\(Self.mockLimit)"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 1_000)
        let finished = try await run(input, mock, mode: "auto")
        #expect(finished.status == 0, "\(finished.stderr.suffix(2000))")
        let stats = try await batchStats(mock)
        #expect((stats["batches_refused"] as? Int ?? 0) > 0, "\(stats)")
        #expect(try await mock.stats().totalRequests == 0, "nothing went live")
        #expect(stats["lines_answered"] as? Int == 1_000)
        #expect(try checkpointCount(dir.file("in.results.jsonl.sluice.db"), "state = 2 AND attempts = 1") == 1_000)
    }

    @Test func aGivenLimitBelowTheGatewaysMeansNoRefusal() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3", "--batch-enqueued-token-limit", "\(Self.mockLimit)"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 1_000)
        // sluice counts a line at about 122 tokens (its whole body at 4 bytes a token), a file at about 12,200: two at once.
        let finished = try await run(input, mock, ["--batch-max-enqueued-tokens", "30000"])
        #expect(finished.status == 0, "\(finished.stderr.suffix(2000))")
        let stats = try await batchStats(mock)
        #expect(stats["batches_refused"] as? Int == 0 && stats["batches_created"] as? Int == 10, "\(stats)")
        #expect((stats["enqueued_tokens_peak"] as? Int ?? .max) <= 3 * 10_500, "\(stats)")
        #expect(try checkpointCount(dir.file("in.results.jsonl.sluice.db"), "state = 2 AND attempts = 1") == 1_000)
    }

    @Test func aLineOverTheLimitAloneFailsInBatchModeAndGoesLiveInAuto() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        let big = String(repeating: "long text ", count: 500)
        let lines = [#"{"id":"small","prompt":"short"}"#, #"{"id":"big","prompt":"\#(big)"}"#]
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        let limit = ["--batch-max-enqueued-tokens", "1000"]
        let batch = try await run(dir.file("in.jsonl"), mock, limit + ["--output", dir.file("batch.jsonl")])
        #expect(batch.status == 1, "\(batch.stderr)")
        let failed = try queryCheckpoint(dir.file("batch.jsonl.sluice.db"), "SELECT custom_id, error_code, error_message FROM items WHERE state = 3")
        #expect(failed.map { Array($0.prefix(2)) } == [["big", "batch_line_over_token_limit"]], "\(failed)")
        #expect((failed.first?[2] ?? nil)?.contains("over the enqueued-token limit 1000") == true, "\(failed)")
        #expect(try await mock.stats().totalRequests == 0)
        let auto = try await run(dir.file("in.jsonl"), mock, limit + ["--output", dir.file("auto.jsonl")], mode: "auto")
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(try await mock.stats().totalRequests == 1, "the line over the limit went live")
    }

    /// No limit given: the file holding the line is refused with nothing else open, the learned limit halves
    /// it, and the line, now over the limit on its own, fails without burning the others' attempts.
    @Test func aLineOverALearnedLimitFailsToo() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2", "--batch-enqueued-token-limit", "1000"])
        let dir = TemporaryDirectory()
        let big = String(repeating: "long text ", count: 500)
        let lines = [#"{"id":"small","prompt":"short"}"#, #"{"id":"big","prompt":"\#(big)"}"#]
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        let finished = try await run(dir.file("in.jsonl"), mock)
        #expect(finished.status == 1, "\(finished.stderr)")
        let items = try queryCheckpoint(dir.file("in.results.jsonl.sluice.db"), "SELECT custom_id, state, attempts, error_code FROM items ORDER BY id")
        #expect(items == [["small", "2", "1", nil], ["big", "3", "0", "batch_line_over_token_limit"]], "\(items)")
        let stats = try await batchStats(mock)
        #expect(stats["batches_refused"] as? Int == 1 && stats["lines_answered"] as? Int == 1, "\(stats)")
    }

    @Test func aLimitOfZeroIsRefusedByName() async throws {
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 1)
        let finished = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--mode", "batch", "--batch-max-enqueued-tokens", "0",
        ])
        #expect(finished.status != 0)
        #expect(finished.stderr.contains("--batch-max-enqueued-tokens (batch_max_enqueued_tokens) must be at least 1, got 0"), "\(finished.stderr)")
    }
}
