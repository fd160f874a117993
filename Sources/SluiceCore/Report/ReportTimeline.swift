import Foundation

/// The job's per-minute history laid out for the charts' time axis.
///
/// History has holes of two kinds. Inside a run, a minute without a row is a
/// quiet minute (the recorder skips minutes where nothing was sent or
/// finished and the limit did not move), so it counts as zero. Between runs
/// (a job stopped in the evening and resumed the next morning) a hole can last
/// hours; drawn to scale it would squeeze both runs into slivers, and a line
/// across it would invent a night of traffic. So holes longer than
/// `breakAfterMinutes` split the history into segments: the axis cuts them
/// out, draws a break, and no line crosses one.
struct ReportTimeline {
    /// Whole minutes `start..<end` with history around them.
    struct Segment: Equatable {
        var start: Int64
        var end: Int64
        var minutes: Int64 { end - start }
    }

    /// Figures summed over `minutes` consecutive minutes of one segment (bars
    /// and points on a long job stand for several minutes each).
    struct Bucket {
        var segment: Int
        var start: Int64
        var minutes: Int64
        var total: HistoryEntry
        /// The limit at the end of the bucket: carried over quiet minutes, as the recorder does not write an unchanged one.
        var concurrency: Int
        /// Per minute, so a bucket of five minutes reads on the same scale as one.
        func rate(_ value: Int) -> Double { Double(value) / Double(max(minutes, 1)) }
        var middle: Double { Double(start) + Double(minutes) / 2 }
    }

    static let breakAfterMinutes: Int64 = 15
    /// Bucket sizes in minutes, each a divisor-friendly step so buckets start on round times.
    static let bucketSizes: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080]

    let segments: [Segment]
    let entries: [Int64: HistoryEntry]

    init(_ history: [HistoryEntry], breakAfter: Int64 = breakAfterMinutes) {
        var entries: [Int64: HistoryEntry] = [:]
        for entry in history { entries[entry.minute] = entries[entry.minute].map { $0.adding(entry) } ?? entry }
        var segments: [Segment] = []
        for minute in entries.keys.sorted() {
            if let last = segments.last, minute - last.end < breakAfter {
                segments[segments.count - 1].end = minute + 1
            } else {
                segments.append(Segment(start: minute, end: minute + 1))
            }
        }
        self.segments = segments
        self.entries = entries
    }

    var isEmpty: Bool { segments.isEmpty }
    var visibleMinutes: Int64 { segments.reduce(0) { $0 + $1.minutes } }
    var first: Int64? { segments.first?.start }
    var last: Int64? { segments.last.map { $0.end - 1 } }

    /// The cut-out holes, in minutes, between consecutive segments.
    var breaks: [Int64] { zip(segments, segments.dropFirst()).map { $1.start - $0.end } }

    /// The smallest bucket size that keeps the count at or under `maxCount`.
    func bucketSize(maxCount: Int) -> Int64 {
        for size in Self.bucketSizes {
            let count = segments.reduce(Int64(0)) { $0 + Self.bucketCount($1, size: size) }
            if count <= Int64(maxCount) { return size }
        }
        return Self.bucketSizes.last!
    }

    /// Buckets of `size` minutes aligned on round times (a 5-minute bucket starts at :00, :05...), clipped to each segment.
    func buckets(size: Int64) -> [Bucket] {
        var buckets: [Bucket] = []
        for (index, segment) in segments.enumerated() {
            var concurrency = entries[segment.start]?.concurrency ?? 0
            var start = segment.start
            while start < segment.end {
                let end = min((start / size + 1) * size, segment.end)
                var total = HistoryEntry(minute: start)
                for minute in start..<end {
                    guard let entry = entries[minute] else { continue }
                    total = total.adding(entry)
                    concurrency = entry.concurrency
                }
                total.concurrency = concurrency
                buckets.append(Bucket(segment: index, start: start, minutes: end - start, total: total, concurrency: concurrency))
                start = end
            }
        }
        return buckets
    }

    private static func bucketCount(_ segment: Segment, size: Int64) -> Int64 {
        (segment.end - 1) / size - segment.start / size + 1
    }
}
