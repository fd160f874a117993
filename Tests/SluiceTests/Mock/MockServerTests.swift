import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import SluiceMockServer

/// sluice-mock over real sockets: each endpoint and each fault mode.
struct MockServerTests {
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
    }

    static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)

    func withMock(_ change: (inout MockConfiguration) -> Void = { _ in }, _ body: (Int) async throws -> Void) async throws {
        var config = MockConfiguration()
        change(&config)
        let server = try await MockServer.start(config)
        do { try await body(server.port) } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    func send(
        _ port: Int, _ path: String, method: HTTPMethod = .POST, body: String? = nil,
        headers: [String: String] = [:], timeout: Int64 = 10
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await Self.client.execute(request, timeout: .seconds(timeout))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Answer(
            status: Int(response.status.code),
            headers: Dictionary(response.headers.map { ($0.name.lowercased(), $0.value) }) { _, last in last },
            body: String(buffer: bytes))
    }

    let chat = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is two plus two?"}]}"#

    @Test func healthModelsAndUnknownRoutes() async throws {
        try await withMock { port in
            #expect(try await send(port, "/health", method: .GET).status == 200)
            let models = try await send(port, "/v1/models", method: .GET)
            #expect(((models.json?["data"] as? [[String: Any]])?.first?["id"]) as? String == "mock-model")
            #expect(try await send(port, "/nope", method: .GET).status == 404)
        }
    }

    @Test func chatCompletionIsDeterministicAndCountsUsage() async throws {
        try await withMock { port in
            let first = try await send(port, "/v1/chat/completions", body: chat)
            let second = try await send(port, "/v1/chat/completions", body: chat)
            #expect(first.status == 200)
            #expect(first.body == second.body)
            #expect(first.headers["x-request-id"] != nil && first.headers["x-request-id"] != second.headers["x-request-id"])
            let json = try #require(first.json)
            #expect(json["object"] as? String == "chat.completion")
            let usage = try #require(json["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 6)  // 21 characters at 4 per token, rounded up
            #expect(usage["total_tokens"] as? Int == (usage["prompt_tokens"] as? Int ?? 0) + (usage["completion_tokens"] as? Int ?? 0))
            let other = try await send(port, "/v1/chat/completions", body: chat.replacingOccurrences(of: "two plus two", with: "three"))
            #expect(other.body != first.body)
        }
    }

    @Test func streamingSendsChunksUsageAndDone() async throws {
        try await withMock { port in
            let body = #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream this please"}]}"#
            let answer = try await send(port, "/v1/chat/completions", body: body)
            #expect(answer.headers["content-type"] == "text/event-stream")
            let events = answer.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.last == "data: [DONE]")
            #expect(events.dropLast().allSatisfy { $0.hasPrefix("data: {") })
            #expect(events.contains { $0.contains(#""choices":[],"usage":"#) })
        }
    }

    @Test func embeddingsHaveTheConfiguredDimension() async throws {
        try await withMock({ $0.embeddingDimensions = 5 }) { port in
            let answer = try await send(port, "/v1/embeddings", body: #"{"model":"e","input":["a","b"]}"#)
            let data = try #require(answer.json?["data"] as? [[String: Any]])
            #expect(data.count == 2)
            #expect((data[0]["embedding"] as? [Double])?.count == 5)
        }
    }

    @Test func statsCountWhatArrivedAndReset() async throws {
        try await withMock({ $0.failingModels = ["bad"] }) { port in
            _ = try await send(port, "/v1/chat/completions", body: chat, headers: ["floopy-property-batch": "b1"])
            _ = try await send(port, "/v1/chat/completions", body: chat, headers: ["floopy-property-batch": "b1"])
            _ = try await send(port, "/v1/chat/completions", body: #"{"model":"bad","messages":[]}"#)
            let stats = try #require(try await send(port, "/stats", method: .GET).json)
            #expect(stats["total_requests"] as? Int == 3)
            #expect((stats["status"] as? [String: Int]) == ["200": 2, "502": 1])
            #expect((stats["properties"] as? [String: [String: Int]])?["batch"]?["b1"] == 2)
            #expect((stats["models_requested"] as? [String: Int])?["bad"] == 1)
            #expect((stats["bodies"] as? [String: Int])?.values.sorted() == [1, 2])
            #expect(try await send(port, "/stats/reset").status == 200)
            #expect(try await send(port, "/stats", method: .GET).json?["total_requests"] as? Int == 0)
        }
    }

    @Test func apiKeyIsChecked() async throws {
        try await withMock({ $0.apiKey = "fp_k" }) { port in
            let refused = try await send(port, "/v1/chat/completions", body: chat)
            #expect(refused.status == 401)
            #expect((refused.json?["error"] as? [String: Any])?["code"] as? String == "INVALID_API_KEY")
            #expect(try await send(port, "/v1/chat/completions", body: chat, headers: ["Authorization": "Bearer fp_k"]).status == 200)
        }
    }

    @Test func failingModelFallsBackThroughHeaderOrModelChain() async throws {
        try await withMock({ $0.failingModels = ["gpt-4o"] }) { port in
            let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}"#
            let failed = try await send(port, "/v1/chat/completions", body: body)
            #expect(failed.status == 502)
            #expect((failed.json?["error"] as? [String: Any])?["code"] as? String == "PROVIDER_ERROR")
            let viaHeader = try await send(port, "/v1/chat/completions", body: body, headers: ["floopy-fallback": "claude-sonnet-4"])
            #expect(viaHeader.status == 200)
            #expect(viaHeader.json?["model"] as? String == "claude-sonnet-4")
            #expect(viaHeader.headers["floopy-model"] == "claude-sonnet-4")
            #expect(viaHeader.headers["floopy-provider"] == "anthropic")
            let viaChain = try await send(port, "/v1/chat/completions", body: #"{"model":"gpt-4o,gemini-2.5-pro","messages":[]}"#)
            #expect(viaChain.json?["model"] as? String == "gemini-2.5-pro")
        }
    }

    @Test func exactCacheAnswersTheSecondRequestWithZeroTokens() async throws {
        try await withMock { port in
            let first = try await send(port, "/v1/chat/completions", body: chat, headers: ["Floopy-Cache": "exact"])
            let second = try await send(port, "/v1/chat/completions", body: chat, headers: ["Floopy-Cache": "exact"])
            #expect(first.headers["floopy-cache"] == "MISS")
            #expect(second.headers["floopy-cache"] == "HIT")
            #expect((second.json?["usage"] as? [String: Any])?["total_tokens"] as? Int == 0)
            let third = try await send(port, "/v1/chat/completions", body: chat, headers: ["Floopy-Cache-Enabled": "true"])
            #expect(third.headers["floopy-cache"] == "HIT")
        }
    }

    @Test func requestsPerMinuteLimitAnswers429WithRateLimitHeaders() async throws {
        try await withMock({ $0.requestsPerMinute = 3 }) { port in
            for _ in 0..<3 { #expect(try await send(port, "/v1/chat/completions", body: chat).status == 200) }
            let limited = try await send(port, "/v1/chat/completions", body: chat)
            #expect(limited.status == 429)
            #expect(Double(limited.headers["retry-after"] ?? "") ?? 0 > 0)
            #expect(limited.headers["x-ratelimit-limit-requests"] == "3")
            #expect(limited.headers["x-ratelimit-remaining-requests"] == "0")
            #expect(limited.headers["x-ratelimit-reset-requests"]?.hasSuffix("s") == true)
        }
    }

    @Test func tokensPerMinuteLimit() async throws {
        try await withMock({ $0.tokensPerMinute = 30 }) { port in
            #expect(try await send(port, "/v1/chat/completions", body: chat).status == 200)
            let limited = try await send(port, "/v1/chat/completions", body: chat)
            #expect(limited.status == 429)
            #expect(limited.headers["x-ratelimit-limit-tokens"] == "30")
        }
    }

    @Test(arguments: [("p429", 429), ("p500", 500), ("p502", 502), ("p503", 503), ("p400", 400)])
    func injectedStatusFaults(fault: String, status: Int) async throws {
        try await withMock({ config in
            switch fault {
            case "p429": config.faults.p429 = 1; config.faults.retryAfterSeconds = 2
            case "p500": config.faults.p500 = 1
            case "p502": config.faults.p502 = 1
            case "p503": config.faults.p503 = 1
            default: config.faults.p400 = 1
            }
        }) { port in
            let answer = try await send(port, "/v1/chat/completions", body: chat)
            #expect(answer.status == status)
            #expect(answer.headers["x-request-id"] != nil)
            if status == 429 { #expect(answer.headers["retry-after"] == "2") }
        }
    }

    @Test func failFirstRestrictsFaultsToTheFirstAttemptsOfABody() async throws {
        try await withMock({ (config: inout MockConfiguration) in
            config.faults.p500 = 1; config.faults.failFirst = 2
        }) { (port: Int) async throws in
            #expect(try await send(port, "/v1/chat/completions", body: chat).status == 500)
            #expect(try await send(port, "/v1/chat/completions", body: chat).status == 500)
            #expect(try await send(port, "/v1/chat/completions", body: chat).status == 200)
        }
    }

    @Test func droppedConnectionsStallsAndMalformedBodies() async throws {
        try await withMock({ $0.faults.pDrop = 1 }) { port in
            await #expect { _ = try await send(port, "/v1/chat/completions", body: chat) } throws: {
                ($0 as? HTTPClientError) == .remoteConnectionClosed
            }
        }
        try await withMock({ (config: inout MockConfiguration) in
            config.faults.pStall = 1; config.stallSeconds = 5
        }) { port in
            await #expect(throws: (any Error).self) { _ = try await send(port, "/v1/chat/completions", body: chat, timeout: 1) }
        }
        try await withMock({ $0.faults.pMalformed = 1 }) { port in
            let answer = try await send(port, "/v1/chat/completions", body: chat)
            #expect(answer.status == 200)
            #expect(answer.json == nil)
        }
    }

    @Test func cutStreamsEndBeforeDone() async throws {
        let body = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"a long enough question to need several chunks"}]}"#
        // Read the raw bytes up to the connection's end: a cut stream has chunks but no [DONE], a whole one has both.
        try await withMock({ $0.faults.pCutStream = 1 }) { port in
            let raw = try rawHTTPExchange(port: port, path: "/v1/chat/completions", body: body)
            #expect(raw.contains("data: {"), "\(raw)")
            #expect(!raw.contains("[DONE]"), "\(raw)")
        }
        try await withMock({ _ in }) { port in
            let raw = try rawHTTPExchange(port: port, path: "/v1/chat/completions", body: body, close: true)
            #expect(raw.contains("data: {") && raw.contains("data: [DONE]"), "\(raw)")
        }
    }

    @Test func latencyDelaysTheAnswer() async throws {
        try await withMock({ $0.latency = .fixed(milliseconds: 300) }) { port in
            let start = Date()
            _ = try await send(port, "/v1/chat/completions", body: chat)
            #expect(Date().timeIntervalSince(start) >= 0.3)
        }
    }

    @Test func faultsAreReproducibleForTheSameSeed() async throws {
        func statuses(seed: UInt64) async throws -> [Int] {
            var result: [Int] = []
            try await withMock({ (config: inout MockConfiguration) in
                config.seed = seed; config.faults.p500 = 0.5
            }) { port in
                for index in 0..<16 {
                    result.append(try await send(port, "/v1/chat/completions", body: chat.replacingOccurrences(of: "two", with: "\(index)")).status)
                }
            }
            return result
        }
        let first = try await statuses(seed: 7)
        #expect(try await statuses(seed: 7) == first)
        #expect(Set(first) == [200, 500])
    }

    @Test func latencyModelsParse() throws {
        #expect(try LatencyModel(parsing: "50") == .fixed(milliseconds: 50))
        #expect(try LatencyModel(parsing: "10-20") == .uniform(min: 10, max: 20))
        #expect(try LatencyModel(parsing: "200,2000") == .tail(p50: 200, p99: 2000))
        #expect(throws: MockConfigurationError.self) { try LatencyModel(parsing: "20-10") }
        var rng = SplitMix64(seed: 1)
        let samples = (0..<2000).map { _ in LatencyModel.tail(p50: 100, p99: 1000).sample(using: &rng) }.sorted()
        #expect(samples[1000] > 70 && samples[1000] < 140)
        #expect(samples[1980] > 600 && samples[1980] < 1600)
    }
}
