import Foundation

/// What one answer says about the gateway's rate limits: OpenAI's
/// `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` plus the wait it
/// asks for. Read once per answer so the retry rules, the refusal monitor and
/// adaptive concurrency all act on the same figures.
///
/// ```swift
/// let limits = RateLimitHeaders(response.header)
/// if limits.isExhausted { gate.pause(for: limits.retryAfter ?? limits.exhaustedResetSeconds ?? 1, reason: "gateway rate limit") }
/// ```
package struct RateLimitHeaders: Sendable, Equatable {
    /// One budget (requests or tokens) as the gateway reports it.
    package struct Budget: Sendable, Equatable {
        package var limit: Double?
        package var remaining: Double?
        package var resetSeconds: Double?

        package init(limit: Double? = nil, remaining: Double? = nil, resetSeconds: Double? = nil) {
            self.limit = limit
            self.remaining = remaining
            self.resetSeconds = resetSeconds
        }

        /// Share of the limit still available, when both figures are given.
        package var remainingShare: Double? {
            guard let limit, let remaining, limit > 0 else { return nil }
            return remaining / limit
        }
    }

    /// Below this share of its limit a budget counts as used up: a gateway
    /// counting in coarse steps may refuse before it reaches exactly zero.
    package static let exhaustedShare = 0.02
    /// Below this share adaptive concurrency stops growing.
    package static let lowShare = 0.1

    package var requests = Budget()
    package var tokens = Budget()
    /// `retry-after-ms`, else `Retry-After` (seconds or HTTP date), clamped.
    package var retryAfter: Double?

    package init(requests: Budget = Budget(), tokens: Budget = Budget(), retryAfter: Double? = nil) {
        self.requests = requests
        self.tokens = tokens
        self.retryAfter = retryAfter
    }

    /// Reads OpenAI's names, else Anthropic's (`anthropic-ratelimit-*`, reset as an RFC 3339 time).
    package init(_ header: (String) -> String?, now: Date = Date()) {
        func budget(_ names: HeaderNames) -> Budget {
            let openAI = header(names.openAIRemaining) != nil || header(names.openAILimit) != nil
            let limit = openAI ? header(names.openAILimit) : header(names.anthropicLimit)
            let remaining = openAI ? header(names.openAIRemaining) : header(names.anthropicRemaining)
            let reset =
                openAI
                ? header(names.openAIReset).flatMap(Self.parseDuration)
                : header(names.anthropicReset).flatMap { Self.secondsUntil(rfc3339: $0, now: now) }
            // Azure may send -1 or 0 as a limit meaning "none": then the remaining figure means nothing either.
            if let limit, (Self.number(limit) ?? 0) <= 0 { return Budget() }
            return Budget(limit: limit.flatMap(Self.number), remaining: remaining.flatMap(Self.number), resetSeconds: reset)
        }
        requests = budget(.requests)
        tokens = budget(.tokens)
        retryAfter = RetryAfter.seconds(from: header, now: now)
    }

    /// The header names of one budget, built once: this runs for every answer.
    private struct HeaderNames {
        let openAILimit, openAIRemaining, openAIReset, anthropicLimit, anthropicRemaining, anthropicReset: String

        init(_ kind: String) {
            openAILimit = "x-ratelimit-limit-\(kind)"
            openAIRemaining = "x-ratelimit-remaining-\(kind)"
            openAIReset = "x-ratelimit-reset-\(kind)"
            anthropicLimit = "anthropic-ratelimit-\(kind)-limit"
            anthropicRemaining = "anthropic-ratelimit-\(kind)-remaining"
            anthropicReset = "anthropic-ratelimit-\(kind)-reset"
        }

        static let requests = HeaderNames("requests")
        static let tokens = HeaderNames("tokens")
    }

    private static func number(_ text: String) -> Double? {
        // This runs for every header of every answer: trim (through Foundation's character sets) only when needed.
        (Double(text) ?? Double(text.trimmingCharacters(in: .whitespaces))).flatMap { $0 >= 0 && $0.isFinite ? $0 : nil }
    }

    static func secondsUntil(rfc3339 text: String, now: Date) -> Double? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date =
            formatter.date(from: text)
            ?? {
                formatter.formatOptions = [.withInternetDateTime]
                return formatter.date(from: text)
            }()
        return date.map { max($0.timeIntervalSince(now), 0) }
    }

    /// A budget is at zero (or nearly): the limit being hit is the job's own.
    package var isExhausted: Bool {
        [requests, tokens].contains { budget in
            if budget.remaining == 0 { return true }
            return budget.remainingShare.map { $0 < Self.exhaustedShare } ?? false
        }
    }

    /// A budget is running low: sending faster would soon be refused.
    package var isLow: Bool {
        [requests, tokens].contains { $0.remainingShare.map { $0 < Self.lowShare } ?? false }
    }

    /// For a budget at exactly zero, seconds until it resets (1 when the gateway does not say); nil when none is at zero.
    package var zeroBudgetReset: Double? {
        let zero = [requests, tokens].filter { $0.remaining == 0 }
        guard !zero.isEmpty else { return nil }
        return zero.compactMap(\.resetSeconds).max() ?? 1
    }

    /// Seconds until an exhausted budget refills (`x-ratelimit-reset-*` of the
    /// budgets at zero), for a 429 that gave no Retry-After.
    package var exhaustedResetSeconds: Double? {
        let waits = [requests, tokens].filter { $0.remaining == 0 }.compactMap(\.resetSeconds)
        return waits.max()
    }

    /// `6m0s`, `1.5s`, `12ms`, `2h3m4s`: OpenAI's duration format, in seconds.
    /// A bare number is seconds.
    package static func parseDuration(_ text: String) -> Double? {
        var total = 0.0
        var number = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isNumber || character == "." {
                number.append(character)
                index = text.index(after: index)
                continue
            }
            guard let value = Double(number) else { return nil }
            if text[index...].hasPrefix("ms") {
                total += value / 1000
                index = text.index(index, offsetBy: 2)
            } else {
                switch character {
                case "h": total += value * 3600
                case "m": total += value * 60
                case "s": total += value
                default: return nil
                }
                index = text.index(after: index)
            }
            number = ""
        }
        if !number.isEmpty {
            guard let value = Double(number) else { return nil }
            total += value
        }
        return text.isEmpty ? nil : total
    }
}
