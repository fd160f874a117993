/// Walks JSON bytes without building objects: validates the syntax and reports
/// where an object's top-level members are.
///
/// On the per-answer hot path this replaces a full `JSONSerialization` parse:
/// sluice only needs to know that an answer is well-formed JSON and to read a
/// few fields (`model`, `usage`), and keeps the body itself as bytes.
///
/// ```swift
/// let members = try JSONScanner.members(of: body)       // nil unless an object
/// let model = members?.first { $0.key == "model" }.flatMap { JSONScanner.string(body[$0.value]) }
/// ```
public struct JSONScanner {
    public struct Malformed: Error {}

    public struct Member {
        /// The key's raw bytes between its quotes (escapes not decoded).
        public var key: ArraySlice<UInt8>
        public var value: Range<Int>
    }

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The members of a top-level object, after checking that the whole text is
    /// valid JSON. Nil if it is valid but not an object; throws if it is not JSON.
    public static func members(of bytes: [UInt8]) throws -> [Member]? {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard scanner.peek == UInt8(ascii: "{") else {
            try scanner.skipValue()
            try scanner.expectEnd()
            return nil
        }
        let members = try scanner.objectMembers()
        try scanner.expectEnd()
        return members
    }

    /// Members of the object at `range` (already validated by `members(of:)`).
    public static func members(of bytes: [UInt8], in range: Range<Int>) -> [Member]? {
        var scanner = JSONScanner(bytes)
        scanner.index = range.lowerBound
        guard scanner.peek == UInt8(ascii: "{") else { return nil }
        return try? scanner.objectMembers()
    }

    /// A string value without escapes, or nil (callers fall back to a full parser).
    public static func string(_ value: ArraySlice<UInt8>) -> String? {
        guard value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\""),
              !value.contains(UInt8(ascii: "\\")) else { return nil }
        return String(decoding: value.dropFirst().dropLast(), as: UTF8.self)
    }

    /// A non-negative integer value, or nil.
    public static func integer(_ value: ArraySlice<UInt8>) -> Int? {
        guard !value.isEmpty, value.count < 19 else { return nil }
        var result = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            result = result * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return result
    }

    // MARK: - Grammar

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    private mutating func expectEnd() throws {
        skipWhitespace()
        guard index == bytes.count else { throw Malformed() }
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard peek == byte else { throw Malformed() }
        index += 1
    }

    private mutating func objectMembers() throws -> [Member] {
        try enter()
        defer { depth -= 1 }
        try expect(UInt8(ascii: "{"))
        var members: [Member] = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") { index += 1; return members }
        while true {
            skipWhitespace()
            let keyStart = index
            try skipString()
            let key = bytes[(keyStart + 1)..<(index - 1)]
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            let valueStart = index
            try skipValue()
            members.append(Member(key: key, value: valueStart..<index))
            skipWhitespace()
            if peek == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return members
        }
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= 512 else { throw Malformed() }
    }

    private mutating func skipValue() throws {
        guard let byte = peek else { throw Malformed() }
        switch byte {
        case UInt8(ascii: "{"):
            _ = try objectMembers()
        case UInt8(ascii: "["):
            try enter()
            defer { depth -= 1 }
            index += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") { index += 1; return }
            while true {
                skipWhitespace()
                try skipValue()
                skipWhitespace()
                if peek == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        default:
            try skipNumber()
        }
    }

    private mutating func skipLiteral(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Malformed() }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { throw Malformed() }
        index += count
    }

    private mutating func skipString() throws {
        try expect(UInt8(ascii: "\""))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return
            case UInt8(ascii: "\\"):
                guard let escaped = peek else { throw Malformed() }
                index += 1
                if escaped == UInt8(ascii: "u") {
                    guard index + 4 <= bytes.count,
                          bytes[index..<(index + 4)].allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) })
                    else { throw Malformed() }
                    index += 4
                } else if !"\"\\/bfnrt".utf8.contains(escaped) {
                    throw Malformed()
                }
            case 0..<0x20: throw Malformed()
            default: continue
            }
        }
        throw Malformed()
    }

    private mutating func skipNumber() throws {
        let start = index
        if peek == UInt8(ascii: "-") { index += 1 }
        var digits = 0
        while let byte = peek, (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { digits += 1 }
            index += 1
        }
        guard digits > 0, index > start else { throw Malformed() }
    }
}

extension ArraySlice where Element == UInt8 {
    static func == (slice: ArraySlice<UInt8>, text: StaticString) -> Bool {
        slice.count == text.utf8CodeUnitCount && slice.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
