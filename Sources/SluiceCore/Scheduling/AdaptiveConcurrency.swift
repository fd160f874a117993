import Synchronization

/// Learns how many requests in flight the gateway tolerates, with `--concurrency` as the ceiling, and keeps
/// the job there: TCP BBR's probe and drain over windows of answers. Why, and how the slot holds make the
/// windows say something: the DocC article "Adaptive concurrency".
///
/// ```swift
/// let adaptive = AdaptiveConcurrency(limiter: limiter, ceiling: 256, start: learned ?? 256)
/// let hold = adaptive.record(.accepted, sentAt: sentAt)   // after each HTTP answer; a 429 is .refused
/// // keep the request slot `hold` longer, then release it
/// ```
package final class AdaptiveConcurrency: Sendable {
    package enum Answer: Sendable {
        case accepted
        case refused
        /// Accepted, with `x-ratelimit-remaining-*` under 10 % of its limit.
        case budgetLow
    }

    package struct Rules: Sendable {
        package var minimumWindow = 40
        package var windowPerLimit = 2
        /// Above this share refused, the window overshot.
        package var decreaseShare = 0.08
        /// At most this share refused (and no budget running low), the window is clean.
        package var increaseShare = 0.04
        /// Refusals under this share while every request in flight was accepted at once are not the
        /// concurrency's doing (an upstream's token bucket): they change nothing.
        package var sporadicShare = 0.25
        package var probationWindows = 4
        package var longestProbation = 64
        /// After a capacity cap is met, an accepted request holds its slot this share of the answer time more, at first.
        package var releaseLag = 1.0 / 16
        /// The most it comes to hold (see `CapacitySearch.releaseHold`).
        package var longestReleaseHold = 0.5
        /// Requests in flight together for less than this (seconds) are not counted as taken at once: the client
        /// reads an answer a little after the gateway wrote it and freed its place, and a request sent in that gap
        /// is accepted while the answered one still looks in flight (see `acceptedAtOnce`).
        package var readMargin = 0.005
        package init() {}
    }

    /// One change of the limit, for the log and the progress line.
    package struct Change: Sendable, Equatable {
        package var from: Int
        package var to: Int
        /// Windows closed so far, this one included.
        package var window: Int
        package var answers: Int
        package var refusals: Int
        /// The most requests in flight at once that were accepted, in the window (net of a busy client's late reads
        /// when it overshot: what the window was judged by).
        package var acceptedAtOnce: Int

        package var summary: String {
            "concurrency limit \(from) → \(to) after window \(window) (\(refusals) of \(answers) answers refused, "
                + "\(acceptedAtOnce) accepted at once)"
        }
    }

    private struct State {
        var search: CapacitySearch
        /// Answers to requests sent before this instant belong to an older limit.
        var windowOpened: ContinuousClock.Instant
        var window = CapacitySearch.Window()
        /// Accepted requests of the window, to find how many were in flight at once.
        var accepted: [(sent: ContinuousClock.Instant, answered: ContinuousClock.Instant)] = []
        /// Refusals of the window: when each was read and how long it took from send to read (see `acceptedAtOnceReadLate`).
        var refusals: [Refusal] = []
        /// The quickest refusal of the job, send to read: about the gateway's own part of every refusal's time.
        var quickestRefusal: Duration?
        /// Smoothed time from send to a successful answer, in seconds; nil before the first.
        var answerSeconds: Double?
    }

    package let ceiling: Int
    package let rules: Rules
    private let limiter: ConcurrencyLimiter
    private let state: Mutex<State>
    /// Called when the limit changes (to log it, show it and store it).
    private let onChange: @Sendable (Change) -> Void

    package init(
        limiter: ConcurrencyLimiter, ceiling: Int, start: Int, rules: Rules = Rules(),
        onChange: @escaping @Sendable (Change) -> Void = { _ in }
    ) {
        self.limiter = limiter
        self.ceiling = max(ceiling, 1)
        self.rules = rules
        let search = CapacitySearch(ceiling: self.ceiling, start: start, rules: rules)
        state = Mutex(State(search: search, windowOpened: .now))
        self.onChange = onChange
        limiter.setLimit(search.limit)
    }

    package var currentLimit: Int { state.withLock { $0.search.limit } }

    /// False once refusals go on at lowered limits (three windows in a row cut, down to a quarter of the most
    /// the gateway took at once, or it never took any): time, not concurrency, limits the job, and a job-wide
    /// pause on the gateway's word is then right.
    package var refusalsFollowLoad: Bool {
        state.withLock { state in
            let search = state.search
            return search.overshootStreak < 3 || (search.mostAtOnce > 0 && search.limit * 4 > search.mostAtOnce)
        }
    }

    /// A refusal with `inFlight` request slots in use (its own included) came from a concurrency cap: the limit was
    /// cut below the concurrency asked for, and the slots were as full as the most the gateway was seen to take at
    /// once. Refusals below that (an upstream's sporadic 429s) are not: their Retry-After is the item's, as given.
    package func refusedAtTheCap(inFlight: Int) -> Bool {
        state.withLock { state in
            let search = state.search
            return search.limit < search.ceiling && search.mostAtOnce > 0 && inFlight >= search.mostAtOnce
        }
    }

    /// Records one answer; returns how much longer its request slot should be held (see the type's doc).
    @discardableResult
    package func record(_ answer: Answer, sentAt: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) -> Duration {
        let (change, hold): (Change?, Duration) = state.withLock { state in
            let hold = slotHold(after: answer, state: state)
            if answer != .refused, now >= sentAt {
                let seconds = (now - sentAt).inSeconds
                state.answerSeconds = state.answerSeconds.map { $0 * 0.9 + seconds * 0.1 } ?? seconds
            }
            guard sentAt > state.windowOpened else { return (nil, hold) }
            switch answer {
            case .accepted: state.accepted.append((sentAt, now))
            case .refused:
                state.window.refusals += 1
                state.refusals.append(Refusal(read: now, took: now - sentAt))
                state.quickestRefusal = min(state.quickestRefusal ?? now - sentAt, now - sentAt)
            case .budgetLow: state.window.lowBudget += 1
            }
            state.window.answers += 1
            guard state.window.answers >= max(rules.windowPerLimit * state.search.limit, rules.minimumWindow) else { return (nil, hold) }
            state.window.acceptedAtOnce = Self.acceptedAtOnce(state.accepted, answerSeconds: state.answerSeconds ?? 0, rules: rules)
            // Read late only where it may be used: a window that may overshoot (see `CapacitySearch.close`).
            state.window.acceptedAtOnceReadLate =
                state.window.refusedShare > rules.decreaseShare
                ? Self.acceptedAtOnceReadLate(
                    state.accepted, refusals: state.refusals, quickestRefusal: state.quickestRefusal ?? .zero, answerSeconds: state.answerSeconds ?? 0,
                    rules: rules)
                : state.window.acceptedAtOnce
            let before = state.search.limit
            let window = state.window
            let reopen = state.search.close(window)
            state.window = CapacitySearch.Window()
            state.accepted.removeAll(keepingCapacity: true)
            state.refusals.removeAll(keepingCapacity: true)
            if reopen { state.windowOpened = now }
            guard state.search.limit != before else { return (nil, hold) }
            // Under the lock: two windows ending together must not reach the limiter in reverse order.
            limiter.setLimit(state.search.limit)
            let change = Change(
                from: before, to: state.search.limit, window: state.search.windows, answers: window.answers, refusals: window.refusals,
                acceptedAtOnce: state.search.lastAtOnce)
            return (change, hold)
        }
        if let change { onChange(change) }
        return hold
    }

    private func slotHold(after answer: Answer, state: State) -> Duration {
        let search = state.search
        switch answer {
        case .refused:
            // About one answer time (a tenth of a second before any answer says what that is): an accepted
            // request would have held it that long, and one sent at once into a full gateway is refused again.
            guard search.holdsRefusedSlots else { return .zero }
            return .seconds(min(max(state.answerSeconds ?? 0.1, 0.001), 1))
        case .accepted, .budgetLow:
            guard search.laggingRelease, let seconds = state.answerSeconds else { return .zero }
            return .seconds(min(seconds * search.releaseHold, 0.25))
        }
    }
}
