import Foundation
import Testing

/// Every gateway profile end to end: the real `sluice` against the real
/// `sluice-mock` answering like that gateway (`--profile-echo`), with what
/// was sent read back from the mock's `/stats/requests`.
@Suite(.serialized)
struct ProfileIntegrationTests {
    /// One request as the mock recorded it; header names lowercase.
    struct Sent {
        var headers: [String: String]
        var body: [String: Any]
    }

    func sent(_ mock: MockGatewayProcess) async throws -> [Sent] {
        let data = try await httpGet(mock.baseURL + "/stats/requests")
        guard let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { throw TestFailure("/stats/requests is not a list") }
        return list.map { entry in
            let pairs = (entry["headers"] as? [[String]] ?? []).map { ($0[0], $0[1]) }
            return Sent(headers: Dictionary(pairs) { _, last in last }, body: entry["body"] as? [String: Any] ?? [:])
        }
    }

    /// Headers any HTTP client adds; everything else sluice sent is the profile's doing or the job's.
    static let transport: Set<String> = [
        "host", "content-length", "content-type", "authorization", "user-agent", "connection", "accept", "accept-encoding", "transfer-encoding",
    ]

    /// What each profile must send for the same job settings, and the request id its gateway's answer gives.
    struct Expectation: Sendable, CustomTestStringConvertible {
        var profile: String
        var echo: String
        var cache: String
        var headers: [String: String]
        var model: String
        var fallbacks: [String]?
        var requestIDPrefix: String
        var testDescription: String { profile }
    }

    static let chain = "gpt-4o,claude-sonnet-4,gemini-2.5-pro"
    static let expectations: [Expectation] = [
        Expectation(
            profile: "floopy", echo: "floopy", cache: "semantic",
            headers: [
                "floopy-cache": "semantic", "floopy-property-batch": "nightly", "floopy-property-env": "prod", "floopy-property-tags": "nightly,evals",
                "floopy-fallback": "claude-sonnet-4,gemini-2.5-pro", "floopy-session-id": "s-1", "floopy-user-id": "u-1", "x-team": "search",
            ], model: "gpt-4o", requestIDPrefix: "req_"),
        Expectation(
            profile: "floopy-sdk", echo: "floopy", cache: "semantic",
            headers: [
                "floopy-cache-enabled": "true", "floopy-cache-advanced": "true", "floopy-property-batch": "nightly", "floopy-property-env": "prod",
                "floopy-property-tags": "nightly,evals", "floopy-session-id": "s-1", "floopy-session-name": "profiled", "floopy-session-path": "/",
                "floopy-user-id": "u-1", "x-team": "search",
            ], model: chain, requestIDPrefix: "req_"),
        Expectation(
            profile: "helicone", echo: "helicone", cache: "exact",
            headers: [
                "helicone-cache-enabled": "true", "helicone-property-batch": "nightly", "helicone-property-env": "prod",
                "helicone-property-tags": "nightly,evals", "helicone-session-id": "s-1", "helicone-session-name": "profiled",
                "helicone-session-path": "/", "helicone-user-id": "u-1", "x-team": "search",
            ], model: chain, requestIDPrefix: "hel_req_"),
        Expectation(
            profile: "portkey", echo: "portkey", cache: "semantic",
            headers: [
                "x-portkey-metadata": #"{"_user":"u-1","batch":"nightly","env":"prod","tags":"nightly,evals"}"#, "x-portkey-trace-id": "s-1",
                "x-portkey-config": #"{"cache":{"mode":"semantic"}}"#, "x-team": "search",
            ], model: "gpt-4o", requestIDPrefix: "s-1"),
        Expectation(
            profile: "litellm", echo: "litellm", cache: "semantic",
            headers: [
                "x-litellm-tags": "nightly,evals", "x-litellm-spend-logs-metadata": #"{"batch":"nightly","env":"prod"}"#,
                "x-litellm-end-user-id": "u-1", "x-team": "search",
            ], model: "gpt-4o", fallbacks: ["claude-sonnet-4", "gemini-2.5-pro"], requestIDPrefix: "call_req_"),
        Expectation(profile: "openai", echo: "openai", cache: "semantic", headers: ["x-team": "search"], model: "gpt-4o", requestIDPrefix: "req_"),
    ]

