import NIOCore
import NIOHTTP1

/// Collects one HTTP request, asks the `MockGateway` what to do, and does it
/// (after the gateway's latency) on the channel's event loop.
final class MockHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let gateway: MockGateway
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// The body passed `maxBodyBytes`: the rest is discarded and the request answered 413.
    private var bodyTooLarge = false

    init(gateway: MockGateway) { self.gateway = gateway }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = nil
            bodyTooLarge = false
            // curl asks before sending a large upload and otherwise waits a second for the go-ahead.
            if requestHead.headers["expect"].first?.lowercased() == "100-continue" {
                let goAhead = HTTPResponseHead(version: requestHead.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(goAhead)), promise: nil)
            }
        case .body(var part):
            guard !bodyTooLarge else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > gateway.configuration.maxBodyBytes {
                bodyTooLarge = true
                body = nil
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let pieces = requestHead.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let path = pieces.first.map(String.init) ?? requestHead.uri
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            let request = MockRequest(
                method: requestHead.method.rawValue, path: path, query: pieces.count > 1 ? String(pieces[1]) : "",
                headers: requestHead.headers.map { (name: $0.name, value: $0.value) }, body: bytes)
            let reply =
                bodyTooLarge
                ? MockReply(action: .respond(.tooLarge(limit: gateway.configuration.maxBodyBytes)), delayMilliseconds: 0)
                : gateway.handle(request)
            // An HTTP/2 stream ends with its answer; the connection is never closed for it.
            let keepAlive = requestHead.isKeepAlive || requestHead.version.major >= 2
            let version = requestHead.version
            if reply.delayMilliseconds > 0, !isImmediate(reply.action) {
                // The handler and its context belong to the channel's event loop, where the task runs.
                let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .nanoseconds(Int64(reply.delayMilliseconds * 1_000_000))) {
                    bound.value.handler.perform(reply, context: bound.value.context, version: version, keepAlive: keepAlive)
                }
            } else {
                perform(reply, context: context, version: version, keepAlive: keepAlive)
            }
        }
    }

    /// Drops and stalls happen at once: latency only delays an answer.
    private func isImmediate(_ action: MockAction) -> Bool {
        switch action {
        case .drop, .stall: return true
        default: return false
        }
    }

    private func perform(_ reply: MockReply, context: ChannelHandlerContext, version: HTTPVersion, keepAlive: Bool) {
        guard context.channel.isActive else {
            gateway.finished(reply)
            return
        }
        if case .stall = reply.action {
        } else if reply.releaseDelayMilliseconds > 0 {
            // Runs after the answer below is written: this task is queued behind the current one.
            context.eventLoop.scheduleTask(in: .nanoseconds(Int64(reply.releaseDelayMilliseconds * 1_000_000))) { [gateway] in
                gateway.finished(reply)
            }
        } else {
            gateway.finished(reply)
        }
        switch reply.action {
        case .respond(let response):
            var headers = HTTPHeaders(response.headers)
            headers.add(name: "content-length", value: String(response.body.count))
            if !keepAlive { headers.add(name: "connection", value: "close") }
            let head = HTTPResponseHead(version: version, status: .init(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            finish(context: context, keepAlive: keepAlive)
        case .stream(let status, let headerList, let events, let cut):
            var headers = HTTPHeaders(headerList)
            headers.add(name: "cache-control", value: "no-cache")
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .init(statusCode: status), headers: headers))), promise: nil)
            let sent = cut ? Array(events.prefix(max(events.count / 2, 1))) : events
            let interval = gateway.configuration.streamChunkMilliseconds
            if interval > 0 {
                context.flush()
                writeEvents(sent[...], every: interval, cut: cut, context: context, keepAlive: keepAlive)
                return
            }
            for event in sent { writeEvent(event, context: context) }
            endStream(cut: cut, context: context, keepAlive: keepAlive)
        case .drop:
            context.close(promise: nil)
        case .stall:
            let seconds = gateway.configuration.stallSeconds
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [gateway] in
                gateway.finished(reply)
                bound.value.close(promise: nil)
            }
        }
    }

    private func writeEvent(_ event: String, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: event.utf8.count + 8)
        buffer.writeString("data: \(event)\n\n")
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }

    private func endStream(cut: Bool, context: ChannelHandlerContext, keepAlive: Bool) {
        if cut {
            context.flush()
            context.close(promise: nil)
        } else {
            finish(context: context, keepAlive: keepAlive)
        }
    }

    /// One event now, the rest `every` milliseconds apart, as tokens come from a model.
    private func writeEvents(_ events: ArraySlice<String>, every milliseconds: Double, cut: Bool, context: ChannelHandlerContext, keepAlive: Bool) {
        guard context.channel.isActive else { return }
        guard let event = events.first else {
            endStream(cut: cut, context: context, keepAlive: keepAlive)
            return
        }
        writeEvent(event, context: context)
        context.flush()
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .nanoseconds(Int64(milliseconds * 1_000_000))) {
            bound.value.handler.writeEvents(events.dropFirst(), every: milliseconds, cut: cut, context: bound.value.context, keepAlive: keepAlive)
        }
    }

    private func finish(context: ChannelHandlerContext, keepAlive: Bool) {
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
