/// A request that never got an HTTP answer. `kind` is a stable code used in
/// results files (`error.code`) and retry decisions.
public struct GatewayFailure: Error, Sendable, Equatable {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        public static let timeout = Kind("timeout")
        public static let connection = Kind("connection_error")
        /// A 2xx whose body was not the JSON it should be.
        public static let invalidResponse = Kind("invalid_response")
        /// A 2xx whose content was not the JSON (or did not match the schema) the request asked for.
        public static let invalidOutput = Kind("invalid_output")
        /// The request was abandoned because sluice is stopping.
        public static let cancelled = Kind("cancelled")
        /// The gateway's TLS certificate failed verification (untrusted issuer, wrong host name, expired).
        public static let untrustedCertificate = Kind("tls_verification_failed")
        /// The proxy refused sluice's credentials (HTTP 407).
        public static let proxyRefused = Kind("proxy_authentication_failed")
        /// A streamed answer (`--stream`) that ended before `[DONE]`, or carried a malformed or error event:
        /// retried like a dropped connection; the message keeps the partial text.
        public static let streamInterrupted = Kind("stream_interrupted")
    }

    public var kind: Kind
    public var message: String
    public var latencySeconds: Double

    public init(kind: Kind, message: String, latencySeconds: Double = 0) {
        self.kind = kind
        self.message = message
        self.latencySeconds = latencySeconds
    }
}
