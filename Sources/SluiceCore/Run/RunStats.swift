/// Live figures of the current run, for the progress line and the summary.
/// Success and failure are counted only once the checkpoint has committed them.
public struct RunStats: Sendable {
    public var succeeded = 0
    public var failed = 0
    public var inFlight = 0
    public var retrying = 0
    public var requestsSent = 0
    /// Requests that got an HTTP answer, and those that did not (timeouts, dropped connections).
    public var answered = 0
    public var unanswered = 0
    /// 429 answers received.
    public var refusals = 0
    /// Job-wide pauses the refusal monitor called.
    public var jobPauses = 0
    public var retries = 0
    public var fallbacksUsed = 0
    /// Answers that were not the JSON asked for, and how many of those were sent again.
    public var invalidAnswers = 0
    /// Items that took the answer of an identical request instead of sending: of this job (dedup), of an earlier one (`--reuse`).
    public var deduplicated = 0
    /// Provider batches (`--mode batch|auto`): created and finished in this run, watched now, and the items
    /// they hold; `batchStatuses` is what the gateway last said of them ("in_progress 2, validating 1").
    public var batchesCreated = 0
    public var batchesFinished = 0
    public var batchesOpen = 0
    public var itemsInBatches = 0
    public var batchLinesAnswered = 0
    public var batchStatuses = ""
    public var reused = 0
    public var invalidAnswersRetried = 0
    /// Retries that followed a 429.
    public var rateLimited = 0
    public var promptTokens = 0
    public var completionTokens = 0
    /// What the committed answers of this run cost, at the job's prices (US dollars).
    public var cost = 0.0
    public var concurrencyLimit = 0
    /// Items stored by the planner during this run, and how many of them were bad lines.
    public var planned = 0
    public var plannedInvalid = 0
    /// How far planning has read its inputs (0...1, by bytes), while it runs: the total is then an estimate.
    public var planningFraction: Double?
    /// Answer latencies of this run, for the history's averages.
    public var latencySumMilliseconds = 0.0
    public var latencyCount = 0
    /// Failed attempts of this run by class.
    public var errors: [ErrorClass: Int] = [:]
}
