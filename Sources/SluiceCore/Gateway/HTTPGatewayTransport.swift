import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// The real transport: async-http-client with a keep-alive pool sized to the
/// job's concurrency and TLS certificates verified (its default), through the
/// proxy and with the extra trust roots the `TransportSettings` name.
///
/// The key and the `--header-env` credential headers are held here and only here:
/// they are added to each request on the way out and never travel through
/// `GatewayRequest`, so the headers recorded in the checkpoint never hold them.
///
/// Connections are spread over several clients of at most `connectionsPerClient`
/// each. A client's pool state machine copies its list of connections on many
/// events, so one pool of 4,096 connections spends most of the start of a job
/// copying (seen in perf: `HTTP1ConnectionState` array copies at the top);
/// sixteen pools of 256 do the same work a sixteenth as often. Each request
/// goes to the client with the fewest requests in flight.
public final class HTTPGatewayTransport: GatewayTransport, Sendable {
    public static let connectionsPerClient = 256
    private let clients: [HTTPClient]
    private let inFlight: Mutex<[Int]>
    private let authorization: String?
    private let credentialHeaders: [(name: String, value: String)]
    private let maxResponseBytes: Int

    /// How to reach the gateway, apart from the key.
    public struct Settings: Sendable {
        public var concurrency: Int
        public var requestTimeout: Double = 120
        public var maxResponseBytes: Int = 64 << 20
        /// PEM roots trusted in addition to the system's (`--ca-file`).
        public var caFile: String?
        /// PEM roots trusted *instead of* the system's (`SSL_CERT_FILE`, as curl and Python read it).
        public var certificateFile: String?
        public var proxy: ProxySetting?

        public init(concurrency: Int) { self.concurrency = concurrency }
    }

    public init(apiKey: String?, credentialHeaders: [(name: String, value: String)] = [], settings: Settings) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        // The pool retries a failed connection until this deadline before a request sees the error, so it is
        // also how long a certificate that cannot be verified takes to surface: short, as connecting takes ms.
        configuration.timeout = .init(connect: .milliseconds(Int64(min(5, settings.requestTimeout) * 1000)))
        let count = max(1, (settings.concurrency + Self.connectionsPerClient - 1) / Self.connectionsPerClient)
        let perClient = (max(settings.concurrency, 1) + count - 1) / count
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: perClient)
        configuration.decompression = .disabled
        var tls = TLSConfiguration.makeClientConfiguration()
        if let certificateFile = settings.certificateFile { tls.trustRoots = .file(certificateFile) }
        if let caFile = settings.caFile { tls.additionalTrustRoots = [.file(caFile)] }
        configuration.tlsConfiguration = tls
        if let proxy = settings.proxy {
            switch proxy.kind {
            case .http:
                let credentials = proxy.username.map { HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "") }
                configuration.proxy = .server(host: proxy.host, port: proxy.port, authorization: credentials)
            case .socks5:
                configuration.proxy = .socksServer(host: proxy.host, port: proxy.port)
            }
        }
        clients = (0..<count).map { _ in HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration) }
        inFlight = Mutex(Array(repeating: 0, count: count))
        authorization = apiKey.map { "Bearer \($0)" }
        self.credentialHeaders = credentialHeaders
        maxResponseBytes = settings.maxResponseBytes
    }

    public func send(_ request: GatewayRequest, timeout: Double) async -> GatewayResult {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if let authorization { outgoing.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        for header in credentialHeaders { outgoing.headers.replaceOrAdd(name: header.name, value: header.value) }
        if request.method != "GET" { outgoing.body = .bytes(ByteBuffer(bytes: request.body)) }
        let start = ContinuousClock.now
        func elapsed() -> Double {
            let duration = ContinuousClock.now - start
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        }
        let shard = inFlight.withLock { counts in
            let least = counts.indices.min { counts[$0] < counts[$1] } ?? 0
            counts[least] += 1
            return least
        }
        defer { inFlight.withLock { $0[shard] -= 1 } }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout * 1_000_000_000))
            let response = try await clients[shard].execute(outgoing, deadline: deadline)
            if request.stream, Self.isEventStream(response) {
                return await Self.readStream(response, start: start, timeout: timeout, maxBytes: maxResponseBytes)
            }
            let body = try await response.body.collect(upTo: request.maxResponseBytes ?? maxResponseBytes)
            let answer = GatewayResponse(
                status: Int(response.status.code),
                headers: response.headers.map { (name: $0.name, value: $0.value) },
                body: Array(body.readableBytesView), latencySeconds: elapsed())
            return request.stream ? Self.unlabelledStream(answer) : .response(answer)
        } catch {
            return .failure(Self.failure(for: error, timeout: timeout, latency: elapsed()))
        }
    }

    static func failure(for error: Error, timeout: Double, latency: Double) -> GatewayFailure {
        if error is CancellationError {
            return GatewayFailure(kind: .cancelled, message: "request cancelled", latencySeconds: latency)
        }
        if let reason = certificateProblem(error) {
            return GatewayFailure(kind: .untrustedCertificate, message: reason, latencySeconds: latency)
        }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return GatewayFailure(kind: .timeout, message: "no answer within \(timeout) s", latencySeconds: latency)
            case .connectTimeout:
                return GatewayFailure(kind: .timeout, message: "connection timed out", latencySeconds: latency)
            case .cancelled:
                return GatewayFailure(kind: .cancelled, message: "request cancelled", latencySeconds: latency)
            case .remoteConnectionClosed:
                return GatewayFailure(kind: .connection, message: "the gateway closed the connection before answering", latencySeconds: latency)
            case .proxyAuthenticationRequired:
                return GatewayFailure(kind: .proxyRefused, message: "it answered 407: the credentials were refused", latencySeconds: latency)
            case .invalidProxyResponse:
                // Some proxies (tinyproxy) answer a refused CONNECT with 401 or 403 rather than 407.
                return GatewayFailure(kind: .proxyRefused, message: "it answered the CONNECT with an error", latencySeconds: latency)
            default:
                break
            }
        }
        return GatewayFailure(kind: .connection, message: "\(error)", latencySeconds: latency)
    }

    /// A TLS failure that is about trust (verification), not the network: retrying cannot cure it.
    static func certificateProblem(_ error: Error) -> String? {
        let text = String(describing: error)
        if let ssl = error as? NIOSSLError {
            switch ssl {
            case .handshakeFailed where text.contains("CERTIFICATE_VERIFY_FAILED"):
                return "certificate verify failed: the certificate is not signed by a trusted root, has expired, or does not name this host"
            case .unableToValidateCertificate, .noCertificateToValidate:
                return "the gateway's certificate could not be validated"
            case .cannotMatchULabel:
                return "the gateway's host name could not be matched against its certificate"
            default:
                return nil
            }
        }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "the certificate does not name this host"
        }
        return nil
    }

    public func shutdown() async {
        for client in clients { try? await client.shutdown() }
    }
}
