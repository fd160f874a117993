import Foundation

/// Where each minute of a `ReportTimeline` is drawn: segments side by side,
/// each as wide as its share of the minutes, with a narrow break between two
/// (the cut-out hours a stopped job did not run).
struct TimeAxis {
    let timeline: ReportTimeline
    let left: Double
    let width: Double
    let breakWidth: Double
    let perMinute: Double
    let offsets: [Double]
    let timeZone: TimeZone

    init(_ timeline: ReportTimeline, left: Double, width: Double, timeZone: TimeZone) {
        self.timeline = timeline
        self.left = left
        self.width = width
        self.timeZone = timeZone
        let breaks = Double(max(timeline.segments.count - 1, 0))
        // Many stop/resume cycles must not eat the plot: breaks take at most a quarter of it.
        breakWidth = breaks == 0 ? 0 : min(18, width * 0.25 / breaks)
        perMinute = (width - breakWidth * breaks) / max(Double(timeline.visibleMinutes), 1)
        var offsets: [Double] = []
        var x = left
        for segment in timeline.segments {
            offsets.append(x)
            x += Double(segment.minutes) * perMinute + breakWidth
        }
        self.offsets = offsets
    }

    func x(segment: Int, minute: Double) -> Double {
        offsets[segment] + (minute - Double(timeline.segments[segment].start)) * perMinute
    }

    /// Round times (every 1, 2, 5, 10, 15, 30 minutes, hours...) and each segment's start, labelled
    /// `HH:mm`, with the day added where it changes when the history spans more than one.
    func ticks(maxLabels: Int) -> [(x: Double, text: String)] {
        guard let first = timeline.first, let last = timeline.last else { return [] }
        let visible = Double(timeline.visibleMinutes)
        let step = ReportTimeline.bucketSizes.first { visible / Double($0) <= Double(max(maxLabels, 1)) } ?? 10080
        let offset = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(first) * 60)) / 60)
        var candidates: [(x: Double, minute: Int64)] = []
        for (index, segment) in timeline.segments.enumerated() {
            candidates.append((x(segment: index, minute: Double(segment.start)), segment.start))
            var minute = ((segment.start + offset) / step + 1) * step - offset
            while minute <= segment.end {
                candidates.append((x(segment: index, minute: Double(minute)), minute))
                minute += step
            }
        }
        let multiDay = Self.day(first, timeZone) != Self.day(last, timeZone)
        var kept: [(x: Double, text: String)] = []
        var right = -Double.infinity
        var lastDay: String?
        for candidate in candidates.sorted(by: { $0.x < $1.x }) {
            let day = Self.day(candidate.minute, timeZone)
            let time = Self.clock(candidate.minute, timeZone)
            let text = multiDay && day != lastDay ? day + " " + time : time
            let half = SVGChart.textWidth(text, size: 11) / 2
            guard candidate.x - half >= right + 10 else { continue }
            kept.append((candidate.x, text))
            right = candidate.x + half
            lastDay = day
        }
        return kept
    }

    /// `14:05` in the report's time zone.
    static func clock(_ minute: Int64, _ timeZone: TimeZone) -> String {
        let parts = components(minute, timeZone)
        return String(format: "%02d:%02d", parts.hour ?? 0, parts.minute ?? 0)
    }

    /// `3 Mar`.
    static func day(_ minute: Int64, _ timeZone: TimeZone) -> String {
        let parts = components(minute, timeZone)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(parts.day ?? 1) \(months[((parts.month ?? 1) - 1) % 12])"
    }

    private static func components(_ minute: Int64, _ timeZone: TimeZone) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.dateComponents([.month, .day, .hour, .minute], from: Date(timeIntervalSince1970: Double(minute) * 60))
    }
}

extension SVGChart {
    /// A series over time: one value per bucket. A quiet minute is a zero; nil is a hole the line
    /// does not cross (a mean over no answers is not zero, it is unknown).
    struct TimeSeries {
        var key: Key
        var values: [Double?]
        /// Drawn as steps (a limit that holds until it changes) rather than a line between points.
        var step = false
    }

