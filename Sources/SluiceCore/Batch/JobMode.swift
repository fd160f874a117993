/// How a job's items travel: `live` requests (the default), provider `batch`es at about half the price
/// within 24 hours, or `auto`: batches first, and live for whatever a batch fails, expires or still holds
/// at the deadline. A line's own `"mode": "live"` skips the batch in either batch mode.
package enum JobMode: String, Codable, Sendable, CaseIterable {
    case live
    case batch
    case auto
}
