/// The start of an HTTP/2 connection (RFC 9113 §3.4), as much as `ServerProtocolProbe` needs: the
/// client's preface, and the server's, which is a SETTINGS frame holding its stream limit.
enum HTTP2Preface {
    /// The connection preface and an empty SETTINGS frame.
    static let client: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 0x4, 0, 0, 0, 0, 0]

    enum Reading: Equatable {
        case needMore
        /// The server's SETTINGS; nil when it sets no SETTINGS_MAX_CONCURRENT_STREAMS.
        case settings(maxConcurrentStreams: Int?)
        /// The first frame is not a SETTINGS frame on stream 0: not an HTTP/2 server.
        case invalid
    }

    static let settingsType: UInt8 = 0x4
    static let maxConcurrentStreams: UInt16 = 0x3

    /// Reads the server's preface from the bytes received so far.
    static func serverSettings(_ bytes: [UInt8]) -> Reading {
        guard bytes.count >= 9 else { return .needMore }
        let length = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
        let streamID = bytes[5...8].reduce(0) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
        let isAck = bytes[4] & 0x1 != 0
        guard bytes[3] == settingsType, streamID == 0, !isAck, length % 6 == 0 else { return .invalid }
        guard bytes.count >= 9 + length else { return .needMore }
        var limit: Int?
        for start in stride(from: 9, to: 9 + length, by: 6) {
            let identifier = UInt16(bytes[start]) << 8 | UInt16(bytes[start + 1])
            let value = bytes[(start + 2)...(start + 5)].reduce(0) { $0 << 8 | Int($1) }
            if identifier == maxConcurrentStreams { limit = value }
        }
        return .settings(maxConcurrentStreams: limit)
    }
}
