import Foundation
import Testing

@testable import SluiceCore

/// `status`, `report` and the run summary count the same job, so every counter they share must read the same,
/// also after `retry-failed` sent failed items again (whose sends are retries: every attempt after an item's
/// first is one), and the mock's own count of requests pins them to what was really sent.
@Suite(.serialized)
struct CounterAgreementTests {
    static let items = 60

    /// The first figure after `label` in the summary line that starts with `prefix`.
    private func summaryNumber(_ summary: String, line prefix: String, _ pattern: String) throws -> String {
        let line = try #require(summary.split(separator: "\n").first { $0.hasPrefix(prefix) }, "no \(prefix.debugDescription) line in \(summary)")
        let range = try #require(line.range(of: pattern, options: .regularExpression), "\(pattern) not in \(line)")
        return String(line[range])
    }

    private func summaryInt(_ summary: String, line prefix: String, before word: String) throws -> Int {
        let match = try summaryNumber(summary, line: prefix, #"\d+ \#(word)"#)
        return try #require(Int(match.prefix { $0.isNumber }))
    }

    /// A summary figure's shown text (`<dd id="summary-KEY" ...>TEXT</dd>`).
    private func figureText(_ html: String, _ key: String) throws -> String {
        let start = try #require(html.range(of: #"<dd id="summary-\#(key)""#), "no figure \(key)")
        let rest = html[start.upperBound...]
        let open = try #require(rest.range(of: ">"))
        return String(rest[open.upperBound...].prefix { $0 != "<" })
    }

    @Test func statusReportAndSummaryAgreeAfterRetryFailed() async throws {
        // 500s (retried, then failed for good after two attempts) and a few 400s (never retried by default).
        let mock = try await MockGatewayProcess(["--p500", "0.35", "--p400", "0.05", "--seed", "9"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: Self.items)
        let db = dir.file("in.results.jsonl.sluice.db")
        // A cheap model: a millionth of a dollar or so per item.
        let first = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--max-attempts", "2", "--price", "m=0.05,0.1",
        ])
        #expect(first.status == 1, "the faults leave failed items: \(first.stderr)")
        let failedFirst = try checkpointCount(db, "state = 3 AND http_status >= 500")
        #expect(failedFirst > 0, "some items failed with a server error, for retry-failed to send again")

        let retried = try await runSluice(["retry-failed", db, "--no-progress"])
        #expect(retried.stdout.contains("retried    \(failedFirst) previously failed items"), "\(retried.stdout)")
        let summary = retried.stdout
        let sent = try await mock.stats().totalRequests

        let status = try await runSluice(["status", db, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let items = try #require(json["items"] as? [String: Any])
        let requests = try #require(json["requests"] as? [String: Any])
        let tokens = try #require(json["tokens"] as? [String: Any])
        let cost = try #require((json["cost"] as? [String: Any])?["total_usd"] as? Double)

        let reportPath = dir.file("report.html")
        let made = try await runSluice(["report", db, "--html", reportPath])
        #expect(made.status == 0, "\(made.stderr)")
        let html = try String(contentsOfFile: reportPath, encoding: .utf8)
        let page = Page(html)

        // What was really sent: every request the mock received is an attempt; every one after an item's first a retry.
        let attempts = try #require(requests["attempts"] as? Int)
        let retries = try #require(requests["retries"] as? Int)
        #expect(attempts == sent, "status counts every request the mock received")
        #expect(retries == sent - Self.items, "every send after an item's first is a retry, in whichever run")
        #expect(retries > failedFirst, "the retry-failed sends are counted as retries")

        // Every counter, three ways.
        let counters: [(name: String, status: Int?, report: String?, summary: Int)] = [
            ("total", items["total"] as? Int, page.figure("summary-total"), try summaryInt(summary, line: "  items", before: "total")),
            ("succeeded", items["succeeded"] as? Int, page.figure("summary-succeeded"), try summaryInt(summary, line: "  items", before: "succeeded")),
            ("failed", items["failed"] as? Int, page.figure("summary-failed"), try summaryInt(summary, line: "  items", before: "failed")),
            (
                "attempts", attempts, page.figure("summary-attempts"),
                try summaryInt(summary, line: "  attempts", before: "over every run")
            ),
            ("retries", retries, page.figure("summary-retries"), try summaryInt(summary, line: "  attempts", before: "retries")),
            ("prompt tokens", tokens["prompt"] as? Int, page.figure("summary-prompt-tokens"), try summaryInt(summary, line: "  tokens", before: "prompt")),
            (
                "completion tokens", tokens["completion"] as? Int, page.figure("summary-completion-tokens"),
                try summaryInt(summary, line: "  tokens", before: "completion")
            ),
        ]
        for counter in counters {
            #expect(counter.status == counter.summary, "\(counter.name): status \(counter.status ?? -1), summary \(counter.summary)")
            #expect(counter.report == counter.status.map(String.init), "\(counter.name): report \(counter.report ?? "none"), status \(counter.status ?? -1)")
        }
        #expect(items["total"] as? Int == Self.items)

        // Cost: the same dollars in the three, and per succeeded item with the digits a cheap model needs.
        let summaryCost = try summaryNumber(summary, line: "  cost", #"\$[0-9.]+"#)
        #expect(summaryCost == ProgressReporter.dollars(cost), "summary \(summaryCost), status \(cost)")
        #expect(try figureText(html, "cost") == summaryCost)
        #expect(page.figure("summary-cost").flatMap(Double.init).map { abs($0 - cost) < 1e-12 } == true, "\(page.figure("summary-cost") ?? "none")")
        let succeeded = try #require(items["succeeded"] as? Int)
        let perItem = cost / Double(succeeded)
        #expect(perItem > 1e-7 && perItem < 1e-5, "the price makes the per-item cost millionths of a dollar: \(perItem)")
        let shown = try figureText(html, "cost-per-item")
        let shownValue = try #require(Double(shown.dropFirst()), "not dollars: \(shown)")
        #expect(shown.hasPrefix("$") && abs(shownValue - perItem) / perItem < 0.05, "per item \(shown) against \(perItem): two significant digits")
        #expect(page.figure("summary-cost-per-item").flatMap(Double.init).map { abs($0 - perItem) / perItem < 1e-6 } == true)
    }

    @Test func dollarsKeepTwoSignificantDigitsUnderACent() {
        #expect(ProgressReporter.dollars(0.000012) == "$0.000012")
        #expect(ProgressReporter.dollars(0.00001234) == "$0.000012")
        #expect(ProgressReporter.dollars(0.00000151) == "$0.0000015")
        #expect(ProgressReporter.dollars(0.0123) == "$0.0123")
        #expect(ProgressReporter.dollars(0.5) == "$0.5000")
        #expect(ProgressReporter.dollars(12.3456) == "$12.35")
        #expect(ProgressReporter.dollars(0) == "$0.0000")
    }
}
