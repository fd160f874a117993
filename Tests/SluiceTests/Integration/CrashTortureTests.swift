import Foundation
import SluiceMockServer
import Testing

/// Nothing lost, nothing twice: a large job against a faulty gateway, killed at
/// random moments over and over, must end with every item exactly once.
///
/// Each interruption comes after a number of newly committed items drawn from a
/// seeded generator (not after a random sleep), so a fast and a slow machine test
/// the same thing; the seed is printed, and `SLUICE_TORTURE_SEED` replays a run.
/// `make torture` runs a longer version (SLUICE_TORTURE_ITEMS, SLUICE_TORTURE_KILLS, SLUICE_TORTURE_CONCURRENCY).
///
/// Each kill may cost answers that were paid and not committed (the request is sent again on resume):
/// the mock's 200s beyond the committed successes, counted after each round, must not outnumber the
/// concurrency (a request slot is kept until its answer is committed). Not fewer: a kill while every
/// slot waits for an answer that will be a 200 costs exactly the concurrency.
@Suite(.serialized)
struct CrashTortureTests {
    @Test func killedAtRandomMomentsTheJobStillEndsWithEveryItemExactlyOnce() async throws {
        let environment = ProcessInfo.processInfo.environment
        let count = Int(environment["SLUICE_TORTURE_ITEMS"] ?? "") ?? 20_000
        let hardKills = Int(environment["SLUICE_TORTURE_KILLS"] ?? "") ?? 10
        let concurrency = Int(environment["SLUICE_TORTURE_CONCURRENCY"] ?? "") ?? 32
        let softStops = [SIGTERM, SIGINT, SIGTERM]
        let mock = try await MockGatewayProcess([
            "--seed", "42", "--latency-ms", "0-3", "--p429", "0.003", "--retry-after", "0.2", "--p500", "0.01", "--p503", "0.005",
            "--pdrop", "0.004", "--pstall", "0.0005", "--stall-seconds", "3", "--failing-model", "primary",
        ])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: count)
        let db = dir.file("in.results.jsonl.sluice.db")
        let arguments = [
            "run", "--input", input, "--model", "primary", "--fallback", "backup", "--base-url", mock.baseURL,
            "--concurrency", String(concurrency), "--max-attempts", "8", "--timeout", "1", "--grace", "2", "--no-progress",
        ]

