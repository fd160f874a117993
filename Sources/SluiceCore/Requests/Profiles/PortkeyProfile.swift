/// Portkey: properties, tags and the user in one `x-portkey-metadata` JSON
/// object (`_user` marks the end user), the session as the trace id, the cache
/// through an inline `x-portkey-config`.
///
/// Fallbacks are deliberately not put in that config. A Portkey fallback
/// config lists `targets`, and each target must name its own provider and
/// credentials (a virtual key), which sluice does not know; a config with
/// targets also stops inheriting the request's `x-portkey-provider`. sluice's
/// own fallback (the next model of the list once attempts run out or the
/// provider fails) works unchanged. The inline config holds only `cache`, so
/// Portkey fills in the provider from the request's headers. A job that brings
/// its own `x-portkey-config` header (a saved config id with targets, say) keeps
/// it as given, and then the cache is that config's business.
package struct PortkeyProfile: GatewayProfile {
    package init() {}

    package var name: GatewayProfileName { .portkey }

    package func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        var metadata: [(key: String, value: String)] = ProfileSupport.propertiesWithTags(settings).filter { $0.name != "_user" }.map { ($0.name, $0.value) }
        if let user = settings.userID { metadata.append(("_user", user)) }
        if !metadata.isEmpty { headers.append(("x-portkey-metadata", ProfileSupport.jsonObject(metadata))) }
        if let session = settings.sessionID { headers.append(("x-portkey-trace-id", session)) }
        if settings.cache != .off, !Self.hasOwnConfig(settings) {
            let mode = settings.cache == .semantic ? "semantic" : "simple"
            headers.append(("x-portkey-config", #"{"cache":{"mode":"\#(mode)"}}"#))
        }
        return headers
    }

    /// Portkey echoes the trace id on every answer, and its logs are searched by it. With a job-wide
    /// session every item shares it (that is the session); otherwise Portkey makes one per request.
    package func answerDetails(_ header: (String) -> String?) -> AnswerDetails {
        let cache = header("x-portkey-cache-status")
        return AnswerDetails(
            requestID: header("x-portkey-trace-id") ?? header("x-request-id"), cacheStatus: cache,
            cacheHit: ProfileSupport.cacheVerdict(cache))
    }

    package func check(_ settings: GatewaySettings) throws(ProfileRefusal) -> [String] {
        try ProfileSupport.checkTagsProperty(settings, profile: name)
        if settings.cache != .off, Self.hasOwnConfig(settings) {
            return ["cache \"\(settings.cache.rawValue)\" is not sent: the job's own x-portkey-config header is sent as given, so its config decides the cache"]
        }
        return []
    }

    static func hasOwnConfig(_ settings: GatewaySettings) -> Bool {
        settings.extraHeaders.keys.contains { $0.lowercased() == "x-portkey-config" }
    }
}
