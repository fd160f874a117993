import Foundation

/// Learns how many requests in flight the gateway tolerates, with `--concurrency`
/// as the ceiling: additive increase while requests succeed (one more slot per
/// window of successes), multiplicative decrease on a 429 or when the gateway's
/// `x-ratelimit-remaining-*` runs low. At most one decrease per window, so a
/// burst of 429s from requests already in flight counts once.
///
/// ```swift
/// let adaptive = AdaptiveConcurrency(limiter: limiter, ceiling: 256, start: learned ?? 256)
/// adaptive.record(.success)                         // after each answer
/// adaptive.record(.throttled)                       // on a 429
/// ```
public final class AdaptiveConcurrency: @unchecked Sendable {
    public enum Signal: Sendable {
        case success
        case throttled
        /// The gateway's budget is running low (remaining below 10 % of its limit).
        case budgetLow
    }

    private let lock = NSLock()
    private let limiter: ConcurrencyLimiter
    public let ceiling: Int
    private var limit: Double
    private var successesSinceChange = 0
    private var lastDecrease = ContinuousClock.now - .seconds(3600)
    /// Called when the whole-number limit changes (to show it and store it).
    private let onChange: @Sendable (Int) -> Void

    public init(limiter: ConcurrencyLimiter, ceiling: Int, start: Int, onChange: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.limiter = limiter
        self.ceiling = max(ceiling, 1)
        limit = Double(min(max(start, 1), self.ceiling))
        self.onChange = onChange
        limiter.setLimit(Int(limit))
    }

    public var currentLimit: Int { lock.withLock { Int(limit) } }

    public func record(_ signal: Signal) {
        let changed: Int? = lock.withLock {
            let before = Int(limit)
            switch signal {
            case .success:
                successesSinceChange += 1
                if successesSinceChange >= Int(limit), limit < Double(ceiling) {
                    limit = min(limit + 1, Double(ceiling))
                    successesSinceChange = 0
                }
            case .throttled, .budgetLow:
                // One decrease per second at most: answers to requests sent before the
                // last decrease say nothing about the new limit.
                guard ContinuousClock.now - lastDecrease > .seconds(1) else { return nil }
                limit = max(1, (limit * (signal == .throttled ? 0.5 : 0.8)).rounded(.down))
                lastDecrease = ContinuousClock.now
                successesSinceChange = 0
            }
            return Int(limit) != before ? Int(limit) : nil
        }
        if let changed {
            limiter.setLimit(changed)
            onChange(changed)
        }
    }

    /// Reads `x-ratelimit-remaining-{requests,tokens}` against their limits.
    public static func budgetIsLow(_ header: (String) -> String?) -> Bool {
        for kind in ["requests", "tokens"] {
            if let remaining = header("x-ratelimit-remaining-\(kind)").flatMap(Double.init),
               let limit = header("x-ratelimit-limit-\(kind)").flatMap(Double.init), limit > 0,
               remaining < limit * 0.1 {
                return true
            }
        }
        return false
    }

    /// Seconds until an exhausted budget resets (`x-ratelimit-reset-*` when remaining is 0).
    public static func exhaustedFor(_ header: (String) -> String?) -> Double? {
        var wait: Double?
        for kind in ["requests", "tokens"] where header("x-ratelimit-remaining-\(kind)").flatMap(Double.init) == 0 {
            if let reset = header("x-ratelimit-reset-\(kind)").flatMap(parseDuration) { wait = max(wait ?? 0, reset) }
        }
        return wait
    }

    /// `6m0s`, `1.5s`, `12ms`, `2h3m4s`: OpenAI's duration format, in seconds.
    public static func parseDuration(_ text: String) -> Double? {
        var total = 0.0
        var number = ""
        var index = text.startIndex
        var sawUnit = false
        while index < text.endIndex {
            let character = text[index]
            if character.isNumber || character == "." {
                number.append(character)
                index = text.index(after: index)
                continue
            }
            guard let value = Double(number) else { return nil }
            let rest = text[index...]
            if rest.hasPrefix("ms") { total += value / 1000; index = text.index(index, offsetBy: 2) }
            else if character == "h" { total += value * 3600; index = text.index(after: index) }
            else if character == "m" { total += value * 60; index = text.index(after: index) }
            else if character == "s" { total += value; index = text.index(after: index) }
            else { return nil }
            number = ""
            sawUnit = true
        }
        if !number.isEmpty { guard let value = Double(number) else { return nil }; total += value }
        return sawUnit || !text.isEmpty ? total : nil
    }
}
