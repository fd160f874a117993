import CZlib
import Foundation

/// Streaming gzip decompression with zlib. Handles multi-member files
/// (`cat a.gz b.gz`) and treats end-of-file before the end of a gzip member as
/// corruption, which zlib alone would accept silently.
package final class GzipChunkReader: ChunkReader {
    private let source: FileChunkReader
    package var fractionRead: Double { source.fractionRead }
    private let path: String
    private var stream = z_stream()
    private let output: UnsafeMutableRawBufferPointer
    private var input: UnsafeRawBufferPointer?
    private var sourceEnded = false
    private var memberEnded = false
    private var failed = false
    /// Damage found after some output of the same call was produced: that output is
    /// returned first (the lines before the damage still run), the error on the next call.
    private var pendingError: SluiceError?

    init(source: FileChunkReader, path: String, chunkSize: Int) throws {
        self.source = source
        self.path = path
        output = .allocate(byteCount: chunkSize, alignment: 16)
        // 15 + 32: accept gzip or zlib headers.
        let status = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            output.deallocate()
            throw SluiceError(.input, "\(path): cannot start gzip decompression (zlib \(status))")
        }
    }

    deinit {
        inflateEnd(&stream)
        output.deallocate()
    }

    package func nextChunk() throws -> UnsafeRawBufferPointer? {
        if let pendingError {
            self.pendingError = nil
            failed = true
            throw pendingError
        }
        if failed { return nil }
        while true {
            if stream.avail_in == 0, !sourceEnded {
                if let chunk = try source.nextChunk() {
                    input = chunk
                    stream.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress!.assumingMemoryBound(to: Bytef.self))
                    stream.avail_in = uInt(chunk.count)
                } else {
                    sourceEnded = true
                }
            }
            if stream.avail_in == 0, sourceEnded {
                if memberEnded { return nil }
                failed = true
                throw SluiceError(.corruptInput, "\(path): gzip stream is truncated (file ends before the end of the compressed data)")
            }
            if memberEnded {
                // More bytes after a finished member: the next member of a multi-member file.
                inflateReset(&stream)
                memberEnded = false
            }
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(output.count)
            let status = inflate(&stream, Z_NO_FLUSH)
            let produced = output.count - Int(stream.avail_out)
            switch status {
            case Z_OK, Z_BUF_ERROR:
                break
            case Z_STREAM_END:
                memberEnded = true
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                let error = SluiceError(.corruptInput, "\(path): gzip stream is corrupt (\(detail))")
                if produced > 0 {
                    pendingError = error
                    return UnsafeRawBufferPointer(rebasing: output[0..<produced])
                }
                failed = true
                throw error
            }
            if produced > 0 { return UnsafeRawBufferPointer(rebasing: output[0..<produced]) }
        }
    }
}
