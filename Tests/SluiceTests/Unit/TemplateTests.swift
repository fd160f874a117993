import Foundation
import Testing

@testable import SluiceCore

/// Templates filled from records, and CSV rows as records.
@Suite
struct TemplateTests {
    func record(_ json: String) throws -> [String: JSONValue] {
        try JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8))
    }

    @Test func fieldsAreInsertedAsTheyAreWithoutHTMLEscaping() throws {
        let renderer = try TemplateRenderer(PromptTemplate(system: "Label <tickets> & more.", user: "Ticket: {{text}} / {{{text}}} / {{& text}}"))
        let text = try renderer.render(try record(#"{"text": "a < b & \"c\""}"#))
        #expect(text.system == "Label <tickets> & more.")
        #expect(text.user == #"Ticket: a < b & "c" / a < b & "c" / a < b & "c""#)
    }

    @Test func scalarsRenderAsJSONTextAndNestedFieldsByPath() throws {
        let renderer = try TemplateRenderer(PromptTemplate(user: "{{n}} {{x}} {{ok}} {{user.name}} {{#tags}}[{{.}}]{{/tags}}"))
        let text = try renderer.render(try record(#"{"n": 42, "x": 0.5, "ok": true, "user": {"name": "Ada"}, "tags": ["a", "b"]}"#))
        #expect(text.user == "42 0.5 true Ada [a][b]")
        #expect(text.system == nil)
    }

    @Test func aFieldNamedOutsideSectionsIsRequired() throws {
        let renderer = try TemplateRenderer(
            PromptTemplate(system: "{{! a comment }}{{>partial}}", user: "{{a}} {{#opt}}{{b}}{{/opt}} {{^none}}-{{/none}} {{lowercased(c.d)}}"))
        #expect(renderer.requiredFields == ["a", "c.d"])
        #expect(throws: TemplateRenderer.MissingField.self) { try renderer.render(try record(#"{"a": "x"}"#)) }
        do {
            _ = try renderer.render(try record(#"{"a": null, "c": {"d": "y"}}"#))
            Issue.record("a null field rendered")
        } catch let missing as TemplateRenderer.MissingField {
            #expect(missing.field == "a")
            #expect(missing.isNull)
        }
        // Fields inside sections keep Mustache's meaning: absent is empty.
        #expect(try renderer.render(try record(#"{"a": "x", "c": {"d": "Y"}}"#)).user == "x  - y")
    }

    @Test func anInvalidTemplateIsAConfigurationError() {
        #expect(throws: SluiceError.self) { try TemplateRenderer(PromptTemplate(user: "{{#open}} never closed")) }
    }

    @Test func theBodyFollowsTheEndpoint() throws {
        let template = try TemplateRenderer(PromptTemplate(system: "S", user: "U {{v}}"))
        func body(_ endpoint: String) throws -> [String: Any] {
            let parser = ItemParser(
                endpoint: endpoint, maxLineBytes: 4096, bodyDefaults: ["temperature": .integer(0)], jobHasModel: true, template: template, idField: "id")
            let item = parser.item(for: try record(#"{"id": 7, "v": "x"}"#), fileIndex: 0, number: 1, fileLabel: "f", lineHash: 0)
            #expect(item.problem == nil, "\(String(describing: item.problem))")
            #expect(item.customID == "7")
            #expect(item.shape == .record)
            return try JSONSerialization.jsonObject(with: Data(item.body)) as? [String: Any] ?? [:]
        }
        let chat = try body("/v1/chat/completions")
        let messages = chat["messages"] as? [[String: String]]
        #expect(messages == [["role": "system", "content": "S"], ["role": "user", "content": "U x"]])
        #expect(chat["temperature"] as? Int == 0)
        #expect(try body("/v1/embeddings")["input"] as? String == "U x")
        #expect(try body("/v1/completions")["prompt"] as? String == "S\n\nU x")
        let responses = try body("/v1/responses")
        #expect(responses["instructions"] as? String == "S" && responses["input"] as? String == "U x")
    }

    @Test func theIDFieldMustBePresent() throws {
        let parser = ItemParser(
            endpoint: "/v1/chat/completions", maxLineBytes: 4096, bodyDefaults: [:], jobHasModel: true,
            template: try TemplateRenderer(PromptTemplate(user: "{{v}}")), idField: "key")
        let item = parser.item(for: try record(#"{"v": "x"}"#), fileIndex: 0, number: 3, fileLabel: "f", lineHash: 0)
        #expect(item.problem?.message == #"the record has no "key" field (--id-field)"#)
    }

    @Test func csvRowsWithQuotesNewlinesAndABOMBecomeRecords() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("t.csv")
        let text = "id,text,note\n1,\"Printer, on fire\",x\n2,\"two\nlines \"\"quoted\"\"\",\n3,short\n"
        writeFile(path, Data([0xEF, 0xBB, 0xBF]) + Data(text.utf8))
        let reader = try CSVRecordReader(path: path)
        #expect(reader.header == ["id", "text", "note"])
        var rows: [CSVRecordReader.Row] = []
        while let row = try reader.next() { rows.append(row) }
        #expect(rows.count == 3)
        #expect(rows[0].fields["text"] == .string("Printer, on fire"))
        #expect(rows[1].fields["text"] == .string("two\nlines \"quoted\""))
        #expect(rows[1].fields["note"] == .string(""))
        #expect(rows[1].problem == nil)
        #expect(rows[2].number == 3)
        #expect(rows[2].problem == "row 3 has 2 fields, the header has 3")
    }

    @Test func tsvAndGzipAreReadToo() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("t.tsv")
        writeFile(path, Data("a\tb\n1\tx, y\n".utf8))
        _ = try shellOutput("gzip -k \(path)")
        for file in [path, path + ".gz"] {
            let reader = try CSVRecordReader(path: file)
            let row = try reader.next()
            #expect(row?.fields == ["a": .string("1"), "b": .string("x, y")], "\(file)")
            #expect(try reader.next() == nil)
        }
    }
}
