import Foundation
import SluiceMockServer
import Testing

@testable import SluiceCore

/// The hand-written `JSONScanner` (kept for speed: see the planner and CPU rows
/// of `make bench`) held to Foundation's parser: on random and adversarial JSON
/// both must accept and reject the same texts, and for objects the scanner's
/// members must be the keys and values Foundation reads.
///
/// One difference is deliberate: Foundation accepts a trailing comma (`[1,]`,
/// `{"a":1,}`), which RFC 8259 does not allow. The scanner refuses it, because
/// what it accepts is spliced byte for byte into request bodies, and a gateway
/// would refuse such a body.
struct JSONScannerPropertyTests {
    /// Random JSON text from a seeded generator: every kind of value, escapes and
    /// surrogate pairs, raw multi-byte UTF-8, deep nesting, numbers at the edges.
    struct Generator {
        var rng: SplitMix64

        mutating func chance(_ probability: Double) -> Bool { Double(rng.next() % 10_000) / 10_000 < probability }
        mutating func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }

        mutating func whitespace() -> String { chance(0.7) ? "" : pick([" ", "\n", "\t", "\r\n", "  "]) }

        mutating func number() -> String {
            pick([
                "0", "-0", "1", "-1", "0.5", "-0.25", "1e308", "1E-308", "2.5e+10", "-1.5E3", "123456789012345678901234567890",
                "9223372036854775807", "-9223372036854775808", "18446744073709551616", "0.000001", "1e-400", "4.9e-324",
                String(rng.next() % 100_000), "-\(rng.next() % 1000).\(rng.next() % 1000)",
            ])
        }

        mutating func string() -> String {
            var text = "\""
            for _ in 0..<Int(rng.next() % 12) {
                text += pick([
                    "a", "Z", "0", " ", "é", "漢", "🚀", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
                    "\\u0041", "\\u00e9", "\\u4e2d", "\\ud83d\\ude80", "\\u0000", "\\u001f", "key",
                ])
            }
            return text + "\""
        }

        mutating func value(depth: Int) -> String {
            let kinds = depth > 0 ? 8 : 5
            switch rng.next() % UInt64(kinds) {
            case 0: return number()
            case 1: return string()
            case 2: return pick(["true", "false", "null"])
            case 3: return number()
            case 4: return string()
            case 5, 6: return object(depth: depth - 1)
            default: return array(depth: depth - 1)
            }
        }

        mutating func object(depth: Int) -> String {
            let count = Int(rng.next() % 5)
            var members: [String] = []
            for _ in 0..<count { members.append(whitespace() + string() + whitespace() + ":" + whitespace() + value(depth: depth) + whitespace()) }
            return "{" + members.joined(separator: ",") + whitespace() + "}"
        }

        mutating func array(depth: Int) -> String {
            let count = Int(rng.next() % 5)
            var elements: [String] = []
            for _ in 0..<count { elements.append(whitespace() + value(depth: depth) + whitespace()) }
            return "[" + elements.joined(separator: ",") + whitespace() + "]"
        }

        /// A valid text, then (sometimes) broken: a byte dropped, repeated or replaced by one a parser must look at twice.
        mutating func text() -> [UInt8] {
            var bytes = Array((whitespace() + value(depth: Int(rng.next() % 6)) + whitespace()).utf8)
            let mutations = chance(0.5) ? Int(rng.next() % 3) + 1 : 0
            for _ in 0..<mutations where !bytes.isEmpty {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(bytes[at], at: at)
                default: bytes[at] = pick(Array("{}[]:,\"\\.-+eE0u tfn".utf8))
                }
            }
            return bytes
        }
    }

    private func foundationAccepts(_ bytes: [UInt8]) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)
    }

    private func scannerAccepts(_ bytes: [UInt8]) -> Bool {
        do {
            _ = try JSONScanner.members(of: bytes)  // nil for a valid value that is not an object
            return true
        } catch {
            return false
        }
    }

    /// A comma followed (after whitespace) by `]` or `}`, outside strings.
    private func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var inString = false
        var escaped = false
        var afterComma = false
        for byte in bytes {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true; afterComma = false
            case UInt8(ascii: ","): afterComma = true
            case UInt8(ascii: "]"), UInt8(ascii: "}"): if afterComma { return true }
            case 0x20, 0x0A, 0x0D, 0x09: break
            default: afterComma = false
            }
        }
        return false
    }

    /// What the scanner should say: Foundation's verdict, but for trailing commas.
    private func expected(_ bytes: [UInt8]) -> Bool {
        foundationAccepts(bytes) != nil && !hasTrailingComma(bytes)
    }

    @Test func theScannerAndFoundationAgreeOnRandomAndBrokenJSON() {
        let seed = UInt64(ProcessInfo.processInfo.environment["SLUICE_JSON_SEED"] ?? "") ?? 20_261_127
        var generator = Generator(rng: SplitMix64(seed: seed))
        var disagreements: [String] = []
        var accepted = 0
        for _ in 0..<20_000 {
            let bytes = generator.text()
            let valid = expected(bytes)
            if valid != scannerAccepts(bytes) {
                disagreements.append(
                    "\(valid ? "Foundation accepts, the scanner refuses" : "the scanner accepts, Foundation refuses"): \(String(decoding: bytes, as: UTF8.self))"
                )
            }
            if valid { accepted += 1 }
        }
        #expect(disagreements.isEmpty, "seed \(seed): \(disagreements.count) disagreements, e.g.\n\(disagreements.prefix(8).joined(separator: "\n"))")
        #expect(accepted > 5_000 && accepted < 18_000, "both valid and broken texts were tried (\(accepted) valid)")
    }

    @Test func forObjectsTheMembersAreTheOnesFoundationReads() throws {
        var generator = Generator(rng: SplitMix64(seed: 7))
        var checked = 0
        for _ in 0..<5_000 {
            let bytes = Array(generator.object(depth: 3).utf8)
            guard let dictionary = foundationAccepts(bytes) as? [String: Any], let members = try JSONScanner.members(of: bytes) else { continue }
            let object = RawObject(bytes: bytes, members: members)
            for (key, value) in dictionary {
                let raw = try #require(object.raw(key), "key \(key) missing in \(String(decoding: bytes, as: UTF8.self))")
                let reparsed = foundationAccepts(Array(raw))
                #expect(reparsed.map { NSArray(array: [$0]) } == NSArray(array: [value]), "value of \(key) in \(String(decoding: bytes, as: UTF8.self))")
            }
            checked += 1
        }
        #expect(checked > 1000)
    }

    @Test(arguments: [
        "1.", ".5", "01", "-", "1e", "1e+", "+1", "1.5.2", "1-2", "--1", "0x10", "1E5", "-0.0e-0", "[1,]", "[,1]", "{\"a\":1,}",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\ude80\"", "\"\\u12\"", "\"tab\there\"", "nul", "truex", "[true false]",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        String(repeating: "[", count: 400) + String(repeating: "]", count: 400),
    ])
    func edgeCasesMatchFoundation(text: String) {
        let bytes = Array(text.utf8)
        #expect(expected(bytes) == scannerAccepts(bytes), "\(text.prefix(40))")
    }
}
