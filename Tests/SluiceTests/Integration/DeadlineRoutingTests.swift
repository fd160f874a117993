import Foundation
import Testing

/// `auto` with `--deadline` as a time: once batches have taken longer than what is left, items not yet in a
/// batch go live instead of into batches that would miss the deadline.
@Suite(.serialized)
struct DeadlineRoutingTests {
    /// 40 items in `auto`, 10-line files, and an enqueued-token limit that lets one file (about 620 tokens) open at a
    /// time; batches take `batchSeconds`, and `--deadline` is `deadlineIn` seconds away.
    func runAuto(batchSeconds: String, deadlineIn: Double) async throws -> (mock: MockGatewayProcess, dir: TemporaryDirectory, run: Finished) {
        let mock = try await MockGatewayProcess(["--batch-seconds", batchSeconds])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 40)
        let deadline = ISO8601DateFormatter().string(from: Date().addingTimeInterval(deadlineIn))
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "auto", "--batch-max-lines", "10",
            "--poll-interval", "0.1", "--body", "max_tokens=40", "--batch-max-enqueued-tokens", "700", "--deadline", deadline,
        ])
        return (mock, dir, run)
    }

    @Test func itemsGoLiveWhenBatchesTakeLongerThanWhatIsLeft() async throws {
        let (mock, dir, run) = try await runAuto(batchSeconds: "3", deadlineIn: 6)
        #expect(run.status == 0, "\(run.stderr)")
        let db = dir.file("in.results.jsonl.sluice.db")
        #expect(try checkpointCount(db, "state = 2") == 40)
        let stats = try await mock.stats()
        let batch = stats.raw["batch"] as? [String: Any]
        // The first batch tells how long batches take; by then less than that is left, so nothing else is batched.
        #expect(batch?["batches_created"] as? Int == 1, "\(String(describing: batch))")
        #expect(stats.totalRequests >= 30, "the other lines went live: \(stats.totalRequests) live requests")
        #expect(run.stdout.contains("items sent live instead"), "\(run.stdout)")
        #expect(try checkpointCount(db, "attempts > 1") == 0, "going live for the deadline charges no attempt")
    }

    /// A deadline far off: every line goes through batches.
    @Test func aFarDeadlineBatchesEverything() async throws {
        let (mock, _, run) = try await runAuto(batchSeconds: "0.2", deadlineIn: 3600)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 0, "nothing went live")
        #expect(!run.stdout.contains("sent live instead"), "\(run.stdout)")
    }
}
