import Foundation

/// Plain `read(2)` into one reused buffer.
package final class FileChunkReader: ChunkReader {
    let path: String
    private let fd: Int32
    private let buffer: UnsafeMutableRawBufferPointer
    let size: Int64
    private(set) var bytesRead: Int64 = 0
    package var fractionRead: Double { size > 0 ? min(Double(bytesRead) / Double(size), 1) : 1 }

    package init(path: String, chunkSize: Int = 256 << 10) throws {
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

    package func nextChunk() throws -> UnsafeRawBufferPointer? {
        while true {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                bytesRead += Int64(count)
                return UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            }
            if count == 0 { return nil }
            if errno == EINTR { continue }
            throw SluiceError(.input, "\(path): read failed (\(String(cString: strerror(errno))))")
        }
    }
}
