/// FNV-1a over bytes, for cheap change detection of input lines.
package enum Digest64 {
    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    package static func of<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        continuing(offsetBasis, bytes)
    }

    /// The digest of `first`, `second` and `third` joined by NUL bytes, without building the joined copy:
    /// request bodies are hashed once per item, and copying each to hash it would double the work.
    package static func of(_ first: String, _ second: String, _ third: [UInt8]) -> UInt64 {
        var hash = continuing(offsetBasis, first.utf8)
        hash = continuing(hash, CollectionOfOne(0))
        hash = continuing(hash, second.utf8)
        hash = continuing(hash, CollectionOfOne(0))
        return continuing(hash, third)
    }

    /// FNV-1a is sequential: hashing more bytes continues from the digest so far.
    static func continuing<Bytes: Sequence>(_ start: UInt64, _ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash = start
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
