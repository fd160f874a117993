import Foundation
import Testing

/// Every endpoint keeps its own answer body, and `--embed-batch` packs embedding items into one
/// request whose vectors go back to their items.
@Suite(.serialized)
struct EndpointTests {
    func embeddingLines(_ dir: TemporaryDirectory, count: Int) -> String {
        let path = dir.file("texts.jsonl")
        let lines = (0..<count).map {
            #"{"custom_id":"e\#($0)","method":"POST","url":"/v1/embeddings","body":{"input":"text number \#($0) \#(String(repeating: "x", count: $0))"}}"#
        }
        writeFile(path, Data((lines.joined(separator: "\n") + "\n").utf8))
        return path
    }

    func vectors(_ path: String) throws -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for line in try readJSONLines(path) {
            let body = (line["response"] as? [String: Any])?["body"] as? [String: Any]
            let data = body?["data"] as? [[String: Any]]
            #expect(data?.count == 1 && data?.first?["index"] as? Int == 0, "\(line)")
            result[line["custom_id"] as? String ?? "?"] = data?.first?["embedding"] as? [Double]
        }
        return result
    }

    @Test func packedEmbeddingsComeBackToTheirItems() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = embeddingLines(dir, count: 10)
        let single = try await runSluice([
            "run", "--input", input, "--model", "emb", "--base-url", mock.baseURL, "--no-progress", "--output", dir.file("single.jsonl"),
        ])
        #expect(single.status == 0, "\(single.stderr)")
        #expect(try await mock.stats().totalRequests == 10)
        let packed = try await runSluice([
            "run", "--input", input, "--model", "emb", "--base-url", mock.baseURL, "--no-progress", "--output", dir.file("packed.jsonl"),
            "--embed-batch", "4", "--no-dedup",
        ])
        #expect(packed.status == 0, "\(packed.stderr)")
        let stats = try await mock.stats()
        #expect(stats.totalRequests == 10 + 3)
        let one = try vectors(dir.file("single.jsonl"))
        let many = try vectors(dir.file("packed.jsonl"))
        #expect(many.count == 10)
        #expect(one == many, "each item has the vector of its own text")
        // The usage billed for the packed requests is shared out in full.
        let packedTokens = try queryCheckpoint(dir.file("packed.jsonl.sluice.db"), "SELECT sum(prompt_tokens) FROM items")
        let singleTokens = try queryCheckpoint(dir.file("single.jsonl.sluice.db"), "SELECT sum(prompt_tokens) FROM items")
        #expect(packedTokens.first?.first.flatMap { $0.flatMap { Int($0) } } ?? 0 > 0)
        #expect(packedTokens == singleTokens || abs((Int(packedTokens[0][0] ?? "0") ?? 0) - (Int(singleTokens[0][0] ?? "0") ?? 0)) <= 3)
    }

    @Test func aFailedPackIsRetriedWhole() async throws {
        let mock = try await MockGatewayProcess(["--p500", "1", "--fail-first", "1"])
        let dir = TemporaryDirectory()
        let input = embeddingLines(dir, count: 6)
        let run = try await runSluice(["run", "--input", input, "--model", "emb", "--base-url", mock.baseURL, "--no-progress", "--embed-batch", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 4)
        #expect(try vectors(dir.file("texts.results.jsonl")).count == 6)
    }

    @Test func responsesAndLegacyCompletionsKeepTheirOwnBodies() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let lines = [
            #"{"custom_id":"r","method":"POST","url":"/v1/responses","body":{"input":"hello responses","instructions":"be brief"}}"#,
            #"{"custom_id":"c","method":"POST","url":"/v1/completions","body":{"prompt":"hello completions","max_tokens":50}}"#,
        ]
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice(["run", "--input", dir.file("in.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 0, "\(run.stderr)")
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        let bodies = results.map { ($0["response"] as? [String: Any])?["body"] as? [String: Any] ?? [:] }
        #expect(bodies[0]["object"] as? String == "response")
        #expect(bodies[1]["object"] as? String == "text_completion")
        let flat = try await runSluice(["export", dir.file("in.results.jsonl.sluice.db"), "--format", "flat", "--output", "-"])
        let contents = flat.stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["content"] as? String
        }
        #expect(contents.count == 2)
        #expect(contents[0].hasSuffix("to: hello responses"), "\(contents)")
        #expect(contents[1].hasSuffix("to: hello completions"), "\(contents)")
        let status = try await runSluice(["status", dir.file("in.results.jsonl.sluice.db"), "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let tokens = object?["tokens"] as? [String: Any]
        #expect((tokens?["prompt"] as? Int ?? 0) > 0, "the Responses API's input_tokens are counted: \(status.stdout.prefix(600))")
    }
}
