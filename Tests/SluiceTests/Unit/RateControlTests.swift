import Foundation
import SluiceMockServer
import Synchronization
import Testing

@testable import SluiceCore

struct RateLimitHeadersTests {
    @Test func durationsInOpenAIFormat() {
        #expect(RateLimitHeaders.parseDuration("1s") == 1)
        #expect(RateLimitHeaders.parseDuration("12ms") == 0.012)
        #expect(RateLimitHeaders.parseDuration("6m0s") == 360)
        #expect(RateLimitHeaders.parseDuration("1.5s") == 1.5)
        #expect(RateLimitHeaders.parseDuration("2h3m4s") == 7384)
        #expect(RateLimitHeaders.parseDuration("20") == 20)
        #expect(RateLimitHeaders.parseDuration("soon") == nil)
        #expect(RateLimitHeaders.parseDuration("") == nil)
    }

    @Test func budgetsAreReadAndJudged() {
        let low = RateLimitHeaders { ["x-ratelimit-remaining-requests": "5", "x-ratelimit-limit-requests": "100"][$0] }
        #expect(low.isLow && !low.isExhausted)
        let nearlyGone = RateLimitHeaders { ["x-ratelimit-remaining-tokens": "150", "x-ratelimit-limit-tokens": "10000"][$0] }
        #expect(nearlyGone.isExhausted)  // 1.5 % left counts as used up
        let fine = RateLimitHeaders { ["x-ratelimit-remaining-requests": "50", "x-ratelimit-limit-requests": "100"][$0] }
        #expect(!fine.isLow && !fine.isExhausted)
        let exhausted = RateLimitHeaders { ["x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1.5s"][$0] }
        #expect(exhausted.isExhausted && exhausted.exhaustedResetSeconds == 1.5)
        // A 429 without Retry-After waits for the budget to refill.
        #expect(
            RetryPolicy().verdict(
                status: 429, header: { ["x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1.5s"][$0] },
                body: []) == .retry(after: 1.5, rateLimited: true))
        #expect(!RateLimitHeaders { _ in nil }.isExhausted)
    }

    @Test func azureNoLimitFiguresAreIgnored() {
        let azure = RateLimitHeaders { ["x-ratelimit-limit-requests": "-1", "x-ratelimit-remaining-requests": "0"][$0] }
        #expect(!azure.isExhausted && !azure.isLow)
        let zero = RateLimitHeaders { ["x-ratelimit-limit-tokens": "0", "x-ratelimit-remaining-tokens": "0"][$0] }
        #expect(!zero.isExhausted)
    }

    @Test func anthropicHeadersAreReadToo() {
        let now = ISO8601DateFormatter().date(from: "2027-01-15T08:00:00Z")!
        let headers = [
            "anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:30Z",
        ]
        let limits = RateLimitHeaders({ headers[$0] }, now: now)
        #expect(limits.isExhausted)
        #expect(limits.requests.limit == 50)
        #expect(limits.exhaustedResetSeconds == 30)
    }
}

struct AdaptiveConcurrencyTests {
    /// Rounds of one round trip each: the client sends `limit` requests, the gateway
    /// answers each (`refuse` decides), and the answers are recorded with their send time.
    private func simulate(rounds: Int, ceiling: Int, refuse: (_ index: Int, _ inFlight: Int) -> Bool) -> (limits: [Int], refused: Int, sent: Int) {
        let adaptive = AdaptiveConcurrency(limiter: ConcurrencyLimiter(limit: 1), ceiling: ceiling, start: ceiling)
        let base = ContinuousClock.now
        var limits: [Int] = []
        var refused = 0
        var sent = 0
        for round in 0..<rounds {
            let limit = adaptive.currentLimit
            limits.append(limit)
            let sentAt = base + .milliseconds(40 * round)
            for index in 0..<limit {
                let no = refuse(index, limit)
                refused += no ? 1 : 0
                sent += 1
                adaptive.record(no ? .refused : .accepted, sentAt: sentAt, now: sentAt + .milliseconds(39))
            }
        }
        return (limits, refused, sent)
    }

    @Test func sporadicRefusalsDoNotCollapseTheLimit() {
        var random = SplitMix64(seed: 7)
        let run = simulate(rounds: 2000, ceiling: 32) { _, _ in Double.random(in: 0..<1, using: &random) < 0.03 }
        let mean = Double(run.limits.reduce(0, +)) / Double(run.limits.count)
        // TCP-style halving on every 429 settles near sqrt(2/0.03) ≈ 8.
        #expect(mean >= 0.9 * 32, "mean limit \(mean)")
    }

