/// Maps the job's gateway vocabulary (cache, properties, fallback, session,
/// user, tags) onto what one gateway honours, and reads what it answers.
///
/// The scheduler knows only this protocol. Gateways spell the same ideas in
/// different places: most in headers, some in the body (LiteLLM's
/// `"fallbacks"`, a comma-separated `model` chain), and they report cache
/// verdicts, request ids and waits under their own names. Each of those lives
/// in the gateway's profile (one file per gateway in `Profiles/`), so adding a
/// gateway never touches the scheduler. Floopy's is the default.
///
/// ```swift
/// let profile = GatewayProfileName.litellm.profile(jobName: "nightly")
/// profile.headers(for: settings, remainingFallbacks: ["claude-sonnet-4"])   // x-litellm-tags, x-litellm-end-user-id...
/// profile.body(for: settings, model: "gpt-4o", remainingFallbacks: ["claude-sonnet-4"]).members   // "fallbacks": [...]
/// ```
package protocol GatewayProfile: Sendable {
    var name: GatewayProfileName { get }

    /// Headers for one attempt. `remainingFallbacks` are the models after the one
    /// this attempt asks for, so the gateway can fall back on its own side too.
    /// The job's own `headers` are added by `RequestBuilder`, after these, and
    /// replace any of these with the same name.
    func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)]

    /// What this attempt puts in the body besides the stored request: the
    /// `model` value and members to add. Returned as ready JSON so
    /// `RequestBuilder` can splice them in without re-encoding the body.
    func body(for settings: GatewaySettings, model: String, remainingFallbacks: [String]) -> BodyEdit

    /// The keys `body(for:...)` may add. A line whose own body already has one
    /// keeps its value; checked once per item, and only for these keys.
    var bodyKeys: [String] { get }

    /// What the gateway's response headers say about who answered and how.
    /// Header names are asked for in lowercase (`GatewayResponse` stores them so).
    func answerDetails(_ header: (String) -> String?) -> AnswerDetails

    /// The rate-limit figures and the wait the answer asks for, for a gateway
    /// that spells them differently (LiteLLM renames an upstream Retry-After).
    func rateLimits(_ header: (String) -> String?) -> RateLimitHeaders

    /// Checks the job's settings once, before anything is sent: throws a
    /// message for a setting this gateway cannot honour at all, and returns
    /// warnings for settings it will ignore (logged once at start).
    func check(_ settings: GatewaySettings) throws(ProfileRefusal) -> [String]
}

extension GatewayProfile {
    package func body(for settings: GatewaySettings, model: String, remainingFallbacks: [String]) -> BodyEdit {
        BodyEdit(model: model)
    }

    package var bodyKeys: [String] { [] }

    package func rateLimits(_ header: (String) -> String?) -> RateLimitHeaders {
        RateLimitHeaders(header)
    }

    package func check(_ settings: GatewaySettings) throws(ProfileRefusal) -> [String] { [] }
}

/// The body of one attempt as a profile wants it, beside the stored request.
package struct BodyEdit: Sendable, Equatable {
    /// What is sent as `model`: the model itself, or a gateway's comma-separated chain.
    package var model: String
    /// Members added after `model`, each value already JSON.
    package var members: [Member]

    package struct Member: Sendable, Equatable {
        package var key: String
        package var json: [UInt8]

        package init(key: String, json: [UInt8]) {
            self.key = key
            self.json = json
        }
    }

    package init(model: String, members: [Member] = []) {
        self.model = model
        self.members = members
    }
}

/// A job setting the chosen gateway cannot honour; the job refuses to start.
package struct ProfileRefusal: Error, Sendable, Equatable {
    package var message: String

    package init(_ message: String) { self.message = message }
}

/// The name before profiles also edited the body; kept so code written against it still builds.
package typealias HeaderProfile = GatewayProfile
