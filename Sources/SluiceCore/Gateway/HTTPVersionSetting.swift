/// Which HTTP sluice speaks to the gateway (`--http-version`, job key `http_version`).
///
/// A gateway behind a CDN or load balancer speaks HTTP/2 over TLS, and each connection carries at most the
/// server's `SETTINGS_MAX_CONCURRENT_STREAMS` (100 at Google's front ends, 128 in nginx and AWS load
/// balancers, 256 at Cloudflare). Either version reaches the concurrency asked for: HTTP/2 because
/// `ConnectionPlan` opens as many connections as the stream limit requires.
package enum HTTPVersionSetting: String, Codable, Sendable, CaseIterable {
    /// HTTP/2 where the gateway offers it (TLS with ALPN `h2`), else HTTP/1.1.
    case auto
    case http1 = "1.1"
    /// HTTP/2; it needs an `https://` gateway, since sluice speaks HTTP/2 only over TLS.
    case http2 = "2"

    /// Whether HTTP/2 is offered to an `https://` gateway.
    package var offersHTTP2: Bool { self != .http1 }

    /// A job file may write the version as a string or as a number (`"1.1"`, `2`).
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let number = try? container.decode(Double.self) {
            text = number == number.rounded() ? String(Int(number)) : String(number)
        } else {
            text = try container.decode(String.self)
        }
        guard let value = HTTPVersionSetting(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(text) is not auto, 1.1 or 2")
        }
        self = value
    }
}
