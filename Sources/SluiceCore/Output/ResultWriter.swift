import Foundation

/// Writes the results and errors files from the checkpoint, in input order,
/// in the OpenAI batch output format:
///
/// ```json
/// {"id": "batch_req_1", "custom_id": "a", "response": {"status_code": 200, "request_id": "req_1", "body": {...}}, "error": null}
/// ```
/// An HTTP error keeps `response` (with its status) and `error: null`; an item
/// that never got an HTTP answer (bad input line, timeouts) has `response: null`
/// and `error: {code, message}`. Every item is in the results file; failed
/// items are also in the errors file. A line's `metadata` is echoed.
public struct ResultWriter {
    public struct Written: Sendable {
        public var results = 0
        public var errors = 0
    }

    public init() {}

    public func write(from store: CheckpointStore, resultsPath: String, errorsPath: String) throws -> Written {
        let results = try OutputFile(path: resultsPath)
        let errors = try OutputFile(path: errorsPath)
        var written = Written()
        try store.forEachResult { row in
            guard row.state == .succeeded || row.state == .failed else { return }
            let line = Self.line(for: row)
            try results.write(line)
            written.results += 1
            if row.state == .failed {
                try errors.write(line)
                written.errors += 1
            }
        }
        try results.commit()
        try errors.commit()
        return written
    }

    static func line(for row: ResultRow) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((row.response?.count ?? 0) + 160)
        out += Array(#"{"id":"batch_req_\#(row.id)","custom_id":"#.utf8)
        JSONText.appendQuoted(row.customID, to: &out)
        out += Array(#","response":"#.utf8)
        if let status = row.httpStatus {
            out += Array(#"{"status_code":\#(status),"request_id":"#.utf8)
            if let requestID = row.requestID { JSONText.appendQuoted(requestID, to: &out) } else { out += Array("null".utf8) }
            out += Array(#","body":"#.utf8)
            // Successful bodies were checked to be JSON when they arrived.
            out += row.state == .succeeded ? JSONText.singleLine(row.response ?? []) : jsonOrString(row.response ?? [])
            out += Array(#"},"error":null"#.utf8)
        } else {
            out += Array(#"null,"error":{"code":"#.utf8)
            JSONText.appendQuoted(row.errorCode ?? "unknown", to: &out)
            out += Array(#","message":"#.utf8)
            JSONText.appendQuoted(row.errorMessage ?? "", to: &out)
            out.append(UInt8(ascii: "}"))
        }
        if let metadata = row.metadata {
            out += Array(#","metadata":"#.utf8)
            out += JSONText.singleLine(metadata)
        }
        out += Array("}\n".utf8)
        return out
    }

    /// A body that is JSON goes in as JSON; anything else (an HTML error page) as a string.
    static func jsonOrString(_ body: [UInt8]) -> [UInt8] {
        let first = body.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "["),
           (try? JSONSerialization.jsonObject(with: Data(body))) != nil {
            return JSONText.singleLine(body)
        }
        var out: [UInt8] = []
        JSONText.appendQuoted(String(decoding: body, as: UTF8.self), to: &out)
        return out
    }
}
