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

    @Test func metricsAreServedDuringTheRunAndAgreeWithTheMock() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "50", "--p500", "0.1", "--seed", "4"])
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
        try await waitFor { ((try? checkpointCountIfPresent(db, "state = 2")) ?? 0) >= 20 }
        let text = String(decoding: try await httpGet(address), as: UTF8.self)
        let metrics = PrometheusText(text)
        let requests = metrics.sum("sluice_requests_total")
        #expect(requests > 0)
        #expect(metrics.sum("sluice_requests_total", where: ["property_team": "even"]) > 0)
        #expect(metrics.sum("sluice_requests_total", where: ["property_team": "odd"]) > 0)
        #expect(metrics.value("sluice_concurrency_limit") == 4)
        #expect(metrics.sum("sluice_responses_total", where: ["outcome": "success"]) > 0)
        #expect(metrics.sum("sluice_request_duration_seconds_count") > 0, "the latency histogram")
        #expect(metrics.sum("sluice_tokens_total", where: ["type": "prompt"]) > 0)
        #expect(metrics.sum("sluice_cost_usd_total") > 0)
        let stats = try await mock.stats()
        #expect(requests <= Double(stats.totalRequests), "counted as sent, never more than the mock received")
        #expect(metrics.sum("sluice_responses_total", where: ["outcome": "server"]) <= Double(stats.count("status", "500")))
        let notFound = try await httpStatus(address.replacingOccurrences(of: "/metrics", with: "/nothing"))
        #expect(notFound == 404)

        let finished = await child.wait()
        #expect(finished.status == 0, "\(finished.stderr)")
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
