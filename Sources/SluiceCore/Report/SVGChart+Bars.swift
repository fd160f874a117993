import Foundation

extension SVGChart {
    /// A percentile drawn as a dashed line across the histogram.
    struct Marker {
        var name: String
        var value: Double
    }

    /// The latency histogram: one bar per bin, equal widths (so log-spaced bins read as a log axis),
    /// bin edges labelled underneath, percentiles marked.
    func histogram(_ histogram: LatencyHistogram, markers: [Marker], yTitle: String) -> String {
        let bins = histogram.bins
        guard !bins.isEmpty else { return empty("No answers yet: nothing to draw.") }
        let scale = YScale(maxValue: Double(bins.map(\.count).max() ?? 0))
        let width = plotWidth / Double(bins.count)
        var body = ""
        for (index, bin) in bins.enumerated() {
            let x = left + Double(index) * width
            let top = y(Double(bin.count), scale)
            let label = "\(LatencyHistogram.label(bin.lower))–\(LatencyHistogram.label(bin.upper)): \(HTML.integer(bin.count)) answers"
            body +=
                "<rect class=\"bin\" x=\"\(Self.n(x + 1))\" y=\"\(Self.n(top))\" width=\"\(Self.n(max(width - 2, 0.5)))\" height=\"\(Self.n(plotBottom - top))\" data-count=\"\(bin.count)\"><title>\(HTML.escape(label))</title></rect>\n"
        }
        var edges = bins.enumerated().map { (x: left + Double($0.offset) * width, text: LatencyHistogram.label($0.element.lower)) }
        edges.append((x: left + plotWidth, text: LatencyHistogram.label(bins[bins.count - 1].upper)))
        for edge in Self.spaced(edges) {
            body += "<line class=\"tick\" x1=\"\(Self.n(edge.x))\" y1=\"\(Self.n(plotBottom))\" x2=\"\(Self.n(edge.x))\" y2=\"\(Self.n(plotBottom + 5))\"/>"
            body += tickLabel(edge.text, x: edge.x, y: plotBottom + 18) + "\n"
        }
        // Percentiles close together get their labels on separate rows.
        var rows: [Double] = []
        for marker in markers where marker.value.isFinite {
            let x = left + histogram.position(of: marker.value) * width
            let text = "\(marker.name) \(HTML.milliseconds(marker.value))"
            let half = Self.textWidth(text, size: 11) / 2 + 4
            let row = rows.firstIndex { $0 < x - half } ?? rows.count
            if row == rows.count { rows.append(0) }
            rows[row] = x + half
            let labelY = top + 12 + Double(row) * 14
            body += "<g class=\"marker\"><line x1=\"\(Self.n(x))\" y1=\"\(Self.n(labelY + 3))\" x2=\"\(Self.n(x))\" y2=\"\(Self.n(plotBottom))\"/>"
            body += tickLabel(text, x: x, y: labelY) + "</g>\n"
        }
        let xTitle = histogram.logarithmic ? "latency (log-spaced bins)" : "latency (equal bins)"
        return frame(body: body, keys: [], yScale: scale, xTitle: xTitle, yTitle: yTitle, extra: ["data-bins": String(bins.count)])
    }

    /// One row per label with its values stacked left to right, and a note (totals, cost) after the bar.
    struct BarRow {
        var label: String
        var values: [Double]
        var note: String
    }

    /// Horizontal stacked bars, for comparing a handful of models: their names fit on the left,
    /// which they would not under vertical bars.
    static func horizontalBars(id: String, title: String, rows: [BarRow], keys: [Key], xTitle: String) -> String {
        let labelWidth = min(max(rows.map { textWidth($0.label, size: 12) }.max() ?? 0, 60), 230)
        var chart = SVGChart(id: id, title: title, height: 62 + Double(max(rows.count, 1)) * 28 + 52)
        chart.left = labelWidth + 18
        chart.right = max(rows.map { textWidth($0.note, size: 11) }.max() ?? 0, 40) + 16
        guard !rows.isEmpty else { return chart.empty("No answers yet: nothing to draw.") }
        let scale = YScale(maxValue: rows.map { $0.values.reduce(0, +) }.max() ?? 0)
        let perUnit = chart.plotWidth / scale.maximum
        var body = ""
        var ticks: [(x: Double, text: String)] = []
        for tick in scale.ticks {
            let x = chart.left + tick * perUnit
            body += "<line class=\"grid\" x1=\"\(n(x))\" y1=\"\(n(chart.top))\" x2=\"\(n(x))\" y2=\"\(n(chart.plotBottom))\"/>\n"
            ticks.append((x, scale.label(tick)))
        }
        for tick in spaced(ticks) { body += chart.tickLabel(tick.text, x: tick.x, y: chart.plotBottom + 18) + "\n" }
        for (index, row) in rows.enumerated() {
            let y = chart.top + Double(index) * 28 + 6
            let maxCharacters = Int(labelWidth / (12 * 0.6))
            let label = HTML.shortened(row.label, to: max(maxCharacters - 1, 4))
            body += "<g class=\"bar-row\"><title>\(HTML.escape(row.label + ": " + row.note))</title>"
            body += "<text x=\"\(n(chart.left - 8))\" y=\"\(n(y + 12))\" text-anchor=\"end\">\(HTML.escape(label))</text>"
            var x = chart.left
            for (value, key) in zip(row.values, keys) where value > 0 {
                let width = value * perUnit
                body += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(width, 0.5)))\" height=\"16\" fill=\"\(key.color)\"/>"
                x += width
            }
            body += "<text class=\"note\" x=\"\(n(x + 6))\" y=\"\(n(y + 12))\">\(HTML.escape(row.note))</text></g>\n"
        }
        return chart.frame(body: body, keys: keys, yScale: nil, xTitle: xTitle, yTitle: "", extra: ["data-rows": String(rows.count)])
    }
}
