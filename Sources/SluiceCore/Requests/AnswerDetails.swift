/// What a gateway reports about an answer in its response headers; each
/// gateway names these differently, so the profile reads them.
public struct AnswerDetails: Sendable, Equatable {
    /// The model that actually answered (after the gateway's own fallback).
    public var model: String?
    public var provider: String?
    public var requestID: String?
    /// The gateway's cache verdict as it spells it (`HIT`, `MISS`...).
    public var cacheStatus: String?

    public init(model: String? = nil, provider: String? = nil, requestID: String? = nil, cacheStatus: String? = nil) {
        self.model = model
        self.provider = provider
        self.requestID = requestID
        self.cacheStatus = cacheStatus
    }
}
