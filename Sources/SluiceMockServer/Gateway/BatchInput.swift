import Foundation

/// One request line of a batch input file.
struct BatchLine: Sendable {
    var customID: String
    /// The `body` value exactly as the line spells it. Its digest is the one a live request with these bytes
    /// gets, so `/stats` counts a body once whether it was answered live or in a batch.
    var body: [UInt8]
}

/// A line the batch refused at validation, as OpenAI lists it in the batch's `errors.data`.
struct BatchLineError: Sendable {
    var code: String
    var message: String
    var line: Int?

    var json: [String: Any] {
        var object: [String: Any] = ["code": code, "message": message, "param": NSNull()]
        if let line { object["line"] = line } else { object["line"] = NSNull() }
        return object
    }
}

/// Validation of a batch input file, done when the batch is created (as OpenAI does), not at upload.
enum BatchInput {
    /// The endpoints a batch may target, without `/v1`.
    static let endpoints: Set<String> = ["/chat/completions", "/embeddings", "/completions", "/responses"]

    /// `/v1/chat/completions` and `/chat/completions` name the same endpoint.
    static func route(_ path: String) -> String { path.hasPrefix("/v1/") ? String(path.dropFirst(3)) : path }

    /// The usable lines, the errors OpenAI would list (the first 100), and how many non-blank lines there were.
    static func validate(_ bytes: [UInt8], endpoint: String) -> (lines: [BatchLine], errors: [BatchLineError], submitted: Int) {
        var lines: [BatchLine] = []
        var errors: [BatchLineError] = []
        var seen: Set<String> = []
        var submitted = 0
        var start = 0
        var number = 0
        while start < bytes.count {
            let end = MultipartForm.index(of: [10], in: bytes, from: start) ?? bytes.count
            number += 1
            var line = Array(bytes[start..<end])
            start = end + 1
            if line.last == 13 { line.removeLast() }
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            submitted += 1
            func refuse(_ code: String, _ message: String) {
                if errors.count < 100 { errors.append(BatchLineError(code: code, message: message, line: number)) }
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                refuse("invalid_json_line", "This line is not parseable as valid JSON.")
                continue
            }
            guard let customID = object["custom_id"] as? String, !customID.isEmpty else {
                refuse("invalid_json_line", "The line has no custom_id string.")
                continue
            }
            guard (object["method"] as? String) == "POST" else {
                refuse("invalid_json_line", "The method of the line must be POST.")
                continue
            }
            let url = object["url"] as? String ?? ""
            guard route(url) == route(endpoint) else {
                refuse("url_mismatch", "The url '\(url)' of the line does not match the batch's endpoint '\(endpoint)'.")
                continue
            }
            guard object["body"] is [String: Any], let span = JSONSpan.value(forKey: "body", in: line) else {
                refuse("invalid_json_line", "The body of the line must be a JSON object.")
                continue
            }
            guard seen.insert(customID).inserted else {
                refuse("duplicate_custom_id", "The custom_id '\(customID)' is used by more than one line of the file.")
                continue
            }
            lines.append(BatchLine(customID: customID, body: Array(line[span])))
        }
        if submitted == 0 { errors.append(BatchLineError(code: "empty_file", message: "The batch input file is empty.", line: nil)) }
        return (lines, errors, submitted)
    }
}

/// Finds where a top-level value of a JSON object lies in its bytes, without decoding it: re-serialising
/// the value would change key order and escapes, and with them the digest.
enum JSONSpan {
    static func value(forKey key: String, in bytes: [UInt8]) -> Range<Int>? {
        let wanted = Array(key.utf8)
        var index = skipSpace(bytes, 0)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        while true {
            index = skipSpace(bytes, index)
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let keyEnd = skipString(bytes, index) else { return nil }
            let name = bytes[(index + 1)..<(keyEnd - 1)]
            index = skipSpace(bytes, keyEnd)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index = skipSpace(bytes, index + 1)
            guard let valueEnd = skipValue(bytes, index) else { return nil }
            if name.elementsEqual(wanted) { return index..<valueEnd }
            index = skipSpace(bytes, valueEnd)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }

    static func skipSpace(_ bytes: [UInt8], _ start: Int) -> Int {
        var index = start
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        return index
    }

    /// The index after the closing quote of the string that opens at `start`.
    static func skipString(_ bytes: [UInt8], _ start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index + 1
            default: index += 1
            }
        }
        return nil
    }

    /// The index after the value that starts at `start`: a string, an object or array (nesting counted), or a scalar.
    static func skipValue(_ bytes: [UInt8], _ start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return skipString(bytes, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let end = skipString(bytes, index) else { return nil }
                    index = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                index += 1
                if depth == 0 { return index }
            }
            return nil
        default:
            var index = start
            while index < bytes.count, !isSpace(bytes[index]), bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}"),
                bytes[index] != UInt8(ascii: "]")
            {
                index += 1
            }
            return index > start ? index : nil
        }
    }
}