    @Test func aCapacityLimitIsFoundWithFewRefusals() {
        // The gateway refuses whatever exceeds 8 requests in flight.
        let run = simulate(rounds: 400, ceiling: 32) { index, _ in index >= 8 }
        let settled = run.limits.suffix(300)
        let mean = Double(settled.reduce(0, +)) / Double(settled.count)
        #expect(mean >= 7.5 && mean <= 9, "mean limit \(mean)")
        #expect(Double(run.refused) / Double(run.sent) <= 0.05, "\(run.refused) of \(run.sent) refused")
        #expect(run.limits.prefix(10).last! <= 9, "found within a few windows: \(run.limits.prefix(10))")
    }

    @Test(arguments: [8, 25, 64])
    func aCapacityLimitOfAnySizeIsFoundWithFewRefusals(capacity: Int) {
        let run = simulate(rounds: 1500, ceiling: 256) { index, _ in index >= capacity }
        let settled = run.limits.suffix(1000)
        let mean = Double(settled.reduce(0, +)) / Double(settled.count)
        // Refusals once settled: one more than capacity now and then, not 4-8 % for good.
        let settledRefused = settled.reduce(0) { $0 + max($1 - capacity, 0) }
        let settledSent = settled.reduce(0, +)
        #expect(mean >= Double(capacity) * 0.9 && mean <= Double(capacity) * 1.05, "mean limit \(mean) for capacity \(capacity)")
        #expect(Double(settledRefused) / Double(settledSent) <= 0.045, "\(settledRefused) of \(settledSent) refused once settled")
    }

    @Test func neverAboveTheCeilingAndRecoversWhenRefusalsStop() {
        let limiter = ConcurrencyLimiter(limit: 1)
        let adaptive = AdaptiveConcurrency(limiter: limiter, ceiling: 40, start: 40)
        let base = ContinuousClock.now
        // One window (80 answers: two round trips at 40) where the gateway took 20 at once and refused the rest:
        // the limit drains to the 20 it took.
        for index in 0..<80 {
            let sent = base + .milliseconds(40 * (index / 40))
            adaptive.record(index % 2 == 0 ? .refused : .accepted, sentAt: sent, now: sent + .milliseconds(39))
        }
        #expect(adaptive.currentLimit == 20)
        #expect(limiter.currentLimit == 20)
        // Answers to requests sent before the decrease belong to the old limit: ignored.
        for _ in 0..<200 { adaptive.record(.refused, sentAt: base, now: base) }
        #expect(adaptive.currentLimit == 20)
        // Clean windows: after four of probation, one more slot per window, up to the ceiling.
        let later = base + .seconds(1)
        for _ in 0..<(40 * 4) { adaptive.record(.accepted, sentAt: later) }
        #expect(adaptive.currentLimit == 20)
        for _ in 0..<5000 { adaptive.record(.accepted, sentAt: later) }
        #expect(adaptive.currentLimit == 40)
    }

    @Test func aLowBudgetStopsGrowthButDoesNotShrink() {
        let adaptive = AdaptiveConcurrency(limiter: ConcurrencyLimiter(limit: 1), ceiling: 100, start: 50)
        for _ in 0..<1000 { adaptive.record(.budgetLow, sentAt: .now) }
        #expect(adaptive.currentLimit == 50)
    }
}

struct RefusalMonitorTests {
    private let none = RateLimitHeaders()
    /// What a sporadic upstream 429 carries: a Retry-After, no budget figures.
    private let comeBack = RateLimitHeaders(retryAfter: 1)

    @Test func sporadicRefusalsDelayOnlyTheirItem() {
        let monitor = RefusalMonitor()
        var reactions: [RefusalMonitor.Reaction] = []
        for index in 0..<2000 {
            let refused = index % 33 == 0  // 3 %
            let reaction = monitor.observe(status: refused ? 429 : 200, limits: none, item: Int64(index), wait: 1)
            if refused { reactions.append(reaction) }
        }
        #expect(!reactions.isEmpty && reactions.allSatisfy { $0 == .delayItem })
    }

