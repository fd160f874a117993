import CZlib

/// Compresses the answers a checkpoint stores, with a preset dictionary trained on the job's first answers
/// (tag byte `0x01`; anything else is plain JSON, so older checkpoints read as they are). Why a trained
/// dictionary, why `deflateCopy`, and why a dictionary is only used once committed: the DocC article
/// "Checkpoint compression".
///
/// ```swift
/// let codec = BodyCodec(dictionary: storedDictionary)
/// let stored = codec.encode(body)                    // plain while it is still learning
/// if let trained = codec.proposedDictionary { save(trained) }
/// commit(); codec.confirmDictionary()                // or, if the commit failed: codec.discardProposal()
/// let body = try codec.decode(stored)
/// ```
package final class BodyCodec {
    static let dictionaryTag: UInt8 = 0x01
    /// Answers sampled before the dictionary is built.
    package static let samplesWanted = 16
    static let dictionaryLimit = 4 << 10

    private(set) var dictionary: [UInt8]?
    /// Trained and waiting to be saved; not used until confirmed.
    package private(set) var proposedDictionary: [UInt8]?
    private var samples: [[UInt8]] = []
    /// Holds `dictionary`, loaded once; never deflates itself, only copied.
    private var primed = z_stream()
    private var primedReady = false
    /// The copy a body is deflated on.
    private let scratch = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var inflater = z_stream()
    private var inflaterReady = false
    private var output = [UInt8](repeating: 0, count: 64 << 10)
    /// Where `primed` and its copies get their memory (see `ZlibBlocks`).
    private let blocks = ZlibBlocks()
    /// Raw deflate (negative: no zlib header or checksum on each small answer), 8 KB window.
    static let windowBits: Int32 = -13
    static let memoryLevel: Int32 = 5

    package init(dictionary: [UInt8]?) {
        self.dictionary = dictionary
        scratch.initialize(to: z_stream())
    }

    deinit {
        if primedReady { deflateEnd(&primed) }
        if inflaterReady { inflateEnd(&inflater) }
        scratch.deinitialize(count: 1)
        scratch.deallocate()
    }

    /// The proposed dictionary was saved: use it from now on.
    package func confirmDictionary() {
        guard let proposedDictionary else { return }
        dictionary = proposedDictionary
        self.proposedDictionary = nil
        if primedReady {
            deflateEnd(&primed)
            primedReady = false
        }
    }

    /// Saving the proposed dictionary failed: learn again from the next bodies.
    package func discardProposal() {
        proposedDictionary = nil
    }

    package func encode(_ body: [UInt8]) -> [UInt8] {
        guard let dictionary else {
            learn(from: body)
            return body
        }
        return deflate(body, dictionary: dictionary) ?? body
    }

    package func decode(_ stored: [UInt8]) throws -> [UInt8] {
        guard stored.first == Self.dictionaryTag else { return stored }
        guard let dictionary else {
            throw SluiceError(.checkpoint, "a stored body is compressed but the checkpoint has no dictionary for it")
        }
        return try inflate(stored.dropFirst(), dictionary: dictionary)
    }

    private func learn(from body: [UInt8]) {
        guard !body.isEmpty, proposedDictionary == nil else { return }
        // A large body's beginning holds what bodies share (keys, ids, model names).
        samples.append(Array(body.prefix(Self.dictionaryLimit / 2)))
        guard samples.count >= Self.samplesWanted else { return }
        // Deflate finds matches best near the end of the dictionary: the newest samples go last.
        proposedDictionary = Array(samples.joined().suffix(Self.dictionaryLimit))
        samples = []
    }

    /// Loads the dictionary into `primed` once (zlib level 1: most of the gain, a fraction of the CPU).
    private func prime(_ dictionary: [UInt8]) -> Bool {
        guard !primedReady else { return true }
        let size = Int32(MemoryLayout<z_stream>.size)
        // The copies inherit this allocator: their blocks are reused from body to body.
        blocks.serve(&primed)
        guard deflateInit2_(&primed, 1, Z_DEFLATED, Self.windowBits, Self.memoryLevel, Z_DEFAULT_STRATEGY, ZLIB_VERSION, size) == Z_OK else {
            return false
        }
        guard dictionary.withUnsafeBufferPointer({ deflateSetDictionary(&primed, $0.baseAddress, uInt($0.count)) }) == Z_OK else {
            deflateEnd(&primed)
            return false
        }
        primedReady = true
        return true
    }

    private func deflate(_ body: [UInt8], dictionary: [UInt8]) -> [UInt8]? {
        guard prime(dictionary), deflateCopy(scratch, &primed) == Z_OK else { return nil }
        defer { deflateEnd(scratch) }
        let deflater = scratch
        let bound = Int(deflateBound(deflater, uLong(body.count)))
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let status: Int32 = body.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                deflater.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                deflater.pointee.avail_in = uInt(input.count)
                deflater.pointee.next_out = out.baseAddress
                deflater.pointee.avail_out = uInt(out.count)
                return CZlib.deflate(deflater, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        let produced = output.count - Int(deflater.pointee.avail_out)
        // Not worth it: keep the plain JSON (readable in the database with any SQLite shell).
        guard produced + 1 < body.count else { return nil }
        return [Self.dictionaryTag] + output[0..<produced]
    }

    private func inflate(_ compressed: ArraySlice<UInt8>, dictionary: [UInt8]) throws -> [UInt8] {
        if !inflaterReady {
            guard inflateInit2_(&inflater, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw SluiceError(.checkpoint, "cannot start decompressing a stored body")
            }
            inflaterReady = true
        } else {
            inflateReset(&inflater)
        }
        _ = dictionary.withUnsafeBufferPointer { inflateSetDictionary(&inflater, $0.baseAddress, uInt($0.count)) }
        var result: [UInt8] = []
        var status: Int32 = Z_OK
        compressed.withUnsafeBufferPointer { input in
            inflater.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            inflater.avail_in = uInt(input.count)
            repeat {
                let produced: Int = output.withUnsafeMutableBufferPointer { out in
                    inflater.next_out = out.baseAddress
                    inflater.avail_out = uInt(out.count)
                    status = CZlib.inflate(&inflater, Z_NO_FLUSH)
                    return out.count - Int(inflater.avail_out)
                }
                result += output[0..<produced]
            } while status == Z_OK && inflater.avail_in > 0 || (status == Z_OK && inflater.avail_out == 0)
        }
        guard status == Z_STREAM_END else {
            throw SluiceError(.checkpoint, "a stored body is damaged (zlib \(status))")
        }
        return result
    }
}
