import Foundation
import Testing

@testable import SluiceCore

struct RetryTests {
    let policy = RetryPolicy(baseDelay: 0.5, maximumDelay: 8)

    func verdict(_ status: Int, _ headers: [String: String] = [:], body: String = "") -> AttemptVerdict {
        policy.verdict(status: status, header: { headers[$0] }, body: Array(body.utf8))
    }

    @Test(arguments: [408, 409, 425, 429, 500, 502, 503, 504, 599])
    func retryableStatuses(status: Int) {
        guard case .retry(nil, let rateLimited) = verdict(status) else {
            Issue.record("status \(status) should be retried")
            return
        }
        #expect(rateLimited == (status == 429))
    }

    @Test(arguments: [400, 404, 405, 413, 422])
    func otherClientErrorsAreNotRetried(status: Int) {
        #expect(verdict(status) == .fail)
    }

    @Test func authenticationStopsTheJob() {
        #expect(verdict(401) == .stopJob(.keyRefused))
        #expect(verdict(403) == .stopJob(.keyRefused))
    }

    @Test(arguments: ["insufficient_quota", "billing_hard_limit_reached", "MONTHLY_LIMIT_EXCEEDED", "USAGE_LIMIT_EXCEEDED"])
    func anExhaustedQuotaIsNotARateLimit(code: String) {
        #expect(
            verdict(429, ["retry-after": "1"], body: #"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"\#(code)"}}"#)
                == .stopJob(.quotaExhausted))
        #expect(verdict(429, ["retry-after": "1"], body: #"{"error":{"code":"rate_limit_exceeded"}}"#) == .retry(after: 1, rateLimited: true))
    }

    @Test func anUntrustedCertificateStopsTheJob() {
        let failure = GatewayFailure(kind: .untrustedCertificate, message: "certificate verify failed")
        #expect(policy.verdict(for: .failure(failure)) == .stopJob(.untrustedCertificate))
        #expect(policy.verdict(for: .failure(GatewayFailure(kind: .connection, message: "reset"))) == .retry(after: nil, rateLimited: false))
    }

    @Test func shouldRetryHeaderOverridesTheStatus() {
        #expect(verdict(400, ["x-should-retry": "true"]) == .retry(after: nil, rateLimited: false))
        #expect(verdict(503, ["x-should-retry": "false"]) == .fail)
    }

    @Test func providerAndModelErrorsAskForTheNextModel() {
        #expect(verdict(502, body: #"{"error":{"code":"PROVIDER_ERROR","message":"x"}}"#) == .tryNextModel(after: nil))
        #expect(verdict(404, body: #"{"error":{"code":"model_not_found"}}"#) == .tryNextModel(after: nil, permanent: true))
        #expect(verdict(502, body: "Bad Gateway") == .retry(after: nil, rateLimited: false))
    }

    @Test func transportFailuresAreRetried() {
        #expect(policy.verdict(for: .failure(GatewayFailure(kind: .timeout, message: ""))) == .retry(after: nil, rateLimited: false))
        #expect(policy.verdict(for: .failure(GatewayFailure(kind: .connection, message: ""))) == .retry(after: nil, rateLimited: false))
    }

    @Test func retryAfterForms() {
        func seconds(_ headers: [String: String]) -> Double? { RetryAfter.seconds(from: { headers[$0] }, now: Date(timeIntervalSince1970: 1_445_412_480)) }
        #expect(seconds(["retry-after-ms": "1500", "retry-after": "9"]) == 1.5)
        #expect(seconds(["retry-after": "2"]) == 2)
        #expect(seconds(["retry-after": "0.25"]) == 0.25)
        #expect(seconds(["retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"]) == 30)  // now is 07:28:00
        #expect(seconds(["retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"]) == 0)  // in the past
        #expect(seconds(["retry-after": "soon"]) == nil)
        #expect(seconds(["retry-after": "-3"]) == nil)
        #expect(seconds(["retry-after": "100000"]) == RetryAfter.maximumSeconds)
        #expect(seconds([:]) == nil)
    }

    @Test func backoffGrowsIsCappedAndJittered() {
        #expect(policy.backoff(retry: 1, random: 0) == 0.5)
        #expect(policy.backoff(retry: 2, random: 0) == 1)
        #expect(policy.backoff(retry: 4, random: 0) == 4)
        #expect(policy.backoff(retry: 10, random: 0) == 8)
        #expect(policy.backoff(retry: 10, random: 0.999) > 6)
        for _ in 0..<100 {
            let delay = policy.backoff(retry: 3)
            #expect(delay > 1.5 && delay <= 2)
        }
    }

    @Test func attemptsExhaustThenFallBackThenFail() {
        var attempts = ItemAttempts(chain: ["a", "b"], maxAttemptsPerModel: 2, policy: policy)
        #expect(attempts.begin() == 0)
        #expect(attempts.finish(.retry(after: 3, rateLimited: true)) == .retry(after: 3, rateLimited: true))
        #expect(attempts.begin() == 0)
        #expect(attempts.finish(.retry(after: nil, rateLimited: false)) == .retry(after: 0, rateLimited: false))
        #expect(attempts.model == "b")
        #expect(attempts.begin() == 1)
        guard case .retry = attempts.finish(.retry(after: nil, rateLimited: false)) else { Issue.record("expected a retry"); return }
        _ = attempts.begin()
        #expect(attempts.finish(.retry(after: nil, rateLimited: false)) == .failed)
        #expect(attempts.state == .failed)
        #expect(attempts.attempts == 4)
        #expect(attempts.fallbacksUsed == 1)
    }

    @Test func modelErrorSwitchesAtOnceAndSuccessEnds() {
        var attempts = ItemAttempts(chain: ["a", "b"], maxAttemptsPerModel: 5, policy: policy)
        _ = attempts.begin()
        #expect(attempts.finish(.tryNextModel(after: nil)) == .retry(after: 0, rateLimited: false))
        #expect(attempts.begin() == 1)
        #expect(attempts.finish(.success) == .succeeded)
        #expect(attempts.attempts == 2)
        var single = ItemAttempts(chain: ["a"], maxAttemptsPerModel: 1, policy: policy)
        _ = single.begin()
        #expect(single.finish(.fail) == .failed)
        var stopped = ItemAttempts(chain: ["a"], maxAttemptsPerModel: 3, policy: policy)
        _ = stopped.begin()
        #expect(stopped.finish(.stopJob(.keyRefused)) == .stopJob(.keyRefused))
    }
}
