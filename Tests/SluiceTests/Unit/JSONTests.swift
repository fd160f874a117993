import Foundation
import Testing

@testable import SluiceCore

struct JSONTests {
    @Test(arguments: [
        #"{"a":1,"b":[true,false,null,-1.5e3,"x\"y\\u00e9"],"c":{"d":{}}}"#, "[]", "  {}  ", #""text""#, "0", "-0.5",
    ])
    func scannerAcceptsValidJSON(text: String) throws {
        #expect(throws: Never.self) { _ = try JSONScanner.members(of: Array(text.utf8)) }
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil)
    }

    @Test(arguments: [
        #"{"id":"chatcmpl-broken","object":"chat.comp"#, #"{"a":1,}"#, #"{"a" 1}"#, "[1,2", #"{"a":tru}"#, #"{"a":"\x"}"#,
        "{} {}", "", #"{"a":"line"# + "\n" + #"break"}"#, "-", #"{"a":1}}"#,
    ])
    func scannerRejectsMalformedJSON(text: String) {
        #expect(throws: JSONScanner.Malformed.self) { _ = try JSONScanner.members(of: Array(text.utf8)) }
    }

    @Test func responseSummaryReadsModelAndUsage() throws {
        let body =
            #"{"id":"x","model":"gpt-4o-mini","choices":[{"message":{"content":"{\"model\":\"fake\"}"}}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0}}}"#
        let summary = try #require(ResponseSummary(body: Array(body.utf8)))
        #expect(summary.model == "gpt-4o-mini")
        #expect(summary.promptTokens == 9 && summary.completionTokens == 12 && summary.totalTokens == 21)
        let anthropicStyle = try #require(ResponseSummary(body: Array(#"{"model":"claude","usage":{"input_tokens":3,"output_tokens":4}}"#.utf8)))
        #expect(anthropicStyle.totalTokens == 7)
        #expect(ResponseSummary(body: Array(#"{"model":"x","usage":{"#.utf8)) == nil)
        #expect(ResponseSummary(body: Array("[1]".utf8)) == nil)
    }

    @Test func encoderRoundTripsWhatJSONSerializationParses() throws {
        let text = #"{"s":"é \"q\" / \n","i":42,"neg":-7,"d":0.25,"big":12345678901,"t":true,"f":false,"n":null,"a":[1,"two",[3.5]],"o":{"k":{}}}"#
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let encoded = try JSONText.encode(parsed)
        let reparsed = try #require(try JSONSerialization.jsonObject(with: Data(encoded)) as? NSDictionary)
        #expect(reparsed == (parsed as? NSDictionary))
        #expect(String(decoding: try JSONText.encode(["x": true, "y": 1.0, "z": 0.5] as [String: Any]), as: UTF8.self).contains(#""x":true"#))
        #expect(
            String(decoding: try JSONText.encode([JSONValue.integer(0).foundationValue, JSONValue.bool(false).foundationValue]), as: UTF8.self) == "[0,false]")
        #expect(throws: (any Error).self) { _ = try JSONText.encode(Double.nan) }
    }
}
