/// One minute of a job's life, for the report's charts: what was sent and what
/// came back in that minute. Runs that share a minute add up.
public struct HistoryEntry: Codable, Sendable, Equatable {
    /// Minutes since 1970.
    public var minute: Int64
    public var requests = 0
    public var answered = 0
    public var refusals = 0
    public var retries = 0
    public var succeeded = 0
    public var failed = 0
    public var promptTokens = 0
    public var completionTokens = 0
    public var cost = 0.0
    /// The adaptive limit at the end of the minute.
    public var concurrency = 0
    public var latencySumMilliseconds = 0.0
    public var latencyCount = 0
    /// Failed attempts by class (`rate_limit`, `server`...).
    public var errors: [String: Int] = [:]

    public init(minute: Int64) { self.minute = minute }

    enum CodingKeys: String, CodingKey {
        case minute, requests, answered, refusals, retries, succeeded, failed, cost, concurrency, errors
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case latencySumMilliseconds = "latency_sum_ms"
        case latencyCount = "latency_count"
    }

    /// Two runs' figures for the same minute: counts add up; the concurrency is the later one.
    public func adding(_ other: HistoryEntry) -> HistoryEntry {
        var sum = self
        sum.requests += other.requests
        sum.answered += other.answered
        sum.refusals += other.refusals
        sum.retries += other.retries
        sum.succeeded += other.succeeded
        sum.failed += other.failed
        sum.promptTokens += other.promptTokens
        sum.completionTokens += other.completionTokens
        sum.cost += other.cost
        sum.concurrency = other.concurrency
        sum.latencySumMilliseconds += other.latencySumMilliseconds
        sum.latencyCount += other.latencyCount
        sum.errors.merge(other.errors, uniquingKeysWith: +)
        return sum
    }
}
