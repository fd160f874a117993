import CZlib
import CZstd

/// Compresses the answers and request bodies a checkpoint stores, with a preset dictionary trained on the
/// job's first bodies: zstd (tag byte `0x02`); bodies stored by earlier builds with zlib (tag `0x01`) still
/// read; anything else is plain JSON. Why a trained dictionary, why zstd, and why a dictionary is only used
/// once committed: the DocC article "Checkpoint compression".
///
/// ```swift
/// let codec = BodyCodec(dictionary: storedDictionary)
/// let stored = codec.encode(body)                    // plain while it is still learning
/// if let trained = codec.proposedDictionary { save(trained) }
/// commit(); codec.confirmDictionary()                // or, if the commit failed: codec.discardProposal()
/// let body = try codec.decode(stored)
/// ```
package final class BodyCodec {
    /// What this build writes: a magicless zstd frame against the dictionary.
    static let dictionaryTag: UInt8 = 0x02
    /// Raw deflate against the same dictionary, as builds before zstd wrote it: read, never written.
    static let zlibTag: UInt8 = 0x01
    /// Answers sampled before the dictionary is built.
    package static let samplesWanted = 16
    static let dictionaryLimit = 4 << 10
    /// zstd's default: on mock answers against the dictionary, 0.17 of their size in about 2 µs (zlib level 1
    /// took 8 µs for 0.20); level 4 saves 4 % more bytes in twice the time.
    static let level: Int32 = 3

    private(set) var dictionary: [UInt8]?
    /// Trained and waiting to be saved; not used until confirmed.
    package private(set) var proposedDictionary: [UInt8]?
    private var samples: [[UInt8]] = []
    /// The dictionary digested once for compressing and once for decompressing (`ZSTD_createCDict`
    /// hashes it; doing that per body would cost more than the body).
    private var compressor: OpaquePointer?
    private var compressorDictionary: OpaquePointer?
    private var decompressor: OpaquePointer?
    private var decompressorDictionary: OpaquePointer?
    private var inflater = z_stream()
    private var inflaterReady = false
    private var output = [UInt8](repeating: 0, count: 64 << 10)

    package init(dictionary: [UInt8]?) {
        self.dictionary = dictionary
    }

    deinit {
        ZSTD_freeCCtx(compressor)
        ZSTD_freeCDict(compressorDictionary)
        ZSTD_freeDCtx(decompressor)
        ZSTD_freeDDict(decompressorDictionary)
        if inflaterReady { inflateEnd(&inflater) }
    }

    /// The proposed dictionary was saved: use it from now on.
    package func confirmDictionary() {
        guard let proposedDictionary else { return }
        dictionary = proposedDictionary
        self.proposedDictionary = nil
        ZSTD_freeCDict(compressorDictionary)
        compressorDictionary = nil
        ZSTD_freeDDict(decompressorDictionary)
        decompressorDictionary = nil
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
        return compress(body, dictionary: dictionary) ?? body
    }

    package func decode(_ stored: [UInt8]) throws -> [UInt8] {
        guard let tag = stored.first, tag == Self.dictionaryTag || tag == Self.zlibTag else { return stored }
        guard let dictionary else {
            throw SluiceError(.checkpoint, "a stored body is compressed but the checkpoint has no dictionary for it")
        }
        if tag == Self.zlibTag { return try inflate(stored.dropFirst(), dictionary: dictionary) }
        return try decompress(stored.dropFirst(), dictionary: dictionary)
    }

    private func learn(from body: [UInt8]) {
        guard !body.isEmpty, proposedDictionary == nil else { return }
        // A large body's beginning holds what bodies share (keys, ids, model names).
        samples.append(Array(body.prefix(Self.dictionaryLimit / 2)))
        guard samples.count >= Self.samplesWanted else { return }
        // Matches are found best near the end of the dictionary: the newest samples go last.
        let content = Array(samples.joined().suffix(Self.dictionaryLimit))
        proposedDictionary = Self.withEntropyTables(content, samples: samples) ?? content
        samples = []
    }

    /// Adds zstd's entropy tables, computed from the samples, to the content: a small body then needs no
    /// Huffman table of its own, which for a 500-byte answer is a fifth of what it compresses to.
    /// Nil when zstd cannot (samples too alike or too few): the content alone still works.
    static func withEntropyTables(_ content: [UInt8], samples: [[UInt8]]) -> [UInt8]? {
        let joined = Array(samples.joined())
        let sizes = samples.map(\.count)
        var dictionary = [UInt8](repeating: 0, count: content.count + (4 << 10))
        let parameters = ZDICT_params_t(compressionLevel: level, notificationLevel: 0, dictID: 0)
        let size = dictionary.withUnsafeMutableBytes { out in
            content.withUnsafeBytes { content in
                joined.withUnsafeBytes { joined in
                    ZDICT_finalizeDictionary(
                        out.baseAddress, out.count, content.baseAddress, content.count, joined.baseAddress, sizes, UInt32(sizes.count), parameters)
                }
            }
        }
        guard ZDICT_isError(size) == 0 else { return nil }
        return Array(dictionary.prefix(size))
    }

    /// A context with the dictionary loaded, and frames without what a stored body does not need: no magic
    /// number (the tag byte says what it is) and no dictionary id (a checkpoint has one dictionary per kind).
    private func prepareCompressor(_ dictionary: [UInt8]) -> OpaquePointer? {
        if compressor == nil {
            guard let context = ZSTD_createCCtx() else { return nil }
            ZSTD_CCtx_setParameter(
                context, ZSTD_c_experimentalParam2,  // ZSTD_c_format (a macro)
                Int32(ZSTD_f_zstd1_magicless.rawValue))
            ZSTD_CCtx_setParameter(context, ZSTD_c_dictIDFlag, 0)
            compressor = context
        }
        if compressorDictionary == nil {
            compressorDictionary = dictionary.withUnsafeBytes {
                ZSTD_createCDict_advanced($0.baseAddress, $0.count, ZSTD_dlm_byCopy, ZSTD_dct_auto, Self.dictionaryParameters(size: $0.count), ZSTD_defaultCMem)
            }
            guard compressorDictionary != nil else { return nil }
            ZSTD_CCtx_refCDict(compressor, compressorDictionary)
        }
        return compressor
    }

    /// The level's parameters for a body of about 1 KiB, with the dictionary's two match tables cut to 4,096
    /// entries (16 KiB each, from 16-64): enough for a 4 KiB dictionary, and small enough to stay in the cache
    /// between one body and the next, where the larger tables missed it (a tenth less CPU in zstd, the same bytes).
    static func dictionaryParameters(size: Int) -> ZSTD_compressionParameters {
        var parameters = ZSTD_getCParams(level, 1 << 10, size)
        parameters.hashLog = min(parameters.hashLog, 12)
        parameters.chainLog = min(parameters.chainLog, 12)
        return parameters
    }

    private func compress(_ body: [UInt8], dictionary: [UInt8]) -> [UInt8]? {
        guard let context = prepareCompressor(dictionary) else { return nil }
        let bound = ZSTD_compressBound(body.count)
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let produced = body.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in ZSTD_compress2(context, out.baseAddress, out.count, input.baseAddress, input.count) }
        }
        // Not worth it: keep the plain JSON (readable in the database with any SQLite shell).
        guard ZSTD_isError(produced) == 0, produced + 1 < body.count else { return nil }
        return [Self.dictionaryTag] + output[0..<produced]
    }

    private func decompress(_ compressed: ArraySlice<UInt8>, dictionary: [UInt8]) throws -> [UInt8] {
        if decompressor == nil {
            guard let context = ZSTD_createDCtx() else { throw SluiceError(.checkpoint, "cannot start decompressing a stored body") }
            ZSTD_DCtx_setParameter(
                context, ZSTD_d_experimentalParam1,  // ZSTD_d_format (a macro)
                Int32(ZSTD_f_zstd1_magicless.rawValue))
            decompressor = context
        }
        if decompressorDictionary == nil {
            decompressorDictionary = dictionary.withUnsafeBytes { ZSTD_createDDict($0.baseAddress, $0.count) }
            ZSTD_DCtx_refDDict(decompressor, decompressorDictionary)
        }
        return try compressed.withUnsafeBytes { input in
            var header = ZSTD_frameHeader()
            let problem = ZSTD_getFrameHeader_advanced(&header, input.baseAddress, input.count, ZSTD_f_zstd1_magicless)
            guard problem == 0, header.frameContentSize < UInt64(Int32.max) else {
                throw SluiceError(.checkpoint, "a stored body is damaged (its zstd frame header does not read)")
            }
            var result = [UInt8](repeating: 0, count: Int(header.frameContentSize))
            let produced = result.withUnsafeMutableBytes { out in
                ZSTD_decompressDCtx(decompressor, out.baseAddress, out.count, input.baseAddress, input.count)
            }
            guard ZSTD_isError(produced) == 0, produced == result.count else {
                let reason = ZSTD_isError(produced) != 0 ? String(cString: ZSTD_getErrorName(produced)) : "short"
                throw SluiceError(.checkpoint, "a stored body is damaged (zstd: \(reason))")
            }
            return result
        }
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
