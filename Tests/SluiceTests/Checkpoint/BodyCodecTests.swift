import CZlib
import Foundation
import Testing

@testable import SluiceCore

struct BodyCodecTests {
    @Test func bodiesRoundTripBeforeAndAfterTheDictionaryIsTrained() throws {
        let codec = BodyCodec(dictionary: nil)
        let bodies = (0..<200).map { index in
            Array(
                #"{"messages":[{"role":"user","content":"Classify ticket \#(index): customer \#(index * 7919 % 100_003) reports that feature \#(index % 97) fails."}],"metadata_shard":\#(index % 16)}"#
                    .utf8)
        }
        var stored: [[UInt8]] = []
        for body in bodies.prefix(100) { stored.append(codec.encode(body)) }
        #expect(codec.proposedDictionary != nil)
        #expect(stored.allSatisfy { $0.first == UInt8(ascii: "{") }, "plain until the dictionary is confirmed (saved)")
        codec.confirmDictionary()
        for body in bodies.dropFirst(100) { stored.append(codec.encode(body)) }
        #expect(stored.dropFirst(100).allSatisfy { $0.first == BodyCodec.dictionaryTag }, "compressed once confirmed")
        for (body, kept) in zip(bodies, stored) { #expect(try codec.decode(kept) == body) }
        // A reader with only the stored dictionary reads them too.
        let reader = BodyCodec(dictionary: codec.dictionary)
        for (body, kept) in zip(bodies, stored) { #expect(try reader.decode(kept) == body) }
        let compressed = stored.dropFirst(100).reduce(0) { $0 + $1.count }
        let plain = bodies.dropFirst(100).reduce(0) { $0 + $1.count }
        #expect(compressed * 2 < plain, "\(compressed) of \(plain) bytes")
    }

    @Test func aDiscardedProposalIsNeverUsedAndLearningStartsAgain() {
        let codec = BodyCodec(dictionary: nil)
        let body = Array(#"{"messages":[{"role":"user","content":"the same question every time, long enough to compress"}]}"#.utf8)
        for _ in 0..<BodyCodec.samplesWanted { _ = codec.encode(body) }
        let first = codec.proposedDictionary
        #expect(first != nil)
        codec.discardProposal()  // the transaction that would have saved it rolled back
        #expect(codec.encode(body) == body)
        for _ in 0..<BodyCodec.samplesWanted { _ = codec.encode(body) }
        #expect(codec.proposedDictionary != nil)
    }

    @Test func largeBodiesTrainADictionaryToo() {
        let codec = BodyCodec(dictionary: nil)
        let large = (0..<40).map { index in
            Array((#"{"messages":[{"role":"user","content":""# + String(repeating: "A long document \(index % 3). ", count: 400) + #""}]}"#).utf8)
        }
        for body in large.prefix(BodyCodec.samplesWanted) { _ = codec.encode(body) }
        codec.confirmDictionary()
        let stored = codec.encode(large[39])
        #expect(stored.first == BodyCodec.dictionaryTag)
        #expect(stored.count * 4 < large[39].count)
        #expect((try? codec.decode(stored)) == large[39])
    }

    @Test func aDamagedBodyIsAnErrorNotGarbage() {
        let codec = BodyCodec(dictionary: Array(repeating: UInt8(ascii: "x"), count: 100))
        #expect(throws: SluiceError.self) { _ = try codec.decode([BodyCodec.dictionaryTag, 0xFF, 0x00, 0x12]) }
    }

    /// Answers like a model's: the same keys around a text of 5 to 40 words that differs from answer to answer.
    static func answers(_ range: Range<Int>) -> [[UInt8]] {
        let words = ["the", "ticket", "label", "positive", "negative", "neutral", "review", "item"]
        return range.map { index in
            let text = (0..<(5 + index * 7 % 36)).map { words[(index &* 2_654_435_761 &+ $0 &* 40_503) % 8] }.joined(separator: " ")
            return Array(
                #"{"id":"chatcmpl-\#(index * 7919 % 100_003)","object":"chat.completion","created":\#(1_764_000_000 + index),"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Answer \#(index): \#(text)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(20 + index % 50),"completion_tokens":\#(5 + index % 30),"total_tokens":\#(25 + index % 80)}}"#
                    .utf8)
        }
    }

    /// Without the tables each small body carries its own Huffman table: here the stored bodies grow by 12 % (on the
    /// bench's mock answers by 30 %).
    @Test func theTrainedDictionaryCarriesZstdEntropyTables() throws {
        let codec = BodyCodec(dictionary: nil)
        for body in Self.answers(0..<BodyCodec.samplesWanted) { _ = codec.encode(body) }
        let trained = try #require(codec.proposedDictionary)
        #expect(Array(trained.prefix(4)) == [0x37, 0xA4, 0x30, 0xEC], "zstd's dictionary magic number: content plus tables")
        codec.confirmDictionary()
        let contentOnly = BodyCodec(dictionary: Array(trained.suffix(BodyCodec.dictionaryLimit)))
        let later = Self.answers(1_000..<1_200)
        let withTables = later.reduce(0) { $0 + codec.encode($1).count }
        let withoutTables = later.reduce(0) { $0 + contentOnly.encode($1).count }
        #expect(withTables * 20 < withoutTables * 19, "\(withTables) bytes with the tables, \(withoutTables) without")
        for body in later { #expect(try codec.decode(codec.encode(body)) == body) }
    }

    /// Checkpoints written before zstd hold raw deflate rows (tag 0x01) against a plain dictionary: they still read,
    /// and new rows against that same dictionary are zstd.
    @Test func aBodyAnEarlierBuildDeflatedStillReads() throws {
        let dictionary = Array(Self.answers(0..<BodyCodec.samplesWanted).joined().suffix(BodyCodec.dictionaryLimit))
        let body = Self.answers(500..<501)[0]
        var stream = z_stream()
        #expect(deflateInit2_(&stream, 1, Z_DEFLATED, -13, 5, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        _ = dictionary.withUnsafeBufferPointer { deflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
        var output = [UInt8](repeating: 0, count: 4096)
        let produced = body.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                #expect(CZlib.deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return out.count - Int(stream.avail_out)
            }
        }
        deflateEnd(&stream)
        let codec = BodyCodec(dictionary: dictionary)
        #expect(try codec.decode([BodyCodec.zlibTag] + output.prefix(produced)) == body)
        let rewritten = codec.encode(body)
        #expect(rewritten.first == BodyCodec.dictionaryTag)
        #expect(try codec.decode(rewritten) == body)
    }
}
