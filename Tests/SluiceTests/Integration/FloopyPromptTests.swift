import Foundation
import Testing

/// Floopy's server-side prompts: `prompt_id`/`prompt_version` as headers, `inputs` in the body.
@Suite(.serialized)
struct FloopyPromptTests {
    func sent(_ mock: MockGatewayProcess) async throws -> [(headers: [String: String], body: [String: Any])] {
        let data = try await httpGet("http://127.0.0.1:\(mock.port)/stats/requests")
        let requests = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return requests.map { request in
            let pairs = (request["headers"] as? [[String]] ?? []).compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
            return (Dictionary(pairs) { _, last in last }, request["body"] as? [String: Any] ?? [:])
        }
    }

    @Test func promptIDsFromTheJobAndTheLineWithInputsInTheBody() async throws {
        let mock = try await MockGatewayProcess(["--record-requests", "10"])
        let dir = TemporaryDirectory()
        let lines = [
            #"{"id":"a","inputs":{"name":"Ada"}}"#,
            #"{"id":"b","prompt_id":"welcome-v2","prompt_version":"7","inputs":{"name":"Bo"}}"#,
            #"{"id":"c","messages":[{"role":"user","content":"hi"}]}"#,
        ]
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice([
            "run", "--input", dir.file("in.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--prompt-id", "welcome",
            "--prompt-version", "3", "--concurrency", "1",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let requests = try await sent(mock)
        #expect(requests.count == 3)
        let byInput = Dictionary(
            requests.map { request in (((request.body["inputs"] as? [String: Any])?["name"] as? String) ?? "messages", request) }
        ) { first, _ in first }
        #expect(byInput["Ada"]?.headers["floopy-prompt-id"] == "welcome")
        #expect(byInput["Ada"]?.headers["floopy-prompt-version"] == "3")
        #expect(byInput["Ada"]?.body["messages"] == nil)
        #expect(byInput["Ada"]?.body["prompt_id"] == nil, "the line's settings are headers, not body fields")
        #expect(byInput["Bo"]?.headers["floopy-prompt-id"] == "welcome-v2")
        #expect(byInput["Bo"]?.headers["floopy-prompt-version"] == "7")
        #expect(byInput["messages"]?.headers["floopy-prompt-id"] == "welcome")
    }

    @Test func inputsWithoutAPromptIsABadLine() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        writeFile(dir.file("in.jsonl"), Data((#"{"id":"a","inputs":{"name":"Ada"}}"# + "\n" + #"{"id":"b","prompt":"hi"}"# + "\n").utf8))
        let run = try await runSluice(["run", "--input", dir.file("in.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains(#"in.jsonl:1: a line with "inputs" fills a server-side prompt"#), "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 1)
    }
}
