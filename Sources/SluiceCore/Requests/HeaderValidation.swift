/// Header names and values come from job files and input lines; a newline in
/// one would let a line inject headers of its own, so both are checked.
package enum HeaderValidation {
    /// RFC 9110 token characters.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    return true
                default:
                    return "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }

    package static func checkPropertyName(_ name: String) throws {
        guard isToken(name) else {
            throw InputProblem(
                code: .invalidField,
                message: "property name \"\(name)\" cannot be used in a header (letters, digits and -_. only)")
        }
    }

    package static func checkHeaderName(_ name: String) throws {
        guard isToken(name) else {
            throw InputProblem(code: .invalidField, message: "\"\(name)\" is not a valid header name")
        }
    }

    /// Headers that carry a credential, by name (case-insensitive; `_` counts as `-`): the API key's own
    /// `authorization`, `proxy-authorization`, `cookie`, any `api-key` (`x-api-key`, Azure's `api-key`, Portkey's
    /// `x-portkey-api-key`), any `*-token`, `*-auth` (Helicone-Auth), anything naming a secret, and Portkey's
    /// virtual key. The one rule: such a header's value comes from the environment (`--header-env`), never from
    /// argv (readable with `ps`) or a job file (committed, shared), and is kept out of the checkpoint.
    package static func isCredential(_ name: String) -> Bool {
        let name = name.lowercased().replacingOccurrences(of: "_", with: "-")
        if credentialNames.contains(name) || name.contains("secret") { return true }
        return credentialSuffixes.contains { name.hasSuffix($0) }
    }

    static let credentialNames: Set<String> = ["authorization", "proxy-authorization", "cookie", "api-key", "x-portkey-virtual-key"]
    static let credentialSuffixes = ["-api-key", "-token", "-auth"]

    package static func checkValue(_ value: String, for what: String) throws {
        guard !value.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
            throw InputProblem(code: .invalidField, message: "\(what) contains a line break, which cannot be sent as a header")
        }
    }

    /// HTTP header values are bytes that gateways read as Latin-1 or refuse, so a value with any non-ASCII
    /// character (`"café"`) is sent percent-encoded as a whole, UTF-8 (`caf%C3%A9`), as browsers encode
    /// URLs; a plain ASCII value goes as it is. Decoding `%XX` in the gateway's dashboard gives the text back.
    /// A JSON value (Portkey's `x-portkey-metadata`, LiteLLM's spend-logs metadata) keeps being JSON: its
    /// non-ASCII characters become `\uXXXX` escapes instead.
    package static func sendable(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 >= 0x80 }) else { return value }
        if value.hasPrefix("{"), value.hasSuffix("}") {
            var escaped = ""
            for unit in value.utf16 {
                if unit < 0x80 { escaped.unicodeScalars.append(Unicode.Scalar(UInt8(unit))) } else { escaped += String(format: "\\u%04x", unit) }
            }
            return escaped
        }
        var encoded = ""
        encoded.reserveCapacity(value.utf8.count * 3)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}
