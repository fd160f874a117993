import ServiceLifecycle
import Synchronization

/// Group commit: workers hand over events without waiting, and one task writes
/// whatever has accumulated in a single transaction. Under load, batches grow
/// by themselves; when idle, each event is committed right away.
///
/// A service of the run: it commits until the graceful shutdown, then commits
/// what is left and ends. Whatever is handed over after that (items released
/// when the grace period runs out) is committed by `commitRemaining()`.
///
/// ```swift
/// recorder.record(.finished(outcome))      // returns at once
/// try await recorder.run()                 // in the run's ServiceGroup
/// await recorder.commitRemaining()         // after the group ends
/// ```
public final class CheckpointRecorder: Service {
    private struct Buffer {
        var events: [CheckpointEvent] = []
        /// The most events ever waiting for one commit, for diagnosing slow disks.
        var largestBatch = 0
    }

    private let store: any CheckpointStore
    private let counters: RunCounters
    private let control: RunControl
    private let buffer = Mutex(Buffer())
    private let bell: AsyncStream<Void>.Continuation
    private let rings: AsyncStream<Void>
    /// A value the job learns as it runs (the adaptive limit), kept with the commits, in their order.
    private let learned: (key: String, value: @Sendable () -> String)?
    private let lastLearned = Mutex<String?>(nil)
    /// For the run's cost so far, from each committed answer's usage.
    private let prices: PriceTable
    /// `--metrics`: item outcomes, once committed.
    private let metrics: RunMetrics?

    public init(
        store: any CheckpointStore, counters: RunCounters, control: RunControl, prices: PriceTable = PriceTable(),
        metrics: RunMetrics? = nil, learned: (key: String, value: @Sendable () -> String)? = nil
    ) {
        self.store = store
        self.prices = prices
        self.metrics = metrics
        self.counters = counters
        self.control = control
        self.learned = learned
        (rings, bell) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public var largestBatch: Int { buffer.withLock { $0.largestBatch } }

    public func record(_ event: CheckpointEvent) {
        buffer.withLock { $0.events.append(event) }
        bell.yield()
    }

    public func run() async {
        await withGracefulShutdownHandler {
            for await _ in rings { await commit() }
        } onGracefulShutdown: { [bell] in
            bell.finish()
        }
        await commit()
    }

    /// Commits whatever was handed over and not yet committed.
    public func commitRemaining() async {
        await commit()
    }

    /// Commits `events` now, in a transaction of their own, and says whether it worked (a provider batch
    /// marks itself done only after its lines' outcomes are in the checkpoint). They do not go through the
    /// buffer: the loop could take them and return before they are written.
    public func commitNow(_ events: [CheckpointEvent]) async -> Bool {
        await apply(events)
    }

    @discardableResult
    private func commit() async -> Bool {
        let batch: [CheckpointEvent] = buffer.withLock { buffer in
            defer { buffer.events.removeAll(keepingCapacity: true) }
            buffer.largestBatch = max(buffer.largestBatch, buffer.events.count)
            return buffer.events
        }
        return await apply(batch)
    }

    /// Writes one group of events and counts what they finished.
    private func apply(_ batch: [CheckpointEvent]) async -> Bool {
        guard !batch.isEmpty else { return true }
        do {
            try await store.record(batch)
            if let learned {
                let value = learned.value()
                if lastLearned.withLock({ $0 }) != value {
                    try await store.setValue(value, forKey: learned.key)
                    lastLearned.withLock { $0 = value }
                }
            }
        } catch {
            control.stop(.error(SluiceError.wrapping(error, as: .checkpoint)))
            return false
        }
        counters.update { stats in
            for case .finished(let outcome) in batch {
                if outcome.succeeded { stats.succeeded += 1 } else { stats.failed += 1 }
                metrics?.itemFinished(
                    succeeded: outcome.succeeded,
                    errorClass: outcome.succeeded ? nil : ErrorClass.of(badLine: false, httpStatus: outcome.httpStatus, errorCode: outcome.errorCode))
                stats.promptTokens += outcome.promptTokens ?? 0
                stats.completionTokens += outcome.completionTokens ?? 0
                if let model = outcome.answeredModel {
                    let live =
                        prices.cost(
                            model: model, prompt: outcome.promptTokens ?? 0, completion: outcome.completionTokens ?? 0,
                            cached: outcome.cachedTokens ?? 0) ?? 0
                    stats.cost += outcome.answerSource?.hasPrefix("batch:") == true ? live * prices.batchShare(for: model) : live
                }
            }
        }
        return true
    }
}
