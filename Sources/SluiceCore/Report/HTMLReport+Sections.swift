import Foundation

/// The report's sections after the summary: charts over the history, then the
/// tables of usage and of the items worth a look.
extension HTMLReport {
    /// Lines get a point per minute up to 12 hours; bars stay wide enough to see at 120.
    static let maxLinePoints = 720
    static let maxBars = 120

    static let errorColors: [String: String] = [
        "rate_limit": "#E69F00", "server": "#D55E00", "timeout": "#CC79A7", "network": "#56B4E9", "bad_request": "#8C564B",
        "auth": "#555555", "input": "#999933", "invalid_output": "#0072B2",
    ]

    private var noHistory: String {
        "<p class=\"note\" data-empty=\"true\">This checkpoint holds no per-minute history yet: it is written while a job runs "
            + "(every 10 seconds), so a job run by an older sluice, or not started, has none.</p>\n"
    }

    func throughput(_ timeline: ReportTimeline) -> String {
        var html = "<section id=\"throughput\">\n<h2>Throughput and concurrency</h2>\n"
        guard !timeline.isEmpty else { return html + noHistory + "</section>\n" }
        let buckets = timeline.buckets(size: timeline.bucketSize(maxCount: Self.maxLinePoints))
        let axis = TimeAxis(timeline, left: 70, width: SVGChart.width - 70 - 24, timeZone: timeZone)
        let requests = buckets.map { $0.rate($0.total.requests) }
        let succeeded = buckets.map { $0.rate($0.total.succeeded) }
        let failed = buckets.map { $0.rate($0.total.failed) }
        let rates = SVGChart(id: "chart-throughput", title: "Requests and finished items per minute", height: 320).timeLines(
            axis: axis, buckets: buckets,
            series: [
                .init(key: .init(name: "requests sent (retries included)", color: "#0072B2"), values: requests),
                .init(key: .init(name: "items succeeded", color: "#009E73"), values: succeeded),
                .init(key: .init(name: "items failed", color: "#D55E00", dashed: true), values: failed),
            ],
            yScale: YScale(maxValue: (requests + succeeded + failed).max() ?? 0), yTitle: "per minute",
            hover: { index in
                let bucket = buckets[index]
                return
                    "\(clock(bucket)) · \(Self.rate(requests[index])) requests/min · \(Self.rate(succeeded[index])) succeeded/min · \(Self.rate(failed[index])) failed/min"
            })
        html += rates
        let limits = buckets.map { Double($0.concurrency) }
        html += SVGChart(id: "chart-concurrency", title: "Concurrency limit (adaptive, at the end of each minute)", height: 240).timeLines(
            axis: axis, buckets: buckets, series: [.init(key: .init(name: "concurrency limit", color: "#CC79A7"), values: limits, step: true)],
            yScale: YScale(maxValue: limits.max() ?? 0), yTitle: "requests in flight",
            hover: { index in "\(clock(buckets[index])) · limit \(buckets[index].concurrency)" })
        if let peak = buckets.indices.max(by: { requests[$0] < requests[$1] }) {
            let total = buckets.reduce(0) { $0 + $1.total.requests }
            html +=
                "<p class=\"note\">Peak <span id=\"peak-requests\" data-value=\"\(HTML.raw(requests[peak]))\">\(Self.rate(requests[peak]))</span> requests/min "
            html +=
                "at \(HTML.escape(clock(buckets[peak]))); \(HTML.integer(total)) requests over \(HTML.integer(Int(timeline.visibleMinutes))) minute\(timeline.visibleMinutes == 1 ? "" : "s") with history"
            html += timeline.breaks.isEmpty ? ".</p>\n" : "; shaded breaks are times the job was not running (cut short on the axis).</p>\n"
        }
        return html + "</section>\n"
    }

