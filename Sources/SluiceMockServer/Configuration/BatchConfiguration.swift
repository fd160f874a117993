/// How the mock's Files and Batches API behaves: how long a batch takes and how it goes wrong.
///
/// Real batches take hours and fail in ways a client meets rarely; here they take seconds and each
/// failure can be asked for, so tests of a batch client run quickly and see every case. Draws are
/// seeded by `(seed, input file, attempt)` like the live faults, so a run is reproducible.
///
/// ```swift
/// var config = MockConfiguration()
/// config.batch.seconds = 0.5
/// config.batch.lineFail = 0.1    // a tenth of the lines come back as 500s in the error file
/// ```
public struct BatchConfiguration: Sendable {
    /// Time from creation to the end of a batch: a tenth validating, then in progress, the last tenth finalizing.
    public var seconds = 2.0
    /// Share of the lines of a batch that fail inside it (written to the error file).
    public var lineFail = 0.0
    /// The status of those failed lines: 500 (retryable) or, e.g., 400 (permanent).
    public var lineFailStatus = 500
    /// Share of batches that end `expired`, with about half of their lines answered.
    public var expire = 0.0
    /// Share of batches that end `failed` as a whole, with no output.
    public var fail = 0.0
    /// Output and error files answer 404 this many seconds after their batch ended; nil keeps them.
    public var fileExpirySeconds: Double?
    /// Write one successful line of each output twice.
    public var duplicateLine = false
    /// Add to each output one line whose `custom_id` was not in the input.
    public var unknownLine = false
    /// Tokens a model may have enqueued in open batches (OpenAI's per-organisation cap); a create that would
    /// pass it ends `failed` with `token_limit_exceeded`. Counted by the mock's own rule (`EnqueuedTokens`),
    /// not sluice's, as a real provider's count is its own. Nil: no cap.
    public var enqueuedTokenLimit: Int?
    /// Pad each batch line's answer text to this many bytes (for tests and benches of large output files). Nil: the usual short answer.
    public var answerBytes: Int?

    public init() {}
}
