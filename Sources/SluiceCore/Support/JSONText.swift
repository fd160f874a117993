import Foundation

/// Writing JSON by hand on the hot path: results lines and request bodies are
/// assembled from bytes we already hold, instead of re-encoding whole objects.
package enum JSONText {
    /// Appends `text` as a quoted, escaped JSON string.
    package static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [92, 34]
            case UInt8(ascii: "\\"): out += [92, 92]
            case 0x0A: out += [92, UInt8(ascii: "n")]
            case 0x0D: out += [92, UInt8(ascii: "r")]
            case 0x09: out += [92, UInt8(ascii: "t")]
            case 0..<0x20:
                out += Array("\\u00".utf8)
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    package static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Serialises a Foundation JSON value (as `JSONSerialization` returns it)
    /// compactly. Written by hand because Foundation's writer bridges every
    /// dictionary through NSDictionary, which made it the costliest step of planning.
    package static func encode(_ object: Any) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try append(object, to: &out)
        return out
    }

    struct Unencodable: Error, CustomStringConvertible {
        var description: String
    }

    static func append(_ value: Any, to out: inout [UInt8]) throws {
        switch value {
        case let text as String:
            appendQuoted(text, to: &out)
        case is NSNull:
            out += [110, 117, 108, 108]  // null
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, member) in object {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                try append(member, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                try append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let flag as Bool where type(of: value) == Bool.self:
            out += Array((flag ? "true" : "false").utf8)
        case let integer as Int where type(of: value) == Int.self:
            out += Array(String(integer).utf8)
        case let double as Double where type(of: value) == Double.self:
            try appendDouble(double, to: &out)
        case let number as NSNumber:
            switch UInt8(bitPattern: number.objCType.pointee) {
            case UInt8(ascii: "c"), UInt8(ascii: "B"):
                out += Array((number.boolValue ? "true" : "false").utf8)
            case UInt8(ascii: "d"), UInt8(ascii: "f"):
                try appendDouble(number.doubleValue, to: &out)
            case UInt8(ascii: "Q"), UInt8(ascii: "L"), UInt8(ascii: "I"):
                out += Array(String(number.uint64Value).utf8)
            default:
                out += Array(String(number.int64Value).utf8)
            }
        default:
            throw Unencodable(description: "cannot encode a value of type \(type(of: value)) as JSON")
        }
    }

    private static func appendDouble(_ double: Double, to out: inout [UInt8]) throws {
        guard double.isFinite else { throw Unencodable(description: "\(double) is not a JSON number") }
        if double == double.rounded(), abs(double) < 1e15 {
            out += Array(String(Int64(double)).utf8)  // 1.0 as 1, as JSONSerialization writes it
        } else {
            out += Array("\(double)".utf8)
        }
    }

    /// Makes raw JSON safe for one JSONL line: newlines can only be whitespace
    /// between tokens in valid JSON (inside strings they must be escaped), so
    /// replacing them with spaces never changes the value.
    package static func singleLine(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return bytes }
        return bytes.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
    }

    /// A readable reason for a JSONSerialization failure (Foundation hides it in userInfo).
    package static func reason(of error: Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return "not valid JSON"
    }
}
