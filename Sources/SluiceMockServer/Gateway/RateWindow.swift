/// A sliding one-minute window of weighted events (requests, or tokens).
///
/// Entries are kept in arrival order in a ring-like array, so expiring old ones is
/// amortised O(1) per request.
struct RateWindow {
    let limit: Int
    let window: Double
    private var entries: [(time: Double, weight: Int)] = []
    private var head = 0
    private(set) var used = 0

    init(limit: Int, window: Double = 60) {
        self.limit = limit
        self.window = window
    }

    private mutating func expire(now: Double) {
        while head < entries.count, entries[head].time <= now - window {
            used -= entries[head].weight
            head += 1
        }
        if head > 4096, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// Seconds until `weight` more would fit, or nil if it fits now (and is then counted).
    mutating func admit(weight: Int, now: Double) -> Double? {
        expire(now: now)
        if used + weight <= limit || (used == 0) {
            entries.append((now, weight))
            used += weight
            return nil
        }
        // Wait until enough of the oldest entries leave the window.
        var freed = 0
        var index = head
        while index < entries.count {
            freed += entries[index].weight
            if used - freed + weight <= limit { break }
            index += 1
        }
        let until = index < entries.count ? entries[index].time + window - now : window
        return max(until, 0.001)
    }

    func remaining(now: Double) -> Int { max(limit - used, 0) }

    /// Time until the window is empty again, for `x-ratelimit-reset-*`.
    func resetSeconds(now: Double) -> Double {
        guard head < entries.count else { return 0 }
        return max(entries[entries.count - 1].time + window - now, 0)
    }
}

/// `6m0s`, `1.5s`, `12ms`: the duration format of OpenAI's `x-ratelimit-reset-*` headers.
func rateLimitDuration(_ seconds: Double) -> String {
    if seconds < 1 { return "\(Int((seconds * 1000).rounded(.up)))ms" }
    if seconds < 60 { return "\((seconds * 1000).rounded(.up) / 1000)s" }
    let minutes = Int(seconds / 60)
    return "\(minutes)m\(Int(seconds) - minutes * 60)s"
}

extension RateWindow {
    /// Takes back the most recent admission (used when a later check refuses the request).
    mutating func refund(weight: Int) {
        guard head < entries.count else { return }
        used -= entries.removeLast().weight
    }
}
