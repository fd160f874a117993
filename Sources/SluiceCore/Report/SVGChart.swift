import Foundation

/// Inline SVG charts for the HTML report, drawn by hand so the page needs no
/// script and no library fetched from anywhere: it opens offline, prints, and
/// shows the same thing in every browser.
///
/// Every chart is 960 units wide and scales to its container (`viewBox`), has
/// a visible title, axis titles, gridlines and a legend, and a `<title>` a
/// screen reader or a hover shows. Numbers placed in SVG attributes are always
/// finite: a NaN there is a console error in Chromium, which the report's
/// browser test treats as a failure.
///
/// ```swift
/// let chart = SVGChart(id: "chart-latency", title: "Latency", height: 300)
/// let svg = chart.histogram(bins: bins, markers: [("p50", 420)], xTitle: "latency", yTitle: "items")
/// ```
struct SVGChart {
    static let width = 960.0
    /// Okabe–Ito colours: told apart with the common colour-vision deficiencies and in grey print.
    static let palette = ["#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#555555", "#999933"]

    let id: String
    let title: String
    let height: Double
    /// Room around the plot: the title and legend above, tick labels and the axis title below, the y axis on the left.
    var left = 70.0
    var right = 24.0
    var top = 62.0
    var bottom = 52.0

    init(id: String, title: String, height: Double) {
        self.id = id
        self.title = title
        self.height = height
    }

    var plotWidth: Double { Self.width - left - right }
    var plotHeight: Double { height - top - bottom }
    var plotBottom: Double { top + plotHeight }

    /// A series' name, colour and (for the legend) whether it is drawn as a line or a filled box.
    struct Key {
        var name: String
        var color: String
        var dashed = false
    }

    // MARK: Frame

