import Foundation

/// The last N inference requests exactly as they arrived (`--record-requests N`,
/// served at `GET /stats/requests`), so a test can assert the headers and body
/// fields a client sent rather than only the counters `/stats` keeps. Off by
/// default: a benchmark of millions of requests must not hold their bodies.
struct RequestLog {
    struct Entry {
        var method: String
        var path: String
        var headers: [(name: String, value: String)]
        var body: [UInt8]
    }

    let capacity: Int
    private var entries: [Entry] = []
    /// Where the next entry goes once the log is full (a ring).
    private var next = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func record(_ request: MockRequest) {
        guard capacity > 0 else { return }
        let entry = Entry(method: request.method, path: request.path, headers: request.headers, body: request.body)
        if entries.count < capacity {
            entries.append(entry)
        } else {
            entries[next] = entry
            next = (next + 1) % capacity
        }
    }

    mutating func reset() {
        entries = []
        next = 0
    }

    /// `[{"method", "path", "headers": [[name, value], ...], "body": <the JSON sent, or its text>}]`, oldest first.
    /// Header names are lowercase (HTTP names are case-insensitive) and in arrival order.
    func json() -> [UInt8] {
        let ordered = entries.count < capacity ? entries : Array(entries[next...] + entries[..<next])
        let list: [[String: Any]] = ordered.map { entry in
            let body = (try? JSONSerialization.jsonObject(with: Data(entry.body))) ?? String(decoding: entry.body, as: UTF8.self)
            return ["method": entry.method, "path": entry.path, "headers": entry.headers.map { [$0.name, $0.value] }, "body": body]
        }
        let data = (try? JSONSerialization.data(withJSONObject: list, options: [.sortedKeys])) ?? Data("[]".utf8)
        return Array(data)
    }
}
