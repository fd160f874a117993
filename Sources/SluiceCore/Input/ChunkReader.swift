import CZlib
import Foundation

/// A source of input bytes delivered in large chunks, so that memory stays
/// constant however long the file is.
///
/// ```swift
/// let reader = try openInput(path: "prompts.jsonl.gz")   // gzip picked by magic bytes
/// while let chunk = try reader.nextChunk() { ... }
/// ```
public protocol ChunkReader: AnyObject {
    /// The next chunk, valid until the following call; nil at the end of input.
    func nextChunk() throws -> UnsafeRawBufferPointer?
}

/// Opens an input file, choosing gzip decompression from the file's first two
/// bytes (1f 8b) rather than from its name.
public func openInput(path: String, chunkSize: Int = 1 << 20) throws -> ChunkReader {
    let file = try FileChunkReader(path: path, chunkSize: chunkSize)
    return file.startsWithGzipMagic ? try GzipChunkReader(source: file, path: path, chunkSize: chunkSize) : file
}

/// Plain `read(2)` into one reused buffer.
public final class FileChunkReader: ChunkReader {
    let path: String
    private let fd: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    let size: Int64

    public init(path: String, chunkSize: Int = 1 << 20) throws {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SluiceError(.input, "\(path): cannot open input (\(String(cString: strerror(errno))))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw SluiceError(.input, "\(path): is a directory, expected a JSONL file")
        }
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SluiceError(.input, "\(path): cannot open input (\(String(cString: strerror(errno))))")
        }
        size = Int64(info.st_size)
        buffer = .allocate(byteCount: chunkSize, alignment: 16)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    var startsWithGzipMagic: Bool {
        var magic: [UInt8] = [0, 0]
        return pread(fd, &magic, 2, 0) == 2 && magic == [0x1f, 0x8b]
    }

    public func nextChunk() throws -> UnsafeRawBufferPointer? {
        while true {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 { return UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }
            if count == 0 { return nil }
            if errno == EINTR { continue }
            throw SluiceError(.input, "\(path): read failed (\(String(cString: strerror(errno))))")
        }
    }
}

/// Streaming gzip decompression with zlib. Handles multi-member files
/// (`cat a.gz b.gz`) and treats end-of-file before the end of a gzip member as
/// corruption, which zlib alone would accept silently.
public final class GzipChunkReader: ChunkReader {
    private let source: FileChunkReader
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

    public func nextChunk() throws -> UnsafeRawBufferPointer? {
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
