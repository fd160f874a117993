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
package struct JSONScanner {
    package struct Malformed: Error {}

    package struct Member {
        /// The key's raw bytes between its quotes (escapes not decoded).
        package var key: ArraySlice<UInt8>
        package var value: Range<Int>
    }

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The members of a top-level object, after checking that the whole text is
    /// valid JSON. Nil if it is valid but not an object; throws if it is not JSON.
    package static func members(of bytes: [UInt8]) throws -> [Member]? {
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
    package static func members(of bytes: [UInt8], in range: Range<Int>) -> [Member]? {
        var scanner = JSONScanner(bytes)
        scanner.index = range.lowerBound
        guard scanner.peek == UInt8(ascii: "{") else { return nil }
        return try? scanner.objectMembers()
    }

    /// A string value without escapes, or nil (callers fall back to a full parser).
    package static func string(_ value: ArraySlice<UInt8>) -> String? {
        guard value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\""),
            !value.contains(UInt8(ascii: "\\"))
        else { return nil }
        return String(decoding: value.dropFirst().dropLast(), as: UTF8.self)
    }

    /// A non-negative integer value, or nil.
    package static func integer(_ value: ArraySlice<UInt8>) -> Int? {
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
        /// A high surrogate (`\ud800`-`\udbff`) must be followed by a low one, as Foundation requires.
        var expectingLowSurrogate = false
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if expectingLowSurrogate && byte != UInt8(ascii: "\\") { throw Malformed() }
            switch byte {
            case UInt8(ascii: "\""): return
            case UInt8(ascii: "\\"):
                guard let escaped = peek else { throw Malformed() }
                index += 1
                if escaped == UInt8(ascii: "u") {
                    guard let unit = hexUnit() else { throw Malformed() }
                    let high = (0xD800...0xDBFF).contains(unit)
                    let low = (0xDC00...0xDFFF).contains(unit)
                    if expectingLowSurrogate != low { throw Malformed() }
                    expectingLowSurrogate = high
                } else if expectingLowSurrogate || !"\"\\/bfnrt".utf8.contains(escaped) {
                    throw Malformed()
                }
            case 0..<0x20: throw Malformed()
            case 0x80...: try skipUTF8(lead: byte)
            default: continue
            }
        }
        throw Malformed()
    }

    /// The rest of a multi-byte UTF-8 sequence whose lead byte was just read:
    /// no stray continuation bytes, no overlong forms, no surrogates, nothing
    /// past U+10FFFF (the rules Foundation's parser applies).
    private mutating func skipUTF8(lead: UInt8) throws {
        let count: Int
        var range: ClosedRange<UInt8> = 0x80...0xBF  // the allowed second byte
        switch lead {
        case 0xC2...0xDF: count = 1
        case 0xE0: count = 2; range = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: count = 2
        case 0xED: count = 2; range = 0x80...0x9F
        case 0xF0: count = 3; range = 0x90...0xBF
        case 0xF1...0xF3: count = 3
        case 0xF4: count = 3; range = 0x80...0x8F
        default: throw Malformed()
        }
        guard index + count <= bytes.count, range.contains(bytes[index]) else { throw Malformed() }
        for offset in 1..<count where !(0x80...0xBF).contains(bytes[index + offset]) { throw Malformed() }
        index += count
    }

    /// The four hex digits after `\u`, as a UTF-16 code unit.
    private mutating func hexUnit() -> UInt16? {
        guard index + 4 <= bytes.count else { return nil }
        var unit: UInt16 = 0
        for byte in bytes[index..<(index + 4)] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            unit = unit << 4 | UInt16(digit)
        }
        index += 4
        return unit
    }

    /// RFC 8259's grammar, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; a
    /// number too large for a Double is refused, as Foundation refuses it.
    private mutating func skipNumber() throws {
        let start = index
        func digits() -> Int {
            let from = index
            while let byte = peek, byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { index += 1 }
            return index - from
        }
        if peek == UInt8(ascii: "-") { index += 1 }
        if peek == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            throw Malformed()
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw Malformed() }
        }
        var exponent = false
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw Malformed() }
            exponent = true
        }
        // Only a long number or one with an exponent can overflow; the common small ones skip the parse.
        if exponent || index - start > 300 {
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard let value = Double(text), value.isFinite else { throw Malformed() }
        }
    }
}

extension ArraySlice where Element == UInt8 {
    static func == (slice: ArraySlice<UInt8>, text: StaticString) -> Bool {
        slice.count == text.utf8CodeUnitCount && slice.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
