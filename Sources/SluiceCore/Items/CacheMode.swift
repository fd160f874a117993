/// The gateway cache strategy for a job or a line. `off` sends no cache header.
package enum CacheMode: String, Codable, Sendable, CaseIterable {
    case exact, semantic, off
}
