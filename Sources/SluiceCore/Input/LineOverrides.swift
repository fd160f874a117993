/// The gateway settings one line may override for itself.
public struct LineOverrides: Codable, Sendable, Equatable {
    public var properties: [String: String]?
    public var fallback: [String]?
    public var sessionID: String?
    public var userID: String?
    public var cache: CacheMode?

    enum CodingKeys: String, CodingKey {
        case properties, fallback, cache
        case sessionID = "session_id"
        case userID = "user_id"
    }

    var isEmpty: Bool { self == LineOverrides() }
}
