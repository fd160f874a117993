/// The job-level gateway vocabulary (cache, properties, fallback, session, user,
/// extra headers) that a `HeaderProfile` maps onto a gateway's header names.
public struct GatewaySettings: Codable, Sendable, Equatable {
    public var cache: CacheMode = .off
    public var properties: [String: String] = [:]
    public var fallback: [String] = []
    public var sessionID: String?
    public var userID: String?
    /// Sent as given, after the profile's headers.
    public var extraHeaders: [String: String] = [:]

    public init() {}

    /// This job's settings with one line's overrides applied (the line wins;
    /// properties are merged, the line's value winning per name).
    public func applying(_ overrides: LineOverrides?) -> GatewaySettings {
        guard let overrides else { return self }
        var merged = self
        if let cache = overrides.cache { merged.cache = cache }
        if let properties = overrides.properties { merged.properties.merge(properties) { _, line in line } }
        if let fallback = overrides.fallback { merged.fallback = fallback }
        if let session = overrides.sessionID { merged.sessionID = session }
        if let user = overrides.userID { merged.userID = user }
        return merged
    }
}
