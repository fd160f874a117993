import CZlib
import Foundation

/// The memory zlib asks for, kept for the next body instead of freed.
///
/// `BodyCodec` deflates each body on a `deflateCopy` of one primed stream, and every copy asks for the same
/// five blocks (8-16 KB each) that `deflateEnd` then frees. Blocks that size take malloc's slow path,
/// which also consolidates the small free chunks the rest of sluice leaves: about 1 µs per answer. Kept
/// here, a copy costs its memcpy only. One codec's streams use one instance, from one thread at a time.
final class ZlibBlocks {
    /// Each block starts with its size, so that `give` (zlib passes only the address) knows where it goes.
    private static let header = 16
    /// Enough for a primed stream and its copy; more are freed.
    private static let kept = 16
    private var spare: [(size: Int, block: UnsafeMutableRawPointer)] = []

    deinit {
        for (_, block) in spare { free(block - Self.header) }
    }

    func take(_ size: Int) -> UnsafeMutableRawPointer? {
        if let index = spare.firstIndex(where: { $0.size == size }) {
            return spare.remove(at: index).block
        }
        guard let raw = malloc(size + Self.header) else { return nil }
        raw.storeBytes(of: size, as: Int.self)
        return raw + Self.header
    }

    func give(_ block: UnsafeMutableRawPointer) {
        guard spare.count < Self.kept else {
            free(block - Self.header)
            return
        }
        spare.append(((block - Self.header).load(as: Int.self), block))
    }

    /// Points `stream`'s allocator here: before its `deflateInit2_`, and only while this instance lives.
    func serve(_ stream: inout z_stream) {
        stream.opaque = Unmanaged.passUnretained(self).toOpaque()
        stream.zalloc = { opaque, items, size in
            guard let opaque else { return nil }
            return Unmanaged<ZlibBlocks>.fromOpaque(opaque).takeUnretainedValue().take(Int(items) * Int(size))
        }
        stream.zfree = { opaque, block in
            guard let opaque, let block else { return }
            Unmanaged<ZlibBlocks>.fromOpaque(opaque).takeUnretainedValue().give(block)
        }
    }
}
