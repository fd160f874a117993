/// The final word on one item, written to the checkpoint in one go.
package struct ItemOutcome: Sendable {
    package var id: Int64
    package var succeeded: Bool
    /// Attempts over the item's whole life, across resumes.
    package var attempts: Int
    package var httpStatus: Int?
    package var errorCode: String?
    package var errorMessage: String?
    package var answeredModel: String?
    package var provider: String?
    package var requestID: String?
    package var promptTokens: Int?
    package var completionTokens: Int?
    package var totalTokens: Int?
    package var cachedTokens: Int?
    /// The gateway answered from its cache (as its profile reads the response headers).
    package var cacheHit: Bool?
    package var latencyMilliseconds: Double?
    /// JSON object of the headers of the last attempt, without Authorization.
    package var headersSent: [UInt8]
    package var response: [UInt8]?
    package var fallbacksUsed: Int
    package var retries: Int
    /// Identifies the request that was answered (endpoint, model, body), so an identical request of this
    /// job (dedup) or a later one (`--reuse`) can take the answer instead of sending.
    package var requestDigest: UInt64?
    /// Where an answer that was not sent for this item came from: `dedup:<custom_id>` or
    /// `reuse:<checkpoint>#<custom_id>`; nil for an answer to the item's own request.
    package var answerSource: String?
    /// Streaming: time from sending to the first token.
    package var firstTokenMilliseconds: Double?

    package init(id: Int64, succeeded: Bool, attempts: Int, headersSent: [UInt8], fallbacksUsed: Int, retries: Int) {
        self.id = id
        self.succeeded = succeeded
        self.attempts = attempts
        self.headersSent = headersSent
        self.fallbacksUsed = fallbacksUsed
        self.retries = retries
    }
}
