import Foundation

extension JSONSchema {
    /// A JSON number. Kept as an exact `Int64` next to the `Double` whenever it is integral and
    /// in range, because JSONSerialization hands big integers over exactly and `const`/`enum`
    /// must not confuse 2^53 with 2^53 + 1 (a Double cannot tell them apart).
    struct Number: Sendable, Hashable, Comparable, CustomStringConvertible {
        var double: Double
        var exact: Int64?

        init(_ integer: Int64) {
            double = Double(integer)
            exact = integer
        }

        init(_ double: Double) {
            self.double = double
            exact = Int64(exactly: double)
        }

        /// JSON Schema's "integer" is a mathematical notion: 1.0 is one too.
        var isInteger: Bool { exact != nil || (double.isFinite && double.rounded(.towardZero) == double) }

        static func == (lhs: Number, rhs: Number) -> Bool {
            if let left = lhs.exact, let right = rhs.exact { return left == right }
            return lhs.double == rhs.double
        }

        /// Hashes the Double only: numbers that are equal always have equal Doubles.
        func hash(into hasher: inout Hasher) { hasher.combine(double) }

        static func < (lhs: Number, rhs: Number) -> Bool {
            if let left = lhs.exact, let right = rhs.exact { return left < right }
            return lhs.double < rhs.double
        }

        /// Whether `self` divided by `divisor` (> 0) is an integer. Binary floating point gets
        /// common cases wrong (19.99 / 0.01 = 1998.9999999999998), so non-integers are divided
        /// as decimals, spelled the way the JSON most likely wrote them; values outside
        /// Decimal's range fall back to Double, where an infinite quotient is no multiple.
        func isMultiple(of divisor: Number) -> Bool {
            if let value = exact, let step = divisor.exact { return value % step == 0 }
            let quotient = double / divisor.double
            guard quotient.isFinite else { return false }
            if let value = Decimal(string: "\(double)"), let step = Decimal(string: "\(divisor.double)"), step != 0 {
                var exactQuotient = value / step
                var rounded = Decimal()
                NSDecimalRound(&rounded, &exactQuotient, 0, .plain)
                return rounded == exactQuotient
            }
            return quotient.rounded(.towardZero) == quotient
        }

        var description: String {
            if let exact { return String(exact) }
            if isInteger, abs(double) < 1e15 { return String(Int64(double)) }
            return "\(double)"
        }
    }

    /// A JSON value owned by the schema (`const`, `enum`) or made from an instance for
    /// comparison, with JSON Schema's equality: objects unordered, numbers by value, booleans
    /// never numbers, and strings by code point — Swift's `==` would call "é" and "e\u{301}"
    /// equal. (The synthesized hash stays consistent: equal code points hash alike.)
    enum Value: Sendable, Hashable, CustomStringConvertible {
        case null
        case bool(Bool)
        case number(Number)
        case string(String)
        case array([Value])
        case object([String: Value])

        /// nil when `foundation` (or anything inside it) is not something JSONSerialization produces.
        init?(foundation: Any) {
            switch Instance(foundation) {
            case .null: self = .null
            case .bool(let flag): self = .bool(flag)
            case .number(let number): self = .number(number)
            case .string(let text): self = .string(text)
            case .array(let elements):
                var values: [Value] = []
                values.reserveCapacity(elements.count)
                for element in elements {
                    guard let value = Value(foundation: element) else { return nil }
                    values.append(value)
                }
                self = .array(values)
            case .object(let members):
                var values: [String: Value] = [:]
                values.reserveCapacity(members.count)
                for (key, member) in members {
                    guard let value = Value(foundation: member) else { return nil }
                    values[key] = value
                }
                self = .object(values)
            case .unsupported: return nil
            }
        }

