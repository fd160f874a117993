import Foundation

/// What one attempt's result means for the item.
public enum AttemptVerdict: Equatable, Sendable {
    case success
    /// Worth another try; `after` is the gateway's requested wait, if it gave one.
    case retry(after: Double?, rateLimited: Bool)
    /// The model or its provider failed: try the next model of the fallback chain.
    case tryNextModel(after: Double?)
    /// Sending the same request again cannot help (a 400, say).
    case fail
    /// The key was refused: every other item would be refused too, so the job stops.
    case stopJob
}

/// The retry rules of the official OpenAI, Anthropic and Floopy SDKs: retry
/// connection errors, timeouts, 408, 409, 425, 429 and 5xx, never other 4xx;
/// `x-should-retry` overrides the status.
public struct RetryPolicy: Sendable {
    public var baseDelay: Double
    public var maximumDelay: Double

    public init(baseDelay: Double = 0.5, maximumDelay: Double = 20) {
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    static let retryableStatuses: Set<Int> = [408, 409, 425, 429]

    public func verdict(for result: GatewayResult) -> AttemptVerdict {
        switch result {
        case .failure(let failure):
            return failure.kind == .cancelled ? .fail : .retry(after: nil, rateLimited: false)
        case .response(let response):
            return verdict(status: response.status, header: response.header, body: response.body)
        }
    }

    public func verdict(status: Int, header: (String) -> String?, body: [UInt8]) -> AttemptVerdict {
        if (200..<300).contains(status) { return .success }
        if status == 401 || status == 403 { return .stopJob }
        var after = RetryAfter.seconds(from: header)
        if after == nil, status == 429 {
            // No Retry-After: an exhausted budget says when it refills.
            after = AdaptiveConcurrency.exhaustedFor(header).map { min($0, RetryAfter.maximumSeconds) }
        }
        if Self.isModelError(status: status, body: body) { return .tryNextModel(after: after) }
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

    /// A provider or model failure (Floopy's 502 PROVIDER_ERROR, OpenAI's
    /// `model_not_found`), where another model may well succeed.
    static func isModelError(status: Int, body: [UInt8]) -> Bool {
        guard status == 502 || status == 404 || status == 400, body.count < 64 << 10 else { return false }
        let text = String(decoding: body, as: UTF8.self)
        return text.contains("PROVIDER_ERROR") || text.contains("model_not_found") || text.contains("MODEL_NOT_FOUND")
    }

    /// Exponential backoff with up to 25 % jitter taken off: `min(base * 2^(n-1), cap)`.
    public func backoff(retry number: Int, random: Double = Double.random(in: 0..<1)) -> Double {
        let exponent = min(max(number - 1, 0), 30)
        let delay = min(baseDelay * pow(2, Double(exponent)), maximumDelay)
        return delay * (1 - 0.25 * random)
    }
}
