/// The gateway settings one line may override for itself.
package struct LineOverrides: Codable, Sendable, Equatable {
    package var properties: [String: String]?
    package var fallback: [String]?
    package var sessionID: String?
    package var userID: String?
    package var cache: CacheMode?
    package var promptID: String?
    package var promptVersion: String?

    enum CodingKeys: String, CodingKey {
        case properties, fallback, cache
        case sessionID = "session_id"
        case userID = "user_id"
        case promptID = "prompt_id"
        case promptVersion = "prompt_version"
    }

    var isEmpty: Bool { self == LineOverrides() }
}