    func latency(_ timeline: ReportTimeline) -> String {
        var html = "<section id=\"latency\">\n<h2>Latency</h2>\n"
        let histogram = LatencyHistogram(collected.latencies)
        let p = status.latencyMS
        let markers = [("p50", p.p50), ("p90", p.p90), ("p99", p.p99)].compactMap { name, value in value.map { SVGChart.Marker(name: name, value: $0) } }
        html += SVGChart(id: "chart-latency", title: "Answer latency: \(HTML.integer(collected.latencies.count)) answers", height: 320)
            .histogram(histogram, markers: markers, yTitle: "answers")
        let buckets = timeline.buckets(size: timeline.bucketSize(maxCount: Self.maxLinePoints))
        if buckets.contains(where: { $0.total.latencyCount > 0 }) {
            let axis = TimeAxis(timeline, left: 70, width: SVGChart.width - 70 - 24, timeZone: timeZone)
            let means = buckets.map { $0.total.latencyCount > 0 ? $0.total.latencySumMilliseconds / Double($0.total.latencyCount) : nil }
            html += SVGChart(id: "chart-latency-over-time", title: "Mean answer latency over time", height: 240).timeLines(
                axis: axis, buckets: buckets, series: [.init(key: .init(name: "mean latency", color: "#0072B2"), values: means)],
                yScale: YScale(maxValue: means.compactMap { $0 }.max() ?? 0, format: { HTML.milliseconds($0) }), yTitle: "milliseconds",
                hover: { index in
                    "\(clock(buckets[index])) · "
                        + (means[index].map { "mean \(HTML.milliseconds($0)) over \(buckets[index].total.latencyCount) answers" } ?? "no answers")
                })
        }
        return html + "</section>\n"
    }

    func errors(_ timeline: ReportTimeline) -> String {
        var html = "<section id=\"errors\">\n<h2>Errors</h2>\n"
        if timeline.isEmpty {
            html += noHistory
        } else {
            let size = timeline.bucketSize(maxCount: Self.maxBars)
            let buckets = timeline.buckets(size: size)
            let classes = Set(buckets.flatMap { $0.total.errors.keys }).sorted { Self.classOrder($0) < Self.classOrder($1) }
            let chart = SVGChart(id: "chart-errors", title: "Failed attempts by class (retried ones included)", height: 280)
            if classes.isEmpty {
                html += chart.empty("No failed attempts recorded.")
            } else {
                let series = classes.enumerated().map { index, name in
                    SVGChart.TimeSeries(
                        key: .init(name: name, color: Self.errorColors[name] ?? SVGChart.palette[index % SVGChart.palette.count]),
                        values: buckets.map { Double($0.total.errors[name] ?? 0) })
                }
                let axis = TimeAxis(timeline, left: 70, width: SVGChart.width - 70 - 24, timeZone: timeZone)
                let totals = buckets.map { Double($0.total.errors.values.reduce(0, +)) }
                html += chart.timeStackedBars(
                    axis: axis, buckets: buckets, series: series, yScale: YScale(maxValue: totals.max() ?? 0),
                    yTitle: size > 1 ? "attempts per \(size) minutes" : "attempts per minute",
                    hover: { index in
                        let parts = classes.compactMap { name in buckets[index].total.errors[name].map { "\(name) \($0)" } }
                        return "\(clock(buckets[index])) · " + parts.joined(separator: " · ")
                    })
            }
        }
        html += "<h3>Failed items by class</h3>\n"
        guard !status.errors.isEmpty else { return html + "<p class=\"note\" id=\"no-failed-classes\">No item failed.</p>\n</section>\n" }
        html +=
            "<table id=\"error-classes\"><thead><tr><th>class</th><th class=\"num\">items</th><th>example item</th><th>its message</th></tr></thead><tbody>\n"
        for group in status.errors {
            html += "<tr data-class=\"\(HTML.escape(group.errorClass))\" data-count=\"\(group.count)\"><td>\(HTML.escape(group.errorClass))</td>"
            html += "<td class=\"num\">\(HTML.integer(group.count))</td><td class=\"id\">\(HTML.escape(group.sampleItem))</td>"
            html += "<td class=\"message\">\(HTML.escape(group.sample))</td></tr>\n"
        }
        return html + "</tbody></table>\n</section>\n"
    }