    /// The `<svg>` element around `body`: title, legend, y axis and axis titles.
    func frame(body: String, keys: [Key], yScale: YScale?, xTitle: String, yTitle: String, extra: [String: String] = [:]) -> String {
        var attributes = "id=\"\(HTML.escape(id))\" class=\"chart\" viewBox=\"0 0 \(Self.n(Self.width)) \(Self.n(height))\" role=\"img\""
        attributes += " aria-labelledby=\"\(HTML.escape(id))-title\""
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) { attributes += " \(name)=\"\(HTML.escape(value))\"" }
        var svg = "<svg \(attributes)>\n<title id=\"\(HTML.escape(id))-title\">\(HTML.escape(title))</title>\n"
        svg += "<text class=\"chart-title\" x=\"\(Self.n(left))\" y=\"22\">\(HTML.escape(title))</text>\n"
        svg += legend(keys)
        if let yScale { svg += yAxis(yScale) }
        svg += "<g class=\"plot\">\n\(body)</g>\n"
        svg += "<line class=\"axis\" x1=\"\(Self.n(left))\" y1=\"\(Self.n(plotBottom))\" x2=\"\(Self.n(left + plotWidth))\" y2=\"\(Self.n(plotBottom))\"/>\n"
        if !xTitle.isEmpty {
            svg +=
                "<text class=\"axis-title\" x=\"\(Self.n(left + plotWidth / 2))\" y=\"\(Self.n(height - 8))\" text-anchor=\"middle\">\(HTML.escape(xTitle))</text>\n"
        }
        if !yTitle.isEmpty {
            let middle = top + plotHeight / 2
            svg +=
                "<text class=\"axis-title\" x=\"16\" y=\"\(Self.n(middle))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(Self.n(middle)))\">\(HTML.escape(yTitle))</text>\n"
        }
        return svg + "</svg>"
    }

    /// Keys in one row under the title, wrapping to a second when they do not fit.
    private func legend(_ keys: [Key]) -> String {
        guard !keys.isEmpty else { return "" }
        var svg = "<g class=\"legend\">\n"
        var x = left
        var y = 42.0
        for key in keys {
            let width = 22 + Self.textWidth(key.name, size: 12) + 18
            if x + width > Self.width - right && x > left {
                x = left
                y += 16
            }
            let dash = key.dashed ? " stroke-dasharray=\"5 3\"" : ""
            svg +=
                "<line x1=\"\(Self.n(x))\" y1=\"\(Self.n(y - 4))\" x2=\"\(Self.n(x + 16))\" y2=\"\(Self.n(y - 4))\" stroke=\"\(key.color)\" stroke-width=\"3\"\(dash)/>"
            svg += "<text x=\"\(Self.n(x + 22))\" y=\"\(Self.n(y))\">\(HTML.escape(key.name))</text>\n"
            x += width
        }
        return svg + "</g>\n"
    }

    private func yAxis(_ scale: YScale) -> String {
        var svg = "<g class=\"y-axis\">\n"
        for tick in scale.ticks {
            let y = self.y(tick, scale)
            svg += "<line class=\"grid\" x1=\"\(Self.n(left))\" y1=\"\(Self.n(y))\" x2=\"\(Self.n(left + plotWidth))\" y2=\"\(Self.n(y))\"/>"
            svg += "<text x=\"\(Self.n(left - 6))\" y=\"\(Self.n(y + 4))\" text-anchor=\"end\">\(HTML.escape(scale.label(tick)))</text>\n"
        }
        return svg + "</g>\n"
    }

    func y(_ value: Double, _ scale: YScale) -> Double {
        plotBottom - min(max(value / scale.maximum, 0), 1) * plotHeight
    }

    /// A chart with nothing to draw still has its title, so the section keeps its place and says why it is empty.
    func empty(_ message: String) -> String {
        let body =
            "<text class=\"empty\" x=\"\(Self.n(left + plotWidth / 2))\" y=\"\(Self.n(top + plotHeight / 2))\" text-anchor=\"middle\">\(HTML.escape(message))</text>\n"
        return frame(body: body, keys: [], yScale: nil, xTitle: "", yTitle: "", extra: ["data-empty": "true"])
    }

    /// Tick labels that would overlap their left neighbour are dropped: first come, first kept.
    static func spaced(_ labels: [(x: Double, text: String)], size: Double = 11, gap: Double = 10) -> [(x: Double, text: String)] {
        var kept: [(x: Double, text: String)] = []
        var right = -Double.infinity
        for label in labels.sorted(by: { $0.x < $1.x }) {
            let half = textWidth(label.text, size: size) / 2
            guard label.x - half >= right + gap else { continue }
            kept.append(label)
            right = label.x + half
        }
        return kept
    }

    /// A label placed at `x`, anchored so it does not run off the plot's ends.
    func tickLabel(_ text: String, x: Double, y: Double) -> String {
        let half = Self.textWidth(text, size: 11) / 2
        let anchor = x - half < left - 30 ? "start" : x + half > Self.width - 4 ? "end" : "middle"
        return "<text x=\"\(Self.n(x))\" y=\"\(Self.n(y))\" text-anchor=\"\(anchor)\">\(HTML.escape(text))</text>"
    }

    // MARK: Numbers

    /// Widths of text are estimated (no script measures them): a sans-serif averages under 0.6 em a character.
    static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.6 }

    /// A coordinate: finite, two decimals at most, so the page stays small and never holds NaN.
    static func n(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
    }
}

/// A value axis from zero to a round maximum, in four or five round steps.
struct YScale {
    let maximum: Double
    let step: Double
    let format: (Double) -> String

    init(maxValue: Double, integral: Bool = true, format: ((Double) -> String)? = nil) {
        let target = max(maxValue.isFinite ? maxValue : 0, 0) / 4
        var step = integral ? 1.0 : 0.01
        if target > 0 {
            let magnitude = pow(10, (log10(target)).rounded(.down))
            let multiples = magnitude >= 10 || !integral ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10]
            step = (multiples.map { $0 * magnitude }.first { $0 >= target } ?? 10 * magnitude)
            if integral { step = max(step.rounded(), 1) }
        }
        self.step = step
        maximum = max((max(maxValue, 0) / step).rounded(.up), 1) * step
        self.format = format ?? Self.compact
    }

    /// `950`, `12.5k`, `2k` (not `2.0k`), `0.25`.
    static func compact(_ value: Double) -> String {
        guard value == value.rounded() else { return String(format: "%.2g", value) }
        return ProgressReporter.compact(value).replacingOccurrences(of: ".0k", with: "k").replacingOccurrences(of: ".0M", with: "M")
    }

    var ticks: [Double] { stride(from: 0, through: maximum + step / 2, by: step).map { $0 } }
    func label(_ value: Double) -> String { format(value) }
}
