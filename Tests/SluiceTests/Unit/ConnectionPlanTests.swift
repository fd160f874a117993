import Foundation
import Testing

@testable import SluiceCore

/// How many connections the transport opens for a concurrency, given what the gateway said.
struct ConnectionPlanTests {
    @Test func http2OpensAsManyConnectionsAsTheStreamLimitRequires() {
        for (concurrency, limit, clients) in [(256, 128, 2), (1024, 128, 8), (64, 16, 4), (100, 100, 1), (101, 100, 2), (512, 256, 2), (5, 128, 1)] {
            let plan = ConnectionPlan.make(concurrency: concurrency, version: .auto, https: true, server: .http2(maxConcurrentStreams: limit))
            #expect(plan.clients == clients && plan.offersHTTP2 && plan.streamsPerConnection == limit, "C=\(concurrency) S=\(limit): \(plan)")
            #expect(plan.http1ConnectionsPerClient == 1)
        }
    }

    @Test func anUnlimitedOrHugeStreamLimitStillSpreadsOverClientsOf256() {
        let unlimited = ConnectionPlan.make(concurrency: 1000, version: .http2, https: true, server: .http2(maxConcurrentStreams: nil))
        #expect(unlimited.clients == 4 && unlimited.streamsPerConnection == 256)
        let huge = ConnectionPlan.make(concurrency: 1000, version: .auto, https: true, server: .http2(maxConcurrentStreams: Int(Int32.max)))
        #expect(huge.clients == 4)
        let zero = ConnectionPlan.make(concurrency: 3, version: .auto, https: true, server: .http2(maxConcurrentStreams: 0))
        #expect(zero.clients == 3, "a limit of 0 is taken as 1, not a division by zero")
    }

    @Test func http1KeepsOneConnectionPerRequestInPoolsOf256() {
        for plan in [
            ConnectionPlan.make(concurrency: 1000, version: .http1, https: true, server: .http2(maxConcurrentStreams: 128)),
            ConnectionPlan.make(concurrency: 1000, version: .auto, https: true, server: .http1),
            ConnectionPlan.make(concurrency: 1000, version: .auto, https: false, server: nil),
        ] {
            #expect(!plan.offersHTTP2 && plan.clients == 4 && plan.http1ConnectionsPerClient == 250, "\(plan)")
        }
        #expect(ConnectionPlan.make(concurrency: 16, version: .auto, https: false, server: nil).clients == 1)
    }

    @Test func anUnknownServerIsPlannedForEitherProtocol() {
        // Through a proxy, or when the probe got no answer: 100 streams assumed, and enough HTTP/1.1 connections.
        let plan = ConnectionPlan.make(concurrency: 256, version: .auto, https: true, server: nil)
        #expect(plan.offersHTTP2 && plan.clients == 3 && plan.streamsPerConnection == 100)
        #expect(plan.clients * plan.http1ConnectionsPerClient >= 256)
    }

    @Test func theServersSettingsFrameIsRead() {
        // SETTINGS (type 4) on stream 0 with HEADER_TABLE_SIZE 4096 then MAX_CONCURRENT_STREAMS 128.
        let frame: [UInt8] = [0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x10, 0, 0, 3, 0, 0, 0, 128]
        #expect(HTTP2Preface.serverSettings(frame) == .settings(maxConcurrentStreams: 128))
        #expect(HTTP2Preface.serverSettings(Array(frame.prefix(15))) == .needMore)
        #expect(HTTP2Preface.serverSettings(Array(frame.prefix(5))) == .needMore)
        #expect(HTTP2Preface.serverSettings([0, 0, 0, 4, 0, 0, 0, 0, 0]) == .settings(maxConcurrentStreams: nil))
        // A SETTINGS acknowledgement, a HEADERS frame, or HTTP/1.1 text are not a server preface.
        #expect(HTTP2Preface.serverSettings([0, 0, 0, 4, 1, 0, 0, 0, 0]) == .invalid)
        #expect(HTTP2Preface.serverSettings([0, 0, 0, 1, 4, 0, 0, 0, 1]) == .invalid)
        #expect(HTTP2Preface.serverSettings(Array("HTTP/1.1 400 Bad".utf8)) == .invalid)
    }

    @Test func theVersionIsReadFromAJobFileAsAStringOrANumber() throws {
        for (text, version) in [(#""1.1""#, HTTPVersionSetting.http1), ("1.1", .http1), ("2", .http2), (#""auto""#, .auto)] {
            #expect(try JSONDecoder().decode(HTTPVersionSetting.self, from: Data(text.utf8)) == version, "\(text)")
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(HTTPVersionSetting.self, from: Data("3".utf8)) }
    }
}
