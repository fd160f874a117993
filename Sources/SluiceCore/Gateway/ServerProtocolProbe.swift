import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Asks the gateway, before the job's first request, whether it speaks HTTP/2 and how many streams one
/// connection may carry, so `ConnectionPlan` can open enough connections. async-http-client learns the
/// limit too but keeps it to itself, and by then it has queued what one connection does not admit.
///
/// One TLS connection with the job's trust roots, offering `h2` and `http/1.1`: the protocol the server
/// chooses, then the SETTINGS frame that starts its side of an HTTP/2 connection. No request is sent, so
/// no key or header leaves. Any failure (refused, timed out, untrusted) answers nil: the plan then assumes
/// a common limit, and the job's own requests report the failure as they always have.
package enum ServerProtocolProbe {
    package static func probe(host: String, port: Int, tls: TLSConfiguration, timeout: TimeAmount, group: any EventLoopGroup) async -> ServerProtocol? {
        var tls = tls
        tls.applicationProtocols = ["h2", "http/1.1"]
        let promise = group.next().makePromise(of: ServerProtocol.self)
        let channel: any Channel
        do {
            let context = try NIOSSLContext(configuration: tls)
            // SNI takes host names only, as async-http-client sends it.
            let serverName = isIPAddress(host) ? nil : host
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try channel.pipeline.syncOperations.addHandler(ProbeHandler(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            return nil
        }
        let timer = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(ChannelError.connectTimeout(timeout)) }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try? await promise.futureResult.get()
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Reads the negotiated protocol, sends the HTTP/2 preface, reads the server's settings.
    private final class ProbeHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let promise: EventLoopPromise<ServerProtocol>
        private var received: [UInt8] = []

        init(promise: EventLoopPromise<ServerProtocol>) { self.promise = promise }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
                if negotiated == "h2" {
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: HTTP2Preface.client)), promise: nil)
                } else {
                    promise.succeed(.http1)
                    context.close(promise: nil)
                }
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += unwrapInboundIn(data).readableBytesView
            switch HTTP2Preface.serverSettings(received) {
            case .needMore where received.count <= 1 << 16:
                return
            case .settings(let limit):
                promise.succeed(.http2(maxConcurrentStreams: limit))
            case .needMore, .invalid:
                promise.fail(ChannelError.inappropriateOperationForState)
            }
            context.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.eof)
            context.fireChannelInactive()
        }
    }
}
