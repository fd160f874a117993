import Foundation
import Testing

@testable import SluiceCore

/// `sluice report --html` end to end: a real job against the real mock (with
/// faults, so there are retries and failures), the page checked against the
/// checkpoint's own figures, then opened in headless Chromium, which must
/// parse it into the same figures without a single console message.
///
/// What needs no browser (figures, escaping, nothing fetched, the Content-Security-Policy) is checked in tests
/// of its own. Chromium comes from Debian's packages: `make test` installs it (scripts/system-packages.txt),
/// so the browser tests always run, and fail saying so if it is missing.
@Suite(.serialized)
struct ReportTests {
    /// Set (to a folder) to have the browser tests also save their pages and screenshots there, for a person to look at.
    static let screenshotFolder = ProcessInfo.processInfo.environment["SLUICE_REPORT_SCREENSHOTS"]

    @Test func theReportOfARealJobShowsTheCheckpointsFiguresAsTextAndFetchesNothing() async throws {
        let made = try await RealJobReport.make()
        let page = made.page
        let db = made.db
        func sql(_ query: String) throws -> Int { Int((try queryCheckpoint(db, query).first?.first ?? nil) ?? "0") ?? -1 }
        for (key, value) in made.expected {
            #expect(page.figure("summary-\(key)") == String(value), "summary-\(key)")
        }
        #expect(try sql("SELECT sum(retries) FROM items") > 0, "the faults made retries")
        let answeredByM = try queryCheckpoint(db, "SELECT sum(prompt_tokens), sum(completion_tokens) FROM items WHERE answered_model = 'm'")
        let cost = (Double(answeredByM[0][0] ?? "0")! * 1000 + Double(answeredByM[0][1] ?? "0")! * 2000) / 1_000_000
        #expect(abs((page.figure("summary-cost").flatMap(Double.init) ?? -1) - cost) < 1e-6, "the cost at the job's prices")
        let latencies = try queryCheckpoint(db, "SELECT latency_ms FROM items WHERE latency_ms IS NOT NULL ORDER BY latency_ms").compactMap {
            $0[0].flatMap(Double.init)
        }
        let p50 = try #require(page.figure("summary-latency-p50").flatMap(Double.init))
        #expect(abs(p50 - latencies[(latencies.count + 1) / 2 - 1]) < 0.001, "p50 is the checkpoint's median answer")
        #expect(page.figure("summary-latency-max").flatMap(Double.init).map { abs($0 - latencies.last!) < 0.001 } == true)

        let failedRows = page.rows(table: "failed-items")
        #expect(failedRows.count == made.failedItems.count)
        for item in made.failedItems {
            let id = HTML.escape(item[0] ?? "")
            let row = failedRows.first { $0.hasPrefix(#""\#(id)""#) } ?? ""
            #expect(row.contains(#"data-http-status="\#(item[1] ?? "")""#), "failed item \(id) is listed with its status")
            #expect(row.contains(HTML.escape(item[2] ?? "-")), "and its message")
        }
        let models = try queryCheckpoint(
            db, "SELECT answered_model, ifnull(sum(prompt_tokens), 0), ifnull(sum(completion_tokens), 0) FROM items WHERE answered_model IS NOT NULL GROUP BY 1"
        )
        #expect(!models.isEmpty)
        for row in models {
            #expect(page.has(#"data-model="\#(HTML.escape(row[0] ?? ""))" data-items=""#))
            #expect(page.has(#"data-prompt-tokens="\#(row[1] ?? "")" data-completion-tokens="\#(row[2] ?? "")""#), "model \(row[0] ?? "")'s tokens")
        }
        let reds = (0..<60).filter { $0 % 3 == 0 }.map { "'i\($0)'" }.joined(separator: ",")
        #expect(page.has(#"data-property="team" data-value="red" data-items="\#(try checkpointCount(db, "custom_id IN (\(reds))"))""#))
        let historyRequests = try sql("SELECT sum(json_extract(figures, '$.requests')) FROM history")
        #expect(historyRequests > 0, "the run recorded its per-minute history")
        #expect(page.has("\(HTML.integer(historyRequests)) requests over"), "the charts' note sums the checkpoint's history")
        for chart in ["chart-throughput", "chart-concurrency", "chart-latency", "chart-errors", "chart-models"] {
            #expect(page.chart(chart, "data-empty") == nil && page.chart(chart, "class") == "chart", "\(chart) is drawn")
        }
        // Escaped everywhere, never markup; and nothing on the page is fetched from anywhere.
        #expect(page.has("&lt;b&gt;x&amp;y&quot;&#39;&lt;/b&gt;") && !page.has("<b>x"))
        #expect(page.has("&lt;i&gt;blue &amp; &#39;green&#39;&lt;/i&gt;") && !page.has("<i>blue"))
        #expect(page.has("report &lt;demo&gt;") && !page.has("<demo>"))
        #expect(page.fetches.isEmpty, "the page would fetch: \(page.fetches)")
        #expect(page.contentSecurityPolicy == Page.strictPolicy, "the page forbids every fetch and script: \(page.contentSecurityPolicy ?? "no policy")")
    }

    @Test func theReportOfARealJobLoadsCleanlyInChromiumWithTheSameFigures() async throws {
        let chromium = try HeadlessChromium.require()
        let made = try await RealJobReport.make()
        // Chromium parses it into the same figures, and says nothing on its console.
        let loaded = try await chromium.load(made.report, screenshot: Self.screenshotFolder.map { $0 + "/report.png" })
        #expect(loaded.console.isEmpty, "console: \(loaded.console)")
        for (key, value) in made.expected {
            #expect(loaded.dom.figure("summary-\(key)") == String(value), "summary-\(key) in the DOM")
        }
        #expect(loaded.dom.rows(table: "failed-items").count == made.failedItems.count, "the failed items' table parsed whole")
        #expect(loaded.dom.has(#"<td class="id">&lt;b&gt;x&amp;y"'&lt;/b&gt;</td>"#), "the id is text in the DOM, not an element")
        #expect(loaded.dom.has("<footer>") && loaded.dom.chart("chart-errors", "data-points") != nil)
    }

    /// The policy is what keeps a model's answer that slipped past escaping from running or phoning home: the browser
    /// must really enforce it. The report's own page, with a script and an image planted in it, runs neither.
    @Test func theReportsContentSecurityPolicyStopsAPlantedScriptAndFetchInChromium() async throws {
        let chromium = try HeadlessChromium.require()
        let html = HTMLReport(collected: Synthetic.collected(), history: []).render()
        #expect(Page(html).contentSecurityPolicy == Page.strictPolicy)
        let planted = html.replacingOccurrences(
            of: "<footer>",
            with: #"<script>console.log("planted script ran")</script><img src="http://198.51.100.7/x.png"><footer>"#)
        #expect(planted != html, "the plant went in")
        let dir = TemporaryDirectory()
        let file = dir.file("planted.html")
        writeFile(file, Data(planted.utf8))
        let loaded = try await chromium.load(file)
        #expect(!loaded.console.contains { $0.contains("planted script ran") }, "the script ran: \(loaded.console)")
        #expect(loaded.console.contains { $0.contains("Content Security Policy") }, "the browser refused by the policy: \(loaded.console)")
    }

    @Test func theConsoleCheckCatchesABrokenPage() async throws {
        // The report has no script, so any console line is the browser objecting to the page: this proves such lines are seen.
        let chromium = try HeadlessChromium.require()
        let dir = TemporaryDirectory()
        let page = dir.file("broken.html")
        writeFile(
            page,
            Data(
                """
                <!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head><body>
                <svg viewBox="0 0 10 10"><path d="M0 NaN L 5 5"/></svg>
                <script>console.error("deliberate console error"); throw new Error("deliberate throw");</script>
                </body></html>
                """.utf8))
        let loaded = try await chromium.load(page)
        #expect(loaded.console.contains { $0.contains("deliberate console error") }, "\(loaded.console)")
        #expect(loaded.console.contains { $0.contains("Uncaught Error: deliberate throw") }, "\(loaded.console)")
        #expect(loaded.console.contains { $0.contains("attribute d") }, "an SVG attribute the renderer got wrong: \(loaded.console)")
    }

    @Test func aLongHistoryWithAStopDrawsEveryMinuteAndBreaksTheAxis() throws {
        let page = Synthetic.longHistoryPage()
        #expect(page.chart("chart-throughput", "data-points") == "600", "one point a minute, quiet minutes as zeros")
        #expect(page.chart("chart-throughput", "data-segments") == "2", "the nine-hour stop is cut out of the axis")
        #expect(page.chart("chart-errors", "data-points") == "120", "bars of five minutes")
        #expect(page.has("no history for 9h00m"))
        #expect(page.allFinite, "every number drawn is finite")
        #expect(page.fetches.isEmpty, "the page would fetch: \(page.fetches)")
    }

    @Test func aLongHistoryLoadsCleanlyInChromium() async throws {
        let chromium = try HeadlessChromium.require()
        let dir = TemporaryDirectory()
        let file = dir.file("long.html")
        writeFile(file, Data(Synthetic.longHistoryPage().html.utf8))
        let loaded = try await chromium.load(file, screenshot: Self.screenshotFolder.map { $0 + "/report-long.png" })
        #expect(loaded.console.isEmpty, "console: \(loaded.console)")
        #expect(loaded.dom.figure("summary-succeeded") == "118000")
    }

    @Test func aJobWithoutHistoryOrAnswersStillMakesAWholePage() throws {
        var collected = Synthetic.collected()
        collected.latencies = []
        collected.slowest = []
        collected.failed = []
        collected.status.cost.byModel = []
        collected.status.latencyMS = .init()
        for history in [[], [Synthetic.entry(29_000_000, 0)]] {
            let page = Page(HTMLReport(collected: collected, history: history).render())
            #expect(page.html.hasSuffix("</html>\n"))
            #expect(page.allFinite, "every number drawn is finite")
            #expect(page.chart("chart-latency", "data-empty") == "true" && page.has("No answers yet"))
            if history.isEmpty {
                #expect(page.has("holds no per-minute history"))
            } else {
                #expect(page.chart("chart-throughput", "data-points") == "1")
                #expect(page.has("<circle"), "a single minute is drawn as a dot")
            }
        }
    }
}

/// A real 61-item job with faults against the real mock, and `sluice report --html` of it, with the figures the
/// checkpoint holds (what the page must show).
struct RealJobReport {
    let dir: TemporaryDirectory
    let report: String
    let page: Page
    let db: String
    let expected: [String: Int]
    /// custom_id, http_status, error_message of every failed item, from the checkpoint.
    let failedItems: [[String?]]

    static func make() async throws -> RealJobReport {
        let mock = try await MockGatewayProcess([
            "--p500", "0.2", "--p429", "0.1", "--retry-after", "0.2", "--p400", "0.08", "--latency-ms", "5-80", "--seed", "17",
            "--missing-model", "<gone>",
        ])
        let dir = TemporaryDirectory()
        let input = dir.file("in.jsonl")
        var lines = (0..<60).map { index -> String in
            let property = index % 3 == 0 ? #","properties":{"team":"red"}"# : index % 3 == 1 ? #","properties":{"team":"<i>blue & 'green'</i>"}"# : ""
            return #"{"id":"i\#(index)","prompt":"question number \#(index)"\#(property)}"#
        }
        // User data with markup in it, on an item that always fails (its model does not exist): it must stay text.
        lines.append(#"{"id":"<b>x&y\"'</b>","prompt":"which model?","model":"<gone>"}"#)
        writeFile(input, Data((lines.joined(separator: "\n") + "\n").utf8))
        let job = dir.file("job.json")
        writeFile(
            job,
            Data(
                #"{"name": "report <demo>", "inputs": ["in.jsonl"], "model": "m", "base_url": "\#(mock.baseURL)", "max_attempts": 3, "concurrency": 8, "prices": {"m": {"input": 1000, "output": 2000}}}"#
                    .utf8))
        let run = try await runSluice(["run", job, "--no-progress"])
        #expect(run.status == 1, "some items fail: \(run.stderr)")
        let report = dir.file("report.html")
        let made = try await runSluice(["report", job, "--html", report])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stderr.contains("wrote the report to \(report)"), "\(made.stderr)")

        let db = dir.file("in.results.jsonl.sluice.db")
        func sql(_ query: String) throws -> Int { Int((try queryCheckpoint(db, query).first?.first ?? nil) ?? "0") ?? -1 }
        let succeeded = try checkpointCount(db, "state = 2")
        let failed = try checkpointCount(db, "state = 3")
        // The item asking for a missing model always fails; the injected 400s and repeated 500s usually add a few.
        #expect(failed >= 1 && succeeded > 30, "\(succeeded) succeeded, \(failed) failed")
        let expected: [String: Int] = [
            "total": 61, "succeeded": succeeded, "failed": failed, "pending": 0,
            "prompt-tokens": try sql("SELECT sum(prompt_tokens) FROM items"), "completion-tokens": try sql("SELECT sum(completion_tokens) FROM items"),
            "attempts": try sql("SELECT sum(attempts) FROM items"), "retries": try sql("SELECT sum(retries) FROM items"),
        ]
        let failedItems = try queryCheckpoint(db, "SELECT custom_id, http_status, error_message FROM items WHERE state = 3 ORDER BY id")
        return RealJobReport(
            dir: dir, report: report, page: Page(try String(contentsOfFile: report, encoding: .utf8)), db: db, expected: expected, failedItems: failedItems)
    }
}

/// A page (or Chromium's serialization of it), read back by its stable ids. Printed by its size, so a failed check
/// names what it looked for rather than the whole page.
struct Page: CustomStringConvertible {
    let html: String
    init(_ html: String) { self.html = html }
    var description: String { "a page of \(html.count) characters" }

    func has(_ text: String) -> Bool { html.contains(text) }

    /// A summary figure's `data-value`.
    func figure(_ id: String) -> String? {
        guard let range = html.range(of: #"id="\#(id)" data-value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// An attribute of a chart's `<svg>`.
    func chart(_ id: String, _ name: String) -> String? {
        guard let start = html.range(of: #"<svg id="\#(id)""#) else { return nil }
        let tag = html[start.upperBound...].prefix { $0 != ">" }
        guard let range = tag.range(of: #" \#(name)=""#) else { return nil }
        return String(tag[range.upperBound...].prefix { $0 != "\"" })
    }

    /// The `<tr data-item=` rows of one table, each from its id's opening quote.
    func rows(table: String) -> [Substring] {
        guard let start = html.range(of: #"<table id="\#(table)""#), let end = html[start.upperBound...].range(of: "</table>") else { return [] }
        return html[start.upperBound..<end.lowerBound].split(separator: "<tr data-item=").dropFirst().map { $0 }
    }

    /// The policy every report carries: nothing fetched, no script, its own inline style and data: images only.
    static let strictPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

    /// The `Content-Security-Policy` of the page's `<meta http-equiv>` in its `<head>` (where a browser honours it).
    var contentSecurityPolicy: String? {
        guard let head = html.range(of: "</head>").map({ html[..<$0.lowerBound] }),
            let meta = head.range(of: #"<meta http-equiv="Content-Security-Policy" content=""#)
        else { return nil }
        return String(head[meta.upperBound...].prefix { $0 != "\"" })
    }

    /// No NaN or infinity printed anywhere (in SVG attributes they are console errors).
    var allFinite: Bool { html.range(of: #"NaN|\binf\b"#, options: .regularExpression) == nil }

    /// Anything that would make a browser fetch: a network URL in src/href/action/srcset, a CSS url() or @import,
    /// a script, stylesheet link, image or embedded frame.
    var fetches: [String] {
        let patterns = [
            #"(src|href|action|srcset|poster|data|xlink:href)\s*=\s*["']?\s*(https?:|ftp:|//)"#, #"url\s*\("#, "@import", "<script", "<link", "<iframe",
            "<object", "<embed", "<img", "<image",
        ]
        return patterns.compactMap { pattern in html.range(of: pattern, options: [.regularExpression, .caseInsensitive]).map { String(html[$0]) } }
    }
}

/// Chromium from Debian's package, run headless with its own throwaway profile and no way off the machine.
struct HeadlessChromium {
    let path: String

    static let installed = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Never skipped: `make test` installs chromium, so its absence is a failure that says how to get it.
    static func require() throws -> HeadlessChromium {
        guard let installed else {
            throw TestFailure("chromium is not installed: `make test` installs it (scripts/system-packages.txt), or apt-get install chromium fonts-dejavu-core")
        }
        return HeadlessChromium(path: installed)
    }

    struct Loaded {
        var dom: Page
        /// Console messages, one per line (Chromium logs them as `...:INFO:CONSOLE:<line>] "message", source: ...`).
        var console: [String]
    }

    /// Opens `file`, returns the DOM once loaded and every console message; optionally also a screenshot.
    func load(_ file: String, screenshot: String? = nil) async throws -> Loaded {
        let profile = TemporaryDirectory()
        let url = URL(fileURLWithPath: file).absoluteString
        let common = [
            "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            // Every host name fails to resolve: whatever the page or the browser tried, nothing leaves the machine.
            "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
        ]
        let finished = try await Child(path, common + ["--dump-dom", url], environment: ["HOME": profile.path]).wait(timeout: 90)
        guard finished.status == 0, finished.stdout.contains("</html>") else {
            throw TestFailure("chromium failed (\(finished.status)): \(finished.stderr.suffix(2000))")
        }
        if let screenshot {
            // The page beside its picture, to open in a browser of one's own.
            let copy = (screenshot as NSString).deletingPathExtension + ".html"
            try? FileManager.default.removeItem(atPath: copy)
            try? FileManager.default.copyItem(atPath: file, toPath: copy)
            let shot = try await Child(
                path, common + ["--screenshot=\(screenshot)", "--window-size=1280,2400", "--hide-scrollbars", url], environment: ["HOME": profile.path]
            )
            .wait(timeout: 90)
            if shot.status != 0 { Issue.record("screenshot failed: \(shot.stderr.suffix(1000))") }
        }
        let console = finished.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Loaded(dom: Page(finished.stdout), console: console)
    }
}

/// A made-up job for the charts' edge cases: sizes no quick test run reaches.
enum Synthetic {
    static func entry(_ minute: Int64, _ index: Int) -> HistoryEntry {
        var entry = HistoryEntry(minute: minute)
        let wave = Int(200 + 120 * sin(Double(index) / 30))
        entry.requests = wave + index % 7
        entry.answered = wave
        entry.succeeded = wave - 3
        entry.failed = 3
        entry.retries = index % 7
        entry.promptTokens = wave * 40
        entry.completionTokens = wave * 12
        entry.concurrency = 16 + (index / 45) % 5 * 8
        entry.latencySumMilliseconds = Double(wave) * (400 + 300 * cos(Double(index) / 50))
        entry.latencyCount = wave
        if index % 4 == 0 { entry.errors["rate_limit"] = index % 9 + 1 }
        if index % 11 == 0 { entry.errors["server"] = 2 }
        if index % 37 == 0 { entry.errors["timeout"] = 1 }
        return entry
    }

    /// Ten hours of work in two runs, nine hours apart, with a quiet stretch of five minutes inside the first run.
    static func longHistoryPage() -> Page {
        let start: Int64 = 29_000_000
        let minutes = (0..<240).filter { !(100..<105).contains($0) }.map { start + Int64($0) } + (0..<360).map { start + 240 + 540 + Int64($0) }
        let history = minutes.enumerated().map { index, minute in entry(minute, index) }
        let report = HTMLReport(
            collected: collected(), history: history, generatedAt: Date(timeIntervalSince1970: Double(start) * 60), timeZone: TimeZone(identifier: "UTC")!)
        return Page(report.render())
    }

    static func collected() -> JobStatusCollector.Collected {
        // Latencies spread over three orders of magnitude, as real gateways' are.
        let latencies = (0..<5000).map { 40 * exp(Double($0 % 997) / 997 * 6.5) }.sorted()
        let status = JobStatus(
            job: "long <synthetic>", checkpoint: "/tmp/long.sluice.db", state: "finished", pid: nil,
            items: .init(total: 120_000, pending: 0, inFlight: 0, succeeded: 118_000, failed: 2000, badInput: 12),
            progress: .init(done: 120_000, total: 120_000, fraction: 1, planningComplete: true),
            tokens: .init(prompt: 4_800_000, completion: 1_440_000, cachedPrompt: 200_000),
            cost: .init(
                totalUSD: 12.5, unpricedModels: ["local-llama"],
                byModel: [
                    .init(model: "gpt-4o-mini", items: 100_000, promptTokens: 4_000_000, completionTokens: 1_200_000, cachedTokens: 200_000, costUSD: 10),
                    .init(model: "claude-sonnet-4-20250514", items: 17_000, promptTokens: 700_000, completionTokens: 200_000, cachedTokens: 0, costUSD: 2.5),
                    .init(model: "local-llama", items: 1000, promptTokens: 100_000, completionTokens: 40_000, cachedTokens: 0, costUSD: nil),
                ]),
            latencyMS: .init(count: latencies.count, p50: latencies[2499], p90: latencies[4499], p99: latencies[4949], max: latencies.last),
            requests: .init(attempts: 125_000, retries: 5000, fallbacks: 17_000),
            answeredBy: [
                .init(model: "gpt-4o-mini", items: 100_000, asFallback: 0), .init(model: "claude-sonnet-4-20250514", items: 17_000, asFallback: 17_000),
            ],
            cache: .init(hits: 2000, hitRate: 2000.0 / 118_000),
            errors: [.init(errorClass: "rate_limit", count: 1500, sample: "Too many requests <try later>", sampleItem: "row-77")],
            properties: [
                .init(
                    name: "team", value: "red", items: 60_000, succeeded: 59_000, failed: 1000, promptTokens: 2_400_000, completionTokens: 720_000,
                    costUSD: 6.25)
            ],
            firstFinishedAt: "2025-02-20T05:20:00Z", lastFinishedAt: "2025-02-20T20:20:00Z")
        var failed: [ItemSummary] = []
        for index in 0..<5 {
            failed.append(
                ItemSummary(
                    id: Int64(index), customID: "row-\(index)", state: .failed, badLine: false, requestedModel: "gpt-4o-mini", answeredModel: nil,
                    httpStatus: 429, errorCode: "rate_limit_exceeded",
                    errorMessage: String(repeating: "Too many requests <b>slow down</b> ", count: index * 10 + 1),
                    promptTokens: 0, completionTokens: 0, cachedTokens: 0, latencyMilliseconds: nil, attempts: 3, retries: 2, fallbacksUsed: 0,
                    cacheHit: false, overrides: nil, finishedAt: nil))
        }
        let slowest = (0..<20).map { index in
            ItemSummary(
                id: Int64(100 + index), customID: "slow-\(index)", state: .succeeded, badLine: false, requestedModel: "gpt-4o-mini",
                answeredModel: "gpt-4o-mini", httpStatus: 200, errorCode: nil, errorMessage: nil, promptTokens: 40, completionTokens: 300,
                cachedTokens: 0, latencyMilliseconds: latencies[latencies.count - 1 - index], attempts: 1, retries: 0, fallbacksUsed: 0, cacheHit: false,
                overrides: nil, finishedAt: nil)
        }
        return .init(status: status, slowest: slowest, failed: failed, latencies: latencies)
    }
}
