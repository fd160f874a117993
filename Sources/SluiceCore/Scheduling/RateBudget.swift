import Synchronization

/// Requests-per-minute and tokens-per-minute budgets, so sluice stays inside
/// what the gateway allows instead of learning it from 429s.
///
/// Each budget is a token bucket in its GCRA form (a "theoretical arrival
/// time" that every request pushes forward by its cost): a request reserves
/// its slot under a lock and then sleeps until it, so waiting costs no CPU and
/// requests leave in the order they asked. Token costs are estimated before
/// sending and corrected with the `usage` the gateway returns.
///
/// ```swift
/// let budget = RateBudget(requestsPerMinute: 6000, tokensPerMinute: 2_000_000, control: control)
/// guard await budget.acquire(tokens: estimate) else { return }   // false: the run is stopping
/// budget.correct(estimated: estimate, actual: usage.totalTokens)
/// ```
package final class RateBudget: Sendable {
    private struct Bucket {
        /// Seconds of budget one unit costs (for this worker's share of the budget).
        var secondsPerUnit: Double
        let perMinute: Int
        /// How far ahead of schedule a burst may run, in seconds.
        let tolerance: Double
        var theoreticalArrival: Double = 0

        init(perMinute: Int, burstSeconds: Double) {
            self.perMinute = perMinute
            secondsPerUnit = 60 / Double(perMinute)
            tolerance = max(burstSeconds, 0)
        }

        /// Reserves `units` and returns when (in clock seconds) they may be used.
        mutating func reserve(_ units: Double, now: Double) -> Double {
            let start = max(now, theoreticalArrival - tolerance)
            theoreticalArrival = max(theoreticalArrival, start) + units * secondsPerUnit
            return start
        }
    }

    private struct State {
        var requests: Bucket?
        var tokens: Bucket?
        /// Running average of completion tokens, for estimating a request's cost before it is answered.
        var averageCompletion = 0.0
        var answered = 0.0
    }

    private let state: Mutex<State>
    private let control: RunControl
    private let epoch = ContinuousClock.now
    package let isLimited: Bool

    package init(requestsPerMinute: Int?, tokensPerMinute: Int?, control: RunControl, burstSeconds: Double = 1) {
        state = Mutex(
            State(
                requests: requestsPerMinute.map { Bucket(perMinute: $0, burstSeconds: burstSeconds) },
                tokens: tokensPerMinute.map { Bucket(perMinute: $0, burstSeconds: burstSeconds) }))
        isLimited = requestsPerMinute != nil || tokensPerMinute != nil
        self.control = control
    }

    private var now: Double { (ContinuousClock.now - epoch).inSeconds }

    /// Tokens a request will probably cost: its prompt as `TokenEstimate` counts it, plus the completion
    /// tokens answers have averaged so far (before any answer, the request's own cap, else nothing: a
    /// pace is corrected by the first answers, unlike the batch budget's worst case).
    package func estimate(_ request: TokenEstimate) -> Int {
        let completion = state.withLock { $0.answered > 0 ? $0.averageCompletion : Double(request.outputCap ?? 0) }
        return request.prompt + Int(completion.rounded(.up))
    }

    /// Waits for budget; false when the run is stopping.
    package func acquire(tokens estimated: Int) async -> Bool {
        guard isLimited else { return !control.isStopping }
        let time = now
        let wait: Double = state.withLock { state in
            var start = time
            if var bucket = state.requests {
                start = max(start, bucket.reserve(1, now: time))
                state.requests = bucket
            }
            if var bucket = state.tokens {
                start = max(start, bucket.reserve(Double(estimated), now: time))
                state.tokens = bucket
            }
            return start - time
        }
        if wait <= 0 { return !control.isStopping }
        return await control.sleep(seconds: wait)
    }

    /// A shared job's budget is the job's: with `workers` live, this worker spends its share. Called at
    /// every heartbeat, so a dead worker's share comes back within a lease.
    package func share(among workers: Int) {
        let workers = Double(max(workers, 1))
        state.withLock { state in
            if var bucket = state.requests {
                bucket.secondsPerUnit = 60 * workers / Double(bucket.perMinute)
                state.requests = bucket
            }
            if var bucket = state.tokens {
                bucket.secondsPerUnit = 60 * workers / Double(bucket.perMinute)
                state.tokens = bucket
            }
        }
    }

    /// Settles the difference between the estimate and the tokens actually billed.
    package func correct(estimated: Int, actual: Int?, completion: Int?) {
        state.withLock { state in
            if let completion {
                state.answered += 1
                state.averageCompletion += (Double(completion) - state.averageCompletion) / min(state.answered, 1000)
            }
            guard var bucket = state.tokens, let actual else { return }
            bucket.theoreticalArrival += Double(actual - estimated) * bucket.secondsPerUnit
            state.tokens = bucket
        }
    }
}
