import Foundation

/// Identifies an input file's content so a resumed job can refuse an input that
/// changed under it: size plus a CRC-32 of every byte. The checkpoint keeps it
/// with each input's planning record; `of(path:)` (in Input/) computes it.
package struct InputFingerprint: Equatable, Sendable, CustomStringConvertible {
    package var size: Int64
    package var checksum: UInt32

    package var checksumText: String { String(format: "crc32:%08x", checksum) }
    package var description: String { "\(size) bytes, \(checksumText)" }
}
