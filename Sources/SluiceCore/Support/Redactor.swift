import Foundation

/// Removes the API key from anything sluice stores or prints that came from
/// outside (gateway error bodies sometimes echo the key they refused).
public struct Redactor: Sendable {
    private let secret: [UInt8]?
    public static let replacement = "[REDACTED]"

    public init(secret: String?) {
        self.secret = secret.flatMap { $0.count >= 4 ? Array($0.utf8) : nil }
    }

    public func scrub(_ bytes: [UInt8]) -> [UInt8] {
        guard let secret, bytes.count >= secret.count else { return bytes }
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

    public func scrub(_ text: String) -> String {
        guard secret != nil else { return text }
        return String(decoding: scrub(Array(text.utf8)), as: UTF8.self)
    }
}