    @Test func aBudgetAtZeroPausesTheJob() {
        let monitor = RefusalMonitor()
        let exhausted = RateLimitHeaders(requests: .init(limit: 1200, remaining: 0, resetSeconds: 30))
        #expect(
            monitor.observe(status: 429, limits: exhausted, item: 1, wait: 41) == .pauseJob(seconds: 41, reason: "gateway rate limit (its budget is at zero)"))
        // A 5xx with the same figures says nothing about rate.
        #expect(monitor.observe(status: 503, limits: exhausted, item: 2, wait: 0) == .none)
    }

    @Test func refusalsWithRetryAfterFromManyItemsPauseTheJobOnce() {
        let monitor = RefusalMonitor()
        let comeBack = RateLimitHeaders(retryAfter: 2)
        var pauses = 0
        for index in 0..<60 {
            // A third of the first 25 answers refused, each a different item; then one in twenty.
            let refused = index < 25 ? index % 3 == 0 : index % 20 == 0
            if case .pauseJob = monitor.observe(status: refused ? 429 : 200, limits: refused ? comeBack : none, item: Int64(index), wait: 2) {
                pauses += 1
            }
        }
        // One pause: the burst before it is forgotten, so what follows is judged on its own.
        #expect(pauses == 1)
    }

    @Test func aSuccessThatUsesTheLastOfTheBudgetPausesBriefly() {
        let monitor = RefusalMonitor()
        let last = RateLimitHeaders(requests: .init(limit: 100, remaining: 0, resetSeconds: 0.4))
        #expect(monitor.observe(status: 200, limits: last, item: 1, wait: 0) == .pauseJob(seconds: 0.4, reason: "gateway rate limit (its budget is at zero)"))
        let farReset = RateLimitHeaders(requests: .init(limit: 100, remaining: 0, resetSeconds: 360))
        #expect(monitor.observe(status: 200, limits: farReset, item: 2, wait: 0) == .pauseJob(seconds: 1, reason: "gateway rate limit (its budget is at zero)"))
        // sluice pacing itself with --rpm expects the gateway's budget to run down.
        #expect(monitor.observe(status: 200, limits: last, item: 3, wait: 0, pacedLocally: true) == .none)
        #expect(monitor.observe(status: 200, limits: RateLimitHeaders(requests: .init(limit: 100, remaining: 1)), item: 4, wait: 0) == .none)
    }

    @Test func aCapacityLimitWithoutRetryAfterIsNotAJobPause() {
        let monitor = RefusalMonitor()
        for index in 0..<100 {
            let reaction = monitor.observe(status: index % 2 == 0 ? 429 : 200, limits: none, item: Int64(index), wait: 0.5)
            #expect(reaction == (index % 2 == 0 ? .delayItem : .none))
        }
    }

    @Test func oneItemRefusedOverAndOverIsStillItsOwnProblem() {
        let monitor = RefusalMonitor()
        for index in 0..<60 { _ = monitor.observe(status: 200, limits: none, item: Int64(index), wait: 0) }
        for _ in 0..<30 {
            #expect(monitor.observe(status: 429, limits: comeBack, item: 999, wait: 1) == .delayItem)
        }
    }

    @Test func tooFewAnswersSayNothing() {
        let monitor = RefusalMonitor()
        for index in 0..<10 {
            #expect(monitor.observe(status: 429, limits: comeBack, item: Int64(index), wait: 1) == .delayItem)
        }
    }
}

struct CircuitBreakerTests {
    private func failure(_ id: Int64, code: String = "model_not_found") -> ItemOutcome {
        var outcome = ItemOutcome(id: id, succeeded: false, attempts: 1, headersSent: [], fallbacksUsed: 0, retries: 0)
        outcome.httpStatus = 400
        outcome.errorCode = code
        outcome.errorMessage = "The model does not exist"
        return outcome
    }

    @Test func fiftyIdenticalFailuresInARowTripIt() {
        let breaker = CircuitBreaker(threshold: 50)
        for id in 0..<49 {
            guard case .held = breaker.permanentFailure(failure(Int64(id)), signature: "HTTP 400 model_not_found") else {
                Issue.record("failure \(id) was not held")
                return
            }
        }
        guard case .tripped(let held, let signature, _) = breaker.permanentFailure(failure(49), signature: "HTTP 400 model_not_found") else {
            Issue.record("did not trip")
            return
        }
        #expect(held.map(\.id) == (0..<50).map(Int64.init))
        #expect(signature == "HTTP 400 model_not_found")
    }

    @Test func anotherOutcomeCommitsWhatWasHeld() {
        let breaker = CircuitBreaker(threshold: 50)
        for id in 0..<10 { _ = breaker.permanentFailure(failure(Int64(id)), signature: "a") }
        #expect(breaker.otherOutcome().count == 10)
        for id in 10..<20 { _ = breaker.permanentFailure(failure(Int64(id)), signature: "a") }
        guard case .commit(let earlier) = breaker.permanentFailure(failure(20, code: "other"), signature: "b") else {
            Issue.record("a different failure should commit the earlier run")
            return
        }
        #expect(earlier.count == 10)
        #expect(breaker.drain().map(\.id) == [20])
    }
}

