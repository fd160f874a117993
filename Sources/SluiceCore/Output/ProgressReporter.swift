import Foundation
import ServiceLifecycle
import Synchronization

/// The progress line on stderr: redrawn in place on a terminal, printed as
/// plain periodic lines otherwise (logs, CI). A service of the run: it draws
/// until the graceful shutdown, then clears a terminal line.
///
/// Rates and the ETA come from the last `window` seconds, not the whole run,
/// so a job that slowed down (a pause, a smaller limit) shows the speed it has
/// now. While planning is still reading the inputs the total is extrapolated
/// from the share of bytes read, and marked `~`.
///
/// ```swift
/// let progress = ProgressReporter(counters: counters, baseline: counts, spentBefore: 0.42, plainInterval: 10) { gate.currentPause }
/// try await progress.run()   // in the run's ServiceGroup
/// ```
package final class ProgressReporter: Service {
    /// Seconds of history the rates are taken over.
    package static let window = 30.0

    private struct Sample {
        var at: Double
        var requests: Int
        var tokens: Int
        var done: Int
    }

    private let counters: RunCounters
    private let baseline: ItemCounts
    private let spentBefore: Double
    private let interactive: Bool
    private let interval: Double
    private let samples = Mutex<[Sample]>([])
    /// The job-wide pause in force, if any (seconds left, reason).
    private let pause: @Sendable () -> (remaining: Double, reason: String)?

    package init(
        counters: RunCounters, baseline: ItemCounts, spentBefore: Double = 0, plainInterval: Double,
        interactive: Bool = isatty(STDERR_FILENO) == 1,
        pause: @escaping @Sendable () -> (remaining: Double, reason: String)? = { nil }
    ) {
        self.counters = counters
        self.baseline = baseline
        self.spentBefore = spentBefore
        self.pause = pause
        self.interactive = interactive
        interval = interactive ? 0.5 : plainInterval
    }

    package func run() async {
        await ServiceRounds.repeat(every: interval, startingWith: .pause) {
            draw()
            return true
        }
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    package func line() -> String {
        let stats = counters.snapshot
        let elapsed = counters.elapsedSeconds
        let planned = baseline.total + stats.planned
        let done = baseline.finished + stats.succeeded + stats.failed + stats.plannedInvalid
        var total = "\(planned)"
        var totalCount = Double(planned)
        if let fraction = stats.planningFraction, fraction > 0, fraction < 1 {
            totalCount = max(Double(planned) / fraction, Double(planned))
            total = "~\(Int(totalCount.rounded()))"
        }
        let (requestRate, tokenRate, doneRate) = rates(stats: stats, done: done, at: elapsed)
        var parts = ["sluice: \(done)/\(total) done" + (totalCount > 0 ? String(format: " (%.1f%%)", Double(done) * 100 / totalCount) : "")]
        parts.append("ok \(baseline.succeeded + stats.succeeded)")
        parts.append("failed \(baseline.failed + stats.failed + stats.plannedInvalid)")
        parts.append("retrying \(stats.retrying)")
        parts.append("in flight \(stats.inFlight)")
        if stats.batchesOpen > 0 {
            let limit = stats.enqueuedTokenLimit.map { "/" + Self.compact(Double($0)) } ?? ""
            parts.append(
                "batches \(stats.batchesOpen) (\(stats.batchStatuses); \(Self.compact(Double(stats.itemsInBatches))) items; "
                    + "\(Self.compact(Double(stats.enqueuedTokens)))\(limit) tokens enqueued)")
        }
        parts.append(String(format: "%.1f req/s", requestRate))
        parts.append("\(Self.compact(tokenRate)) tok/s")
        let remaining = totalCount - Double(done)
        if remaining <= 0 {
            parts.append("ETA 0s")
        } else if doneRate > 0 {
            parts.append("ETA \(Self.duration(remaining / doneRate))")
        } else {
            parts.append("ETA -")
        }
        parts.append("\(Self.duration(elapsed)) elapsed")
        let spent = spentBefore + stats.cost
        if spent > 0 { parts.append(Self.dollars(spent)) }
        parts.append("limit \(stats.concurrencyLimit)")
        if let pause = pause() { parts.append("paused \(Int(pause.remaining.rounded(.up))) s: \(pause.reason)") }
        return parts.joined(separator: " · ")
    }

    /// Requests, tokens and finished items per second over the last `window` seconds.
    private func rates(stats: RunStats, done: Int, at now: Double) -> (Double, Double, Double) {
        let current = Sample(at: now, requests: stats.requestsSent, tokens: stats.promptTokens + stats.completionTokens, done: done)
        return samples.withLock { samples in
            samples.append(current)
            samples.removeAll { $0.at < now - Self.window }
            // The oldest sample in the window; at the start, the run's beginning.
            let first = samples.count > 1 ? samples[0] : Sample(at: 0, requests: 0, tokens: 0, done: baseline.finished)
            let span = max(now - first.at, 0.001)
            return (
                Double(current.requests - first.requests) / span, Double(current.tokens - first.tokens) / span,
                Double(current.done - first.done) / span
            )
        }
    }

    private func draw() {
        let text = interactive ? "\r\u{1B}[2K" + line() : line() + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `45s`, `3m05s`, `2h07m`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, whole % 3600 / 60)
    }

    /// `950`, `12.3k`, `4.1M`.
    static func compact(_ value: Double) -> String {
        if value < 1000 { return String(format: "%.0f", value) }
        if value < 1_000_000 { return String(format: "%.1fk", value / 1000) }
        return String(format: "%.1fM", value / 1_000_000)
    }

    /// Cents for sums above a dollar, four decimals below, and at least two significant digits under a cent: a cheap
    /// model's cost per item is millionths of a dollar (`$0.000012`), which four decimals would show as `$0.0000`.
    static func dollars(_ value: Double) -> String {
        guard value < 1 else { return String(format: "$%.2f", value) }
        let significant = value > 0 ? 1 - Int(log10(value).rounded(.down)) : 0
        return String(format: "$%.*f", min(max(4, significant), 12), value)
    }
}
