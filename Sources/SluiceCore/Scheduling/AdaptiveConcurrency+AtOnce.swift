/// How many requests the gateway took at once in a window, read from the client's side (see the DocC article
/// "Adaptive concurrency").
extension AdaptiveConcurrency {
    typealias Interval = (sent: ContinuousClock.Instant, answered: ContinuousClock.Instant)

    /// A refused request: when the client read the refusal, and how long that took from the send.
    struct Refusal {
        var read: ContinuousClock.Instant
        var took: Duration
    }

    /// The most requests the gateway took at once in a window, not counting those seen together for less than
    /// `Rules.readMargin` or a tenth of the answer time, if shorter. (A margin scaled to the time between answers at
    /// the level seen, answer time over twice it, let a swamped client's first window read 583 at a cap of 200.)
    static func acceptedAtOnce(_ intervals: [Interval], answerSeconds: Double, rules: Rules) -> Int {
        mostAtOnce(intervals, margin: .seconds(min(answerSeconds / 10, rules.readMargin)))
    }

    /// The same for a client that reads its answers late, as a busy one does (what an overshooting window is judged
    /// by). What a refusal took from send to read beyond the job's quickest refusal is the client's own delay
    /// at the moment it read it (the gateway's part is about the same for every refusal, at once for a cap, longer
    /// from further up), and an answer read about then waited about as long: each accepted request is counted as
    /// answered that much earlier, but never as shorter than the window's quickest answer. With 800 sent against a
    /// cap of 200 on two busy cores, the delays were tens of milliseconds, and the first window read 418 at once.
    /// (The whole of a refusal's time, when a gateway took 200 ms to refuse, read K = 200 as about 100.)
    static func acceptedAtOnceReadLate(
        _ intervals: [Interval], refusals: [Refusal], quickestRefusal gatewayPart: Duration, answerSeconds: Double, rules: Rules
    ) -> Int {
        let margin = Duration.seconds(min(answerSeconds / 10, rules.readMargin))
        guard refusals.count >= 4, let quickest = intervals.lazy.map({ $0.answered - $0.sent }).min() else {
            return mostAtOnce(intervals, margin: margin)
        }
        // Refusals are recorded as they are read: nearly in order already.
        let byRead = refusals.sorted { $0.read < $1.read }
        let near = margin * 2
        var starts: [ContinuousClock.Instant] = []
        var ends: [ContinuousClock.Instant] = []
        starts.reserveCapacity(intervals.count)
        ends.reserveCapacity(intervals.count)
        for interval in intervals {
            let late = delay(near: interval.answered, within: near, byRead) - gatewayPart
            let shortenBy = max(margin, min(late, interval.answered - interval.sent - quickest))
            starts.append(interval.sent)
            ends.append(max(interval.answered - shortenBy, interval.sent))
        }
        return mostAtOnce(starts: starts, ends: ends)
    }

    /// The delay of the refusal read nearest to `instant`, if one was read within `within` of it; else zero.
    private static func delay(near instant: ContinuousClock.Instant, within: Duration, _ byRead: [Refusal]) -> Duration {
        var low = 0
        var high = byRead.count
        while low < high {
            let middle = (low + high) / 2
            if byRead[middle].read < instant { low = middle + 1 } else { high = middle }
        }
        func distance(_ refusal: Refusal) -> Duration { refusal.read < instant ? instant - refusal.read : refusal.read - instant }
        let nearest = [low - 1, low].filter(byRead.indices.contains).map { byRead[$0] }.min { distance($0) < distance($1) }
        guard let nearest, distance(nearest) <= within else { return .zero }
        return nearest.took
    }

    /// The most intervals that overlap at one instant (a sweep over their ends), not counting overlaps shorter than
    /// `margin` (see `Rules.readMargin`): counted, they made a cap of 8 look like 9 taken at once, and refusals at 9
    /// look like a gateway that frees its places late, whose slot holds then cost a fifth of the rate.
    static func mostAtOnce(_ intervals: [Interval], margin: Duration = .zero) -> Int {
        mostAtOnce(starts: intervals.map(\.sent), ends: intervals.map { max($0.answered - margin, $0.sent) })
    }

    /// The most intervals open at one instant, given their starts and ends in any order.
    static func mostAtOnce(starts: [ContinuousClock.Instant], ends: [ContinuousClock.Instant]) -> Int {
        // Two sorted lists of instants merged, not one sorted list of events: this runs once per window, and
        // sorting tuples through a closure was a visible share of the per-answer CPU.
        var starts = starts
        var ends = ends
        starts.sort()
        ends.sort()
        var current = 0
        var most = 0
        var nextEnd = 0
        for start in starts {
            // An end at the same instant as a start closes after it: requests answered together were in flight together.
            while nextEnd < ends.count, ends[nextEnd] < start {
                current -= 1
                nextEnd += 1
            }
            current += 1
            most = max(most, current)
        }
        return most
    }
}
