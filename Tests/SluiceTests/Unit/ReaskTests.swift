import Foundation
import Testing

@testable import SluiceCore

/// The re-ask's body and message, without I/O: the conversation grows by the invalid answer and a user
/// message saying what was wrong; every other member of the body stays as it was.
@Suite
struct ReaskTests {
    static let chat = "/v1/chat/completions"
    static let responses = "/v1/responses"
    static let turns = #"{"role":"assistant","content":"Sure! yes"},{"role":"user","content":"Your answer is not JSON. Answer again with JSON only."}"#

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var endpoint: String
        var body: String
        /// Nil: asked again as it was.
        var expected: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "chat messages", endpoint: chat,
            body: #"{"temperature":0,"messages":[{"role":"user","content":"Is it?"}],"response_format":{"type":"json_object"}}"#,
            expected: #"{"temperature":0,"messages":[{"role":"user","content":"Is it?"},\#(turns)],"response_format":{"type":"json_object"}}"#),
        Case(
            name: "chat, spaced and nested", endpoint: chat + "?api-version=1",
            body: #"{ "messages" : [ {"role":"system","content":"[x]"} ] , "seed": 7 }"#,
            expected: #"{ "messages" : [ {"role":"system","content":"[x]"} ,\#(turns)] , "seed": 7 }"#),
        Case(name: "chat, no messages yet", endpoint: chat, body: #"{"messages":[ ]}"#, expected: #"{"messages":[\#(turns)]}"#),
        Case(
            name: "responses, input text", endpoint: responses, body: #"{"input":"Is \"it\"?","text":{"format":{"type":"json_object"}}}"#,
            expected: #"{"input":[{"role":"user","content":"Is \"it\"?"},\#(turns)],"text":{"format":{"type":"json_object"}}}"#),
        Case(
            name: "responses, input items", endpoint: responses, body: #"{"instructions":"Label.","input":[{"role":"user","content":"Is it?"}]}"#,
            expected: #"{"instructions":"Label.","input":[{"role":"user","content":"Is it?"},\#(turns)]}"#),
        Case(name: "embeddings", endpoint: "/v1/embeddings", body: #"{"input":"Is it?"}"#, expected: nil),
        Case(name: "legacy completions", endpoint: "/v1/completions", body: #"{"prompt":"Is it?"}"#, expected: nil),
        Case(name: "chat without messages", endpoint: chat, body: #"{"prompt_id":"p1"}"#, expected: nil),
        Case(name: "chat, messages not a list", endpoint: chat, body: #"{"messages":"Is it?"}"#, expected: nil),
    ]

    @Test(arguments: cases)
    func theConversationGrowsByTwoTurns(_ example: Case) throws {
        let reask = Reask(mode: .reason, template: Reask.defaultTemplate)
        let next = reask.body(for: Array(example.body.utf8), endpoint: example.endpoint, answer: "Sure! yes", reason: "the answer is not JSON")
        #expect(next.map { String(decoding: $0, as: UTF8.self) } == example.expected)
        if let next {
            #expect(try JSONSerialization.jsonObject(with: Data(next)) is [String: Any], "the re-ask is still a JSON object")
        }
    }

    @Test func sameAsksWithTheRequestAsItWas() {
        let reask = Reask(mode: .same, template: Reask.defaultTemplate)
        #expect(reask.body(for: Array(#"{"messages":[]}"#.utf8), endpoint: Self.chat, answer: "x", reason: "the answer is not JSON") == nil)
    }

    /// Each re-ask builds on the last: the second one holds both invalid answers and both messages, in order.
    @Test func aSecondReaskBuildsOnTheFirst() throws {
        let reask = Reask()
        let first = try #require(
            reask.body(for: Array(#"{"messages":[{"role":"user","content":"q"}]}"#.utf8), endpoint: Self.chat, answer: "one", reason: "the answer is not JSON"))
        let second = try #require(reask.body(for: first, endpoint: Self.chat, answer: "two", reason: "the answer does not match the schema: at /label"))
        let messages = try #require((try JSONSerialization.jsonObject(with: Data(second)) as? [String: Any])?["messages"] as? [[String: String]])
        #expect(messages.map { $0["role"] ?? "" } == ["user", "assistant", "user", "assistant", "user"])
        #expect(messages.map { $0["content"] ?? "" }[3] == "two")
        #expect(messages[4]["content"] == "Your answer does not match the schema: at /label. Answer again with JSON only.")
    }

    /// The message reads with the checker's own words: "the answer is not JSON" becomes "Your answer is not JSON".
    @Test func theMessageCarriesTheCheckersReason() throws {
        let schema = try JSONSchema(data: Data(#"{"type":"object","properties":{"label":{"enum":["yes","no"]}}}"#.utf8))
        let checker = AnswerChecker(expectJSON: true, schema: schema, outputRetries: 1)
        let answer = #"{"choices":[{"index":0,"message":{"role":"assistant","content":"{\"label\":\"maybe\"}"},"finish_reason":"stop"}]}"#
        let reason = try #require(checker.check(request: Array(#"{"messages":[]}"#.utf8), response: Array(answer.utf8)))
        let message = Reask().message(reason: reason)
        #expect(message.hasPrefix("Your answer does not match the schema: "), "\(message)")
        #expect(message.contains("maybe") && message.hasSuffix(". Answer again with JSON only."), "\(message)")
        #expect(AnswerChecker.answerText(of: Array(answer.utf8)) == #"{"label":"maybe"}"#)

        let custom = Reask(mode: .reason, template: "Fix this: {reason}!")
        #expect(custom.message(reason: "the answer is not JSON (bad)") == "Fix this: is not JSON (bad)!")
    }

    /// A template without `{reason}` would tell the model nothing: refused, naming the setting.
    @Test func aTemplateWithoutTheReasonIsRefusedByName() throws {
        var flags = JobFile()
        flags.inputs = ["in.jsonl"]
        flags.baseURL = "http://127.0.0.1:9/v1"
        flags.reaskMessage = "Try again."
        let error = #expect(throws: SluiceError.self) { try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags) }
        #expect(error?.description.contains("--reask-message") == true, "\(String(describing: error))")

        flags.reaskMessage = "Wrong: {reason}."
        flags.reask = .same
        let fine = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags)
        #expect(try fine.answerChecker().reask == Reask(mode: .same, template: "Wrong: {reason}."))
        flags = JobFile()
        flags.inputs = ["in.jsonl"]
        flags.baseURL = "http://127.0.0.1:9/v1"
        #expect(try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags).answerChecker().reask == Reask())
    }
}
