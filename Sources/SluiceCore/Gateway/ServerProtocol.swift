/// What a gateway offered when asked for HTTP/2 before the job (`ServerProtocolProbe`).
package enum ServerProtocol: Equatable, Sendable {
    /// It chose HTTP/1.1 (or no protocol) in the TLS handshake.
    case http1
    /// It chose HTTP/2 and announced this stream limit per connection; nil when it announced none
    /// (RFC 9113: unlimited until it says otherwise).
    case http2(maxConcurrentStreams: Int?)
}
