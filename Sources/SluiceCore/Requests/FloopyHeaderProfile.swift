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
