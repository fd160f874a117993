import AsyncHTTPClient
import Foundation
import NIOCore

/// Reading a streamed answer (`--stream`) event by event as the bytes arrive,
/// so the time of the first token is the time it really came, and assembling
/// it into the body an unstreamed answer would have had.
extension HTTPGatewayTransport {
    /// A 2xx answer in Server-Sent Events. Anything else (an error, a gateway
    /// that ignored `stream` and sent JSON) is read whole, as unstreamed.
    static func isEventStream(_ response: HTTPClientResponse) -> Bool {
        (200..<300).contains(Int(response.status.code))
            && response.headers.first(name: "content-type")?.lowercased().contains("text/event-stream") == true
    }

    /// The state of one stream while it is read: fed each buffer, it decodes events and folds them in.
    struct StreamReading: Sendable {
        var decoder = ServerSentEvents()
        var assembler = StreamAssembler()
        var bytes = 0
        var firstTokenSeconds: Double?
        /// A malformed or error event: reading stops there.
        var problem: String?
        /// What ended reading before `[DONE]`, if it threw.
        var error: (any Error)?
        var tooLarge = false

        /// Returns false once reading should stop.
        mutating func take(_ buffer: some Sequence<UInt8>, count: Int, maxBytes: Int, seconds: () -> Double) -> Bool {
            bytes += count
            if bytes > maxBytes {
                tooLarge = true
                return false
            }
            return fold(decoder.feed(buffer), seconds: seconds)
        }

        mutating func finish(seconds: () -> Double) {
            _ = fold(decoder.finish(), seconds: seconds)
        }

        private mutating func fold(_ events: [ServerSentEvents.Event], seconds: () -> Double) -> Bool {
            for event in events {
                do {
                    try assembler.add(event)
                } catch {
                    problem = error.message
                    return false
                }
                if assembler.firstContentJustArrived { firstTokenSeconds = seconds() }
            }
            return true
        }
    }

    /// Reads the events until the body ends, the deadline passes or an event is bad.
    /// The request's deadline covers only the answer's head in async-http-client,
    /// so the rest of the timeout is enforced here: a stream that stalls mid-way fails.
    static func readStream(_ response: HTTPClientResponse, start: ContinuousClock.Instant, timeout: Double, maxBytes: Int) async -> GatewayResult {
        func elapsed() -> Double { seconds(since: start) }
        let deadline = start + .nanoseconds(Int64(timeout * 1_000_000_000))
        let body = response.body
        let (reading, timedOut) = await withTaskGroup(of: StreamReading?.self) { group in
            group.addTask {
                var reading = StreamReading()
                do {
                    for try await buffer in body {
                        if reading.assembler.isDone { continue }  // drained, so the connection can be reused
                        guard reading.take(buffer.readableBytesView, count: buffer.readableBytes, maxBytes: maxBytes, seconds: elapsed) else {
                            return reading
                        }
                    }
                    reading.finish(seconds: elapsed)
                } catch {
                    reading.error = error
                }
                return reading
            }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            var reading: StreamReading?
            var timedOut = false
            for await result in group {
                if let result {
                    reading = result
                } else if reading == nil {
                    timedOut = true
                }
                group.cancelAll()
            }
            return (reading ?? StreamReading(), timedOut)
        }
        let latency = elapsed()
        let assembler = reading.assembler
        if assembler.isDone {
            var answer = GatewayResponse(
                status: Int(response.status.code), headers: response.headers.map { (name: $0.name, value: $0.value) },
                body: assembler.body(), latencySeconds: latency)
            answer.firstTokenSeconds = reading.firstTokenSeconds
            return .response(answer)
        }
        if Task.isCancelled { return .failure(GatewayFailure(kind: .cancelled, message: "request cancelled", latencySeconds: latency)) }
        if timedOut {
            let message = "no answer within \(timeout) s: " + assembler.interruption("the stream was still open")
            return .failure(GatewayFailure(kind: .timeout, message: message, latencySeconds: latency))
        }
        if reading.tooLarge {
            return .failure(GatewayFailure(kind: .connection, message: "the streamed answer passed \(maxBytes) bytes", latencySeconds: latency))
        }
        let reason: String
        if let problem = reading.problem {
            reason = "stream cut by a \(problem)"
        } else if let error = reading.error {
            let failure = failure(for: error, timeout: timeout, latency: latency)
            reason = "stream ended before [DONE] (\(failure.kind == .connection ? "connection error: " : "")\(failure.message))"
        } else {
            reason = "stream ended before [DONE]"
        }
        return .failure(GatewayFailure(kind: .streamInterrupted, message: assembler.interruption(reason), latencySeconds: latency))
    }

    /// A streamed request answered without the event-stream content type: JSON
    /// (an error, or a server that ignores `stream`) is taken as it is; a 2xx
    /// body that is plainly events is assembled (with no first-token time, as it
    /// was read whole).
    static func unlabelledStream(_ answer: GatewayResponse) -> GatewayResult {
        guard (200..<300).contains(answer.status), answer.body.first(where: { $0 > 0x20 }) != UInt8(ascii: "{"),
            answer.body.drop(while: { $0 <= 0x20 }).starts(with: "data:".utf8)
        else { return .response(answer) }
        var reading = StreamReading()
        _ = reading.take(answer.body, count: 0, maxBytes: .max, seconds: { 0 })
        reading.finish(seconds: { 0 })
        guard reading.assembler.isDone else {
            let reason = reading.problem.map { "stream cut by a \($0)" } ?? "stream ended before [DONE]"
            return .failure(
                GatewayFailure(kind: .streamInterrupted, message: reading.assembler.interruption(reason), latencySeconds: answer.latencySeconds))
        }
        var assembled = answer
        assembled.body = reading.assembler.body()
        return .response(assembled)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
