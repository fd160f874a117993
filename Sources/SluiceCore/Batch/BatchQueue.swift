/// The provider batch queue as the checkpoint keeps it (job key `batch_queue`), written by the running
/// job whenever it changes: what `sluice status` shows of the enqueued-token budget, and the limits a
/// resumed run starts from instead of learning them again from refusals.
package struct BatchQueue: Codable, Sendable, Equatable {
    package static let key = "batch_queue"

    /// Tokens enqueued in the open batches (sluice's estimate: prompt plus max_tokens, or 4,096), every model.
    package var enqueuedTokens: Int
    /// The tightest limit in force for any model; nil while none is given or learned.
    package var limit: Int?
    /// `given` (`--batch-max-enqueued-tokens`) or `learned` (from the gateway's refusals).
    package var limitSource: String?
    package var openBatches: Int
    /// Batches the gateway refused with `token_limit_exceeded`, over every run of the job.
    package var refusedBatches = 0
    /// What refusals taught, by model.
    package var learnedLimits: [String: Int]

    package init(enqueuedTokens: Int, openBatches: Int, learnedLimits: [String: Int]) {
        self.enqueuedTokens = enqueuedTokens
        self.openBatches = openBatches
        self.learnedLimits = learnedLimits
    }

    enum CodingKeys: String, CodingKey {
        case limit
        case enqueuedTokens = "enqueued_tokens"
        case limitSource = "limit_source"
        case openBatches = "open_batches"
        case refusedBatches = "refused_batches"
        case learnedLimits = "learned_limits"
    }
}
