import AsyncHTTPClient
import Foundation
import Testing

/// What a running job shows the people and machines watching it: the progress
/// line on a terminal and in a log, Prometheus metrics, and JSON logs.
@Suite(.serialized)
struct ObservabilityTests {
    @Test func progressIsPlainLinesWithoutATerminal() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "40"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 60)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "2", "--progress-interval", "0.2",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let progress = run.stderr.split(separator: "\n").filter { $0.hasPrefix("sluice: ") && $0.contains(" done") }
        #expect(progress.count >= 3, "a line every 0.2 s: \(run.stderr)")
        #expect(!run.stderr.contains("\r") && !run.stderr.contains("\u{1B}["), "no terminal control codes in a log")
        let last = try #require(progress.last)
        #expect(last.contains("/60 done") && last.contains("req/s") && last.contains("ETA") && last.contains("elapsed") && last.contains("limit 2"))
    }

    @Test func progressRedrawsOneLineOnAPseudoTerminal() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "40"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 60)
        // script(1) runs sluice on a pseudo-terminal and copies what it draws to its own stdout.
        let command = "'\(Binaries.sluice)' run --input '\(input)' --model m --base-url \(mock.baseURL) --concurrency 2"
        let finished = await (try Child("/usr/bin/script", ["-qfec", command, "/dev/null"])).wait(timeout: 60)
        #expect(finished.status == 0, "\(finished.stdout)")
        #expect(finished.stdout.contains("\r\u{1B}[2Ksluice: "), "the line is redrawn in place: \(finished.stdout.debugDescription.prefix(400))")
        #expect(finished.stdout.contains(#"job "in" finished"#))
    }

    /// The metrics and the mock's `/stats`, read one after the other.
    private func snapshot(_ address: String, _ mock: MockGatewayProcess) async throws -> (metrics: PrometheusText, stats: MockStatsView) {
        let metrics = PrometheusText(String(decoding: try await httpGet(address), as: UTF8.self))
        return (metrics, try await mock.stats())
    }

    @Test func metricsAreServedDuringTheRunAndAgreeWithTheMock() async throws {
        // The gateway answers 120 requests per 30-second window and then asks sluice to wait for the rest of it:
        // a quiet with nothing in flight, in which every counter must equal what the mock counted. The window
        // fills after the first 500s were retried (0.5 s of backoff), so the counts include retries.
        let mock = try await MockGatewayProcess(["--latency-ms", "50", "--p500", "0.1", "--seed", "4", "--rpm", "120", "--rate-window", "30"])
        let dir = TemporaryDirectory()
        let lines = (0..<150).map { #"{"id":"x\#($0)","prompt":"q \#($0)","properties":{"team":"\#($0 % 2 == 0 ? "even" : "odd")"}}"# }
        let input = dir.file("teams.jsonl")
        writeFile(input, Data((lines.joined(separator: "\n") + "\n").utf8))
        let child = try Child(
            Binaries.sluice,
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--concurrency", "4", "--metrics", "127.0.0.1:0",
                "--metrics-label-property", "team", "--price", "m=1,2",
            ])
        var url: String?
        try await waitFor {
            if let range = child.stderrSoFar.range(of: #"http://127\.0\.0\.1:\d+/metrics"#, options: .regularExpression) {
                url = String(child.stderrSoFar[range])
            }
            return url != nil
        }
        let address = try #require(url)
        let db = dir.file("teams.results.jsonl.sluice.db")
        // Quiet: nothing in flight, and neither sluice's counts nor the mock's move for a second.
        var quiet: (metrics: PrometheusText, stats: MockStatsView)?
        try await waitFor(
            {
                guard let before = try? await snapshot(address, mock) else { return false }
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                guard let after = try? await snapshot(address, mock) else { return false }
                let settled =
                    after.metrics.value("sluice_in_flight") == 0 && after.stats.totalRequests > 0
                    && before.metrics.sum("sluice_requests_total") == after.metrics.sum("sluice_requests_total")
                    && before.metrics.sum("sluice_responses_total") == after.metrics.sum("sluice_responses_total")
                    && before.stats.totalRequests == after.stats.totalRequests
                if settled { quiet = after }
                return settled
            }, timeout: 25)
        let (metrics, stats) = try #require(quiet)
        #expect(stats.count("status", "200") == 120, "the quiet is sluice waiting for the gateway's window")
        #expect(stats.bodies.values.contains { $0 > 1 }, "some request was sent again before the quiet: retries are in the counts")

        let requests = metrics.sum("sluice_requests_total")
        #expect(requests == Double(stats.totalRequests), "every request sluice counted reached the mock, and no other did")
        for team in ["even", "odd"] {
            #expect(metrics.sum("sluice_requests_total", where: ["property_team": team]) == Double(stats.nested("properties", "team", team)), "\(team)")
        }
        #expect(metrics.sum("sluice_responses_total") == requests, "every request was answered")
        for (outcome, status) in [("success", "200"), ("server", "500"), ("rate_limit", "429")] {
            #expect(metrics.sum("sluice_responses_total", where: ["outcome": outcome]) == Double(stats.count("status", status)), "\(outcome)")
        }
        #expect(metrics.sum("sluice_request_duration_seconds_count") == requests, "the latency histogram has every answer")
        let tokens = try #require(stats.raw["tokens"] as? [String: Int])
        let prompt = try #require(tokens["prompt"])
        let completion = try #require(tokens["completion"])
        #expect(metrics.sum("sluice_tokens_total", where: ["type": "prompt"]) == Double(prompt))
        #expect(metrics.sum("sluice_tokens_total", where: ["type": "completion"]) == Double(completion))
        #expect(abs(metrics.sum("sluice_cost_usd_total") - Double(prompt + 2 * completion) / 1_000_000) < 1e-9, "the billed tokens at --price m=1,2")
        #expect(metrics.sum("sluice_items_total", where: ["outcome": "succeeded"]) == Double(try checkpointCount(db, "state = 2")))
        #expect(metrics.value("sluice_concurrency_limit").map { $0 >= 1 && $0 <= 4 } == true)
        let notFound = try await httpStatus(address.replacingOccurrences(of: "/metrics", with: "/nothing"))
        #expect(notFound == 404)

        // The rest would wait for the window: stop gracefully instead.
        child.signal(SIGTERM)
        let finished = await child.wait()
        #expect(finished.status == 143, "\(finished.stderr)")
    }

    @Test func jsonLogsAreOneObjectPerLineAndNeverHoldTheKey() async throws {
        let key = "fp_test_\(UUID().uuidString.prefix(12))"
        let mock = try await MockGatewayProcess(["--api-key", key, "--p500", "0.3", "--seed", "2"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 20)
        let run = try await runSluice(
            ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--log-format", "json", "--log-level", "debug"],
            environment: ["FLOOPY_API_KEY": key])
        #expect(run.status == 0, "\(run.stderr)")
        let logLines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(logLines.count >= 3, "\(run.stderr)")
        for line in logLines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            #expect(object["ts"] is String && object["level"] is String && object["message"] is String && object["label"] as? String == "sluice")
        }
        #expect(!run.stderr.contains(key) && !run.stdout.contains(key))
    }
}

/// The Prometheus text format, parsed just enough to sum series.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]

    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            let inner = series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)]
            for pair in inner.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }

    func sum(_ name: String, where wanted: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && wanted.allSatisfy { sample.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }

    func value(_ name: String) -> Double? { samples.first { $0.name == name }?.value }
}

/// The status code of a GET over loopback.
func httpStatus(_ url: String) async throws -> Int {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    return Int(response.status.code)
}
