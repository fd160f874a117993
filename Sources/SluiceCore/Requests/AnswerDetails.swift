/// What a gateway reports about an answer in its response headers; each
/// gateway names these differently, so the profile reads them.
package struct AnswerDetails: Sendable, Equatable {
    /// The model that actually answered (after the gateway's own fallback).
    package var model: String?
    package var provider: String?
    package var requestID: String?
    /// The gateway's cache verdict as it spells it (`HIT`, `SEMANTIC HIT`, `MISS`...).
    package var cacheStatus: String?
    /// That verdict as the profile reads it: `status` counts hits from this, whatever the gateway's words.
    /// Nil when the answer says nothing about the cache.
    package var cacheHit: Bool?

    package init(model: String? = nil, provider: String? = nil, requestID: String? = nil, cacheStatus: String? = nil, cacheHit: Bool? = nil) {
        self.model = model
        self.provider = provider
        self.requestID = requestID
        self.cacheStatus = cacheStatus
        self.cacheHit = cacheHit
    }
}
