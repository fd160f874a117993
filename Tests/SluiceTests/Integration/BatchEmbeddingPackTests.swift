import Foundation
import Testing

/// `--embed-batch` in provider batches: embedding items travel as packed batch lines, and each item gets the
/// vector of its own text back, across a crash and a resume.
@Suite(.serialized)
struct BatchEmbeddingPackTests {
    func embeddingLines(_ dir: TemporaryDirectory, count: Int) -> String {
        let lines = (0..<count).map {
            #"{"custom_id":"e\#($0)","method":"POST","url":"/v1/embeddings","body":{"input":"text number \#($0) \#(String(repeating: "x", count: $0 % 7))"}}"#
        }
        writeFile(dir.file("texts.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        return dir.file("texts.jsonl")
    }

    func vectors(_ path: String) throws -> [String: [Double]] {
        var result: [String: [Double]] = [:]
        for line in try readJSONLines(path) {
            let data = ((line["response"] as? [String: Any])?["body"] as? [String: Any])?["data"] as? [[String: Any]]
            #expect(data?.count == 1 && data?.first?["index"] as? Int == 0, "\(line)")
            result[line["custom_id"] as? String ?? "?"] = data?.first?["embedding"] as? [Double]
        }
        return result
    }

    /// 50 items packed 16 to a line: 4 lines in one batch, and the vectors equal those of unpacked live requests.
    @Test(arguments: [nil, "batch-polled", "batch-committed"] as [String?])
    func packedEmbeddingLinesComeBackToTheirItems(_ crash: String?) async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3"])
        let dir = TemporaryDirectory()
        let input = embeddingLines(dir, count: 50)
        let live = try await runSluice([
            "run", "--input", input, "--model", "emb", "--base-url", mock.baseURL, "--no-progress", "--output", dir.file("live.jsonl"),
        ])
        #expect(live.status == 0, "\(live.stderr)")
        let arguments = [
            "run", "--input", input, "--model", "emb", "--base-url", mock.baseURL, "--no-progress", "--output", dir.file("packed.jsonl"),
            "--mode", "batch", "--embed-batch", "16", "--poll-interval", "0.1",
        ]
        if let crash {
            let crashed = try await runSluice(arguments, environment: ["SLUICE_CRASH_AT": crash])
            #expect(crashed.status == 9, "\(crash): \(crashed.stderr)")
        }
        let packed = try await runSluice(arguments)
        #expect(packed.status == 0, "\(packed.stderr)")
        let batch = try await mock.stats().raw["batch"] as? [String: Any] ?? [:]
        #expect(batch["batches_created"] as? Int == 1 && batch["lines_answered"] as? Int == 4, "\(batch)")
        let one = try vectors(dir.file("live.jsonl"))
        let many = try vectors(dir.file("packed.jsonl"))
        #expect(many.count == 50 && one == many, "each item has the vector of its own text")
        // The usage billed for each packed line is shared out among its items: each has a share, and they add up to
        // what the lines billed (the mock rounds each request's characters up to tokens, so packed lines bill a little less).
        let liveTokens = Int(try queryCheckpoint(dir.file("live.jsonl.sluice.db"), "SELECT sum(prompt_tokens) FROM items")[0][0] ?? "") ?? 0
        let shares = try queryCheckpoint(dir.file("packed.jsonl.sluice.db"), "SELECT sum(prompt_tokens), count(*) FROM items WHERE prompt_tokens > 0")
        let packedTokens = Int(shares[0][0] ?? "") ?? 0
        #expect(shares[0][1] == "50" && packedTokens <= liveTokens && liveTokens - packedTokens < 50, "\(shares) against \(liveTokens)")
    }
}
