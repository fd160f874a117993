import Foundation
import Testing

@testable import SluiceCore

/// Chunks in, the unstreamed `chat.completion` out: content, usage wherever it
/// comes, tool calls built from their fragments, and what a cut stream keeps.
struct StreamAssemblerTests {
    static let head = #""id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini""#
    static let usage = #"{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}"#

    static func chunk(_ choices: String, extra: String = "") -> ServerSentEvents.Event {
        .init(data: Array(#"{\#(head),"choices":\#(choices)\#(extra)}"#.utf8))
    }
    static func delta(_ delta: String, finish: String = "null", index: Int = 0) -> ServerSentEvents.Event {
        chunk(#"[{"index":\#(index),"delta":\#(delta),"finish_reason":\#(finish)}]"#)
    }
    static let done = ServerSentEvents.Event(data: Array("[DONE]".utf8))

    func assemble(_ events: [ServerSentEvents.Event]) throws -> (StreamAssembler, [String: Any]) {
        var assembler = StreamAssembler()
        for event in events { try assembler.add(event) }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(assembler.body())) as? [String: Any])
        return (assembler, object)
    }

    func message(_ object: [String: Any], choice: Int = 0) -> [String: Any]? {
        ((object["choices"] as? [[String: Any]])?[choice])?["message"] as? [String: Any]
    }

    @Test func contentDeltasAndAUsageChunkMakeAChatCompletion() throws {
        let (assembler, body) = try assemble([
            Self.delta(#"{"role":"assistant","content":""}"#), Self.delta(#"{"content":"Hel"}"#), Self.delta(#"{"content":"lo \"you\""}"#),
            Self.delta("{}", finish: #""stop""#), Self.chunk("[]", extra: #","usage":\#(Self.usage)"#), Self.done,
        ])
        #expect(assembler.isDone)
        #expect(assembler.chunks == 5)
        #expect(body["id"] as? String == "chatcmpl-1")
        #expect(body["object"] as? String == "chat.completion")
        #expect(body["created"] as? Int == 1_694_268_190)
        #expect(body["model"] as? String == "gpt-4o-mini")
        let choice = try #require((body["choices"] as? [[String: Any]])?.first)
        #expect(choice["index"] as? Int == 0)
        #expect(choice["finish_reason"] as? String == "stop")
        #expect(message(body)?["role"] as? String == "assistant")
        #expect(message(body)?["content"] as? String == #"Hello "you""#)
        #expect((body["usage"] as? [String: Int]) == ["prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21])
        // What sluice reads from any answer reads the same from an assembled one.
        let summary = try #require(ResponseSummary(body: assembler.body()))
        #expect(summary.completionTokens == 12 && summary.model == "gpt-4o-mini")
    }

    @Test func usageOnTheFinishChunkIsTakenToo() throws {
        let (_, body) = try assemble([
            Self.delta(#"{"role":"assistant","content":"Hi"}"#),
            Self.chunk(#"[{"index":0,"delta":{},"finish_reason":"length"}]"#, extra: #","usage":\#(Self.usage)"#), Self.done,
        ])
        #expect((body["usage"] as? [String: Int])?["completion_tokens"] == 12)
        #expect((body["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == "length")
    }

    @Test func withoutAnyUsageTheFieldIsNull() throws {
        let (_, body) = try assemble([Self.delta(#"{"content":"x"}"#, finish: #""stop""#, index: 0), Self.chunk("[]", extra: #","usage":null"#), Self.done])
        #expect(body["usage"] is NSNull)
    }

    @Test func toolCallFragmentsAreJoinedByIndex() throws {
        let (assembler, body) = try assemble([
            Self.delta(
                #"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}"#
            ),
            Self.delta(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}"#),
            Self.delta(#"{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]}"#),
            Self.delta(#"{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}"#),
            Self.delta("{}", finish: #""tool_calls""#), Self.done,
        ])
        #expect(assembler.isDone)
        let assistant = try #require(message(body))
        #expect(assistant["content"] is NSNull)
        let calls = try #require(assistant["tool_calls"] as? [[String: Any]])
        #expect(calls.map { $0["id"] as? String } == ["call_a", "call_b"])
        #expect(calls.map { ($0["function"] as? [String: String])?["name"] } == ["get_weather", "get_time"])
        #expect((calls[0]["function"] as? [String: String])?["arguments"] == #"{"city":"Paris"}"#)
        #expect(calls[0]["type"] as? String == "function")
    }

    @Test func severalChoicesStayApartInIndexOrder() throws {
        let (_, body) = try assemble([
            Self.delta(#"{"content":"B"}"#, index: 1), Self.delta(#"{"content":"A"}"#, index: 0), Self.delta(#"{"content":"b"}"#, index: 1), Self.done,
        ])
        #expect(message(body, choice: 0)?["content"] as? String == "A")
        #expect(message(body, choice: 1)?["content"] as? String == "Bb")
    }

    @Test func theFirstContentIsFlaggedOnceAndNotByTheEmptyRoleChunk() throws {
        var assembler = StreamAssembler()
        try assembler.add(Self.delta(#"{"role":"assistant","content":""}"#))
        #expect(!assembler.firstContentJustArrived)
        try assembler.add(Self.delta(#"{"content":"x"}"#))
        #expect(assembler.firstContentJustArrived)
        try assembler.add(Self.delta(#"{"content":"y"}"#))
        #expect(!assembler.firstContentJustArrived)
    }

    @Test func aStreamWithoutDoneIsNotDoneAndKeepsItsPartialText() throws {
        var assembler = StreamAssembler()
        for event in [Self.delta(#"{"role":"assistant","content":""}"#), Self.delta(#"{"content":"The answer is"}"#)] { try assembler.add(event) }
        #expect(!assembler.isDone)
        #expect(assembler.interruption("stream ended before [DONE]") == #"stream ended before [DONE] after 2 chunks; partial text: "The answer is""#)
    }

    @Test func aLongPartialTextIsCutTo500Characters() throws {
        var assembler = StreamAssembler()
        try assembler.add(Self.delta(#"{"content":"\#(String(repeating: "é", count: 2000))"}"#))
        let message = assembler.interruption("stream ended before [DONE]")
        #expect(message.contains("\"" + String(repeating: "é", count: 500) + "\"…"))
        #expect(!message.contains(String(repeating: "é", count: 501)))
    }

    @Test func malformedAndErrorEventsAreProblems() throws {
        var assembler = StreamAssembler()
        try assembler.add(Self.delta(#"{"content":"part"}"#))
        #expect(throws: StreamAssembler.Problem.self) { try assembler.add(.init(data: Array(#"{"id":"x","choi"#.utf8))) }
        #expect(throws: StreamAssembler.Problem.self) {
            try assembler.add(.init(data: Array(#"{"error":{"message":"upstream overloaded","type":"server_error"}}"#.utf8)))
        }
        #expect(throws: StreamAssembler.Problem.self) { try assembler.add(.init(type: "error", data: Array("overloaded".utf8))) }
        #expect(assembler.partialText == "part")
    }

    @Test func eventsAfterDoneAndNamedEventsAreIgnored() throws {
        var assembler = StreamAssembler()
        try assembler.add(.init(type: "ping", data: Array("{}".utf8)))
        try assembler.add(Self.delta(#"{"content":"x"}"#))
        try assembler.add(Self.done)
        try assembler.add(.init(data: Array("not json".utf8)))
        #expect(assembler.isDone && assembler.chunks == 1)
    }
}
