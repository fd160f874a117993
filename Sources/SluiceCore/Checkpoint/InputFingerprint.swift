import Foundation

/// Identifies an input file's content so a resumed job can refuse an input that
/// changed under it: size plus a CRC-32 of every byte. The checkpoint keeps it
/// with each input's planning record; `of(path:)` (in Input/) computes it.
public struct InputFingerprint: Equatable, Sendable, CustomStringConvertible {
    public var size: Int64
    public var checksum: UInt32

    public var checksumText: String { String(format: "crc32:%08x", checksum) }
    public var description: String { "\(size) bytes, \(checksumText)" }
}
