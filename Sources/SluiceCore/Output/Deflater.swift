import CZlib

/// Streaming gzip compression with zlib (windowBits 15 + 16: gzip header).
final class Deflater {
    private var stream = z_stream()
    private var out = [UInt8](repeating: 0, count: 256 << 10)

    init(path: String) throws {
        let status = deflateInit2_(
            &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw SluiceError(.output, "\(path): cannot start gzip compression (zlib \(status))") }
    }

    deinit { deflateEnd(&stream) }

    /// `sync`: end on a byte boundary (Z_SYNC_FLUSH) so everything so far can be decompressed.
    func compress(_ input: [UInt8], finish: Bool, sync: Bool = false) throws -> [UInt8] {
        var result: [UInt8] = []
        var input = input
        let count = input.count
        try input.withUnsafeMutableBytes { raw in
            stream.next_in = raw.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = uInt(count)
            repeat {
                let status: Int32 = out.withUnsafeMutableBytes { outRaw in
                    stream.next_out = outRaw.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(outRaw.count)
                    return deflate(&stream, finish ? Z_FINISH : (sync ? Z_SYNC_FLUSH : Z_NO_FLUSH))
                }
                guard status != Z_STREAM_ERROR else { throw SluiceError(.output, "gzip compression failed") }
                result += out[0..<(out.count - Int(stream.avail_out))]
                if finish, status == Z_STREAM_END { break }
            } while finish || stream.avail_out == 0
        }
        return result
    }
}
