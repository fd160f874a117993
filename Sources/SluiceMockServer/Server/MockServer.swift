import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// A running `sluice-mock`: an HTTP/1.1 server with keep-alive on a loopback port (HTTP/2 too with TLS and `http2`).
///
/// ```swift
/// var config = MockConfiguration()
/// config.failingModels = ["gpt-4o"]
/// let server = try await MockServer.start(config)
/// print("listening on", server.port)
/// try await server.shutdown()
/// ```
public final class MockServer: Service {
    public let gateway: MockGateway
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    private init(gateway: MockGateway, port: Int, group: MultiThreadedEventLoopGroup, channel: Channel) {
        self.gateway = gateway
        self.port = port
        self.group = group
        self.channel = channel
    }

    public static func start(_ configuration: MockConfiguration) async throws -> MockServer {
        let gateway = MockGateway(configuration: configuration)
        // HTTPS with the given certificate, for tests of private CAs and TLS failures.
        let tls: NIOSSLContext? = try configuration.tlsCertificate.flatMap { certificate in
            guard let key = configuration.tlsKey else { return nil }
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
            if configuration.http2 { tls.applicationProtocols = ["h2", "http/1.1"] }
            return try NIOSSLContext(configuration: tls)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(configuration.threads, 1))
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 8192)  // thousands of clients connect at once in benchmarks
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in MockPipeline.configure(channel, tls: tls, gateway: gateway) }
        do {
            let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
            let port = channel.localAddress?.port ?? configuration.port
            return MockServer(gateway: gateway, port: port, group: group, channel: channel)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Resolves when the listening socket closes.
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }

    /// As a service: serves until the graceful shutdown, then closes.
    public func run() async throws {
        try? await gracefulShutdown()
        try await shutdown()
    }

    public func shutdown() async throws {
        try? await channel.close().get()
        try await group.shutdownGracefully()
    }
}
