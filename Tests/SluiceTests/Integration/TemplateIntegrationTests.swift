import Foundation
import Testing

/// Datasets that are not requests: CSV rows and JSON records filling a template, end to end.
@Suite(.serialized)
struct TemplateIntegrationTests {
    @Test func csvRowsFillTheTemplateAndAMissingFieldNamesItsLine() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        writeFile(dir.file("label.json"), Data(#"{"system": "You label tickets.", "user": "Ticket: {{text}} ({{lang}})"}"#.utf8))
        writeFile(dir.file("tickets.csv"), Data("ticket_id,text,lang\nT1,\"Printer, on <fire>\",en\nT2,\"two\nlines\",fr\n".utf8))
        let run = try await runSluice([
            "run", "--input", dir.file("tickets.csv"), "--template", dir.file("label.json"), "--id-field", "ticket_id", "--model", "m",
            "--base-url", mock.baseURL, "--no-progress",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let results = try readJSONLines(dir.file("tickets.results.jsonl"))
        #expect(results.compactMap { $0["custom_id"] as? String } == ["T1", "T2"])
        // The mock answers with the user message it received.
        let answers = results.map { AnswerText.of($0) }
        #expect(answers[0].hasSuffix("to: Ticket: Printer, on <fire> (en)"), "\(answers)")
        #expect(answers[1].hasSuffix("to: Ticket: two\nlines (fr)"), "\(answers)")
        #expect((results[0]["metadata"] as? [String: String]) == ["ticket_id": "T1", "text": "Printer, on <fire>", "lang": "en"])

        // Any JSON objects as records; one lacks a field the template uses.
        writeFile(dir.file("records.jsonl"), Data((#"{"text": "a", "lang": "de"}"# + "\n" + #"{"text": "b"}"# + "\n").utf8))
        let records = try await runSluice([
            "run", "--input", dir.file("records.jsonl"), "--template", dir.file("label.json"), "--model", "m", "--base-url", mock.baseURL,
            "--no-progress",
        ])
        #expect(records.status == 1, "\(records.stderr)")
        #expect(records.stderr.contains(#"records.jsonl:2: the record has no field "lang", which the template uses"#), "\(records.stderr)")
        #expect(try await mock.stats().totalRequests == 3)
    }

    @Test func aTemplateInTheJobFileAndCSVWithoutATemplate() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        writeFile(dir.file("t.csv"), Data("q\nWhat is 2+2?\n".utf8))
        let refused = try await runSluice(["run", "--input", dir.file("t.csv"), "--model", "m", "--base-url", mock.baseURL])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("t.csv: a CSV or TSV input needs a template"), "\(refused.stderr)")
        let job = #"{"inputs": ["t.csv"], "model": "m", "base_url": "\#(mock.baseURL)", "template": {"user": "Q: {{q}}"}}"#
        writeFile(dir.file("job.json"), Data(job.utf8))
        let run = try await runSluice(["run", dir.file("job.json"), "--no-progress"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(AnswerText.of(try readJSONLines(dir.file("t.results.jsonl"))[0]).hasSuffix("to: Q: What is 2+2?"))
    }
}

/// The answer text of a result line (openai-batch format).
enum AnswerText {
    static func of(_ line: [String: Any]) -> String {
        let body = (line["response"] as? [String: Any])?["body"] as? [String: Any]
        let message = ((body?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])
        return message?["content"] as? String ?? ""
    }
}
