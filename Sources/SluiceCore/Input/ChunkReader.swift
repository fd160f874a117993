import Foundation

/// A source of input bytes delivered in large chunks, so that memory stays
/// constant however long the file is.
///
/// ```swift
/// let reader = try openInput(path: "prompts.jsonl.gz")   // gzip picked by magic bytes
/// while let chunk = try reader.nextChunk() { ... }
/// ```
package protocol ChunkReader: AnyObject {
    /// The next chunk, valid until the following call; nil at the end of input.
    func nextChunk() throws -> UnsafeRawBufferPointer?
    /// How far through the file this is, 0...1 by bytes read from it (compressed bytes for gzip).
    var fractionRead: Double { get }
}

/// Opens an input file, choosing gzip decompression from the file's first two
/// bytes (1f 8b) rather than from its name.
package func openInput(path: String, chunkSize: Int = 256 << 10) throws -> ChunkReader {
    let file = try FileChunkReader(path: path, chunkSize: chunkSize)
    return file.startsWithGzipMagic ? try GzipChunkReader(source: file, path: path, chunkSize: chunkSize) : file
}
