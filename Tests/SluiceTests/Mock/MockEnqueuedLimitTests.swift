import Foundation
import Testing

@testable import SluiceMockServer

/// sluice-mock's `--batch-enqueued-token-limit`: creates past a model's enqueued tokens fail as OpenAI's do.
@Suite struct MockEnqueuedLimitTests {
    typealias Client = MockBatchHTTPClient

    /// Lines of 101 tokens by the mock's count: 4 bytes of prompt text (1 token) plus `max_tokens` 100.
    static func lines(_ count: Int, model: String = "gpt-4o-mini", prefix: String) -> String {
        (0..<count).map {
            #"{"custom_id":"\#(prefix)-\#($0)","method":"POST","url":"/v1/chat/completions","body":{"model":"\#(model)","messages":[{"role":"user","content":"abcd"}],"max_tokens":100}}"#
        }.joined(separator: "\n") + "\n"
    }

    @Test func aCreatePastTheLimitFailsWithTokenLimitExceededAndFitsOnceBatchesEnd() async throws {
        // Long batches, so the first two are still open when the third is created, however loaded the machine.
        try await Client.withMock({
            $0.batch.seconds = 5
            $0.batch.enqueuedTokenLimit = 2500
        }) { client in
            let first = try await client.submit(Self.lines(10, prefix: "a"))
            let second = try await client.submit(Self.lines(10, prefix: "b"))
            #expect(first["errors"] is NSNull && second["errors"] is NSNull)
            // 2,020 open, 1,010 more would make 3,030.
            let third = try await client.submit(Self.lines(10, prefix: "c"))
            let (refused, _) = try await client.wait(third["id"] as? String ?? "")
            #expect(refused["status"] as? String == "failed")
            #expect((refused["request_counts"] as? [String: Int])?["total"] == 0)
            let errors = try #require(refused["errors"] as? [String: Any])
            #expect(errors["object"] as? String == "list")
            let data = try #require(errors["data"] as? [[String: Any]])
            #expect(data.count == 1)
            #expect(data.first?["code"] as? String == "token_limit_exceeded")
            #expect(
                data.first?["message"] as? String
                    == "Enqueued token limit reached for gpt-4o-mini in organization org-mock. Limit: 2500 enqueued tokens. Please try again once some in_progress batches have been completed."
            )
            #expect(data.first?["line"] is NSNull && data.first?["param"] is NSNull)

            // The limit is per model; and a file over it on its own is refused with nothing else open.
            let other = try await client.submit(Self.lines(10, model: "other", prefix: "d"))
            let alone = try await client.submit(Self.lines(30, model: "big", prefix: "e"))
            #expect(try await client.wait(other["id"] as? String ?? "").batch["status"] as? String == "completed")
            let tooBig = try await client.wait(alone["id"] as? String ?? "").batch
            #expect(((tooBig["errors"] as? [String: Any])?["data"] as? [[String: Any]])?.first?["code"] as? String == "token_limit_exceeded")

            // Once the open batches have ended, the same file fits.
            for batch in [first, second] { _ = try await client.wait(batch["id"] as? String ?? "") }
            let again = try await client.submit(Self.lines(10, prefix: "c"))
            let (done, _) = try await client.wait(again["id"] as? String ?? "")
            #expect(done["status"] as? String == "completed")

            let stats = try #require(try await client.stats()["batch"] as? [String: Any])
            #expect(stats["batches_refused"] as? Int == 2)
            #expect(stats["enqueued_tokens_peak"] as? Int == 2020)
            #expect((stats["enqueued_tokens_peak_by_model"] as? [String: Int]) == ["gpt-4o-mini": 2020, "other": 1010])
        }
    }

    @Test func aLimitBelowOneIsRefusedByName() async throws {
        let finished = await (try Child(Binaries.mock, ["--batch-enqueued-token-limit", "0"])).wait(timeout: 30)
        #expect(finished.status != 0)
        #expect(finished.stderr.contains("--batch-enqueued-token-limit must be at least 1"), "\(finished.stderr)")
    }

    @Test func withoutALimitNothingIsRefused() async throws {
        try await Client.withMock { client in
            for prefix in ["a", "b", "c"] { _ = try await client.submit(Self.lines(30, prefix: prefix)) }
            let stats = try #require(try await client.stats()["batch"] as? [String: Any])
            #expect(stats["batches_refused"] as? Int == 0 && stats["batches_created"] as? Int == 3)
        }
    }
}
