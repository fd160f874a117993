import Foundation

/// Splits a `ChunkReader` into lines with `memchr`, never holding more than one
/// line plus one chunk in memory. Lines over `maxLineBytes` are skipped without
/// being buffered and reported as oversized.
package final class LineReader {
    private let source: ChunkReader
    private let maxLineBytes: Int
    private var chunk: UnsafeRawBufferPointer?
    private var position = 0
    private var partial: [UInt8] = []
    private var partialLength = 0
    private var lineNumber = 0
    private var ended = false

    /// How far through its file the reader is, by bytes.
    package var fractionRead: Double { source.fractionRead }

    package init(source: ChunkReader, maxLineBytes: Int) {
        self.source = source
        self.maxLineBytes = maxLineBytes
    }

    package func next() throws -> InputLine? {
        while !ended {
            if chunk == nil || position >= chunk!.count {
                guard let next = try source.nextChunk() else {
                    ended = true
                    if partialLength > 0 { return finishLine() }
                    return nil
                }
                chunk = next
                position = 0
            }
            let base = chunk!.baseAddress! + position
            let available = chunk!.count - position
            if let found = memchr(base, 0x0A, available) {
                let length = base.distance(to: UnsafeRawPointer(found))
                append(UnsafeRawBufferPointer(start: base, count: length))
                position += length + 1
                return finishLine()
            }
            append(UnsafeRawBufferPointer(start: base, count: available))
            position += available
        }
        return nil
    }

    private func append(_ bytes: UnsafeRawBufferPointer) {
        partialLength += bytes.count
        if partialLength <= maxLineBytes { partial.append(contentsOf: bytes) }
    }

    private func finishLine() -> InputLine {
        lineNumber += 1
        let oversized = partialLength > maxLineBytes
        var bytes = oversized ? [] : partial
        if bytes.last == 0x0D { bytes.removeLast() }  // CRLF files
        // A UTF-8 byte order mark (Windows editors write one) is not part of the first line, as with Python's utf-8-sig.
        if lineNumber == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let line = InputLine(number: lineNumber, bytes: bytes, oversized: oversized, length: partialLength)
        partial.removeAll(keepingCapacity: partial.capacity <= 1 << 20)
        partialLength = 0
        return line
    }
}
