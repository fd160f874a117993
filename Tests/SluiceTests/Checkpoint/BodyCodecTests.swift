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
        for body in bodies { stored.append(codec.encode(body)) }
        #expect(codec.takeNewDictionary() != nil)
        #expect(stored.prefix(BodyCodec.samplesWanted).allSatisfy { $0.first == UInt8(ascii: "{") }, "plain while learning")
        #expect(stored.dropFirst(BodyCodec.samplesWanted).allSatisfy { $0.first == BodyCodec.dictionaryTag }, "compressed once trained")
        for (body, kept) in zip(bodies, stored) { #expect(try codec.decode(kept) == body) }
        // A reader with only the stored dictionary reads them too.
        let reader = BodyCodec(dictionary: codec.dictionary)
        for (body, kept) in zip(bodies, stored) { #expect(try reader.decode(kept) == body) }
        let compressed = stored.dropFirst(BodyCodec.samplesWanted).reduce(0) { $0 + $1.count }
        let plain = bodies.dropFirst(BodyCodec.samplesWanted).reduce(0) { $0 + $1.count }
        #expect(compressed * 2 < plain, "\(compressed) of \(plain) bytes")
    }

    @Test func aDamagedBodyIsAnErrorNotGarbage() {
        let codec = BodyCodec(dictionary: Array(repeating: UInt8(ascii: "x"), count: 100))
        #expect(throws: SluiceError.self) { _ = try codec.decode([BodyCodec.dictionaryTag, 0xFF, 0x00, 0x12]) }
    }
}
