/// One minute of a job's life, for the report's charts: what was sent and what
/// came back in that minute. Runs that share a minute add up.
package struct HistoryEntry: Codable, Sendable, Equatable {
    /// Minutes since 1970.
    package var minute: Int64
    package var requests = 0
    package var answered = 0
    package var refusals = 0
    package var retries = 0
    package var succeeded = 0
    package var failed = 0
    package var promptTokens = 0
    package var completionTokens = 0
    package var cost = 0.0
    /// The adaptive limit at the end of the minute.
    package var concurrency = 0
    package var latencySumMilliseconds = 0.0
    package var latencyCount = 0
    /// Failed attempts by class (`rate_limit`, `server`...).
    package var errors: [String: Int] = [:]

    package init(minute: Int64) { self.minute = minute }

    enum CodingKeys: String, CodingKey {
        case minute, requests, answered, refusals, retries, succeeded, failed, cost, concurrency, errors
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case latencySumMilliseconds = "latency_sum_ms"
        case latencyCount = "latency_count"
    }

    /// Two runs' figures for the same minute: counts add up; the concurrency is the later one.
    package func adding(_ other: HistoryEntry) -> HistoryEntry {
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
