import Foundation

/// How answer latencies spread, in bins a person reads at a glance.
///
/// Latencies of LLM calls span orders of magnitude (a cached answer in 40 ms,
/// a long completion in 40 s), so wide spreads get log-spaced bins on a
/// 1–1.5–2–3–5–7.5 ladder; a narrow spread (all answers within a factor of
/// eight, as from a steady gateway) would fall into two or three of those, so
/// it gets equal bins of a round width instead.
struct LatencyHistogram {
    struct Bin: Equatable {
        var lower: Double
        var upper: Double
        var count: Int
    }

    /// Lower edge ≤ every value < upper edge of the last bin.
    let bins: [Bin]
    /// Whether bins are log-spaced (the axis says so).
    let logarithmic: Bool

    static let ladder = [1.0, 1.5, 2, 3, 5, 7.5]

    /// `latencies` in milliseconds, sorted ascending (as `JobStatusCollector` returns them).
    init(_ latencies: [Double]) {
        let values = latencies.filter(\.isFinite)
        guard let low = values.first, let high = values.last else {
            bins = []
            logarithmic = false
            return
        }
        let edges: [Double]
        if high < 10 || (low > 0 && high / low <= 8) {
            edges = Self.linearEdges(low: max(low, 0), high: high)
            logarithmic = false
        } else {
            edges = Self.logEdges(low: max(low, 0), high: high)
            logarithmic = true
        }
        var bins = zip(edges, edges.dropFirst()).map { Bin(lower: $0, upper: $1, count: 0) }
        var index = 0
        for value in values {
            while index < bins.count - 1 && value >= bins[index].upper { index += 1 }
            bins[index].count += 1
        }
        self.bins = bins
    }

    /// Where `value` falls along the bins, 0...count, for marking percentiles on the axis.
    func position(of value: Double) -> Double {
        guard let index = bins.firstIndex(where: { value < $0.upper }) else { return Double(bins.count) }
        let bin = bins[index]
        let fraction = bin.upper > bin.lower ? (value - bin.lower) / (bin.upper - bin.lower) : 0
        return Double(index) + min(max(fraction, 0), 1)
    }

    /// About 16 bins of a 1–2–5 width, starting on a multiple of it.
    private static func linearEdges(low: Double, high: Double) -> [Double] {
        let target = max((high - low) / 16, 0.1)
        let magnitude = pow(10, log10(target).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= target } ?? 10 * magnitude
        var edge = (low / step).rounded(.down) * step
        var edges = [edge]
        repeat {
            edge += step
            edges.append(edge)
        } while edge <= high
        return edges
    }

    /// The ladder from the rung at or below the fastest answer to the first above the slowest
    /// (with a first bin from 0 when the fastest took under a millisecond).
    private static func logEdges(low: Double, high: Double) -> [Double] {
        var edges: [Double] = low < 1 ? [0] : []
        var magnitude = low < 1 ? 1.0 : pow(10, log10(low).rounded(.down))
        while true {
            for rung in ladder {
                let edge = rung * magnitude
                if edge > high {
                    edges.append(edge)
                    return edges
                }
                if edge <= low {
                    edges = [edge]  // a rung still at or below the fastest: start the bins here instead
                } else {
                    edges.append(edge)
                }
            }
            magnitude *= 10
        }
    }

    /// `50ms`, `1.5s`, `2m`: short enough for a label under every bin edge.
    static func label(_ milliseconds: Double) -> String {
        if milliseconds < 1000 { return String(format: "%gms", (milliseconds * 10).rounded() / 10) }
        if milliseconds < 60_000 { return String(format: "%gs", (milliseconds / 100).rounded() / 10) }
        return String(format: "%gm", (milliseconds / 6000).rounded() / 10)
    }
}
