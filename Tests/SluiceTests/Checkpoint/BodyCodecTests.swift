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
}
