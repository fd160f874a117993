import Foundation
import Testing

/// `--stream` end to end: the real `sluice` against the real `sluice-mock`,
/// which answers `stream: true` with SSE chunks and can cut them (`--pcut-stream`)
/// or space them out (`--stream-chunk-ms`).
@Suite(.serialized)
struct StreamingIntegrationTests {
    func run(_ mock: MockGatewayProcess, _ input: String, output: String, _ extra: [String] = []) async throws -> Finished {
        try await runSluice(["run", "--input", input, "--output", output, "--model", "gpt-4o-mini", "--base-url", mock.baseURL, "--no-progress"] + extra)
    }

    func status(_ output: String) async throws -> [String: Any] {
        let finished = try await runSluice(["status", output + ".sluice.db", "--json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(finished.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("status --json: \(finished.stderr)")
        }
        return object
    }

    /// The mock's answer text and id name the digest of the request's bytes, which the two stream
    /// fields change; with that digest taken out, a streamed answer must equal the unstreamed one.
    /// (`created` is drawn from that digest too.) Sorted-key JSON, so two answers compare as text.
    func normalized(_ result: [String: Any]) throws -> String {
        var body = try #require((result["response"] as? [String: Any])?["body"] as? [String: Any])
        let id = try #require(body["id"] as? String)
        #expect(body["created"] is Int)
        body["created"] = 0
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: String(id.dropFirst("chatcmpl-".count)), with: "DIGEST")
    }

