/// Maps the job's gateway settings onto one gateway's request headers.
///
/// Floopy is the default; Helicone, Portkey and LiteLLM spell the same ideas
/// differently (see ../shared/reference/gateway-headers.md) and slot in as
/// further profiles without touching the scheduler.
///
/// ```swift
/// let headers = FloopyHeaderProfile().headers(for: settings, remainingFallbacks: ["claude-sonnet-4"])
/// // [("Floopy-Cache", "exact"), ("floopy-property-batch", "nightly"), ("floopy-fallback", "claude-sonnet-4"), ...]
/// ```
public protocol HeaderProfile: Sendable {
    /// Headers for one attempt. `remainingFallbacks` are the models after the one
    /// this attempt asks for, so the gateway can fall back on its own side too.
    func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)]
    /// What the gateway's response headers say about who answered and how.
    func answerDetails(_ header: (String) -> String?) -> AnswerDetails
}

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

/// Floopy's headers as its quick-start pages write them.
public struct FloopyHeaderProfile: HeaderProfile {
    public init() {}

    public func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if settings.cache != .off { headers.append(("Floopy-Cache", settings.cache.rawValue)) }
        for name in settings.properties.keys.sorted() {
            headers.append(("floopy-property-\(name)", settings.properties[name]!))
        }
        if !remainingFallbacks.isEmpty { headers.append(("floopy-fallback", remainingFallbacks.joined(separator: ","))) }
        if let session = settings.sessionID { headers.append(("floopy-session-id", session)) }
        if let user = settings.userID { headers.append(("floopy-user-id", user)) }
        for name in settings.extraHeaders.keys.sorted() {
            headers.append((name, settings.extraHeaders[name]!))
        }
        return headers
    }

    /// Header names are lowercase here: `GatewayResponse` stores them that way.
    public func answerDetails(_ header: (String) -> String?) -> AnswerDetails {
        AnswerDetails(
            model: header("floopy-model"), provider: header("floopy-provider"),
            requestID: header("x-request-id"), cacheStatus: header("floopy-cache"))
    }
}