        static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.null, .null): return true
            case (.bool(let left), .bool(let right)): return left == right
            case (.number(let left), .number(let right)): return left == right
            case (.string(let left), .string(let right)): return left.unicodeScalars.elementsEqual(right.unicodeScalars)
            case (.array(let left), .array(let right)): return left.count == right.count && zip(left, right).allSatisfy { $0 == $1 }
            case (.object(let left), .object(let right)):
                return left.count == right.count
                    && left.allSatisfy { key, value in
                        guard let index = right.index(forKey: key) else { return false }
                        return right[index].key.unicodeScalars.elementsEqual(key.unicodeScalars) && right[index].value == value
                    }
            default: return false
            }
        }

        /// Compact JSON with sorted keys, so messages are stable from run to run.
        var description: String {
            switch self {
            case .null: return "null"
            case .bool(let flag): return flag ? "true" : "false"
            case .number(let number): return number.description
            case .string(let text): return JSONSchema.quoted(text)
            case .array(let values): return "[" + values.map(\.description).joined(separator: ",") + "]"
            case .object(let members):
                let pairs = members.keys.sorted().map { JSONSchema.quoted($0) + ":" + members[$0]!.description }
                return "{" + pairs.joined(separator: ",") + "}"
            }
        }
    }

    /// One level of a Foundation JSON value, told apart without CoreFoundation type IDs.
    /// On Linux `true` arrives as an NSNumber that also casts to Int (and 1 casts to Bool),
    /// so booleans are recognised by the NSNumber's objCType ("c"/"B"), never by `is Bool`.
    enum Instance {
        case null
        case bool(Bool)
        case number(Number)
        case string(String)
        case array([Any])
        case object([String: Any])
        case unsupported

        init(_ value: Any) {
            // Exact-type checks first: a failing `as?` to a bridged type costs a conformance
            // search, and this runs for every value of every answer.
            let kind = type(of: value)
            if kind == String.self, let text = value as? String {
                self = .string(text)
            } else if kind == [String: Any].self, let members = value as? [String: Any] {
                self = .object(members)
            } else if kind == [Any].self, let elements = value as? [Any] {
                self = .array(elements)
            } else if kind is NSNumber.Type, let number = value as? NSNumber {
                self = Instance(number)
            } else if let text = value as? String {
                self = .string(text)
            } else if let members = value as? [String: Any] {
                self = .object(members)
            } else if let elements = value as? [Any] {
                self = .array(elements)
            } else if value is NSNull {
                self = .null
            } else if type(of: value) == Bool.self, let flag = value as? Bool {
                self = .bool(flag)
            } else if type(of: value) == Int.self, let integer = value as? Int {
                self = .number(Number(Int64(integer)))
            } else if type(of: value) == Double.self, let double = value as? Double {
                self = double.isFinite ? .number(Number(double)) : .unsupported
            } else if let number = value as? NSNumber {
                self = Instance(number)
            } else {
                self = .unsupported
            }
        }

        private init(_ number: NSNumber) {
            switch UInt8(bitPattern: number.objCType.pointee) {
            case UInt8(ascii: "c"), UInt8(ascii: "B"):
                self = .bool(number.boolValue)
            case UInt8(ascii: "d"), UInt8(ascii: "f"):
                let double = number.doubleValue
                self = double.isFinite ? .number(Number(double)) : .unsupported
            case UInt8(ascii: "Q"), UInt8(ascii: "L"), UInt8(ascii: "I"), UInt8(ascii: "S"), UInt8(ascii: "C"):
                let unsigned = number.uint64Value
                self = .number(unsigned <= UInt64(Int64.max) ? Number(Int64(unsigned)) : Number(Double(unsigned)))
            default:
                self = .number(Number(number.int64Value))
            }
        }

        /// The instance as a comparable value; nil when something inside is not JSON.
        var value: Value? {
            switch self {
            case .null: return .null
            case .bool(let flag): return .bool(flag)
            case .number(let number): return .number(number)
            case .string(let text): return .string(text)
            case .array(let elements): return Value(foundation: elements)
            case .object(let members): return Value(foundation: members)
            case .unsupported: return nil
            }
        }

        /// How messages name the instance: scalars with their value, containers by kind only.
        var summary: String {
            switch self {
            case .null: return "null"
            case .bool(let flag): return flag ? "boolean true" : "boolean false"
            case .number(let number): return (number.isInteger ? "integer " : "number ") + number.description
            case .string(let text): return "string " + JSONSchema.excerpt(text)
            case .array(let elements): return "array of \(elements.count) item" + (elements.count == 1 ? "" : "s")
            case .object(let members): return "object with \(members.count) propert" + (members.count == 1 ? "y" : "ies")
            case .unsupported: return "a non-JSON value"
            }
        }
    }

    /// A JSON string literal, escaped as JSON requires.
    static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        JSONText.appendQuoted(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A quoted string cut short: model answers can be long, messages should stay one line.
    static func excerpt(_ text: String, limit: Int = 60) -> String {
        guard text.count > limit else { return quoted(text) }
        return quoted(String(text.prefix(limit))) + "…"
    }

    /// A value rendered for a message, cut short the same way.
    static func excerpt(_ value: Value, limit: Int = 80) -> String {
        if case .string(let text) = value { return excerpt(text, limit: limit) }
        let text = value.description
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}
