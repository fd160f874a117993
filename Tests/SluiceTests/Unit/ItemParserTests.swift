import Foundation
import Testing

@testable import SluiceCore

struct ItemParserTests {
    let parser = ItemParser(
        endpoint: "/v1/chat/completions", maxLineBytes: 4096,
        bodyDefaults: ["temperature": .number(0.5), "max_tokens": .integer(64)], jobHasModel: true)

    func parse(_ text: String, number: Int = 7) -> PlannedItem? {
        parser.parse(
            InputLine(number: number, bytes: Array(text.utf8), oversized: false, length: text.utf8.count),
            fileIndex: 0, fileLabel: "data.jsonl")
    }

    func body(_ item: PlannedItem?) throws -> [String: Any] {
        let bytes = try #require(item?.body)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func promptLineBecomesAChatRequestWithSystemMessage() throws {
        let item = try #require(parse(#"{"id":"q1","prompt":"Hi","system":"Be brief","metadata":{"k":1}}"#))
        #expect(item.problem == nil)
        #expect(item.customID == "q1")
        #expect(item.model == nil)
        let object = try body(item)
        let messages = try #require(object["messages"] as? [[String: String]])
        #expect(messages == [["role": "system", "content": "Be brief"], ["role": "user", "content": "Hi"]])
        #expect(object["metadata"] == nil)
        #expect(object["temperature"] as? Double == 0.5)
        #expect(String(decoding: try #require(item.metadata), as: UTF8.self) == #"{"k":1}"#)
    }

    @Test func chatLineKeepsBodyParametersAndTakesOutSettings() throws {
        let item = try #require(
            parse(
                #"{"custom_id":"c","messages":[{"role":"user","content":"x"}],"model":"gpt-4o","temperature":0,"properties":{"tier":"gold"},"fallback":"claude","session_id":"s","cache":"semantic"}"#
            ))
        #expect(item.problem == nil)
        #expect(item.model == "gpt-4o")
        let object = try body(item)
        #expect(object["temperature"] as? Int == 0)  // the line wins over the job's default
        #expect(object["max_tokens"] as? Int == 64)
        #expect(object["model"] == nil && object["properties"] == nil && object["fallback"] == nil && object["custom_id"] == nil)
        let overrides = try JSONDecoder().decode(LineOverrides.self, from: Data(try #require(item.overrides)))
        #expect(overrides == LineOverrides(properties: ["tier": "gold"], fallback: ["claude"], sessionID: "s", userID: nil, cache: .semantic))
    }

    @Test func batchLineUsesItsURLAndBody() throws {
        let item = try #require(parse(#"{"custom_id":"b1","method":"POST","url":"/v1/embeddings","body":{"model":"emb","input":"hello"}}"#))
        #expect(item.problem == nil)
        #expect(item.endpoint == "/v1/embeddings")
        #expect(item.model == "emb")
        #expect(try body(item)["input"] as? String == "hello")
    }

    @Test func keyFallsBackToFileAndLineAndIntegerIdsAreAccepted() throws {
        #expect(parse(#"{"prompt":"x"}"#, number: 12)?.customID == "data.jsonl:12")
        #expect(parse(#"{"id":42,"prompt":"x"}"#)?.customID == "42")
        #expect(parse(#"{"id":true,"prompt":"x"}"#)?.problem?.code.rawValue == "invalid_field")
    }

    @Test func bodyIsSplicedFromTheLineWithLastKeyWinning() throws {
        let item = try #require(parse(#"{"prompt":"first","prompt":"se\u00e7ond \"q\"","n":2,"tools":[{"type":"function"}]}"#))
        let object = try body(item)
        let messages = try #require(object["messages"] as? [[String: String]])
        #expect(messages == [["role": "user", "content": "seçond \"q\""]])
        #expect(object["n"] as? Int == 2)
        #expect((object["tools"] as? [[String: String]])?.first?["type"] == "function")
        #expect(object["temperature"] as? Double == 0.5)
    }

    @Test func blankLinesAreSkipped() {
        #expect(parse("") == nil)
        #expect(parse("   \t") == nil)
    }

    @Test(arguments: [
        (#"{"prompt": "#, "invalid_json_line"),
        ("[1,2]", "not_an_object"),
        ("42", "not_an_object"),
        (#"{"id":"x","text":"no prompt"}"#, "missing_messages"),
        (#"{"custom_id":"x","method":"POST","url":"/v1/unknown","body":{}}"#, "url_mismatch"),
        (#"{"custom_id":"x","method":"GET","url":"/v1/chat/completions","body":{"messages":[]}}"#, "invalid_method"),
        (#"{"custom_id":"x","method":"POST","url":"/v1/chat/completions","body":{}}"#, "missing_messages"),
        (#"{"prompt":"x","properties":{"bad name":"v"}}"#, "invalid_field"),
        (#"{"prompt":"x","session_id":"a\nb"}"#, "invalid_field"),
        (#"{"prompt":"x","cache":"sometimes"}"#, "invalid_field"),
        (#"{"messages":"not a list"}"#, "invalid_field"),
        (#"{"prompt":"x","stream":true}"#, "invalid_field"),
    ])
    func badLinesGetAStableCode(line: String, code: String) {
        #expect(parse(line)?.problem?.code.rawValue == code)
    }

    @Test func invalidUTF8IsReportedWithItsPosition() {
        var bytes = Array(#"{"prompt":"caf"#.utf8)
        bytes.append(0xE9)
        bytes += Array(#""}"#.utf8)
        let item = parser.parse(InputLine(number: 3, bytes: bytes, oversized: false, length: bytes.count), fileIndex: 0, fileLabel: "f")
        #expect(item?.problem?.code.rawValue == "invalid_utf8")
        #expect(item?.problem?.message == "invalid UTF-8 at byte 15 of the line")
    }

    @Test func oversizedLineIsAnError() {
        let item = parser.parse(InputLine(number: 1, bytes: [], oversized: true, length: 20_000_000), fileIndex: 0, fileLabel: "f")
        #expect(item?.problem?.code.rawValue == "line_too_long")
        #expect(item?.problem?.message.contains("20000000 bytes") == true)
    }

    @Test func aLineWithoutModelNeedsAJobModel() {
        let strictParser = ItemParser(endpoint: "/v1/chat/completions", maxLineBytes: 4096, bodyDefaults: [:], jobHasModel: false)
        let line = InputLine(number: 1, bytes: Array(#"{"prompt":"x"}"#.utf8), oversized: false, length: 14)
        #expect(strictParser.parse(line, fileIndex: 0, fileLabel: "f")?.problem?.code.rawValue == "missing_model")
    }
}

extension ItemParserTests {
    @Test func aTrailingCommaIsABadLineThatSaysSo() {
        let item = parse(#"{"id":"t","messages":[{"role":"user","content":"x"},]}"#)
        #expect(item?.problem?.code == .invalidJSON)
        #expect(item?.problem?.message == "invalid JSON: a comma before a closing ] or } (JSON allows none there)")
    }
}
