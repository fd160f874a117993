import Foundation
import Testing

/// Answers asked to be JSON are checked: not JSON, or not matching the schema, is asked again, then
/// fails as invalid_output. The mock breaks JSON on demand (`--pinvalid-json`, `[[not-json]]`, `[[schema-break]]`).
@Suite(.serialized)
struct StructuredOutputTests {
    static let schema = #"""
        {"type": "object", "required": ["label", "score"],
         "properties": {"label": {"enum": ["positive", "negative"]}, "score": {"type": "number", "minimum": 0, "maximum": 1}}}
        """#

    func lines(_ dir: TemporaryDirectory, _ prompts: [String], format: String = #"{"type":"json_object"}"#) -> String {
        let path = dir.file("in.jsonl")
        let text = prompts.enumerated().map { index, prompt in
            #"{"id":"q\#(index)","messages":[{"role":"user","content":"\#(prompt)"}],"response_format":\#(format)}"#
        }.joined(separator: "\n")
        writeFile(path, Data((text + "\n").utf8))
        return path
    }

    @Test func anInvalidAnswerIsAskedAgainWithTheSameRequest() async throws {
        let mock = try await MockGatewayProcess(["--pinvalid-json", "1", "--fail-first", "1"])
        let dir = TemporaryDirectory()
        let input = lines(dir, (0..<10).map { "question \($0)" })
        // The mock's fault is drawn per body: with --reask same the retry is that body again (ReaskIntegrationTests has the default).
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--reask", "same"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("answers    10 not the JSON asked for (10 sent again"), "\(run.stdout)")
        let stats = try await mock.stats()
        #expect(stats.totalRequests == 20)
        // Each body was sent exactly twice: the retry is the same request.
        #expect(stats.bodies.values.allSatisfy { $0 == 2 } && stats.bodies.count == 10, "\(stats.bodies)")
        let flat = try await runSluice(["export", dir.file("in.results.jsonl.sluice.db"), "--format", "flat", "--output", "-"])
        let first = try JSONSerialization.jsonObject(with: Data(flat.stdout.split(separator: "\n")[0].utf8)) as? [String: Any]
        #expect((first?["parsed"] as? [String: Any])?["label"] as? String == "positive", "\(flat.stdout.prefix(400))")
    }

    @Test func proseAfterEveryRetryFailsAsInvalidOutput() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = lines(dir, ["fine", "[[not-json]] please"])
        // `[[not-json]]` must stay the last user message: with the default re-ask the reason would follow it.
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--output-retries", "1", "--reask", "same",
        ])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 3)
        let errors = try readJSONLines(dir.file("in.errors.jsonl"))
        let error = errors.first?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "invalid_output", "\(errors)")
        #expect((error?["message"] as? String)?.contains("the answer is not JSON") == true, "\(errors)")
        let status = try await runSluice(["status", dir.file("in.results.jsonl.sluice.db"), "--json"])
        #expect(status.stdout.contains("invalid_output"), "\(status.stdout)")
    }

    @Test func theJobSchemaIsCheckedAndNamesWhatIsWrong() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        writeFile(dir.file("label.schema.json"), Data(Self.schema.utf8))
        let input = lines(dir, ["fine", "[[schema-break]]"])
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--schema", dir.file("label.schema.json"),
            "--output-retries", "0",
        ])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 2)
        let message = ((try readJSONLines(dir.file("in.errors.jsonl")).first?["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains("does not match the schema"), "\(message)")
        #expect(message.contains("label") || message.contains("score"), "\(message)")
    }

    @Test func theRequestsOwnJSONSchemaIsCheckedToo() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let format = #"{"type":"json_schema","json_schema":{"name":"label","strict":true,"schema":\#(Self.schema.replacingOccurrences(of: "\n", with: " "))}}"#
        let input = lines(dir, ["fine", "[[schema-break]]"], format: format)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--output-retries", "0",
        ])
        #expect(run.status == 1, "\(run.stderr)")
        let message = ((try readJSONLines(dir.file("in.errors.jsonl")).first?["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains("does not match the request's schema"), "\(message)")
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 2)
    }

    @Test func answersNotAskedToBeJSONAreNotChecked() async throws {
        let mock = try await MockGatewayProcess(["--pinvalid-json", "1"])
        let dir = TemporaryDirectory()
        let prompts = dir.writePrompts("p.jsonl", count: 5)
        let run = try await runSluice(["run", "--input", prompts, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 5)
        // With --expect-json, the mock's prose answers fail.
        let strict = try await runSluice([
            "run", "--input", prompts, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--expect-json", "--output-retries", "0",
            "--output", dir.file("strict.jsonl"),
        ])
        #expect(strict.status == 1, "\(strict.stderr)")
        #expect(try readJSONLines(dir.file("strict.errors.jsonl")).count == 5)
    }
}