    @Test(arguments: expectations)
    func eachProfileSendsExactlyItsGatewaysNames(expected: Expectation) async throws {
        let mock = try await MockGatewayProcess(["--record-requests", "10", "--profile-echo", expected.echo])
        let dir = TemporaryDirectory()
        let input = dir.file("profiled.jsonl")
        writeFile(input, Data((#"{"id":"one","prompt":"what is a sluice?"}"# + "\n").utf8))
        let finished = try await runSluice([
            "run", "--input", input, "--model", "gpt-4o", "--base-url", mock.baseURL, "--no-progress", "--profile", expected.profile,
            "--cache", expected.cache, "--property", "batch=nightly", "--property", "env=prod", "--fallback", "claude-sonnet-4",
            "--fallback", "gemini-2.5-pro", "--session-id", "s-1", "--user-id", "u-1", "--tag", "nightly", "--tag", "evals",
            "--header", "X-Team: search",
        ])
        #expect(finished.status == 0, "\(finished.stderr)")
        let requests = try await sent(mock)
        let request = try #require(requests.first)
        #expect(requests.count == 1)
        #expect(request.headers.filter { !Self.transport.contains($0.key) } == expected.headers)
        #expect(request.body["model"] as? String == expected.model)
        #expect(request.body["fallbacks"] as? [String] == expected.fallbacks)
        if expected.profile == "litellm" {
            #expect((request.body["cache"] as? [String: Bool]) == ["use-cache": true])
            #expect(request.body["litellm_session_id"] as? String == "s-1")
        } else {
            #expect(request.body["cache"] == nil && request.body["litellm_session_id"] == nil)
        }
        let result = try #require(try readJSONLines(dir.file("profiled.results.jsonl")).first)
        let requestID = (result["response"] as? [String: Any])?["request_id"] as? String
        #expect(requestID?.hasPrefix(expected.requestIDPrefix) == true, "the request id is read from the gateway's own header: \(requestID ?? "none")")
        let warned = finished.stderr.components(separatedBy: "sends no gateway headers").count - 1
        #expect(warned == (expected.profile == "openai" ? 1 : 0), "one warning at start for what openai drops, never one per request")
    }

    /// LiteLLM renames an upstream 429's Retry-After to `llm_provider-retry-after`: the litellm
    /// profile waits for it, where a profile that does not read it retries after its short backoff.
    @Test func litellmsRenamedRetryAfterIsHonoured() async throws {
        for (profile, waited) in [("litellm", true), ("floopy", false)] {
            let mock = try await MockGatewayProcess(["--profile-echo", "litellm", "--p429", "1", "--fail-first", "1", "--retry-after", "2"])
            let dir = TemporaryDirectory()
            let input = dir.writePrompts("in.jsonl", count: 3)
            let finished = try await runSluice([
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--profile", profile, "--no-adaptive",
            ])
            #expect(finished.status == 0, "\(finished.stderr)")
            let arrivals = try await mock.timeline()
            #expect(arrivals.count == 6)
            #expect(arrivals.filter { $0.status == 429 }.allSatisfy { $0.retryAfter == 2 }, "the mock asked for 2 s under LiteLLM's name")
            for body in Set(arrivals.map(\.body)) {
                let times = arrivals.filter { $0.body == body }.map(\.time).sorted()
                let gap = try #require(times.count == 2 ? times[1] - times[0] : nil)
                if waited {
                    #expect(gap >= 1.95, "\(profile): retried after \(gap) s, asked to wait 2 s")
                } else {
                    #expect(gap < 1.5, "\(profile): does not read llm_provider-retry-after, so it backs off briefly (\(gap) s)")
                }
            }
        }
    }

    /// `status` counts the cache hits each gateway reports in its own header: the second job over the
    /// same input is answered from the mock's cache.
    @Test(arguments: [
        ("floopy", "floopy", "exact"), ("floopy-sdk", "floopy", "exact"), ("helicone", "helicone", "exact"), ("portkey", "portkey", "semantic"),
        ("litellm", "litellm", "exact"),
    ])
    func statusCountsEachGatewaysCacheHits(profile: String, echo: String, cache: String) async throws {
        let mock = try await MockGatewayProcess(["--profile-echo", echo])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 3)
        func job(_ name: String) async throws -> [String: Any] {
            let output = dir.file("\(name).results.jsonl")
            let run = try await runSluice([
                "run", "--input", input, "--output", output, "--model", "m", "--base-url", mock.baseURL, "--no-progress",
                "--profile", profile, "--cache", cache,
            ])
            #expect(run.status == 0, "\(run.stderr)")
            let status = try await runSluice(["status", output + ".sluice.db", "--json"])
            guard let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any] else {
                throw TestFailure("status --json: \(status.stderr)")
            }
            return object["cache"] as? [String: Any] ?? [:]
        }
        #expect(try await job("first")["hits"] as? Int == 0)
        let second = try await job("second")
        #expect(second["hits"] as? Int == 3, "\(profile): \(second)")
        #expect(try await mock.stats().raw["cache_hits"] as? Int == 3)
    }
}