    @Test func streamedResultsHaveTheShapeContentAndUsageOfUnstreamedOnes() async throws {
        let mock = try await MockGatewayProcess(["--record-requests", "20"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 4)
        let plain = try await run(mock, input, output: dir.file("plain.results.jsonl"))
        #expect(plain.status == 0, "\(plain.stderr)")
        let streamed = try await run(mock, input, output: dir.file("streamed.results.jsonl"), ["--stream"])
        #expect(streamed.status == 0, "\(streamed.stderr)")

        let plainLines = try readJSONLines(dir.file("plain.results.jsonl"))
        let streamedLines = try readJSONLines(dir.file("streamed.results.jsonl"))
        #expect(plainLines.count == 4 && streamedLines.count == 4)
        for (unstreamed, assembled) in zip(plainLines, streamedLines) {
            #expect(Set(unstreamed.keys) == Set(assembled.keys))
            #expect(unstreamed["custom_id"] as? String == assembled["custom_id"] as? String)
            #expect(try normalized(unstreamed) == normalized(assembled))
        }

        // What went out: the unstreamed bodies without stream fields, the streamed ones with both.
        let data = try await httpGet(mock.baseURL + "/stats/requests")
        let sent = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]]).compactMap { $0["body"] as? [String: Any] }
        #expect(sent.count == 8)
        #expect(sent.prefix(4).allSatisfy { $0["stream"] == nil && $0["stream_options"] == nil })
        #expect(sent.suffix(4).allSatisfy { $0["stream"] as? Bool == true && ($0["stream_options"] as? [String: Bool]) == ["include_usage": true] })

        // Status reads both alike, and only the streamed job has streaming figures.
        let plainStatus = try await status(dir.file("plain.results.jsonl"))
        let streamedStatus = try await status(dir.file("streamed.results.jsonl"))
        #expect((plainStatus["tokens"] as? [String: Int]) == (streamedStatus["tokens"] as? [String: Int]))
        #expect((plainStatus["streaming"] as? [String: Any])?["count"] as? Int == 0)
        #expect((streamedStatus["streaming"] as? [String: Any])?["count"] as? Int == 4)
        let text = try await runSluice(["status", dir.file("plain.results.jsonl.sluice.db")])
        #expect(!text.stdout.contains("streaming"))
    }

    @Test func aCutStreamIsRetriedAndTheRetrySucceeds() async throws {
        let mock = try await MockGatewayProcess(["--pcut-stream", "1", "--fail-first", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 5)
        let finished = try await run(mock, input, output: dir.file("out.results.jsonl"), ["--stream"])
        #expect(finished.status == 0, "\(finished.stderr)")
        let results = try readJSONLines(dir.file("out.results.jsonl"))
        #expect(results.count == 5 && results.allSatisfy { ($0["response"] as? [String: Any])?["status_code"] as? Int == 200 })
        let stats = try await mock.stats()
        #expect(stats.totalRequests == 10)
        #expect(stats.bodies.count == 5 && stats.bodies.values.allSatisfy { $0 == 2 }, "each item's first stream was cut, its second one whole")
        #expect(stats.count("faults", "cut_stream") == 5)
        #expect((try await status(dir.file("out.results.jsonl"))["requests"] as? [String: Int])?["retries"] == 5)
    }

    @Test func withoutRetriesACutStreamFailsWithItsPartialText() async throws {
        let mock = try await MockGatewayProcess(["--pcut-stream", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 3)
        let output = dir.file("out.results.jsonl")
        let finished = try await run(mock, input, output: output, ["--stream", "--max-attempts", "1"])
        #expect(finished.status == 1, "\(finished.stderr)")
        let errors = try readJSONLines(dir.file("out.errors.jsonl"))
        #expect(errors.count == 3)
        for line in errors {
            let error = try #require(line["error"] as? [String: Any])
            #expect(error["code"] as? String == "stream_interrupted")
            let message = try #require(error["message"] as? String)
            #expect(message.hasPrefix("stream ended before [DONE]"), "\(message)")
            #expect(message.contains(#"chunks; partial text: "Mock answer "#), "\(message)")
        }
        let groups = try #require(try await status(output)["errors"] as? [[String: Any]])
        #expect(groups.map { $0["class"] as? String } == ["network"])
        #expect(groups.first?["count"] as? Int == 3)
    }

    @Test func aStreamThatStallsPastTheTimeoutFailsAsATimeoutWithItsPartialText() async throws {
        // Nine events half a second apart: the answer's head comes at once, its end would come after the timeout.
        let mock = try await MockGatewayProcess(["--stream-chunk-ms", "500"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 1)
        let started = Date()
        let finished = try await run(mock, input, output: dir.file("out.results.jsonl"), ["--stream", "--max-attempts", "1", "--timeout", "1.2"])
        #expect(finished.status == 1, "\(finished.stderr)")
        #expect(Date().timeIntervalSince(started) < 4, "the timeout covers the whole stream, not only its head")
        let error = try #require(try readJSONLines(dir.file("out.errors.jsonl")).first?["error"] as? [String: Any])
        #expect(error["code"] as? String == "timeout")
        #expect((error["message"] as? String)?.contains(#"partial text: "Mock answer"#) == true, "\(error)")
    }

    @Test func anErrorAnswerToAStreamedRequestIsHandledAsBefore() async throws {
        let mock = try await MockGatewayProcess(["--p500", "1", "--fail-first", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 3)
        let finished = try await run(mock, input, output: dir.file("out.results.jsonl"), ["--stream"])
        #expect(finished.status == 0, "\(finished.stderr)")
        let stats = try await mock.stats()
        #expect(stats.count("status", "500") == 3 && stats.count("status", "200") == 3)
        let results = try readJSONLines(dir.file("out.results.jsonl"))
        #expect(results.allSatisfy { (($0["response"] as? [String: Any])?["body"] as? [String: Any])?["object"] as? String == "chat.completion" })
    }

    @Test func statusAndTheReportShowTimeToFirstTokenAndTokensPerSecond() async throws {
        // 40 ms before the first (role) event, the first content 15 ms later, then an event every 15 ms.
        let mock = try await MockGatewayProcess(["--latency-ms", "40", "--stream-chunk-ms", "15"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 4)
        let output = dir.file("out.results.jsonl")
        let finished = try await run(mock, input, output: output, ["--stream"])
        #expect(finished.status == 0, "\(finished.stderr)")
        let object = try await status(output)
        let streaming = try #require(object["streaming"] as? [String: Any])
        let latency = try #require((object["latency_ms"] as? [String: Any])?["p50"] as? Double)
        let p50 = try #require(streaming["first_token_ms_p50"] as? Double)
        let p90 = try #require(streaming["first_token_ms_p90"] as? Double)
        let speed = try #require(streaming["tokens_per_second_p50"] as? Double)
        #expect(streaming["count"] as? Int == 4)
        #expect(p50 >= 50 && p50 <= p90, "first token after the latency and one event gap: \(p50) ms")
        #expect(latency - p50 >= 60, "the rest of the answer took several more gaps: latency \(latency) ms, first token \(p50) ms")
        // About 13 completion tokens over five or six gaps of 15 ms: between one and two hundred tokens per second.
        #expect(speed > 50 && speed < 2000, "\(speed) tokens/s")

        let text = try await runSluice(["status", output + ".sluice.db"])
        #expect(text.stdout.contains("streaming  first token p50 "), "\(text.stdout)")
        #expect(text.stdout.contains("tokens/s median (4 streamed answers)"), "\(text.stdout)")
        let report = try await runSluice(["report", output + ".sluice.db", "--html", dir.file("report.html")])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: dir.file("report.html"), encoding: .utf8)
        #expect(html.contains(#"id="summary-first-token-p50""#) && html.contains(#"id="summary-tokens-per-second""#))
    }

    @Test func aLineThatAsksToStreamNeedsStream() async throws {
        let mock = try await MockGatewayProcess(["--record-requests", "5"])
        let dir = TemporaryDirectory()
        let input = dir.file("in.jsonl")
        writeFile(input, Data((#"{"id":"s","messages":[{"role":"user","content":"hi"}],"stream":true}"# + "\n").utf8))
        let refused = try await run(mock, input, output: dir.file("refused.results.jsonl"))
        #expect(refused.status == 1)
        let problem = try #require(try readJSONLines(dir.file("refused.errors.jsonl")).first?["error"] as? [String: Any])
        #expect((problem["message"] as? String)?.contains("needs --stream") == true, "\(problem)")
        #expect(try await mock.stats().totalRequests == 0)

        let accepted = try await run(mock, input, output: dir.file("accepted.results.jsonl"), ["--stream"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let data = try await httpGet(mock.baseURL + "/stats/requests")
        let body = try #require((try JSONSerialization.jsonObject(with: data) as? [[String: Any]])?.first?["body"] as? [String: Any])
        #expect(body["stream"] as? Bool == true && (body["stream_options"] as? [String: Bool]) == ["include_usage": true])
    }
}
