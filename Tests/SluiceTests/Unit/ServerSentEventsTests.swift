import Foundation
import Testing

@testable import SluiceCore

/// The SSE decoder against the ways a network and a server can present one
/// stream: split anywhere, CRLF or CR or LF, comments, multi-line data.
struct ServerSentEventsTests {
    static let stream = """
        : keep-alive

        data: {"a":1}

        event: ping
        data: {}

        data: first line
        data: second line

        data:no-space
        id: 7

        data: [DONE]


        """

    func decode(_ chunks: [[UInt8]]) -> [ServerSentEvents.Event] {
        var decoder = ServerSentEvents()
        var events: [ServerSentEvents.Event] = []
        for chunk in chunks { events += decoder.feed(chunk) }
        return events + decoder.finish()
    }

    var expected: [ServerSentEvents.Event] {
        [
            .init(data: Array(#"{"a":1}"#.utf8)),
            .init(type: "ping", data: Array("{}".utf8)),
            .init(data: Array("first line\nsecond line".utf8)),
            .init(data: Array("no-space".utf8), id: "7"),
            .init(data: Array("[DONE]".utf8), id: "7"),
        ]
    }

    @Test func wholeStreamInOneChunk() {
        #expect(decode([Array(Self.stream.utf8)]) == expected)
    }

    @Test(arguments: [1, 2, 3, 7, 64])
    func eventsSplitAcrossChunksOfAnySize(size: Int) {
        let bytes = Array(Self.stream.utf8)
        let chunks = stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
        #expect(decode(chunks) == expected)
    }

    @Test func crlfAndBareCRLineEndingsEvenWhenTheCRLFIsSplit() {
        let crlf = Array(Self.stream.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        #expect(decode([crlf]) == expected)
        // A chunk ending in CR followed by one starting with LF is one line ending, not two (which would end an event early).
        let cut = crlf.firstIndex(of: 0x0D)! + 1
        #expect(decode([Array(crlf[..<cut]), Array(crlf[cut...])]) == expected)
        let cr = Array(Self.stream.replacingOccurrences(of: "\n", with: "\r").utf8)
        #expect(decode([cr]) == expected)
    }

    @Test func commentsAndEmptyEventsDispatchNothing() {
        #expect(decode([Array(": hello\n\n:another\n\n\n\n".utf8)]).isEmpty)
    }

    @Test func aByteOrderMarkAtTheStartIsIgnored() {
        #expect(decode([[0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8)]) == [.init(data: Array("x".utf8))])
    }

    @Test func aLastEventWithoutItsBlankLineIsStillDelivered() {
        #expect(decode([Array("data: a\n\ndata: [DONE]".utf8)]).map(\.text) == ["a", "[DONE]"])
        #expect(decode([Array("data: [DONE]\n".utf8)]).map(\.text) == ["[DONE]"])
    }

    @Test func emptyDataLinesAreKept() {
        #expect(decode([Array("data\ndata\n\n".utf8)]).map(\.text) == ["\n"])
    }
}
