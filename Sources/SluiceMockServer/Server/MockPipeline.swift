import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL

/// The handlers of one client connection: TLS when configured, then HTTP/1.1, or HTTP/2 when `--http2`
/// lets the client choose it (ALPN), each request of either handled by a `MockHTTPHandler`.
enum MockPipeline {
    static func configure(_ channel: any Channel, tls: NIOSSLContext?, gateway: MockGateway) -> EventLoopFuture<Void> {
        let tally = gateway.connections
        tally.opened()
        channel.closeFuture.whenComplete { _ in tally.closed() }
        guard let tls, gateway.configuration.http2 else {
            return channel.eventLoop.makeCompletedFuture {
                if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                try http1(channel, gateway: gateway)
            }
        }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
        }.flatMap {
            channel.configureHTTP2SecureUpgrade(
                h2ChannelConfigurator: { channel in http2(channel, gateway: gateway) },
                http1ChannelConfigurator: { channel in channel.eventLoop.makeCompletedFuture { try http1(channel, gateway: gateway) } })
        }
    }

    private static func http1(_ channel: any Channel, gateway: MockGateway) throws {
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
        try channel.pipeline.syncOperations.addHandler(MockHTTPHandler(gateway: gateway))
    }

    /// Announces `--max-streams` in the server's SETTINGS, which NIO then enforces on the client's streams.
    private static func http2(_ channel: any Channel, gateway: MockGateway) -> EventLoopFuture<Void> {
        let connection = gateway.connections.negotiatedHTTP2()
        let settings =
            nioDefaultSettings.filter { $0.parameter != .maxConcurrentStreams }
            + [HTTP2Setting(parameter: .maxConcurrentStreams, value: gateway.configuration.maxStreams)]
        return channel.configureHTTP2Pipeline(
            mode: .server, initialLocalSettings: settings,
            inboundStreamInitializer: { stream in
                gateway.connections.streamOpened(on: connection)
                stream.closeFuture.whenComplete { _ in gateway.connections.streamClosed(on: connection) }
                return stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                    try stream.pipeline.syncOperations.addHandler(MockHTTPHandler(gateway: gateway))
                }
            }
        ).map { _ in }
    }
}
