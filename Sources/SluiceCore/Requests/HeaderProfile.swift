/// Maps the job's gateway settings onto one gateway's request headers.
///
/// The scheduler knows only this protocol: a gateway that spells the same
/// ideas differently (cache, properties, fallback, session, user) is another
/// profile, and what it reports about an answer (who answered, the request id,
/// the cache verdict) is read by the profile too. Floopy's is the default.
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
