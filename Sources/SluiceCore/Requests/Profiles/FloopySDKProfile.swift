/// Floopy as its headers-reference page and official SDKs spell it: boolean
/// cache switches, the fallback chain in the body's `model`, and a session
/// that has a name and a path beside its id.
package struct FloopySDKProfile: GatewayProfile {
    /// The job's name: a session needs one, and a batch job is one session.
    package var sessionName: String

    package init(sessionName: String) { self.sessionName = sessionName }

    package var name: GatewayProfileName { .floopySDK }

    package func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        switch settings.cache {
        case .exact: headers.append(("Floopy-Cache-Enabled", "true"))
        // The semantic switch refines the cache, so the cache itself is switched on too.
        case .semantic: headers += [("Floopy-Cache-Enabled", "true"), ("floopy-cache-advanced", "true")]
        case .off: break
        }
        for (name, value) in ProfileSupport.propertiesWithTags(settings) {
            headers.append(("floopy-property-\(name)", value))
        }
        if let session = settings.sessionID {
            headers += [("floopy-session-id", session), ("floopy-session-name", sessionName), ("floopy-session-path", "/")]
        }
        if let user = settings.userID { headers.append(("floopy-user-id", user)) }
        if let prompt = settings.promptID { headers.append(("floopy-prompt-id", prompt)) }
        if let version = settings.promptVersion { headers.append(("floopy-prompt-version", version)) }
        return headers
    }

    /// No `floopy-fallback` header here: the SDKs send the chain as the model, which Floopy tries left to right.
    package func body(for settings: GatewaySettings, model: String, remainingFallbacks: [String]) -> BodyEdit {
        BodyEdit(model: ProfileSupport.modelChain(model, remainingFallbacks))
    }

    package func answerDetails(_ header: (String) -> String?) -> AnswerDetails {
        FloopyProfile.floopyAnswer(header)
    }

    package func check(_ settings: GatewaySettings) throws(ProfileRefusal) -> [String] {
        try ProfileSupport.checkTagsProperty(settings, profile: name)
        return []
    }
}
