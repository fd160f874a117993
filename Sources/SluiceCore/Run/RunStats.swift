/// Live figures of the current run, for the progress line and the summary.
/// Success and failure are counted only once the checkpoint has committed them.
package struct RunStats: Sendable {
    package var succeeded = 0
    package var failed = 0
    package var inFlight = 0
    package var retrying = 0
    package var requestsSent = 0
    /// Requests that got an HTTP answer, and those that did not (timeouts, dropped connections).
    package var answered = 0
    package var unanswered = 0
    /// 429 answers received.
    package var refusals = 0
    /// Job-wide pauses the refusal monitor called.
    package var jobPauses = 0
    package var retries = 0
    package var fallbacksUsed = 0
    /// Answers that were not the JSON asked for, and how many of those were sent again.
    package var invalidAnswers = 0
    /// Items that took the answer of an identical request instead of sending: of this job (dedup), of an earlier one (`--reuse`).
    package var deduplicated = 0
    /// Provider batches (`--mode batch|auto`): created and finished in this run, watched now, and the items
    /// they hold; `batchStatuses` is what the gateway last said of them ("in_progress 2, validating 1").
    package var batchesCreated = 0
    package var batchesFinished = 0
    package var batchesOpen = 0
    package var itemsInBatches = 0
    package var batchLinesAnswered = 0
    package var batchStatuses = ""
    /// The enqueued-token budget: tokens in the open batches, the tightest limit known (nil: none yet), and
    /// creates the gateway refused for it (their lines were not charged).
    package var enqueuedTokens = 0
    package var enqueuedTokenLimit: Int?
    package var batchesRefused = 0
    /// `auto` with `--deadline` as a time: items sent live rather than batched, because batches have taken
    /// longer than what was left (`batchTurnaround`, the slowest recent one, in seconds).
    package var sentLiveForDeadline = 0
    package var batchTurnaround: Double?
    package var reused = 0
    package var invalidAnswersRetried = 0
    /// Retries that followed a 429.
    package var rateLimited = 0
    package var promptTokens = 0
    package var completionTokens = 0
    /// What the committed answers of this run cost, at the job's prices (US dollars).
    package var cost = 0.0
    package var concurrencyLimit = 0
    /// Items stored by the planner during this run, and how many of them were bad lines.
    package var planned = 0
    package var plannedInvalid = 0
    /// How far planning has read its inputs (0...1, by bytes), while it runs: the total is then an estimate.
    package var planningFraction: Double?
    /// Answer latencies of this run, for the history's averages.
    package var latencySumMilliseconds = 0.0
    package var latencyCount = 0
    /// Failed attempts of this run by class.
    package var errors: [ErrorClass: Int] = [:]
}
