import Foundation
import Testing

/// A gateway with a concurrency cap of 8 (429 at once above it), as proxies answer it: without a
/// Retry-After, freeing its places a little after answering, and with LiteLLM's "seconds to the next
/// minute". The real binary against the real mock, `--concurrency 32`: each run finishes without a
/// job-wide pause, and the limit's trace (each change is logged with its window) stays within K-2..K+1
/// after the first two windows.
@Suite(.serialized)
struct CapacityIntegrationTests {
    static let capacity = 8

    /// The limit after window 2, then each one set after it, from the log lines
    /// `concurrency limit 32 → 8 after window 1 (...)`.
    static func trace(_ stderr: String, start: Int) -> (settled: [Int], lines: [String]) {
        let lines = stderr.split(separator: "\n").map(String.init).filter { $0.contains("concurrency limit ") }
        var afterTwo = start
        var later: [Int] = []
        for line in lines {
            guard let range = line.range(of: "concurrency limit ") else { continue }
            let words = line[range.upperBound...].split(separator: " ")
            guard words.count >= 6, let to = Int(words[2]), let window = Int(words[5]) else { continue }
            if window <= 2 { afterTwo = to } else { later.append(to) }
        }
        return ([afterTwo] + later, lines)
    }

    private func run(mock extra: [String], sluice more: [String] = [], items: Int = 800) async throws -> (Finished, MockGatewayProcess) {
        let mock = try await MockGatewayProcess(["--max-inflight", "\(Self.capacity)", "--latency-ms", "50-100"] + extra)
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: items)
        let run = try await runSluice(
            ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--concurrency", "32", "--max-attempts", "50"] + more)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == items)
        return (run, mock)
    }

    /// The limit the run ended at, from the summary (`... · concurrency 8`).
    static func finalLimit(_ stdout: String) -> Int? {
        guard let range = stdout.range(of: "· concurrency ", options: .backwards) else { return nil }
        return Int(stdout[range.upperBound...].prefix { $0.isNumber })
    }

    private func expectSettled(_ run: Finished, _ mock: MockGatewayProcess) async throws {
        let (settled, lines) = Self.trace(run.stderr, start: 32)
        let range = (Self.capacity - 2)...(Self.capacity + 1)
        #expect(!lines.isEmpty, "the limit never moved from 32: \(run.stderr)")
        #expect(settled.allSatisfy { range.contains($0) }, "limits after window 2: \(settled)\n\(lines.joined(separator: "\n"))")
        #expect(Self.finalLimit(run.stdout).map { range.contains($0) } ?? false, "the run ended at another limit: \(run.stdout)")
        #expect(!run.stdout.contains("job-wide pause"), "\(run.stdout)")
        #expect(!run.stderr.contains("pausing every request"), "\(run.stderr)")
        // After the first eighth of the requests (the first windows find the cap), few are refused.
        let timeline = try await mock.timeline().sorted { $0.time < $1.time }
        let later = timeline.dropFirst(timeline.count / 8)
        let refused = later.filter { $0.status == 429 }.count
        #expect(Double(refused) / Double(max(later.count, 1)) <= 0.08, "\(refused) of the last \(later.count) requests refused")
    }

    @Test func aCapacityWithoutRetryAfterIsFoundAndKept() async throws {
        let (run, mock) = try await run(mock: [])
        try await expectSettled(run, mock)
    }

    @Test func aCapacityThatFreesItsPlacesLateIsFoundAndKept() async throws {
        // Each place frees 5-25 ms after its answer is written (answers take 50-100 ms): a client holding
        // exactly 8 is refused now and then.
        let (run, mock) = try await run(mock: ["--capacity-release-ms", "5-25"])
        try await expectSettled(run, mock)
    }

    @Test func aCapacityAnsweringTheNextMinuteNeitherPausesTheJobNorHoldsItsItemsThatLong() async throws {
        // LiteLLM's cap answers "retry-after: <seconds to the next minute>"; --max-retry-after 1 keeps the test short:
        // a refused item comes back at the next free slot instead of waiting up to a minute.
        let (run, mock) = try await run(mock: ["--capacity-retry-after", "next-minute"], sluice: ["--max-retry-after", "1"])
        try await expectSettled(run, mock)
        let timeline = try await mock.timeline()
        for refusal in timeline where refusal.status == 429 && (refusal.retryAfter ?? 0) > 2 {
            let back = timeline.first { $0.body == refusal.body && $0.time > refusal.time }
            #expect(back.map { $0.time - refusal.time < refusal.retryAfter! - 1 } ?? false, "an item waited out a Retry-After of \(refusal.retryAfter!) s")
        }
    }

    @Test func aCapsRetryAfterIsNotWaitedOutOnAnIdleGateway() async throws {
        // 20 s, under --max-retry-after's 30: each refused item keeps it while the job is busy, but once the rest is
        // done and the gateway idle, the cap's refusals go at once (the job's work takes about 8 s; without this they
        // came back 19.9 s after their refusal). Checked for the first second's refusals, with 32 in flight against 8:
        // a cap's beyond doubt (a later one at a level the first window happened to read as taken keeps its wait).
        let (run, mock) = try await run(mock: ["--capacity-retry-after", "seconds", "--retry-after", "20"])
        try await expectSettled(run, mock)
        let timeline = try await mock.timeline()
        let start = timeline.map(\.time).min() ?? 0
        let refusals = timeline.filter { $0.status == 429 && $0.time < start + 1 }
        #expect(refusals.count >= 8, "\(refusals.count) refused in the first second")
        for refusal in refusals {
            let back = timeline.first { $0.body == refusal.body && $0.time > refusal.time }
            #expect(back.map { $0.time - refusal.time < 18 } ?? false, "an item waited out the cap's Retry-After of 20 s")
        }
    }
}
