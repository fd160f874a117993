import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The real transport: async-http-client with a keep-alive pool sized to the
/// job's concurrency and TLS certificates verified (its default).
///
/// The key is held here and only here: it is added to each request on the way
/// out and never travels through `GatewayRequest`, logs or the checkpoint.
public final class HTTPGatewayTransport: GatewayTransport, @unchecked Sendable {
    private let client: HTTPClient
    private let authorization: String?
    private let maxResponseBytes: Int

    public init(apiKey: String?, concurrency: Int, requestTimeout: Double = 120, maxResponseBytes: Int = 64 << 20) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .milliseconds(Int64(min(10, requestTimeout) * 1000)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60),
                                             concurrentHTTP1ConnectionsPerHostSoftLimit: max(concurrency, 1))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        authorization = apiKey.map { "Bearer \($0)" }
        self.maxResponseBytes = maxResponseBytes
    }

    public func send(_ request: GatewayRequest, timeout: Double) async -> GatewayResult {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = .POST
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if let authorization { outgoing.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        let start = ContinuousClock.now
        func elapsed() -> Double {
            let duration = ContinuousClock.now - start
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        }
        do {
            let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout * 1_000_000_000))
            let response = try await client.execute(outgoing, deadline: deadline)
            let body = try await response.body.collect(upTo: maxResponseBytes)
            return .response(GatewayResponse(status: Int(response.status.code),
                                             headers: response.headers.map { (name: $0.name, value: $0.value) },
                                             body: Array(body.readableBytesView), latencySeconds: elapsed()))
        } catch {
            return .failure(Self.failure(for: error, timeout: timeout, latency: elapsed()))
        }
    }

    static func failure(for error: Error, timeout: Double, latency: Double) -> GatewayFailure {
        if error is CancellationError {
            return GatewayFailure(kind: .cancelled, message: "request cancelled", latencySeconds: latency)
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
            default:
                break
            }
        }
        return GatewayFailure(kind: .connection, message: "\(error)", latencySeconds: latency)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }
}
