/// Helicone (its AI Gateway, `https://ai-gateway.helicone.ai`, which takes the
/// Helicone key as `Authorization`).
///
/// Helicone has one cache, keyed on the exact request: a job asking for the
/// semantic cache is refused rather than quietly given another kind. A line
/// asking for `semantic` on its own gets the exact cache (lines are read after
/// the job has started; docs/gateways-and-headers.md says so). Fallbacks go in the body as a
/// comma-separated `model` chain, which the AI Gateway tries left to right.
package struct HeliconeProfile: GatewayProfile {
    /// Helicone requires a session name and path beside the id; the job is the session.
    package var sessionName: String

    package init(sessionName: String) { self.sessionName = sessionName }

    package var name: GatewayProfileName { .helicone }

    package func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if settings.cache != .off { headers.append(("Helicone-Cache-Enabled", "true")) }
        for (name, value) in ProfileSupport.propertiesWithTags(settings) {
            headers.append(("Helicone-Property-\(name)", value))
        }
        if let session = settings.sessionID {
            headers += [("Helicone-Session-Id", session), ("Helicone-Session-Name", sessionName), ("Helicone-Session-Path", "/")]
        }
        if let user = settings.userID { headers.append(("Helicone-User-Id", user)) }
        return headers
    }

    package func body(for settings: GatewaySettings, model: String, remainingFallbacks: [String]) -> BodyEdit {
        BodyEdit(model: ProfileSupport.modelChain(model, remainingFallbacks))
    }

    package func answerDetails(_ header: (String) -> String?) -> AnswerDetails {
        let cache = header("helicone-cache")
        return AnswerDetails(requestID: header("helicone-id"), cacheStatus: cache, cacheHit: ProfileSupport.cacheVerdict(cache))
    }

    package func check(_ settings: GatewaySettings) throws(ProfileRefusal) -> [String] {
        if settings.cache == .semantic {
            throw ProfileRefusal(
                "Helicone has no semantic cache (Helicone-Cache-Enabled caches exact requests only): use cache \"exact\" with the helicone profile, or cache \"off\""
            )
        }
        try ProfileSupport.checkTagsProperty(settings, profile: name)
        return []
    }
}
