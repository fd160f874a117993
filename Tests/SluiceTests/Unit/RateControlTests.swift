import Foundation
import Testing
@testable import SluiceCore

struct RateControlTests {
    @Test func durationsInOpenAIFormat() {
        #expect(AdaptiveConcurrency.parseDuration("1s") == 1)
        #expect(AdaptiveConcurrency.parseDuration("12ms") == 0.012)
        #expect(AdaptiveConcurrency.parseDuration("6m0s") == 360)
        #expect(AdaptiveConcurrency.parseDuration("1.5s") == 1.5)
        #expect(AdaptiveConcurrency.parseDuration("2h3m4s") == 7384)
        #expect(AdaptiveConcurrency.parseDuration("soon") == nil)
    }

    @Test func rateLimitHeadersAreRead() {
        let low = ["x-ratelimit-remaining-requests": "5", "x-ratelimit-limit-requests": "100"]
        #expect(AdaptiveConcurrency.budgetIsLow { low[$0] })
        let fine = ["x-ratelimit-remaining-requests": "50", "x-ratelimit-limit-requests": "100"]
        #expect(!AdaptiveConcurrency.budgetIsLow { fine[$0] })
        let exhausted = ["x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1.5s"]
        #expect(AdaptiveConcurrency.exhaustedFor { exhausted[$0] } == 1.5)
        // A 429 without Retry-After waits for the budget to refill.
        #expect(RetryPolicy().verdict(status: 429, header: { exhausted[$0] }, body: []) == .retry(after: 1.5, rateLimited: true))
    }

    @Test func additiveIncreaseMultiplicativeDecrease() {
        let limiter = ConcurrencyLimiter(limit: 1)
        let changes = LockedList()
        let adaptive = AdaptiveConcurrency(limiter: limiter, ceiling: 10, start: 8) { changes.append($0) }
        #expect(adaptive.currentLimit == 8)
        for _ in 0..<8 { adaptive.record(.success) }
        #expect(adaptive.currentLimit == 9)
        adaptive.record(.throttled)
        #expect(adaptive.currentLimit == 4)
        adaptive.record(.throttled)   // within the same second: counted once
        #expect(adaptive.currentLimit == 4)
        for _ in 0..<1000 { adaptive.record(.success) }
        #expect(adaptive.currentLimit == 10)   // never above the ceiling
        #expect(limiter.currentLimit == 10)
        #expect(changes.values.first == 9 && changes.values.contains(4) && changes.values.last == 10)
    }

    @Test func aLowBudgetShrinksTheLimitByAFifth() {
        let adaptive = AdaptiveConcurrency(limiter: ConcurrencyLimiter(limit: 1), ceiling: 100, start: 50)
        adaptive.record(.budgetLow)
        #expect(adaptive.currentLimit == 40)
    }

    @Test func budgetPacesRequestsWithoutBurst() async {
        let budget = RateBudget(requestsPerMinute: 600, tokensPerMinute: nil, control: RunControl(), burstSeconds: 0)
        let start = ContinuousClock.now
        for _ in 0..<6 { #expect(await budget.acquire(tokens: 0)) }
        let elapsed = ContinuousClock.now - start
        // 10 per second: the sixth request may leave 0.5 s after the first.
        #expect(elapsed >= .milliseconds(480))
    }

    @Test func tokenEstimatesAreCorrected() {
        let budget = RateBudget(requestsPerMinute: nil, tokensPerMinute: 6000, control: RunControl())
        #expect(budget.estimate(bodyBytes: 400, maxTokens: 50) == 150)
        budget.correct(estimated: 150, actual: 130, completion: 30)
        #expect(budget.estimate(bodyBytes: 400) == 130)
    }

    @Test func stoppingWakesAWaitingRequest() async {
        let control = RunControl()
        let budget = RateBudget(requestsPerMinute: 1, tokensPerMinute: nil, control: control, burstSeconds: 0)
        #expect(await budget.acquire(tokens: 0))
        let start = ContinuousClock.now
        Task { try? await Task.sleep(nanoseconds: 100_000_000); control.stop(.signal(SIGINT)) }
        #expect(await budget.acquire(tokens: 0) == false)   // would otherwise wait a minute
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}

final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Int] = []
    func append(_ value: Int) { lock.withLock { storage.append(value) } }
    var values: [Int] { lock.withLock { storage } }
}
