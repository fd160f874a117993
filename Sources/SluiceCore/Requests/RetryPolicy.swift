import Foundation

extension AttemptVerdict {
    /// Sending the item again cannot help: what the circuit breaker watches.
    var isPermanentFailure: Bool {
        switch self {
        case .fail, .tryNextModel(_, permanent: true): return true
        default: return false
        }
    }
}

/// The retry rules of the official OpenAI, Anthropic and Floopy SDKs: retry
/// connection errors, timeouts, 408, 409, 425, 429 and 5xx, never other 4xx;
/// `x-should-retry` overrides the status. A 429 for an exhausted quota is not
/// a rate limit and is never retried.
package struct RetryPolicy: Sendable {
    package var baseDelay: Double
    package var maximumDelay: Double

    package init(baseDelay: Double = 0.5, maximumDelay: Double = 20) {
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    static let retryableStatuses: Set<Int> = [408, 409, 425, 429]

    /// Error codes of a 429 that waiting does not cure: OpenAI's billing limit,
    /// Floopy's plan limits. Compared case-insensitively.
    static let quotaCodes: Set<String> = [
        "insufficient_quota", "billing_hard_limit_reached", "billing_not_active",
        "usage_limit_exceeded", "monthly_limit_exceeded", "subscription_expired",
    ]

    /// `limits`: the answer's rate-limit headers when the caller has read them already.
    package func verdict(for result: GatewayResult, limits: RateLimitHeaders? = nil) -> AttemptVerdict {
        switch result {
        case .failure(let failure):
            if failure.kind == .cancelled { return .fail }
            if failure.kind == .untrustedCertificate { return .stopJob(.untrustedCertificate) }
            if failure.kind == .proxyRefused { return .stopJob(.proxyRefused) }
            return .retry(after: nil, rateLimited: false)
        case .response(let response):
            return verdict(status: response.status, header: response.header, body: response.body, limits: limits)
        }
    }

    package func verdict(status: Int, header: (String) -> String?, body: [UInt8], limits: RateLimitHeaders? = nil) -> AttemptVerdict {
        if (200..<300).contains(status) { return .success }
        if status == 401 || status == 403 { return .stopJob(.keyRefused) }
        if status == 429, let code = ResponseSummary.errorCode(in: body), Self.quotaCodes.contains(code.lowercased()) {
            return .stopJob(.quotaExhausted)
        }
        let limits = limits ?? RateLimitHeaders(header)
        var after = limits.retryAfter
        if after == nil, status == 429 {
            // No Retry-After: an exhausted budget says when it refills.
            after = limits.exhaustedResetSeconds.map { min($0, RetryAfter.maximumSeconds) }
        }
        if let modelError = Self.modelError(status: status, body: body) { return .tryNextModel(after: after, permanent: modelError == .notFound) }
        switch header("x-should-retry")?.lowercased() {
        case "true": return .retry(after: after, rateLimited: status == 429)
        case "false": return .fail
        default: break
        }
        if Self.retryableStatuses.contains(status) || status >= 500 {
            return .retry(after: after, rateLimited: status == 429)
        }
        return .fail
    }

    enum ModelError { case provider, notFound }

    /// A provider or model failure (Floopy's 502 PROVIDER_ERROR, OpenAI's
    /// `model_not_found`), where another model may well succeed.
    static func modelError(status: Int, body: [UInt8]) -> ModelError? {
        guard status == 502 || status == 404 || status == 400, body.count < 64 << 10 else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        if text.contains("model_not_found") || text.contains("MODEL_NOT_FOUND") { return .notFound }
        return text.contains("PROVIDER_ERROR") ? .provider : nil
    }

    /// Exponential backoff with up to 25 % jitter taken off: `min(base * 2^(n-1), cap)`.
    package func backoff(retry number: Int, random: Double = Double.random(in: 0..<1)) -> Double {
        let exponent = min(max(number - 1, 0), 30)
        let delay = min(baseDelay * pow(2, Double(exponent)), maximumDelay)
        return delay * (1 - 0.25 * random)
    }
}
