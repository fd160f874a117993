import Foundation
import Testing

/// `--max-cost` in provider batch modes: a batch opens only if the spend so far plus the worst case of every
/// open batch and its own (at the batch price) stays under the cap; the job stops at the cap with the rest
/// pending, and a higher cap finishes it without answering any line twice.
@Suite(.serialized)
struct BatchSpendCapTests {
    @Test func batchModeStopsSubmittingAtTheCapAndResumesWithAHigherOne() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 40)
        // $1 per thousand tokens, half of it in batches. A line's worst case: its body at 4 bytes a token plus
        // max_tokens 40, about 60 tokens, $0.03; a file of 10 lines about $0.30. A cap of $0.45 lets one file
        // open at a time, and runs out before the fourth.
        let flags = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--batch-max-lines", "10",
            "--poll-interval", "0.1", "--body", "max_tokens=40", "--price", "m=1000,1000",
        ]
        let capped = try await runSluice(flags + ["--max-cost", "0.45"])
        #expect(capped.status == 3, "exit code 3 at the cap: \(capped.stderr)")
        #expect(capped.stderr.contains("the cost cap of $0.45 is reached"), "\(capped.stderr)")
        let db = dir.file("in.results.jsonl.sluice.db")
        let tokens = Int((try queryCheckpoint(db, "SELECT sum(prompt_tokens) + sum(completion_tokens) FROM items").first?.first ?? nil) ?? "") ?? 0
        let spent = Double(tokens) * 1000 / 1_000_000 * 0.5
        #expect(spent > 0 && spent <= 0.45, "never over the cap: spent \(spent)")
        let answered = try checkpointCount(db, "state = 2")
        // At least two: the second file waited for the first batch's answers to show what they really cost.
        #expect(answered >= 20 && answered < 40 && answered % 10 == 0, "whole batches only: \(answered) answered")
        #expect(try checkpointCount(db, "state = 0") == 40 - answered, "the rest is pending, uncharged")
        #expect(try checkpointCount(db, "attempts > 1") == 0)
        let created = (try await mock.stats().raw["batch"] as? [String: Any])?["batches_created"] as? Int ?? -1
        #expect(created == answered / 10, "no batch was created past the cap")

        let resumed = try await runSluice(flags + ["--max-cost", "100"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try checkpointCount(db, "state = 2") == 40)
        let batch = try await mock.stats().raw["batch"] as? [String: Any]
        #expect(batch?["custom_ids_answered_twice"] as? Int == 0 && batch?["lines_answered"] as? Int == 40, "\(String(describing: batch))")
    }
}