    /// Lines over time; no line crosses a break between segments.
    func timeLines(axis: TimeAxis, buckets: [ReportTimeline.Bucket], series: [TimeSeries], yScale: YScale, yTitle: String, hover: (Int) -> String) -> String {
        var body = gaps(axis) + hoverColumns(axis: axis, buckets: buckets, hover: hover)
        let dots = buckets.count <= 60
        for line in series {
            let dash = line.key.dashed ? " stroke-dasharray=\"6 4\"" : ""
            for run in runs(buckets, line.values) {
                var path = ""
                for index in run {
                    let bucket = buckets[index]
                    let y = self.y(line.values[index] ?? 0, yScale)
                    if line.step {
                        let start = axis.x(segment: bucket.segment, minute: Double(bucket.start))
                        let end = axis.x(segment: bucket.segment, minute: Double(bucket.start + bucket.minutes))
                        path += (path.isEmpty ? "M\(Self.n(start)) \(Self.n(y))" : " V\(Self.n(y))") + " H\(Self.n(end))"
                    } else {
                        let x = axis.x(segment: bucket.segment, minute: bucket.middle)
                        path += (path.isEmpty ? "M" : " L") + "\(Self.n(x)) \(Self.n(y))"
                    }
                }
                body += "<path class=\"series\" d=\"\(path)\" stroke=\"\(line.key.color)\"\(dash)/>\n"
                // A lone point draws no line: a dot shows it (and every point, when there are few).
                if !line.step && (dots || run.count == 1) {
                    for index in run {
                        let bucket = buckets[index]
                        let x = axis.x(segment: bucket.segment, minute: bucket.middle)
                        body += "<circle cx=\"\(Self.n(x))\" cy=\"\(Self.n(y(line.values[index] ?? 0, yScale)))\" r=\"3\" fill=\"\(line.key.color)\"/>"
                    }
                    body += "\n"
                }
            }
        }
        body += timeAxis(axis)
        return frame(
            body: body, keys: series.map(\.key), yScale: yScale, xTitle: timeTitle(axis, buckets, unit: "point"), yTitle: yTitle,
            extra: ["data-points": String(buckets.count), "data-segments": String(axis.timeline.segments.count)])
    }

    /// Stacked bars over time, one bar per bucket, series bottom to top.
    func timeStackedBars(
        axis: TimeAxis, buckets: [ReportTimeline.Bucket], series: [TimeSeries], yScale: YScale, yTitle: String, hover: (Int) -> String
    )
        -> String
    {
        var body = gaps(axis)
        for (index, bucket) in buckets.enumerated() {
            let start = axis.x(segment: bucket.segment, minute: Double(bucket.start))
            let end = axis.x(segment: bucket.segment, minute: Double(bucket.start + bucket.minutes))
            // A hairline between neighbouring bars when there is room for one.
            let inset = end - start > 4 ? 0.75 : 0
            var base = 0.0
            var bars = ""
            for line in series {
                guard let value = line.values[index], value > 0 else { continue }
                let low = y(base, yScale)
                base += value
                let high = y(base, yScale)
                bars +=
                    "<rect x=\"\(Self.n(start + inset))\" y=\"\(Self.n(high))\" width=\"\(Self.n(max(end - start - 2 * inset, 0.5)))\" height=\"\(Self.n(max(low - high, 0)))\" fill=\"\(line.key.color)\"/>"
            }
            guard !bars.isEmpty else { continue }
            body += "<g class=\"bar\"><title>\(HTML.escape(hover(index)))</title>\(bars)</g>\n"
        }
        body += timeAxis(axis)
        return frame(
            body: body, keys: series.map(\.key), yScale: yScale, xTitle: timeTitle(axis, buckets, unit: "bar"), yTitle: yTitle,
            extra: ["data-points": String(buckets.count), "data-segments": String(axis.timeline.segments.count)])
    }

