import Synchronization

/// Sees every HTTP answer and decides what a 429 means: the job's own budget used up (the whole job pauses),
/// a sporadic refusal (only that item waits), or a capacity cap (adaptive concurrency's to handle). The
/// evidence each needs: the DocC article "What a 429 means".
///
/// ```swift
/// let monitor = RefusalMonitor()
/// switch monitor.observe(status: 429, limits: limits, item: 17, wait: 1) {
/// case .pauseJob(let seconds, let reason): gate.pause(for: seconds, reason: reason)
/// case .delayItem, .none: break
/// }
/// ```
package final class RefusalMonitor: Sendable {
    package enum Reaction: Equatable, Sendable {
        /// Not a refusal.
        case none
        /// A sporadic 429: only this item waits.
        case delayItem
        /// The job's own limit: every request waits.
        case pauseJob(seconds: Double, reason: String)
    }

    package struct Rules: Sendable {
        /// Answers remembered, and how old they may be.
        package var windowAnswers = 200
        package var windowSeconds = 3.0
        /// Fewer answers than this say nothing about a share.
        package var minimumAnswers = 20
        /// Share of recent answers refused (counted once per item) above which the job pauses.
        package var pauseShare = 0.2

        package init() {}
    }

    private struct Answer {
        var time: ContinuousClock.Instant
        /// The refused item, nil for an answer that was not a 429.
        var refusedItem: Int64?
    }

    private struct State {
        var ring: [Answer] = []
        var next = 0
    }

    package let rules: Rules
    private let state = Mutex(State())

    package init(rules: Rules = Rules()) { self.rules = rules }

    /// Longest pause for a success that reports a budget at zero: the next request
    /// would be refused, and its 429 then says exactly how long to wait.
    package static let zeroBudgetPause = 1.0

    /// Records one HTTP answer. `wait` is how long a refused item waits (its
    /// Retry-After, or backoff), which is also how long a job-wide pause lasts.
    /// `pacedLocally`: sluice keeps to a budget of its own (`--rpm`/`--tpm`),
    /// so a gateway budget near zero on a success is expected and pauses nothing.
    /// `concurrencyExplains`: adaptive concurrency sees the refusals vanish when
    /// it lowers the limit (a capacity cap), so their share pauses nothing, whatever
    /// Retry-After they carry; only a budget at zero does.
    package func observe(
        status: Int, limits: RateLimitHeaders, item: Int64, wait: Double, pacedLocally: Bool = false,
        concurrencyExplains: Bool = false, now: ContinuousClock.Instant = .now
    ) -> Reaction {
        let refused = status == 429
        let (answers, refusedItems) = state.withLock { state -> (Int, Int) in
            let answer = Answer(time: now, refusedItem: refused ? item : nil)
            if state.ring.count < rules.windowAnswers {
                state.ring.append(answer)
            } else {
                state.ring[state.next] = answer
                state.next = (state.next + 1) % rules.windowAnswers
            }
            guard refused else { return (0, 0) }
            let oldest = now - .seconds(rules.windowSeconds)
            var answers = 0
            var items = Set<Int64>()
            for entry in state.ring where entry.time >= oldest {
                answers += 1
                if let refusedItem = entry.refusedItem { items.insert(refusedItem) }
            }
            return (answers, items.count)
        }
        guard refused else {
            // A success that used the last of the budget: the job's own limit is reached.
            if (200..<300).contains(status), !pacedLocally, let reset = limits.zeroBudgetReset {
                return .pauseJob(seconds: min(reset, Self.zeroBudgetPause), reason: "gateway rate limit (its budget is at zero)")
            }
            return .none
        }
        let reaction: Reaction
        if limits.isExhausted {
            reaction = .pauseJob(seconds: wait, reason: "gateway rate limit (its budget is at zero)")
        } else if !concurrencyExplains, limits.retryAfter != nil, answers >= rules.minimumAnswers, Double(refusedItems) > Double(answers) * rules.pauseShare {
            reaction = .pauseJob(seconds: wait, reason: "gateway rate limit (\(refusedItems) of the last \(answers) answers were 429)")
        } else {
            return .delayItem
        }
        state.withLock { state in
            state.ring.removeAll(keepingCapacity: true)
            state.next = 0
        }
        return reaction
    }
}
