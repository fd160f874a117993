/// The gateway settings one line may override for itself.
public struct LineOverrides: Codable, Sendable, Equatable {
    public var properties: [String: String]?
    public var fallback: [String]?
    public var sessionID: String?
    public var userID: String?
    public var cache: CacheMode?
    public var promptID: String?
    public var promptVersion: String?

    enum CodingKeys: String, CodingKey {
        case properties, fallback, cache
        case sessionID = "session_id"
        case userID = "user_id"
        case promptID = "prompt_id"
        case promptVersion = "prompt_version"
    }

    var isEmpty: Bool { self == LineOverrides() }
}