    /// Consecutive buckets of one segment with a value: a line runs through each, never from one to the next.
    private func runs(_ buckets: [ReportTimeline.Bucket], _ values: [Double?]) -> [[Int]] {
        var runs: [[Int]] = []
        for (index, bucket) in buckets.enumerated() where values[index] != nil {
            if let last = runs.last?.last, last == index - 1, buckets[last].segment == bucket.segment {
                runs[runs.count - 1].append(index)
            } else {
                runs.append([index])
            }
        }
        return runs
    }

    /// The breaks between segments, shaded, with how long the job was away.
    private func gaps(_ axis: TimeAxis) -> String {
        var svg = ""
        for (index, minutes) in axis.timeline.breaks.enumerated() where axis.breakWidth > 0 {
            let x = axis.offsets[index + 1] - axis.breakWidth
            let label = "no history for \(ProgressReporter.duration(Double(minutes) * 60))"
            svg += "<g class=\"gap\"><title>\(HTML.escape(label)): the job was not running</title>"
            svg += "<rect x=\"\(Self.n(x))\" y=\"\(Self.n(top))\" width=\"\(Self.n(axis.breakWidth))\" height=\"\(Self.n(plotHeight))\"/>"
            if axis.breakWidth >= 12 && plotHeight >= Self.textWidth(label, size: 10) + 10 {
                let cx = x + axis.breakWidth / 2 + 3.5
                let cy = top + plotHeight / 2
                svg +=
                    "<text x=\"\(Self.n(cx))\" y=\"\(Self.n(cy))\" text-anchor=\"middle\" transform=\"rotate(-90 \(Self.n(cx)) \(Self.n(cy)))\">\(HTML.escape(label))</text>"
            }
            svg += "</g>\n"
        }
        return svg
    }

    /// For line charts: a transparent column per bucket whose hover names its figures.
    private func hoverColumns(axis: TimeAxis, buckets: [ReportTimeline.Bucket], hover: (Int) -> String) -> String {
        var svg = ""
        for (index, bucket) in buckets.enumerated() {
            let start = axis.x(segment: bucket.segment, minute: Double(bucket.start))
            let end = axis.x(segment: bucket.segment, minute: Double(bucket.start + bucket.minutes))
            svg +=
                "<rect class=\"hover\" x=\"\(Self.n(start))\" y=\"\(Self.n(top))\" width=\"\(Self.n(max(end - start, 0.5)))\" height=\"\(Self.n(plotHeight))\"><title>\(HTML.escape(hover(index)))</title></rect>"
        }
        return svg + "\n"
    }

    private func timeAxis(_ axis: TimeAxis) -> String {
        var svg = "<g class=\"x-axis\">\n"
        for tick in axis.ticks(maxLabels: Int(plotWidth / 90)) {
            svg += "<line class=\"tick\" x1=\"\(Self.n(tick.x))\" y1=\"\(Self.n(plotBottom))\" x2=\"\(Self.n(tick.x))\" y2=\"\(Self.n(plotBottom + 5))\"/>"
            svg += tickLabel(tick.text, x: tick.x, y: plotBottom + 18) + "\n"
        }
        return svg + "</g>\n"
    }

    private func timeTitle(_ axis: TimeAxis, _ buckets: [ReportTimeline.Bucket], unit: String) -> String {
        let size = buckets.map(\.minutes).max() ?? 1
        // The offset at the history's start: the ticks are placed by it.
        let start = Date(timeIntervalSince1970: Double(axis.timeline.first ?? 0) * 60)
        let zone = axis.timeZone.secondsFromGMT(for: start) == 0 ? "UTC" : Self.offsetName(axis.timeZone, at: start)
        return "time (\(zone)) · one \(unit) per " + (size > 1 ? "\(size) minutes" : "minute")
    }

    /// `UTC+01:00`.
    static func offsetName(_ timeZone: TimeZone, at date: Date = Date()) -> String {
        let seconds = timeZone.secondsFromGMT(for: date)
        return String(format: "UTC%@%02d:%02d", seconds < 0 ? "-" : "+", abs(seconds) / 3600, abs(seconds) % 3600 / 60)
    }
}
