import Foundation
import Testing

/// Body parameters with a flag of their own (`--seed`, `Setting.bodyParameter`): sent in the body of each
/// line that does not set its own, winning over `--body` and `body_defaults`, read back from what the mock received.
@Suite(.serialized)
struct BodyParameterTests {
    func seeds(_ mock: MockGatewayProcess) async throws -> [String: Int] {
        let data = try await httpGet("http://127.0.0.1:\(mock.port)/stats/requests")
        let requests = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        var seeds: [String: Int] = [:]
        for request in requests {
            let body = request["body"] as? [String: Any] ?? [:]
            let content = ((body["messages"] as? [[String: Any]])?.first?["content"] as? String) ?? "?"
            seeds[content] = body["seed"] as? Int ?? -1
        }
        return seeds
    }

    func writeLines(_ dir: TemporaryDirectory) {
        let lines = [#"{"id":"a","prompt":"no seed"}"#, #"{"id":"b","messages":[{"role":"user","content":"own seed"}],"seed":3}"#]
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    @Test func theFlagFillsLinesWithoutASeedAndWinsOverBody() async throws {
        let mock = try await MockGatewayProcess(["--record-requests", "10"])
        let dir = TemporaryDirectory()
        writeLines(dir)
        let run = try await runSluice([
            "run", "--input", dir.file("in.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--body", "seed=1", "--seed", "42",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await seeds(mock) == ["no seed": 42, "own seed": 3])
    }

    @Test func theJobFileKeyIsTypedAndWinsOverBodyDefaults() async throws {
        let mock = try await MockGatewayProcess(["--record-requests", "10"])
        let dir = TemporaryDirectory()
        writeLines(dir)
        let job = #"{"inputs": ["in.jsonl"], "model": "m", "base_url": "\#(mock.baseURL)", "seed": 7, "body_defaults": {"seed": 1, "temperature": 0}}"#
        try job.write(toFile: dir.file("job.json"), atomically: true, encoding: .utf8)
        let run = try await runSluice(["run", dir.file("job.json"), "--no-progress"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await seeds(mock) == ["no seed": 7, "own seed": 3])

        try job.replacingOccurrences(of: #""seed": 7"#, with: #""seed": "seven""#).write(toFile: dir.file("bad.json"), atomically: true, encoding: .utf8)
        let refused = try await runSluice(["run", dir.file("bad.json"), "--no-progress"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains(#"bad.json: "seed" must be an integer"#), "\(refused.stderr)")
    }
}
