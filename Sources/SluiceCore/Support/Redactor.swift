import Foundation

/// Removes the run's secrets (the API key, every `--header-env` value, the proxy password) from anything
/// sluice stores, prints or logs that came from outside: gateway error bodies, batch result lines and
/// error files sometimes echo the credentials they were sent. One value for the whole run, so every path
/// that writes gateway text scrubs the same set (see `JobConfiguration.redactor`).
package struct Redactor: Sendable {
    /// Longest first, so a secret that contains another is replaced whole.
    private let secrets: [[UInt8]]
    package static let replacement = "[REDACTED]"

    package init(secret: String?) { self.init(secrets: [secret]) }

    /// Secrets shorter than 4 characters are not scrubbed (they would blank ordinary text). A secret with a
    /// character JSON escapes (a slash, a quote, a backslash) is also found in its escaped form, as a JSON body carries it.
    package init(secrets: [String?]) {
        var needles: Set<[UInt8]> = []
        for secret in secrets.compactMap({ $0 }) where secret.count >= 4 {
            needles.insert(Array(secret.utf8))
            var escaped: [UInt8] = []
            JSONText.appendQuoted(secret, to: &escaped)
            needles.insert(Array(escaped.dropFirst().dropLast()))
            needles.insert(Array(secret.replacingOccurrences(of: "/", with: "\\/").utf8))
        }
        self.secrets = needles.sorted { $0.count > $1.count }
    }

    /// True when there is nothing to scrub.
    package var isEmpty: Bool { secrets.isEmpty }

    package func scrub(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        for secret in secrets { bytes = Self.replace(secret, in: bytes) }
        return bytes
    }

    package func scrub(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        return String(decoding: scrub(Array(text.utf8)), as: UTF8.self)
    }

    private static func replace(_ secret: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= secret.count else { return bytes }
        var output: [UInt8] = []
        var copied = 0
        var index = 0
        let first = secret[0]
        bytes.withUnsafeBytes { haystack in
            secret.withUnsafeBytes { needle in
                // memchr for the first byte, memcmp for the rest (memmem is not in Glibc's default view).
                while index <= bytes.count - secret.count,
                    let hit = memchr(haystack.baseAddress! + index, Int32(first), bytes.count - secret.count + 1 - index)
                {
                    let offset = haystack.baseAddress!.distance(to: UnsafeRawPointer(hit))
                    if memcmp(haystack.baseAddress! + offset, needle.baseAddress!, secret.count) == 0 {
                        output += bytes[copied..<offset]
                        output += Array(Self.replacement.utf8)
                        copied = offset + secret.count
                        index = copied
                    } else {
                        index = offset + 1
                    }
                }
            }
        }
        guard copied > 0 else { return bytes }
        output += bytes[copied...]
        return output
    }
}
