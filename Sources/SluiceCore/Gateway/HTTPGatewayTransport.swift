import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// The real transport: async-http-client over keep-alive connections (HTTP/1.1, or HTTP/2 where
/// `--http-version` and the gateway allow it and no proxy is set), TLS certificates verified (its
/// default), through the proxy and with the extra trust roots the `TransportSettings` name.
///
/// The key and the `--header-env` credential headers are held here and only here:
/// they are added to each request on the way out and never travel through
/// `GatewayRequest`, so the headers recorded in the checkpoint never hold them.
///
/// Connections are spread over several clients (`GatewayClients`, as `ConnectionPlan` sizes them). Over
/// HTTP/1.1 a client holds at most 256: a client's pool state machine copies its list of connections on many
/// events, so one pool of 4,096 connections spends most of the start of a job copying (seen in perf:
/// `HTTP1ConnectionState` array copies at the top); sixteen pools of 256 do the same work a sixteenth as
/// often. Over HTTP/2 a client holds one connection, so there are as many clients as the gateway's stream
/// limit requires; that limit is asked for before the first request (`ServerProtocolProbe`).
package final class HTTPGatewayTransport: GatewayTransport, Sendable {
    package static let connectionsPerClient = ConnectionPlan.requestsPerClient
    /// Ready once the gateway's protocol is known (at once when there is nothing to ask).
    private let pools: Task<GatewayClients, Never>
    private let authorization: String?
    private let credentialHeaders: [(name: String, value: String)]
    private let maxResponseBytes: Int

    /// How to reach the gateway, apart from the key.
    package struct Settings: Sendable {
        package var concurrency: Int
        package var requestTimeout: Double = 120
        package var maxResponseBytes: Int = 64 << 20
        /// PEM roots trusted in addition to the system's (`--ca-file`).
        package var caFile: String?
        /// PEM roots trusted *instead of* the system's (`SSL_CERT_FILE`, as curl and Python read it).
        package var certificateFile: String?
        package var proxy: ProxySetting?
        /// `--http-version`.
        package var httpVersion = HTTPVersionSetting.auto
        /// The gateway's base URL, whose server is asked for its HTTP/2 stream limit; nil asks nothing.
        package var gatewayURL: String?
        /// Where the connection plan is told (debug), and a gateway that refuses `--http-version 2` (warning).
        package var logger: Logger?

        package init(concurrency: Int) { self.concurrency = concurrency }
    }

    package init(apiKey: String?, credentialHeaders: [(name: String, value: String)] = [], settings: Settings) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        // The pool retries a failed connection until this deadline before a request sees the error, so it is
        // also how long a certificate that cannot be verified takes to surface: short, as connecting takes ms.
        let connectTimeout = TimeAmount.milliseconds(Int64(min(5, settings.requestTimeout) * 1000))
        configuration.timeout = .init(connect: connectTimeout)
        configuration.decompression = .disabled
        // No tracer: with the default (the global one, a no-op unless bootstrapped) async-http-client still
        // builds every request's span attributes and casts the tracer, about 3 % of the CPU per item.
        configuration.tracing.tracer = nil
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
        pools = Self.pools(configuration: configuration, tls: tls, connectTimeout: connectTimeout, settings: settings)
        authorization = apiKey.map { "Bearer \($0)" }
        self.credentialHeaders = credentialHeaders
        maxResponseBytes = settings.maxResponseBytes
    }

    /// The clients, once the gateway has said whether it speaks HTTP/2 and with how many streams. Only an
    /// `https://` gateway reached directly is asked: through a proxy the limit is assumed.
    private static func pools(
        configuration: HTTPClient.Configuration, tls: TLSConfiguration, connectTimeout: TimeAmount, settings: Settings
    ) -> Task<GatewayClients, Never> {
        let url = settings.gatewayURL.flatMap { URL(string: $0) }
        let https = url.map { $0.scheme?.lowercased() == "https" } ?? true
        let target = url.flatMap { url in url.host.map { (host: $0, port: url.port ?? (https ? 443 : 80)) } }
        let asks = https && settings.httpVersion.offersHTTP2 && settings.proxy == nil && target != nil
        func clients(_ server: ServerProtocol?) -> GatewayClients {
            let plan = ConnectionPlan.make(concurrency: settings.concurrency, version: settings.httpVersion, https: https, server: server)
            settings.logger?.debug("connections to the gateway: \(plan.summary)")
            if settings.httpVersion == .http2, server == .http1 || !https {
                settings.logger?.warning("--http-version 2: the gateway does not offer HTTP/2; speaking HTTP/1.1")
            }
            return GatewayClients(plan: plan, configuration: configuration)
        }
        guard asks, let target else {
            let ready = clients(nil)
            return Task { ready }
        }
        return Task {
            let server = await ServerProtocolProbe.probe(
                host: target.host, port: target.port, tls: tls, timeout: connectTimeout, group: HTTPClient.defaultEventLoopGroup)
            return clients(server)
        }
    }

    package func send(_ request: GatewayRequest, timeout: Double) async -> GatewayResult {
        let clients = await pools.value
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
        let shard = clients.acquire()
        defer { clients.release(shard.index) }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout * 1_000_000_000))
            let response = try await shard.client.execute(outgoing, deadline: deadline)
            if request.stream, Self.isEventStream(response) {
                return await Self.readStream(response, start: start, timeout: timeout, maxBytes: maxResponseBytes)
            }
            if let path = request.downloadPath, (200..<300).contains(Int(response.status.code)) {
                return try await Self.download(response, to: path, maxBytes: request.maxResponseBytes ?? maxResponseBytes, latency: elapsed)
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

    package func shutdown() async {
        await pools.value.shutdown()
    }
}
