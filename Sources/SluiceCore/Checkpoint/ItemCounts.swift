/// Totals over every item of the job.
public struct ItemCounts: Sendable, Equatable {
    public var total = 0
    public var pending = 0
    public var inFlight = 0
    public var succeeded = 0
    public var failed = 0
    public var invalidInput = 0
    public var attempts = 0
    /// Every attempt after an item's first, in whichever run: `retry-failed` sends again are retries too.
    public var retries = 0
    public var promptTokens = 0
    public var completionTokens = 0

    public var finished: Int { succeeded + failed }
}
