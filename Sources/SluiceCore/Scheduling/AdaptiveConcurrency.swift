import Synchronization

/// Learns how many requests in flight the gateway tolerates, with
/// `--concurrency` as the ceiling, from the *rate* of 429s rather than from
/// each one.
///
/// Which classic, and why. The three studied:
/// - TCP congestion control (AIMD, one decrease per round trip): right that
///   answers to requests sent before a decrease say nothing about the new
///   limit, so they are ignored here too. Wrong as TCP applies it: halving on
///   every loss settles at sqrt(2/p) for a loss rate p, so 3 % of sporadic 429s
///   would pin the job near 8 requests in flight whatever the gateway could take.
/// - Google SRE's client-side throttling (reject locally when requests exceed
///   K × accepts over two minutes): right to look at the share of refusals
///   rather than single events; but it sheds load for an overloaded backend and
///   does not find a concurrency.
/// - Netflix concurrency-limits (gradient on latency, limit × minRTT / RTT):
///   finds a queueing server's knee, but a gateway that refuses at once with a
///   429 does not slow down first, so latency carries no signal here.
///
/// Taken: AIMD over *windows* of answers, with the decision made on the share
/// refused. A window is `max(2 × limit, 40)` answers to requests sent since
/// the last decrease, about two round trips of the current limit: large enough
/// that 3 % of sporadic 429s rarely look like 8 %. At its end:
/// - more than 8 % refused: decrease in proportion, to the number that were
///   accepted (`limit × (1 − share)`, never below a quarter of it). For a gateway that
///   refuses what exceeds N in flight, the accepted count *is* N, so one or
///   two windows find it; when chance makes sporadic 429s cross 8 %, the
///   decrease is as small as the share;
/// - at most 4 % refused and no budget running low: one more slot, but only
///   after four such windows following a decrease. A decrease right after an
///   increase is a failed probe, and doubles that wait (up to 64 windows), so
///   a job sitting at a capacity limit probes above it less and less often;
/// - between 4 and 8 % right after an increase: a failed probe too (above a
///   capacity of N, one more slot is refused 1/(N+1) of the time, under 8 %
///   once N passes 12): one slot back, and the doubled wait;
/// - otherwise: hold.
/// Only 429 is a refusal; 5xx, dropped connections and timeouts are faults of
/// another kind and are retried without touching the limit.
///
/// ```swift
/// let adaptive = AdaptiveConcurrency(limiter: limiter, ceiling: 256, start: learned ?? 256)
/// adaptive.record(.accepted, sentAt: sentAt)      // after each HTTP answer
/// adaptive.record(.refused, sentAt: sentAt)       // a 429
/// ```
public final class AdaptiveConcurrency: Sendable {
    public enum Answer: Sendable {
        case accepted
        case refused
        /// Accepted, with `x-ratelimit-remaining-*` under 10 % of its limit.
        case budgetLow
    }

    public struct Rules: Sendable {
        public var minimumWindow = 40
        public var windowPerLimit = 2
        public var decreaseShare = 0.08
        public var increaseShare = 0.04
        public var largestDecrease = 0.75
        public var probationWindows = 4
        public init() {}
    }

    private struct State {
        var limit: Double
        /// Answers to requests sent before this instant belong to an older limit.
        var windowOpened: ContinuousClock.Instant
        var answers = 0
        var refusals = 0
        var lowBudget = 0
        var cleanWindowsBeforeIncrease = 0
        /// Windows of probation after the next decrease.
        var probation: Int
        /// The last window ended in an increase: a decrease now means the probe failed.
        var probing = false
    }

    public let ceiling: Int
    public let rules: Rules
    private let limiter: ConcurrencyLimiter
    private let state: Mutex<State>
    /// Called when the whole-number limit changes (to show it and store it).
    private let onChange: @Sendable (Int) -> Void

    public init(
        limiter: ConcurrencyLimiter, ceiling: Int, start: Int, rules: Rules = Rules(),
        onChange: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.limiter = limiter
        self.ceiling = max(ceiling, 1)
        self.rules = rules
        let limit = min(max(start, 1), self.ceiling)
        state = Mutex(State(limit: Double(limit), windowOpened: .now, probation: rules.probationWindows))
        self.onChange = onChange
        limiter.setLimit(limit)
    }

    public var currentLimit: Int { state.withLock { Int($0.limit) } }

    public func record(_ answer: Answer, sentAt: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) {
        let changed: Int? = state.withLock { state in
            guard sentAt > state.windowOpened else { return nil }
            state.answers += 1
            switch answer {
            case .accepted: break
            case .refused: state.refusals += 1
            case .budgetLow: state.lowBudget += 1
            }
            guard state.answers >= max(rules.windowPerLimit * Int(state.limit), rules.minimumWindow) else { return nil }
            let before = Int(state.limit)
            let share = Double(state.refusals) / Double(state.answers)
            if share > rules.decreaseShare {
                // To the number accepted, rounded (a noisy 7.9 of a true 8 is 8), and at least one less.
                let factor = max(1 - share, 1 - rules.largestDecrease)
                state.limit = max(1, min(state.limit - 1, (state.limit * factor).rounded()))
                state.probation = state.probing ? min(state.probation * 2, 64) : rules.probationWindows
                state.cleanWindowsBeforeIncrease = state.probation
                state.windowOpened = now
                state.probing = false
            } else if share <= rules.increaseShare, state.lowBudget == 0 {
                if state.cleanWindowsBeforeIncrease > 0 {
                    state.cleanWindowsBeforeIncrease -= 1
                    state.probing = false
                } else if state.limit < Double(ceiling) {
                    // A window that ends clean after an increase: the probe succeeded.
                    if state.probing { state.probation = rules.probationWindows }
                    state.limit += 1
                    state.probing = true
                }
            } else if state.probing {
                // Refusals right after an increase, even below the decrease line: the probe found the
                // capacity. Back to the last limit without refusals, and wait longer before the next probe.
                state.limit = max(1, state.limit - 1)
                state.probation = min(state.probation * 2, 64)
                state.cleanWindowsBeforeIncrease = state.probation
                state.windowOpened = now
                state.probing = false
            }
            state.answers = 0
            state.refusals = 0
            state.lowBudget = 0
            guard Int(state.limit) != before else { return nil }
            // Under the lock: two windows ending together must not reach the limiter in reverse order.
            limiter.setLimit(Int(state.limit))
            return Int(state.limit)
        }
        if let changed { onChange(changed) }
    }
}
