import Foundation
import Testing

@testable import SluiceMockServer

/// `--max-inflight` as proxies answer it: a place that frees after the answer (`--capacity-release-ms`)
/// and the Retry-After a capacity 429 carries (`--capacity-retry-after`).
struct MockCapacityTests {
    let mock = MockServerTests()

    @Test func aPlaceFreesOnlyAfterTheReleaseDelay() async throws {
        try await mock.withMock({
            $0.maxInflight = 1
            $0.capacityReleaseMilliseconds = .fixed(milliseconds: 400)
        }) { port in
            #expect(try await mock.send(port, "/v1/chat/completions", body: mock.chat).status == 200)
            // Answered, but the place is still taken: the next request is refused.
            #expect(try await mock.send(port, "/v1/chat/completions", body: mock.chat).status == 429)
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await mock.send(port, "/v1/chat/completions", body: mock.chat).status == 200)
        }
    }

    @Test func withoutAReleaseDelayThePlaceFreesWithTheAnswer() async throws {
        try await mock.withMock({ $0.maxInflight = 1 }) { port in
            for _ in 0..<3 {
                let answer = try await mock.send(port, "/v1/chat/completions", body: mock.chat)
                #expect(answer.status == 200)
            }
        }
    }

    /// The 429 of a second request while the only place is taken by a slow first one.
    private func refusal(_ retryAfter: CapacityRetryAfter) async throws -> MockServerTests.Answer {
        var answer: MockServerTests.Answer?
        try await mock.withMock({
            $0.maxInflight = 1
            $0.latency = .fixed(milliseconds: 500)
            $0.capacityRetryAfter = retryAfter
            $0.faults.retryAfterSeconds = 2
        }) { port in
            let chat = mock.chat
            async let first = mock.send(port, "/v1/chat/completions", body: chat)
            try await Task.sleep(for: .milliseconds(150))
            answer = try await mock.send(port, "/v1/chat/completions", body: chat)
            #expect(try await first.status == 200)
        }
        let refused = try #require(answer)
        #expect(refused.status == 429)
        #expect(refused.headers["x-ratelimit-remaining-requests"] == nil, "a capacity 429 has no budget figures")
        return refused
    }

    @Test func capacityRetryAfterNoneSecondsAndNextMinute() async throws {
        #expect(try await refusal(.none).headers["retry-after"] == nil)
        #expect(try await refusal(.seconds).headers["retry-after"] == "2")
        let nextMinute = try await refusal(.nextMinute)
        let seconds = try #require(nextMinute.headers["retry-after"].flatMap(Double.init))
        #expect(seconds > 0 && seconds <= 60)
        // Lands on a whole minute, as LiteLLM's parallel_request_limiter computes it.
        let landing = (Date().timeIntervalSince1970 + seconds).truncatingRemainder(dividingBy: 60)
        #expect(landing < 1 || landing > 59, "lands \(landing) s into a minute")
    }
}