struct ConcurrencyLimiterTests {
    @Test func permitsAreGrantedInOrderAndALoweredLimitHoldsBackNewOnes() async {
        let limiter = ConcurrencyLimiter(limit: 2)
        #expect(await limiter.acquire())
        #expect(await limiter.acquire())
        limiter.setLimit(1)
        limiter.release()
        #expect(limiter.inUse == 1)
        let waiter = Task { await limiter.acquire() }
        try? await Task.sleep(nanoseconds: 50_000_000)
        #expect(limiter.inUse == 1)  // still at the lowered limit
        limiter.release()
        #expect(await waiter.value)
        #expect(limiter.inUse == 1)
    }

    @Test func aCancelledWaiterLeavesTheQueue() async {
        let limiter = ConcurrencyLimiter(limit: 1)
        #expect(await limiter.acquire())
        let waiter = Task { await limiter.acquire() }
        try? await Task.sleep(nanoseconds: 50_000_000)
        waiter.cancel()
        #expect(await waiter.value == false)
        limiter.release()
        #expect(limiter.inUse == 0)  // the permit did not go to the cancelled waiter
    }

    /// A capacity refusal's wait (`waitForRoom(below:)`) ends once fewer are in flight than its level while a
    /// permit would go unused, not while anyone queues for one, and not at or above its level.
    @Test(.timeLimit(.minutes(1))) func aRoomWaiterWakesOnlyForASlotNobodyWants() async {
        let limiter = ConcurrencyLimiter(limit: 8)
        for _ in 0..<8 { #expect(await limiter.acquire()) }
        let woke = Mutex(false)
        let room = Task {
            await limiter.waitForRoom(below: 7)
            woke.withLock { $0 = true }
        }
        let queued = Task { await limiter.acquire() }
        try? await Task.sleep(for: .milliseconds(50))
        limiter.release()  // the queued acquire takes it: 8 in use
        #expect(await queued.value)
        limiter.release()  // 7 in use, nobody queues, but 7 is not below 7
        try? await Task.sleep(for: .milliseconds(50))
        #expect(!woke.withLock { $0 })
        limiter.release()  // 6 in use and a permit unused: the waiter wakes, holding none
        await room.value
        #expect(woke.withLock { $0 } && limiter.inUse == 6)

        // Already room: at once. Cancelled: it leaves.
        await limiter.waitForRoom(below: 8)
        let cancelled = Task { await limiter.waitForRoom(below: 2) }
        try? await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        await cancelled.value
        for _ in 0..<6 { limiter.release() }
        #expect(limiter.inUse == 0)
    }

    /// Room waiters woken, shared by the waiters' tasks.
    final class WokeCount: Sendable {
        let count = Mutex(0)
    }

    /// One free permit wakes every room waiter under whose level the permits in use are: a woken waiter takes none,
    /// and one that then decides not to go must not leave the others asleep with the permit unused.
    @Test(.timeLimit(.minutes(1))) func oneFreePermitWakesEveryRoomWaiter() async {
        let limiter = ConcurrencyLimiter(limit: 4)
        for _ in 0..<4 { #expect(await limiter.acquire()) }
        let woke = WokeCount()
        let first = Task {
            await limiter.waitForRoom(below: 4)
            woke.count.withLock { $0 += 1 }
        }
        let second = Task {
            await limiter.waitForRoom(below: 4)
            woke.count.withLock { $0 += 1 }
        }
        try? await Task.sleep(for: .milliseconds(50))
        limiter.release()  // 3 in use: one permit free, two waiters
        for _ in 0..<250 where woke.count.withLock({ $0 }) < 2 { try? await Task.sleep(for: .milliseconds(20)) }
        #expect(woke.count.withLock { $0 } == 2, "one free permit woke \(woke.count.withLock { $0 }) of 2 room waiters")
        #expect(limiter.inUse == 3)
        // A waiter left asleep leaves when cancelled.
        first.cancel()
        second.cancel()
        await first.value
        await second.value
        for _ in 0..<3 { limiter.release() }
    }
}

struct RateBudgetTests {
    @Test func budgetPacesRequestsWithoutBurst() async {
        let budget = RateBudget(requestsPerMinute: 600, tokensPerMinute: nil, control: RunControl(), burstSeconds: 0)
        let start = ContinuousClock.now
        // 21 requests ask at once: each reserves its slot when it asks and sleeps until it, so a late wake-up delays
        // only its own request. Beside them a plain sleep until the last slot (2 s) measures how late this machine
        // wakes a sleeper right now (a loaded machine, or other tests holding the shared threads, can add seconds).
        let (times, reference) = await withTaskGroup(of: (reference: Bool, time: Duration?).self) { group in
            for _ in 0..<21 { group.addTask { (false, await budget.acquire(tokens: 0) ? ContinuousClock.now - start : nil) } }
            group.addTask {
                try? await Task.sleep(until: start + .seconds(2), clock: .continuous)
                return (true, ContinuousClock.now - start)
            }
            var times: [Duration?] = []
            var reference = Duration.zero
            for await result in group {
                if result.reference { reference = result.time ?? .zero } else { times.append(result.time) }
            }
            return (times.compactMap { $0 }.sorted(), reference)
        }
        #expect(times.count == 21, "every request was let through")
        // 10 per second: the k-th request leaves k/10 s after the first, and not before.
        for (index, time) in times.enumerated() { #expect(time >= .milliseconds(100 * index - 20), "request \(index) at \(time)") }
        // Nor later than the sleeper woke, give or take: a budget throttling 1.4 times too hard would let the last go 0.8 s after it.
        let last = times.last ?? .zero
        #expect(last < reference + .milliseconds(600), "over-throttled: the last left at \(last), a 2 s sleep woke at \(reference)")
    }

    @Test func tokenEstimatesAreCorrected() {
        let budget = RateBudget(requestsPerMinute: nil, tokensPerMinute: 6000, control: RunControl())
        #expect(budget.estimate(TokenEstimate(prompt: 100, outputCap: 50)) == 150)
        budget.correct(estimated: 150, actual: 130, completion: 30)
        #expect(budget.estimate(TokenEstimate(prompt: 100, outputCap: nil)) == 130)
    }

    @Test func stoppingWakesAWaitingRequest() async {
        let control = RunControl()
        let budget = RateBudget(requestsPerMinute: 1, tokensPerMinute: nil, control: control, burstSeconds: 0)
        #expect(await budget.acquire(tokens: 0))
        let start = ContinuousClock.now
        Task {
            try? await Task.sleep(nanoseconds: 100_000_000); control.stop(.signal(SIGINT))
        }
        #expect(await budget.acquire(tokens: 0) == false)  // would otherwise wait a minute
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}

struct ProxySettingTests {
    @Test func proxyURLsAreParsedWithTheirCredentials() throws {
        let proxy = try ProxySetting.parse("http://alice:s%40cret@proxy.corp:3128")
        #expect(proxy.host == "proxy.corp" && proxy.port == 3128 && proxy.username == "alice" && proxy.password == "s@cret")
        #expect(!proxy.description.contains("s@cret") && !proxy.description.contains("alice"))
        #expect(try ProxySetting.parse("proxy.corp:8080") == ProxySetting(kind: .http, host: "proxy.corp", port: 8080))
        #expect(try ProxySetting.parse("socks5://127.0.0.1:1080").kind == .socks5)
        #expect(throws: SluiceError.self) { try ProxySetting.parse("https://proxy.corp:443") }
        #expect(ProxySetting.redactingPassword("http://alice:s3cret@proxy:3128") == "http://alice:[REDACTED]@proxy:3128")
        #expect(ProxySetting.redactingPassword("--model") == "--model")
    }

    @Test func theEnvironmentIsReadAsCurlReadsIt() throws {
        let env = ["HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:2", "HTTP_PROXY": "http://plain:3", "NO_PROXY": "internal.corp,.local"]
        #expect(try ProxySetting.resolve(flag: nil, baseURL: "https://api.floopy.ai/v1", environment: env)?.host == "lower")
        #expect(try ProxySetting.resolve(flag: nil, baseURL: "http://gw.example:4000/v1", environment: env)?.host == "plain")
        #expect(try ProxySetting.resolve(flag: nil, baseURL: "https://llm.internal.corp/v1", environment: env) == nil)
        #expect(try ProxySetting.resolve(flag: nil, baseURL: "https://gw.local/v1", environment: env) == nil)
        #expect(try ProxySetting.resolve(flag: nil, baseURL: "https://notinternal.corp/v1", environment: env)?.host == "lower")
        #expect(try ProxySetting.resolve(flag: nil, baseURL: "https://x/v1", environment: ["https_proxy": "http://p:1", "no_proxy": "*"]) == nil)
        #expect(try ProxySetting.resolve(flag: "http://flag:9", baseURL: "https://x/v1", environment: env)?.host == "flag")
        #expect(try ProxySetting.resolve(flag: "", baseURL: "https://x/v1", environment: env) == nil)
    }
}
