/// An incremental Server-Sent Events decoder, after the WHATWG "event stream
/// interpretation" rules, fed with whatever byte chunks the connection delivers.
///
/// The network splits a stream wherever it likes (inside a line, between the
/// CR and LF of one line ending), so the decoder keeps the unfinished line and
/// event between calls instead of assuming one chunk per event.
///
/// ```swift
/// var decoder = ServerSentEvents()
/// for buffer in chunks { for event in decoder.feed(buffer) { handle(event.data) } }
/// for event in decoder.finish() { handle(event.data) }
/// ```
package struct ServerSentEvents: Sendable {
    package struct Event: Sendable, Equatable {
        /// The `event:` field; nil for the default type ("message").
        package var type: String?
        /// The `data:` lines joined with a newline.
        package var data: [UInt8]
        package var id: String?

        package init(type: String? = nil, data: [UInt8], id: String? = nil) {
            self.type = type
            self.data = data
            self.id = id
        }

        package var text: String { String(decoding: data, as: UTF8.self) }
    }

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var type: String?
    private var lastID: String?
    /// The previous chunk ended in CR: an LF starting this one finishes that line ending.
    private var afterCR = false
    private var atStart = true

    package init() {}

    /// The events completed by these bytes, in order.
    package mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Event] where Bytes.Element == UInt8 {
        var events: [Event] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0D:
                afterCR = true
                endLine(into: &events)
            case 0x0A:
                endLine(into: &events)
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// The stream closed. The spec drops an event that lacks its closing blank
    /// line; servers that end with `data: [DONE]` and no blank line exist, so a
    /// pending event with data is delivered instead.
    package mutating func finish() -> [Event] {
        var events: [Event] = []
        if !line.isEmpty { endLine(into: &events) }
        if hasData { endLine(into: &events) }
        return events
    }

    private mutating func endLine(into events: inout [Event]) {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {
            atStart = false
            // A byte order mark may open the stream.
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        if line.isEmpty {
            dispatch(into: &events)
            return
        }
        if line.first == UInt8(ascii: ":") { return }  // a comment, often a keep-alive
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let name = colon.map { line[..<$0] } ?? line[...]
        var value = colon.map { line[($0 + 1)...] } ?? []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        switch String(decoding: name, as: UTF8.self) {
        case "data":
            if hasData { data.append(0x0A) }
            data += value
            hasData = true
        case "event":
            type = String(decoding: value, as: UTF8.self)
        case "id" where !value.contains(0):
            lastID = String(decoding: value, as: UTF8.self)
        default:
            break  // `retry` and unknown fields mean nothing to a one-shot request
        }
    }

    private mutating func dispatch(into events: inout [Event]) {
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            type = nil
        }
        guard hasData else { return }
        events.append(Event(type: type.flatMap { $0.isEmpty || $0 == "message" ? nil : $0 }, data: data, id: lastID))
    }
}
