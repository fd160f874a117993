import Foundation
import ServiceLifecycle

/// The progress line on stderr: redrawn in place on a terminal, printed as
/// plain periodic lines otherwise (logs, CI). A service of the run: it draws
/// until the graceful shutdown, then clears a terminal line.
///
/// ```swift
/// let progress = ProgressReporter(counters: counters, baseline: counts, plainInterval: 10) { gate.currentPause }
/// try await progress.run()   // in the run's ServiceGroup
/// ```
public final class ProgressReporter: Service {
    private let counters: RunCounters
    private let baseline: ItemCounts
    private let interactive: Bool
    private let interval: Double
    /// The job-wide pause in force, if any (seconds left, reason).
    private let pause: @Sendable () -> (remaining: Double, reason: String)?

    public init(
        counters: RunCounters, baseline: ItemCounts, plainInterval: Double,
        pause: @escaping @Sendable () -> (remaining: Double, reason: String)? = { nil }
    ) {
        self.counters = counters
        self.baseline = baseline
        self.pause = pause
        interactive = isatty(STDERR_FILENO) == 1
        interval = interactive ? 0.5 : plainInterval
    }

    public func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: .seconds(interval)) }
            } catch {
                break
            }
            if Task.isShuttingDownGracefully { break }
            draw()
        }
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    public func line() -> String {
        let stats = counters.snapshot
        let total = baseline.total + stats.planned
        let done = baseline.finished + stats.succeeded + stats.failed + stats.plannedInvalid
        let rate = Double(stats.requestsSent) / max(counters.elapsedSeconds, 0.001)
        let percent = total > 0 ? String(format: " (%.1f%%)", Double(done) * 100 / Double(total)) : ""
        return
            "sluice: \(done)/\(total) done\(percent) · ok \(baseline.succeeded + stats.succeeded) · failed \(baseline.failed + stats.failed + stats.plannedInvalid)"
            + " · in flight \(stats.inFlight) · retrying \(stats.retrying) · \(String(format: "%.1f", rate)) req/s · limit \(stats.concurrencyLimit)"
            + (pause().map { " · paused \(Int($0.remaining.rounded(.up))) s: \($0.reason)" } ?? "")
    }

    private func draw() {
        let text = interactive ? "\r\u{1B}[2K" + line() : line() + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
