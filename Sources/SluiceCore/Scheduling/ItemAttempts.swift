/// The life of one item across its attempts and its fallback models, as an
/// explicit state machine (the async-http-client way): the scheduler asks it
/// which model to try, reports each verdict, and is told what to do next.
///
/// ```
/// ready ──begin()──▶ sending ──finish(.success)──────────────▶ succeeded
///   ▲                  │ finish(.retry) attempts left  ─▶ ready (after a wait)
///   │                  │ attempts used up / model error ─▶ ready on next model
///   └──────────────────┘ no model left / .fail ───────────▶ failed
/// ```
package struct ItemAttempts: Sendable {
    package enum State: Equatable, Sendable {
        case ready
        case sending
        case succeeded
        case failed
        case jobStopped
    }

    package enum Next: Equatable, Sendable {
        case succeeded
        case failed
        /// Wait this long, then `begin()` again (possibly on another model).
        case retry(after: Double, rateLimited: Bool)
        /// The whole job must stop (the key was refused, the quota is used up...).
        case stopJob(JobStopCause)
    }

    package let chain: [String]
    package let maxAttemptsPerModel: Int
    private let policy: RetryPolicy
    package private(set) var state = State.ready
    package private(set) var modelIndex = 0
    package private(set) var attemptsOnModel = 0
    package private(set) var attempts = 0
    package private(set) var retries = 0
    package private(set) var fallbacksUsed = 0

    package init(chain: [String], maxAttemptsPerModel: Int, policy: RetryPolicy) {
        precondition(!chain.isEmpty, "an item needs at least one model")
        self.chain = chain
        self.maxAttemptsPerModel = max(maxAttemptsPerModel, 1)
        self.policy = policy
    }

    package var model: String { chain[modelIndex] }

    /// Starts an attempt; returns the index of the model to ask.
    package mutating func begin() -> Int {
        precondition(state == .ready, "begin() in state \(state)")
        state = .sending
        attempts += 1
        attemptsOnModel += 1
        return modelIndex
    }

    package mutating func finish(_ verdict: AttemptVerdict) -> Next {
        precondition(state == .sending, "finish() in state \(state)")
        switch verdict {
        case .success:
            state = .succeeded
            return .succeeded
        case .fail:
            state = .failed
            return .failed
        case .stopJob(let cause):
            state = .jobStopped
            return .stopJob(cause)
        case .tryNextModel(let after, let permanent):
            if switchToNextModel() { return retryNow() }
            if permanent {
                state = .failed
                return .failed
            }
            return retryOrGiveUp(after: after, rateLimited: false)
        case .retry(let after, let rateLimited):
            return retryOrGiveUp(after: after, rateLimited: rateLimited)
        }
    }

    private mutating func retryOrGiveUp(after: Double?, rateLimited: Bool) -> Next {
        if attemptsOnModel < maxAttemptsPerModel {
            state = .ready
            retries += 1
            return .retry(after: after ?? policy.backoff(retry: attemptsOnModel), rateLimited: rateLimited)
        }
        if switchToNextModel() { return retryNow() }
        state = .failed
        return .failed
    }

    private mutating func switchToNextModel() -> Bool {
        guard modelIndex + 1 < chain.count else { return false }
        modelIndex += 1
        attemptsOnModel = 0
        fallbacksUsed += 1
        return true
    }

    private mutating func retryNow() -> Next {
        state = .ready
        retries += 1
        return .retry(after: 0, rateLimited: false)
    }
}
