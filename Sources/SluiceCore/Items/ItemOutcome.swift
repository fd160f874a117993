/// The final word on one item, written to the checkpoint in one go.
public struct ItemOutcome: Sendable {
    public var id: Int64
    public var succeeded: Bool
    /// Attempts over the item's whole life, across resumes.
    public var attempts: Int
    public var httpStatus: Int?
    public var errorCode: String?
    public var errorMessage: String?
    public var answeredModel: String?
    public var provider: String?
    public var requestID: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var totalTokens: Int?
    public var cachedTokens: Int?
    /// The gateway answered from its cache (as its profile reads the response headers).
    public var cacheHit: Bool?
    public var latencyMilliseconds: Double?
    /// JSON object of the headers of the last attempt, without Authorization.
    public var headersSent: [UInt8]
    public var response: [UInt8]?
    public var fallbacksUsed: Int
    public var retries: Int
    /// Identifies the request that was answered (endpoint, model, body), so an identical request of this
    /// job (dedup) or a later one (`--reuse`) can take the answer instead of sending.
    public var requestDigest: UInt64?
    /// Where an answer that was not sent for this item came from: `dedup:<custom_id>` or
    /// `reuse:<checkpoint>#<custom_id>`; nil for an answer to the item's own request.
    public var answerSource: String?
    /// Streaming: time from sending to the first token.
    public var firstTokenMilliseconds: Double?

    public init(id: Int64, succeeded: Bool, attempts: Int, headersSent: [UInt8], fallbacksUsed: Int, retries: Int) {
        self.id = id
        self.succeeded = succeeded
        self.attempts = attempts
        self.headersSent = headersSent
        self.fallbacksUsed = fallbacksUsed
        self.retries = retries
    }
}
