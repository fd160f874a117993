import CZlib

extension InputFingerprint {
    /// Reads the whole file: fast enough to run on each start (zlib's crc32 reads well over a gigabyte per second).
    package static func of(path: String) throws -> InputFingerprint {
        let reader = try FileChunkReader(path: path)
        var crc = crc32(0, nil, 0)
        while let chunk = try reader.nextChunk() {
            crc = crc32(crc, chunk.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(chunk.count))
        }
        guard reader.size > 0 else {
            throw SluiceError(.input, "\(path): the input is empty (no lines to send)")
        }
        return InputFingerprint(size: reader.size, checksum: UInt32(crc))
    }
}
