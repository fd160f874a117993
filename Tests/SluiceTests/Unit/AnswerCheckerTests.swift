import Foundation
import Testing

@testable import SluiceCore

/// What a request asks of its answer, and the reasons an answer is refused.
@Suite
struct AnswerCheckerTests {
    static let schema = #"{"type":"object","required":["label"],"properties":{"label":{"enum":["yes","no"]}}}"#

    func chat(_ content: String, finish: String = "stop") -> [UInt8] {
        let object: [String: Any] = ["choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": finish]]]
        return Array(try! JSONSerialization.data(withJSONObject: object))
    }

    @Test func requestsThatAskNothingAreNotChecked() {
        let checker = AnswerChecker(expectJSON: false, schema: nil, outputRetries: 2)
        #expect(checker.check(request: Array(#"{"messages":[]}"#.utf8), response: chat("prose")) == nil)
    }

    @Test func chatResponseFormatsAndTheResponsesAPITextFormat() throws {
        let checker = AnswerChecker(expectJSON: false, schema: nil, outputRetries: 2)
        let jsonObject = Array(#"{"messages":[],"response_format":{"type":"json_object"}}"#.utf8)
        #expect(checker.check(request: jsonObject, response: chat(#"{"label":"maybe"}"#)) == nil)
        #expect(checker.check(request: jsonObject, response: chat("Sure!"))?.hasPrefix("the answer is not JSON") == true)
        let chatSchema = Array(#"{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":\#(Self.schema)}}}"#.utf8)
        #expect(checker.check(request: chatSchema, response: chat(#"{"label":"yes"}"#)) == nil)
        #expect(checker.check(request: chatSchema, response: chat(#"{"label":"maybe"}"#))?.contains("request's schema") == true)
        let responses = Array(#"{"input":"q","text":{"format":{"type":"json_schema","name":"x","schema":\#(Self.schema)}}}"#.utf8)
        let answer = Array(#"{"output":[{"type":"message","content":[{"type":"output_text","text":"{\"label\":\"maybe\"}"}]}]}"#.utf8)
        #expect(checker.check(request: responses, response: answer)?.contains("request's schema") == true)
    }

    @Test func theJobSchemaAppliesToEveryAnswerAndTruncationIsNamed() throws {
        let schema = try JSONSchema(data: Data(Self.schema.utf8))
        let checker = AnswerChecker(expectJSON: false, schema: schema, outputRetries: 0)
        #expect(checker.expectJSON)
        let plain = Array(#"{"messages":[]}"#.utf8)
        #expect(checker.check(request: plain, response: chat(#"{"label":"no"}"#)) == nil)
        let problem = checker.check(request: plain, response: chat(#"{"other":1}"#))
        #expect(problem?.hasPrefix("the answer does not match the schema") == true, "\(problem ?? "")")
        #expect(problem?.contains("label") == true)
        let cut = checker.check(request: plain, response: chat(#"{"label":"#, finish: "length"))
        #expect(cut?.contains("cut off at max_tokens") == true, "\(cut ?? "")")
    }
}
