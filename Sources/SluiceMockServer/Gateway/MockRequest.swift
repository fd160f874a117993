/// One HTTP request as the mock's gateway logic sees it, independent of NIO.
public struct MockRequest: Sendable {
    public var method: String
    /// The path without its query string.
    public var path: String
    /// What followed the `?`, e.g. `limit=2&after=batch_3` (`GET /v1/batches` pages with it).
    public var query: String
    /// Header names lowercased, in arrival order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
    }
}

/// What the server should do with a request; the handler turns it into bytes.
public enum MockAction: Sendable {
    case respond(MockResponse)
    /// Server-Sent Events: each element of `events` is sent as `data: <event>\n\n`.
    /// When `cut` is true the connection is closed before the stream is complete.
    case stream(status: Int, headers: [(String, String)], events: [String], cut: Bool)
    /// Close the connection without answering.
    case drop
    /// Hold the request without answering until the client gives up.
    case stall
}

public struct MockResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func json(_ status: Int, _ text: String, headers: [(String, String)] = []) -> MockResponse {
        MockResponse(status: status, headers: [("content-type", "application/json")] + headers, body: Array(text.utf8))
    }

    /// A Floopy-style error body: `{"error": {"code": ..., "message": ...}}`.
    static func floopyError(_ status: Int, code: String, message: String, headers: [(String, String)] = []) -> MockResponse {
        json(status, #"{"error":{"code":\#(jsonQuoted(code)),"message":\#(jsonQuoted(message)),"type":"\#(code.lowercased())"}}"#, headers: headers)
    }
}

/// The mock's decision for one request plus the latency to apply before acting on it.
public struct MockReply: Sendable {
    public var action: MockAction
    public var delayMilliseconds: Double
    /// The request counts against `--max-inflight` until the handler has acted
    /// on it; the handler then calls `MockGateway.finished()`.
    public var holdsCapacity = false
    /// Milliseconds after the answer is written before its `--max-inflight` place frees (`--capacity-release-ms`),
    /// as a proxy that logs and does its bookkeeping first.
    public var releaseDelayMilliseconds = 0.0

    public init(action: MockAction, delayMilliseconds: Double, holdsCapacity: Bool = false) {
        self.action = action
        self.delayMilliseconds = delayMilliseconds
        self.holdsCapacity = holdsCapacity
    }
}

/// Quotes and escapes `text` as a JSON string literal.
func jsonQuoted(_ text: String) -> String {
    // Most strings need no escaping: skip the per-scalar walk for them.
    if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
        return "\"" + text + "\""
    }
    var out = "\""
    out.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
