/// The job-level gateway vocabulary (cache, properties, fallback, session, user,
/// tags, extra headers) and the gateway whose `GatewayProfile` maps it onto its
/// own header and body names.
package struct GatewaySettings: Codable, Sendable, Equatable {
    /// Which gateway the vocabulary is spoken to.
    package var profile: GatewayProfileName = .floopy
    package var cache: CacheMode = .off
    package var properties: [String: String] = [:]
    package var fallback: [String] = []
    package var sessionID: String?
    package var userID: String?
    /// Job-level labels; each profile sends them where its gateway honours tags.
    package var tags: [String] = []
    /// Floopy's server-side prompt (`floopy-prompt-id`/`-version`), filled from each request's `inputs`.
    package var promptID: String?
    package var promptVersion: String?
    /// Sent as given, after the profile's headers.
    package var extraHeaders: [String: String] = [:]

    package init() {}

    /// This job's settings with one line's overrides applied (the line wins;
    /// properties are merged, the line's value winning per name).
    package func applying(_ overrides: LineOverrides?) -> GatewaySettings {
        guard let overrides else { return self }
        var merged = self
        if let cache = overrides.cache { merged.cache = cache }
        if let properties = overrides.properties { merged.properties.merge(properties) { _, line in line } }
        if let fallback = overrides.fallback { merged.fallback = fallback }
        if let session = overrides.sessionID { merged.sessionID = session }
        if let user = overrides.userID { merged.userID = user }
        if let prompt = overrides.promptID { merged.promptID = prompt }
        if let version = overrides.promptVersion { merged.promptVersion = version }
        return merged
    }

    /// Checkpoints written before a setting existed lack its key: it takes its default.
    package init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        profile = try values.decodeIfPresent(GatewayProfileName.self, forKey: .profile) ?? .floopy
        cache = try values.decodeIfPresent(CacheMode.self, forKey: .cache) ?? .off
        properties = try values.decodeIfPresent([String: String].self, forKey: .properties) ?? [:]
        fallback = try values.decodeIfPresent([String].self, forKey: .fallback) ?? []
        sessionID = try values.decodeIfPresent(String.self, forKey: .sessionID)
        userID = try values.decodeIfPresent(String.self, forKey: .userID)
        tags = try values.decodeIfPresent([String].self, forKey: .tags) ?? []
        extraHeaders = try values.decodeIfPresent([String: String].self, forKey: .extraHeaders) ?? [:]
        promptID = try values.decodeIfPresent(String.self, forKey: .promptID)
        promptVersion = try values.decodeIfPresent(String.self, forKey: .promptVersion)
    }
}
