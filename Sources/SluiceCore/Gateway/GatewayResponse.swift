/// What came back for one attempt: an HTTP answer, or a transport failure.
public enum GatewayResult: Sendable {
    case response(GatewayResponse)
    case failure(GatewayFailure)
}

/// An HTTP answer with the headers sluice acts on pulled out once.
public struct GatewayResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var latencySeconds: Double

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], latencySeconds: Double) {
        self.status = status
        self.headers = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        self.body = body
        self.latencySeconds = latencySeconds
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    public var requestID: String? { header("x-request-id") }
}

/// A request that never got an HTTP answer. `kind` is a stable code used in
/// results files (`error.code`) and retry decisions.
public struct GatewayFailure: Error, Sendable, Equatable {
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public var description: String { rawValue }
        public static let timeout = Kind(rawValue: "timeout")
        public static let connection = Kind(rawValue: "connection_error")
        /// A 2xx whose body was not the JSON it should be.
        public static let invalidResponse = Kind(rawValue: "invalid_response")
        /// The request was abandoned because sluice is stopping.
        public static let cancelled = Kind(rawValue: "cancelled")
        /// The gateway's TLS certificate failed verification (untrusted issuer, wrong host name, expired).
        public static let untrustedCertificate = Kind(rawValue: "tls_verification_failed")
        /// The proxy refused sluice's credentials (HTTP 407).
        public static let proxyRefused = Kind(rawValue: "proxy_authentication_failed")
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