    func models() -> String {
        var html = "<section id=\"models\">\n<h2>Tokens and cost by model</h2>\n"
        let models = status.cost.byModel
        guard !models.isEmpty else { return html + "<p class=\"note\">No answers yet.</p>\n</section>\n" }
        let rows = models.map { model in
            SVGChart.BarRow(
                label: model.model, values: [Double(model.promptTokens), Double(model.completionTokens)],
                note:
                    "\(SVGChart.compactTokens(model.promptTokens + model.completionTokens)) tokens · \(model.costUSD.map(ProgressReporter.dollars) ?? "no price")"
            )
        }
        html += SVGChart.horizontalBars(
            id: "chart-models", title: "Tokens by answering model", rows: rows,
            keys: [.init(name: "prompt tokens", color: "#0072B2"), .init(name: "completion tokens", color: "#E69F00")], xTitle: "tokens")
        let fallbacks = Dictionary(status.answeredBy.map { ($0.model, $0.asFallback) }) { first, _ in first }
        html += "<table id=\"model-usage\"><thead><tr><th>model</th><th class=\"num\">items</th><th class=\"num\">as fallback</th>"
        html +=
            "<th class=\"num\">prompt tokens</th><th class=\"num\">cached</th><th class=\"num\">completion tokens</th><th class=\"num\">cost</th></tr></thead><tbody>\n"
        for model in models {
            html += "<tr data-model=\"\(HTML.escape(model.model))\" data-items=\"\(model.items)\" data-prompt-tokens=\"\(model.promptTokens)\" "
            html += "data-completion-tokens=\"\(model.completionTokens)\" data-cost=\"\(model.costUSD.map(HTML.raw) ?? "")\">"
            html += "<td class=\"id\">\(HTML.escape(model.model))</td><td class=\"num\">\(HTML.integer(model.items))</td>"
            html += "<td class=\"num\">\(HTML.integer(fallbacks[model.model] ?? 0))</td><td class=\"num\">\(HTML.integer(model.promptTokens))</td>"
            html += "<td class=\"num\">\(HTML.integer(model.cachedTokens))</td><td class=\"num\">\(HTML.integer(model.completionTokens))</td>"
            html += "<td class=\"num\">\(model.costUSD.map(ProgressReporter.dollars) ?? "no price")</td></tr>\n"
        }
        html += "</tbody><tfoot><tr><th>all models</th><td class=\"num\">\(HTML.integer(models.reduce(0) { $0 + $1.items }))</td><td></td>"
        html +=
            "<td class=\"num\">\(HTML.integer(models.reduce(0) { $0 + $1.promptTokens }))</td><td class=\"num\">\(HTML.integer(models.reduce(0) { $0 + $1.cachedTokens }))</td>"
        html += "<td class=\"num\">\(HTML.integer(models.reduce(0) { $0 + $1.completionTokens }))</td>"
        html += "<td class=\"num\">\(ProgressReporter.dollars(status.cost.totalUSD))</td></tr></tfoot></table>\n"
        return html + "</section>\n"
    }

    func properties() -> String {
        var html = "<section id=\"properties\">\n<h2>Tokens and cost by property</h2>\n"
        guard !status.properties.isEmpty else {
            return html + "<p class=\"note\">No properties: neither the job nor its lines set any (<code>--property name=value</code>).</p>\n</section>\n"
        }
        html += "<table id=\"property-usage\"><thead><tr><th>property</th><th>value</th><th class=\"num\">items</th><th class=\"num\">succeeded</th>"
        html +=
            "<th class=\"num\">failed</th><th class=\"num\">prompt tokens</th><th class=\"num\">completion tokens</th><th class=\"num\">cost</th></tr></thead><tbody>\n"
        for usage in status.properties {
            html += "<tr data-property=\"\(HTML.escape(usage.name))\" data-value=\"\(HTML.escape(usage.value))\" data-items=\"\(usage.items)\" "
            html += "data-prompt-tokens=\"\(usage.promptTokens)\" data-completion-tokens=\"\(usage.completionTokens)\">"
            html += "<td>\(HTML.escape(usage.name))</td><td class=\"id\">\(HTML.escape(usage.value))</td><td class=\"num\">\(HTML.integer(usage.items))</td>"
            html += "<td class=\"num\">\(HTML.integer(usage.succeeded))</td><td class=\"num\">\(HTML.integer(usage.failed))</td>"
            html += "<td class=\"num\">\(HTML.integer(usage.promptTokens))</td><td class=\"num\">\(HTML.integer(usage.completionTokens))</td>"
            html += "<td class=\"num\">\(ProgressReporter.dollars(usage.costUSD))</td></tr>\n"
        }
        return html + "</tbody></table>\n</section>\n"
    }

