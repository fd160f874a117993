import Foundation

/// One line of the results and errors files, in the OpenAI batch output format:
///
/// ```json
/// {"id": "batch_req_1", "custom_id": "a", "response": {"status_code": 200, "request_id": "req_1", "body": {...}}, "error": null}
/// ```
/// An HTTP error keeps `response` (with its status) and `error: null`; an item
/// that never got an HTTP answer (bad input line, timeouts) has `response: null`
/// and `error: {code, message}`. A line's `metadata` is echoed.
enum ResultLine {
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
            (try? JSONSerialization.jsonObject(with: Data(body))) != nil
        {
            return JSONText.singleLine(body)
        }
        var out: [UInt8] = []
        JSONText.appendQuoted(String(decoding: body, as: UTF8.self), to: &out)
        return out
    }
}
