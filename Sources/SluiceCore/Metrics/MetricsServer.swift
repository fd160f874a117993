import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// `--metrics HOST:PORT`: a tiny HTTP server answering `GET /metrics` with the
/// run's metrics for Prometheus to scrape. A service of the run: it listens
/// from before the first request until the run stops.
///
/// ```swift
/// let server = try await MetricsServer.start(settings, metrics: metrics) { metrics.refresh(from: counters.snapshot, paused: false) }
/// print("metrics at http://\(settings.host):\(server.port)/metrics")
/// ```
final class MetricsServer: Service {
    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    private init(port: Int, group: MultiThreadedEventLoopGroup, channel: Channel) {
        self.port = port
        self.group = group
        self.channel = channel
    }

    /// Binds now, so a port in use is an error before anything is sent.
    static func start(_ settings: MetricsSettings, metrics: RunMetrics, beforeScrape: @escaping @Sendable () -> Void) async throws -> MetricsServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(metrics: metrics, beforeScrape: beforeScrape))
                }
            }
        do {
            let channel = try await bootstrap.bind(host: settings.host, port: settings.port).get()
            return MetricsServer(port: channel.localAddress?.port ?? settings.port, group: group, channel: channel)
        } catch {
            try? await group.shutdownGracefully()
            throw SluiceError(.configuration, "--metrics \(settings.host):\(settings.port): cannot listen there (\(error))")
        }
    }

    func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    func shutdown() async {
        try? await channel.close().get()
        try? await group.shutdownGracefully()
    }
}

/// Answers `GET /metrics` (and `/`) with the exposition text; anything else is a 404.
private final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: RunMetrics
    private let beforeScrape: @Sendable () -> Void
    private var head: HTTPRequestHead?

    init(metrics: RunMetrics, beforeScrape: @escaping @Sendable () -> Void) {
        self.metrics = metrics
        self.beforeScrape = beforeScrape
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let path = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
            let found = request.method == .GET && (path == "/metrics" || path == "/")
            var body = context.channel.allocator.buffer(capacity: 4096)
            if found {
                beforeScrape()
                body.writeString(metrics.exposition())
            } else {
                body.writeString("not found: the metrics are at /metrics\n")
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            let keepAlive = request.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { context.close(promise: nil) }
            }
        }
    }
}
