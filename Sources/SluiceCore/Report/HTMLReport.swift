import Foundation

/// `sluice report --html`: one self-contained page about a job, to read in a
/// browser, attach to a ticket or print.
///
/// Self-contained means it fetches nothing: styles are inline, charts are
/// inline SVG drawn here (no script, no chart library, no web font), and a
/// Content-Security-Policy forbids any fetch, so the page reads the same
/// offline, in a year, or inside a mail client that blocks remote content.
/// Every figure comes from the checkpoint (`JobStatusCollector.Collected`, the
/// same pass `sluice status` makes) and its per-minute history; key figures
/// carry stable `id`s and `data-value`s so scripts and tests can read them
/// back. Item ids, models, property values and error messages are user data
/// and are escaped wherever they appear.
///
/// ```swift
/// let page = try await CheckpointStores.withStore("out/nightly.results.jsonl.sluice.db", role: .reader) { store in
///     HTMLReport(collected: try await JobStatusCollector(store: store).collectAll(), history: try await store.history()).render()
/// }
/// try page.write(toFile: "report.html", atomically: true, encoding: .utf8)
/// ```
package struct HTMLReport: Sendable {
    package var collected: JobStatusCollector.Collected
    /// One entry per minute, oldest first (as `CheckpointStore.history()` returns it).
    package var history: [HistoryEntry]
    /// When the page was made, printed in its header (a parameter so a test can pin it).
    package var generatedAt: Date
    /// The zone times are shown in; its offset is printed beside them.
    package var timeZone: TimeZone

    /// Messages in tables are cut to this many characters (the whole one shows on hover): a 4 KB gateway error body would push the table off the page.
    static let messageLimit = 400

    package init(collected: JobStatusCollector.Collected, history: [HistoryEntry], generatedAt: Date = Date(), timeZone: TimeZone = .current) {
        self.collected = collected
        self.history = history
        self.generatedAt = generatedAt
        self.timeZone = timeZone
    }

    var status: JobStatus { collected.status }

    package func render() -> String {
        let timeline = ReportTimeline(history)
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <meta name="generator" content="sluice report">
            <title>sluice report: \(HTML.escape(status.job))</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <main>

            """
        page += header()
        page += summary(timeline)
        page += throughput(timeline)
        page += latency(timeline)
        page += errors(timeline)
        page += models()
        page += batches()
        page += properties()
        page += slowest()
        page += failed()
        page += "<footer>Made by <code>sluice report</code> from the checkpoint and its per-minute history. "
        page += "The page fetches nothing: it can be mailed, archived and printed as it is.</footer>\n"
        return page + "</main>\n</body>\n</html>\n"
    }

    // MARK: Header and summary

    private func header() -> String {
        var html = "<header>\n<h1>sluice report: <span id=\"job-name\">\(HTML.escape(status.job))</span> "
        html += "<span class=\"state state-\(HTML.escape(status.state))\" id=\"job-state\">\(HTML.escape(status.state))</span></h1>\n"
        html += "<p class=\"meta\">Checkpoint <code>\(HTML.escape(status.checkpoint))</code> · generated "
        html +=
            "<time id=\"generated-at\" datetime=\"\(HTML.escape(ISO8601DateFormatter().string(from: generatedAt)))\">\(HTML.escape(dateTime(generatedAt)))</time></p>\n"
        html += "<nav>"
        for (anchor, name) in [
            ("summary", "Summary"), ("throughput", "Throughput"), ("latency", "Latency"), ("errors", "Errors"), ("models", "By model"),
            ("properties", "By property"), ("slowest", "Slowest items"), ("failed", "Failed items"),
        ] {
            html += "<a href=\"#\(anchor)\">\(name)</a>"
        }
        return html + "</nav>\n</header>\n"
    }

    private func summary(_ timeline: ReportTimeline) -> String {
        let items = status.items
        var html = "<section id=\"summary\">\n<h2>Summary</h2>\n"
        html += progressBar()
        html += "<div class=\"cards\">\n"

        var itemFigures = [
            figure("total", "total", items.total), figure("succeeded", "succeeded", items.succeeded), figure("failed", "failed", items.failed),
        ]
        if items.badInput > 0 { itemFigures.append(figure("bad-input", "of which bad input", items.badInput)) }
        itemFigures += [figure("pending", "pending", items.pending), figure("in-flight", "in flight", items.inFlight)]
        html += card("Items", itemFigures)

        var tokenFigures = [
            figure("prompt-tokens", "prompt", status.tokens.prompt), figure("completion-tokens", "completion", status.tokens.completion),
            figure("total-tokens", "total", status.tokens.prompt + status.tokens.completion),
        ]
        if status.tokens.cachedPrompt > 0 { tokenFigures.append(figure("cached-tokens", "cached prompt", status.tokens.cachedPrompt)) }
        html += card("Tokens", tokenFigures)

        let perItem = items.succeeded > 0 ? status.cost.totalUSD / Double(items.succeeded) : nil
        var costFigures = [
            figure("cost", "total", text: ProgressReporter.dollars(status.cost.totalUSD), value: HTML.raw(status.cost.totalUSD)),
            figure("cost-per-item", "per succeeded item", text: perItem.map(ProgressReporter.dollars) ?? "–", value: perItem.map(HTML.raw)),
        ]
        if !status.cost.unpricedModels.isEmpty {
            costFigures.append(figure("unpriced", "no price for", text: status.cost.unpricedModels.joined(separator: ", ")))
        }
        html += card("Cost (job’s prices)", costFigures)

        let latency = status.latencyMS
        html += card(
            "Latency",
            [
                figure("latency-p50", "p50", milliseconds: latency.p50), figure("latency-p90", "p90", milliseconds: latency.p90),
                figure("latency-p99", "p99", milliseconds: latency.p99), figure("latency-max", "max", milliseconds: latency.max),
                figure("latency-count", "answers", latency.count),
            ])
        if status.streaming.count > 0 {
            let streaming = status.streaming
            let speed = streaming.tokensPerSecondP50
            html += card(
                "Streaming",
                [
                    figure("first-token-p50", "first token p50", milliseconds: streaming.firstTokenP50),
                    figure("first-token-p90", "first token p90", milliseconds: streaming.firstTokenP90),
                    figure(
                        "tokens-per-second", "tokens/s (median)", text: speed.map { String(format: "%.0f", $0) } ?? "–",
                        value: speed.map { HTML.raw($0) }),
                    figure("streamed-count", "streamed answers", streaming.count),
                ])
        }

        html += card(
            "Requests",
            [
                figure("attempts", "attempts", status.requests.attempts), figure("retries", "retries", status.requests.retries),
                figure("fallbacks", "answered by a fallback", status.requests.fallbacks),
                figure(
                    "cache-hits", "cache hits", text: "\(HTML.integer(status.cache.hits)) (\(HTML.percent(status.cache.hitRate)))",
                    value: String(status.cache.hits)),
            ])

        html += card("Time", timeFigures(timeline), wide: true)
        return html + "</div>\n</section>\n"
    }

    /// Succeeded, failed and pending as one bar: the job's state at a glance, also in print.
    private func progressBar() -> String {
        let items = status.items
        guard items.total > 0 else { return "<p class=\"meta\">No items planned yet.</p>\n" }
        var html = "<div class=\"progress\" role=\"img\" aria-label=\"\(HTML.percent(status.progress.fraction)) done\">"
        for (name, count) in [("succeeded", items.succeeded), ("failed", items.failed), ("pending", items.pending + items.inFlight)] where count > 0 {
            let width = String(format: "%.3f", Double(count) / Double(items.total) * 100)
            html += "<span class=\"\(name)\" style=\"width: \(width)%\" title=\"\(name): \(HTML.integer(count))\"></span>"
        }
        html += "</div>\n<p class=\"meta progress-caption\">\(HTML.percent(status.progress.fraction)) done · "
        html += "\(HTML.integer(status.progress.done)) of \(HTML.integer(status.progress.total)) items"
        if !status.progress.planningComplete { html += " (still reading the input: the total grows)" }
        if let rate = status.progress.itemsPerSecond { html += String(format: " · %.1f items/s over the last 5 minutes", rate) }
        if let eta = status.progress.etaSeconds { html += " · about \(ProgressReporter.duration(eta)) to go" }
        return html + "</p>\n"
    }

    private func timeFigures(_ timeline: ReportTimeline) -> [String] {
        var figures: [String] = []
        let first = status.firstFinishedAt.flatMap { ISO8601DateFormatter().date(from: $0) }
        let last = status.lastFinishedAt.flatMap { ISO8601DateFormatter().date(from: $0) }
        figures.append(figure("first-finished", "first item done", text: first.map(dateTime) ?? "–"))
        figures.append(figure("last-finished", "last item done", text: last.map(dateTime) ?? "–"))
        if let first, let last {
            let span = last.timeIntervalSince(first)
            figures.append(figure("span", "span", text: ProgressReporter.duration(span), value: HTML.raw(span.rounded())))
        }
        figures.append(figure("active-minutes", "minutes charted", Int(timeline.visibleMinutes)))
        if !timeline.breaks.isEmpty {
            let away = timeline.breaks.reduce(0, +)
            figures.append(
                figure(
                    "breaks", "stops (gaps over \(ReportTimeline.breakAfterMinutes) min)",
                    text: "\(timeline.breaks.count) · \(ProgressReporter.duration(Double(away) * 60)) away", value: String(timeline.breaks.count)))
        }
        return figures
    }

    // MARK: Building blocks

    func card(_ title: String, _ figures: [String], wide: Bool = false) -> String {
        "<div class=\"card\(wide ? " wide" : "")\"><h3>\(HTML.escape(title))</h3><dl>\n" + figures.joined(separator: "\n") + "\n</dl></div>\n"
    }

    /// A figure with a stable id (`summary-<key>`) and its plain value for machines.
    func figure(_ key: String, _ label: String, text: String, value: String? = nil) -> String {
        let data = value.map { " data-value=\"\(HTML.escape($0))\"" } ?? ""
        return "<dt>\(HTML.escape(label))</dt><dd id=\"summary-\(key)\"\(data)>\(HTML.escape(text))</dd>"
    }

    func figure(_ key: String, _ label: String, _ count: Int) -> String {
        figure(key, label, text: HTML.integer(count), value: String(count))
    }

    func figure(_ key: String, _ label: String, milliseconds: Double?) -> String {
        figure(key, label, text: milliseconds.map(HTML.milliseconds) ?? "–", value: milliseconds.map(HTML.raw))
    }

    /// `2025-03-04 14:05:09 UTC+01:00`: the offset printed, as a report is read in other zones than it was made in.
    func dateTime(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let zone = timeZone.secondsFromGMT(for: date) == 0 ? "UTC" : SVGChart.offsetName(timeZone, at: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d %@", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0, parts.minute ?? 0,
            parts.second ?? 0, zone)
    }
}
