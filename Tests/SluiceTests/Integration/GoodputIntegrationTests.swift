import Foundation
import Testing

/// 429s of both kinds, a capacity limit, a spent quota and a job that fails the
/// same way on every item: the real binary against the real mock.
@Suite(.serialized)
struct GoodputIntegrationTests {
    private func arguments(_ input: String, _ mock: MockGatewayProcess, _ extra: [String]) -> [String] {
        ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"] + extra
    }

    @Test func sporadicRefusalsLeaveTheOtherItemsFlowingAndEveryRetryAfterIsHonoured() async throws {
        // 10 % of first attempts refused with Retry-After 2 s, independent of load.
        let mock = try await MockGatewayProcess(["--p429", "0.1", "--retry-after", "2", "--fail-first", "1", "--latency-ms", "10", "--seed", "3"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 400)
        let run = try await runSluice(arguments(input, mock, ["--concurrency", "8"]))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 400)

        let timeline = try await mock.timeline()
        let refusals = timeline.filter { $0.status == 429 }
        #expect(refusals.count >= 10)
        // While a refused item waits out its Retry-After, the others keep going:
        // count what arrived in the middle of each wait (a job-wide pause would leave none).
        var flowing = 0
        for refusal in refusals {
            flowing += timeline.filter { $0.time > refusal.time + 0.2 && $0.time < refusal.time + 1.5 }.count
        }
        #expect(flowing >= refusals.count * 5, "\(flowing) requests arrived during \(refusals.count) waits")
        // ... and no refused item came back before its Retry-After.
        for refusal in refusals {
            let again = timeline.first { $0.body == refusal.body && $0.time > refusal.time }
            let back = try #require(again, "a refused item was never sent again")
            #expect(back.time - refusal.time >= 2 - 0.01, "sent again after \(back.time - refusal.time) s")
        }
        #expect(!run.stdout.contains("job-wide pause"), "\(run.stdout)")
    }

    @Test func aBindingWindowPausesTheWholeJob() async throws {
        // 30 requests per 2-second sliding window, with x-ratelimit-* and Retry-After.
        let mock = try await MockGatewayProcess(["--rpm", "30", "--rate-window", "2", "--latency-ms", "5"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 90)
        let run = try await runSluice(arguments(input, mock, ["--concurrency", "16", "--max-attempts", "20"]))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 90)
        #expect(run.stdout.contains("job-wide pause"), "\(run.stdout)")

        // After a refusal whose budget was at zero, nothing is sent until its Retry-After is over.
        let timeline = try await mock.timeline()
        // Margins of 0.3 s: a loaded machine may take that long to read the 429 that starts the pause.
        let refusals = timeline.filter { $0.status == 429 && ($0.retryAfter ?? 0) >= 0.8 }
        #expect(!refusals.isEmpty)
        for refusal in refusals {
            let during = timeline.filter { $0.time > refusal.time + 0.3 && $0.time < refusal.time + refusal.retryAfter! - 0.1 }
            #expect(during.isEmpty, "\(during.count) requests sent while the window was full (Retry-After \(refusal.retryAfter!) s)")
        }
        #expect(timeline.filter { $0.status == 429 }.count <= 60)
    }

    @Test func aSpentQuotaStopsTheJobWithItemsPending() async throws {
        let mock = try await MockGatewayProcess(["--quota", "20"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 200)
        let db = dir.file("in.results.jsonl.sluice.db")
        let run = try await runSluice(arguments(input, mock, ["--concurrency", "4"]))
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("quota is used up (HTTP 429 insufficient_quota: You exceeded your current quota"), "\(run.stderr)")
        #expect(try checkpointCount(db, "state = 2") == 20)
        #expect(try checkpointCount(db, "state = 0") == 180)
        #expect(try checkpointCount(db, "state = 3") == 0)
        #expect(try await mock.stats().totalRequests <= 20 + 2 * 4)  // what was in flight, and what left before the answer was read
        #expect(!FileManager.default.fileExists(atPath: dir.file("in.results.jsonl")))
    }

