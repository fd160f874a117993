import Foundation
import ServiceLifecycle

/// Keeps the job's per-minute history in the checkpoint, for `sluice report`:
/// every few seconds, what changed in the run's figures is added to the
/// current minute's row (runs that share a minute add up). A service of the
/// run; it writes what is left when the run stops.
///
/// ```swift
/// let history = HistoryRecorder(store: store, counters: counters)
/// try await history.run()   // in the run's ServiceGroup
/// ```
actor HistoryRecorder: Service {
    private let store: any CheckpointStore
    private let counters: RunCounters
    private let interval: Double
    /// The figures already written.
    private var written = RunStats()

    init(store: any CheckpointStore, counters: RunCounters, interval: Double = 10) {
        self.store = store
        self.counters = counters
        self.interval = interval
    }

    func run() async {
        await ServiceRounds.repeat(every: interval, startingWith: .pause) {
            await flush()
            return true
        }
        await flush()
    }

    /// Adds what changed since the last write to the current minute.
    func flush() async {
        let now = counters.snapshot
        let entry = Self.delta(from: written, to: now, minute: Int64(Date().timeIntervalSince1970 / 60))
        guard entry.requests + entry.succeeded + entry.failed > 0 || entry.concurrency != written.concurrencyLimit else { return }
        // History is a convenience for the report: failing to write it must not stop the job.
        if (try? await store.addHistory(entry)) != nil { written = now }
    }

    static func delta(from before: RunStats, to after: RunStats, minute: Int64) -> HistoryEntry {
        var entry = HistoryEntry(minute: minute)
        entry.requests = after.requestsSent - before.requestsSent
        entry.answered = after.answered - before.answered
        entry.refusals = after.refusals - before.refusals
        entry.retries = after.retries - before.retries
        entry.succeeded = after.succeeded - before.succeeded
        entry.failed = after.failed - before.failed
        entry.promptTokens = after.promptTokens - before.promptTokens
        entry.completionTokens = after.completionTokens - before.completionTokens
        entry.cost = after.cost - before.cost
        entry.concurrency = after.concurrencyLimit
        entry.latencySumMilliseconds = after.latencySumMilliseconds - before.latencySumMilliseconds
        entry.latencyCount = after.latencyCount - before.latencyCount
        for (errorClass, count) in after.errors {
            let change = count - (before.errors[errorClass] ?? 0)
            if change > 0 { entry.errors[errorClass.rawValue] = change }
        }
        return entry
    }
}
