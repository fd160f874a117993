/// What a gateway reports about an answer in its response headers; each
/// gateway names these differently, so the profile reads them.
public struct AnswerDetails: Sendable, Equatable {
    /// The model that actually answered (after the gateway's own fallback).
    public var model: String?
    public var provider: String?
    public var requestID: String?
    /// The gateway's cache verdict as it spells it (`HIT`, `SEMANTIC HIT`, `MISS`...).
    public var cacheStatus: String?
    /// That verdict as the profile reads it: `status` counts hits from this, whatever the gateway's words.
    /// Nil when the answer says nothing about the cache.
    public var cacheHit: Bool?

    public init(model: String? = nil, provider: String? = nil, requestID: String? = nil, cacheStatus: String? = nil, cacheHit: Bool? = nil) {
        self.model = model
        self.provider = provider
        self.requestID = requestID
        self.cacheStatus = cacheStatus
        self.cacheHit = cacheHit
    }
}
