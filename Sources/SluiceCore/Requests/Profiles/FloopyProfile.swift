/// Floopy's headers as its quick-start pages write them (the default profile).
package struct FloopyProfile: GatewayProfile {
    package init() {}

    package var name: GatewayProfileName { .floopy }

    package func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if settings.cache != .off { headers.append(("Floopy-Cache", settings.cache.rawValue)) }
        for (name, value) in ProfileSupport.propertiesWithTags(settings) {
            headers.append(("floopy-property-\(name)", value))
        }
        if !remainingFallbacks.isEmpty { headers.append(("floopy-fallback", remainingFallbacks.joined(separator: ","))) }
        if let session = settings.sessionID { headers.append(("floopy-session-id", session)) }
        if let user = settings.userID { headers.append(("floopy-user-id", user)) }
        if let prompt = settings.promptID { headers.append(("floopy-prompt-id", prompt)) }
        if let version = settings.promptVersion { headers.append(("floopy-prompt-version", version)) }
        return headers
    }

    package func answerDetails(_ header: (String) -> String?) -> AnswerDetails {
        FloopyProfile.floopyAnswer(header)
    }

    package func check(_ settings: GatewaySettings) throws(ProfileRefusal) -> [String] {
        try ProfileSupport.checkTagsProperty(settings, profile: name)
        return []
    }

    /// Both Floopy spellings answer with the same response headers.
    static func floopyAnswer(_ header: (String) -> String?) -> AnswerDetails {
        let cache = header("floopy-cache")
        return AnswerDetails(
            model: header("floopy-model"), provider: header("floopy-provider"),
            requestID: header("x-request-id"), cacheStatus: cache, cacheHit: ProfileSupport.cacheVerdict(cache))
    }
}

/// The type's name before there were other profiles.
package typealias FloopyHeaderProfile = FloopyProfile