        let seed = UInt64(environment["SLUICE_TORTURE_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max)
        print("torture: seed \(seed) (replay with SLUICE_TORTURE_SEED=\(seed))")
        var rng = SplitMix64(seed: seed)
        var firstSeen: [String: Int] = [:]  // digest of a committed item's body -> times the mock had received it then
        var interruptions: [(signal: Int32, status: Int32, inFlight: Int, resent: Int)] = []
        var paidNotKept = 0  // 200s from the mock beyond the committed successes: answers to be paid again
        let schedule = Array(repeating: SIGKILL, count: hardKills) + softStops
        // Between interruptions, about half the job is committed in all, so work is left for the final run.
        let perInterruption = max(count / (2 * schedule.count), 20)
        for signal in schedule.shuffled(using: &rng) {
            let committedBefore = try checkpointCountIfPresent(db, "state IN (2, 3)")
            let target = committedBefore + Int.random(in: perInterruption / 3...perInterruption * 5 / 3, using: &rng)
            let child = try Child(Binaries.sluice, arguments)
            try await waitFor({ ((try? checkpointCountIfPresent(db, "state IN (2, 3)")) ?? 0) >= target || !child.process.isRunning }, timeout: 120)
            // A child that ended before its target was not interrupted: it must have finished the job cleanly, not crashed.
            let endedByItself = !child.process.isRunning
            if !endedByItself { child.signal(signal) }
            let finished = await child.wait(timeout: 60)
            let reason = child.process.terminationReason
            let how = "\(reason == .exit ? "exit" : "signal") \(finished.status) in a round of \(signal): \(finished.stderr.suffix(2000))"
            #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok", "after \(signal)")
            // The child is gone: every answer it was sent is either committed now or will be asked for again.
            let stats = try await settledStats(mock)
            let lost = stats.count("status", "200") - (try checkpointCount(db, "state = 2"))
            interruptions.append((signal, finished.status, try checkpointCount(db, "state = 1"), lost - paidNotKept))
            paidNotKept = lost
            if endedByItself {
                #expect(reason == .exit && finished.status == 0, "ended before it was interrupted, so it must be a clean finish: \(how)")
                #expect(try checkpointCount(db, "state IN (2, 3)") == count, "a clean finish finished every item")
            } else if signal == SIGKILL {
                #expect(reason == .uncaughtSignal && finished.status == SIGKILL, "killed by our SIGKILL, not ended another way: \(how)")
            } else {
                #expect(reason == .exit && finished.status == 128 + signal, "a graceful stop: \(how)")
                #expect(try checkpointCount(db, "state = 1") == 0, "a graceful stop leaves nothing in flight")
            }
            let bodies = stats.bodies
            for digest in try await committedDigests(db) where firstSeen[digest] == nil {
                firstSeen[digest] = bodies[digest] ?? 0
            }
        }
        #expect(try checkpointCount(db, "state = 2") < count, "the job should still have work after the interruptions")

        #expect(!firstSeen.isEmpty, "no committed item was watched: the test would prove nothing")

        let final = try await runSluice(arguments, timeout: 600)
        #expect(final.status == 0, "\(final.stderr)")
        #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok", "after the final run")

        // 1. Exactly one line per input item, each the right item with the mock's answer to it.
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.count == count)
        var wrong = 0
        for (index, result) in results.enumerated() {
            let body = (result["response"] as? [String: Any])?["body"] as? [String: Any]
            let content = ((body?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            if result["custom_id"] as? String != "i\(index)" || content?.hasSuffix("question number \(index)") != true
                || body?["model"] as? String != "backup"
            {
                wrong += 1
            }
        }
        #expect(wrong == 0)

        // 2. No item recorded as succeeded was ever sent again.
        let stats = try await mock.stats()
        let bodies = stats.bodies
        let resent = firstSeen.filter { bodies[$0.key] != $0.value }
        #expect(resent.isEmpty, "\(resent.count) committed items were sent again")

        // 3. The checkpoint's counters agree with the results and with what the mock received.
        #expect(try checkpointCount(db, "state = 2") == count)
        let attempts = Int(try queryCheckpoint(db, "SELECT sum(attempts) FROM items").first?.first.flatMap { $0 } ?? "") ?? 0
        let answered = stats.count("status", "200")
        #expect(attempts >= count && attempts <= stats.totalRequests)
        let answeredTwice = answered - count  // answers that arrived for requests in flight at a kill
        #expect(answeredTwice >= 0)
        // 4. A kill costs at most the concurrency in answers: in flight plus received and not yet committed.
        let kills = interruptions.filter { $0.signal == SIGKILL }
        for (round, kill) in kills.enumerated() {
            #expect(kill.resent <= concurrency, "kill \(round + 1) of \(kills.count): \(kill.resent) answers to be paid again, concurrency \(concurrency)")
        }
        print(
            "torture: seed \(seed), \(count) items, \(interruptions.count) interruptions \(interruptions.map { "\($0.signal)->\($0.status)" }), "
                + "in flight at the kills \(interruptions.map(\.inFlight)), \(answeredTwice) answers for requests re-sent after a kill, "
                + "per round \(interruptions.map(\.resent)) (max per SIGKILL \(kills.map(\.resent).max() ?? 0), concurrency \(concurrency)), "
                + "\(stats.totalRequests) requests in all, \(firstSeen.count) committed items watched")
    }

    /// The mock's figures once it has taken in what a killed child had already sent (its requests are
    /// counted as they arrive, so two equal totals in a row mean none was still on its way).
    private func settledStats(_ mock: MockGatewayProcess) async throws -> MockStatsView {
        var stats = try await mock.stats()
        while true {
            try await Task.sleep(for: .milliseconds(50))
            let again = try await mock.stats()
            if again.totalRequests == stats.totalRequests { return again }
            stats = again
        }
    }
}