    func slowest() -> String {
        var html = "<section id=\"slowest\">\n<h2>Slowest items</h2>\n"
        guard !collected.slowest.isEmpty else { return html + "<p class=\"note\">No answers yet.</p>\n</section>\n" }
        html += "<table id=\"slowest-items\"><thead><tr><th class=\"num\">#</th><th>item</th><th>model</th><th class=\"num\">latency</th>"
        html += "<th class=\"num\">tokens</th><th class=\"num\">attempts</th><th>state</th></tr></thead><tbody>\n"
        for (rank, item) in collected.slowest.enumerated() {
            let latency = item.latencyMilliseconds ?? 0
            html += "<tr data-item=\"\(HTML.escape(item.customID))\" data-latency-ms=\"\(HTML.raw(latency))\"><td class=\"num\">\(rank + 1)</td>"
            html += "<td class=\"id\">\(HTML.escape(item.customID))</td><td class=\"id\">\(HTML.escape(item.answeredModel ?? item.requestedModel ?? "–"))</td>"
            html += "<td class=\"num\">\(HTML.milliseconds(latency))</td><td class=\"num\">\(HTML.integer(item.promptTokens + item.completionTokens))</td>"
            html += "<td class=\"num\">\(item.attempts)</td><td>\(HTML.escape(Self.stateName(item)))</td></tr>\n"
        }
        return html + "</tbody></table>\n</section>\n"
    }

    func failed() -> String {
        var html = "<section id=\"failed\">\n<h2>Failed items</h2>\n"
        guard !collected.failed.isEmpty else { return html + "<p class=\"note\" id=\"no-failed-items\">No item failed.</p>\n</section>\n" }
        if status.items.failed > collected.failed.count {
            html += "<p class=\"note\">The first \(HTML.integer(collected.failed.count)) of \(HTML.integer(status.items.failed)) failed items, in input order; "
            html += "<code>sluice export JOB --only failed --output failed.jsonl</code> writes them all.</p>\n"
        }
        html += "<table id=\"failed-items\"><thead><tr><th>item</th><th>class</th><th class=\"num\">HTTP</th><th>model</th>"
        html += "<th class=\"num\">attempts</th><th>message</th></tr></thead><tbody>\n"
        for item in collected.failed {
            let message = item.errorMessage ?? item.errorCode ?? ""
            let errorClass = item.errorClass?.rawValue ?? ""
            html +=
                "<tr data-item=\"\(HTML.escape(item.customID))\" data-class=\"\(HTML.escape(errorClass))\" data-http-status=\"\(item.httpStatus.map(String.init) ?? "")\">"
            html += "<td class=\"id\">\(HTML.escape(item.customID))</td><td>\(HTML.escape(errorClass))</td>"
            html +=
                "<td class=\"num\">\(item.httpStatus.map(String.init) ?? "–")</td><td class=\"id\">\(HTML.escape(item.answeredModel ?? item.requestedModel ?? "–"))</td>"
            html += "<td class=\"num\">\(item.attempts)</td><td class=\"message\""
            if message.count > Self.messageLimit { html += " title=\"\(HTML.escape(message))\"" }
            html += ">"
            if let code = item.errorCode, !message.hasPrefix(code) { html += "<code>\(HTML.escape(code))</code> " }
            html += "\(HTML.escape(HTML.shortened(message, to: Self.messageLimit)))</td></tr>\n"
        }
        return html + "</tbody></table>\n</section>\n"
    }

    // MARK: Helpers

    private func clock(_ bucket: ReportTimeline.Bucket) -> String {
        let start = TimeAxis.clock(bucket.start, timeZone)
        return bucket.minutes > 1 ? "\(start)–\(TimeAxis.clock(bucket.start + bucket.minutes, timeZone))" : start
    }

    /// `12`, `0.4`: a per-minute average over several minutes is rarely whole.
    static func rate(_ value: Double) -> String {
        value == value.rounded() ? HTML.integer(Int(value)) : String(format: "%.1f", value)
    }

    static func classOrder(_ name: String) -> Int {
        ErrorClass(rawValue: name).flatMap { ErrorClass.allCases.firstIndex(of: $0) } ?? ErrorClass.allCases.count
    }

    static func stateName(_ item: ItemSummary) -> String {
        switch item.state {
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .pending: "pending"
        case .inFlight: "in flight"
        }
    }
}

extension SVGChart {
    /// `1.2M`, `950`.
    static func compactTokens(_ value: Int) -> String { YScale.compact(Double(value)) }
}