    @Test func fiftyIdenticalFailuresStopTheJobAndTheFixedJobResumesWithoutRetryFailed() async throws {
        let mock = try await MockGatewayProcess(["--missing-model", "gpt-5o"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 300)
        let db = dir.file("in.results.jsonl.sluice.db")
        let wrong = try await runSluice(["run", "--input", input, "--model", "gpt-5o", "--base-url", mock.baseURL, "--no-progress", "--concurrency", "4"])
        #expect(wrong.status == 2, "\(wrong.stderr)")
        #expect(
            wrong.stderr.contains("the last 50 items all failed the same way (HTTP 404 model_not_found: The model `gpt-5o` does not exist"), "\(wrong.stderr)")
        #expect(try checkpointCount(db, "state = 3") == 0)
        #expect(try checkpointCount(db, "state = 0") == 300)
        let sent = try await mock.stats().totalRequests
        #expect(sent >= 50 && sent <= 50 + 8, "one request per item, stopping at the 50th: \(sent)")

        let fixed = try await runSluice(["run", "--input", input, "--model", "gpt-4o-mini", "--base-url", mock.baseURL, "--no-progress", "--concurrency", "4"])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(try checkpointCount(db, "state = 2") == 300)
    }

    @Test func withoutTheCircuitBreakerEveryItemFails() async throws {
        let mock = try await MockGatewayProcess(["--missing-model", "gpt-5o"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 80)
        let run = try await runSluice([
            "run", "--input", input, "--model", "gpt-5o", "--base-url", mock.baseURL, "--no-progress",
            "--no-circuit-breaker",
        ])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(try readJSONLines(dir.file("in.errors.jsonl")).count == 80)
        #expect(try await mock.stats().totalRequests == 80)  // model_not_found is not retried on the same model
    }

    @Test func aCapacityLimitIsFoundWithoutPausingTheJob() async throws {
        // The gateway refuses (429, no Retry-After) whatever exceeds 4 requests in flight.
        let mock = try await MockGatewayProcess(["--max-inflight", "4", "--latency-ms", "20"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 600)
        let db = dir.file("in.results.jsonl.sluice.db")
        let run = try await runSluice(arguments(input, mock, ["--concurrency", "32", "--max-attempts", "20"]))
        #expect(run.status == 0, "\(run.stderr)")
        let learned = Int(try queryCheckpoint(db, "SELECT value FROM job WHERE key = 'learned_concurrency'").first?.first.flatMap { $0 } ?? "") ?? 0
        #expect(learned >= 3 && learned <= 6, "learned \(learned)")
        let timeline = try await mock.timeline()
        let refusals = timeline.filter { $0.status == 429 }
        #expect(Double(refusals.count) / Double(timeline.count) <= 0.25, "\(refusals.count) of \(timeline.count) refused (most while finding the limit)")
        // A refusal delays its item (backoff of at least 0.375 s), not the job: other requests keep arriving.
        var flowing = 0
        for refusal in refusals { flowing += timeline.filter { $0.time > refusal.time + 0.05 && $0.time < refusal.time + 0.3 }.count }
        #expect(flowing >= refusals.count * 3, "\(flowing) requests during \(refusals.count) backoffs")
    }

    @Test func theSummaryAgreesWithWhatTheGatewaySaw() async throws {
        let mock = try await MockGatewayProcess(["--p503", "0.05", "--pdrop", "0.03", "--p429", "0.03", "--retry-after", "0.2", "--seed", "11"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 300)
        let run = try await runSluice(arguments(input, mock, ["--concurrency", "8", "--max-attempts", "10"]))
        #expect(run.status == 0, "\(run.stderr)")
        let stats = try await mock.stats()
        let dropped = stats.count("faults", "drop")
        let answered = stats.totalRequests - dropped
        let refused = stats.count("status", "429")
        #expect(
            run.stdout.contains(
                "requests   \(stats.totalRequests) sent (\(answered) answered, \(dropped) without an answer) · \(stats.totalRequests - 300) retries · 0 fallbacks · \(refused) refused with 429"
            ),
            "\(run.stdout) vs \(stats.raw)")
        let attempts =
            Int(try queryCheckpoint(dir.file("in.results.jsonl.sluice.db"), "SELECT sum(attempts) FROM items").first?.first.flatMap { $0 } ?? "") ?? -1
        #expect(attempts == stats.totalRequests)
    }
}
