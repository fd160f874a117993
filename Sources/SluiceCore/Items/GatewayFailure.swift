/// A request that never got an HTTP answer. `kind` is a stable code used in
/// results files (`error.code`) and retry decisions.
package struct GatewayFailure: Error, Sendable, Equatable {
    package struct Kind: Hashable, Sendable, CustomStringConvertible {
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }
        package static let timeout = Kind("timeout")
        package static let connection = Kind("connection_error")
        /// A 2xx whose body was not the JSON it should be.
        package static let invalidResponse = Kind("invalid_response")
        /// A 2xx whose content was not the JSON (or did not match the schema) the request asked for.
        package static let invalidOutput = Kind("invalid_output")
        /// The request was abandoned because sluice is stopping.
        package static let cancelled = Kind("cancelled")
        /// The gateway's TLS certificate failed verification (untrusted issuer, wrong host name, expired).
        package static let untrustedCertificate = Kind("tls_verification_failed")
        /// The proxy refused sluice's credentials (HTTP 407).
        package static let proxyRefused = Kind("proxy_authentication_failed")
        /// A streamed answer (`--stream`) that ended before `[DONE]`, or carried a malformed or error event:
        /// retried like a dropped connection; the message keeps the partial text.
        package static let streamInterrupted = Kind("stream_interrupted")
    }

    package var kind: Kind
    package var message: String
    package var latencySeconds: Double

    package init(kind: Kind, message: String, latencySeconds: Double = 0) {
        self.kind = kind
        self.message = message
        self.latencySeconds = latencySeconds
    }
}
