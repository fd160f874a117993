import ServiceLifecycle
import Synchronization

/// Group commit: workers hand over events, and one task writes whatever has
/// accumulated in a single transaction. Under load, batches grow by themselves;
/// when idle, each event is committed right away. A worker that must not move on
/// before its events are in the checkpoint (the scheduler, which keeps an answer's
/// request slot until then, so that a kill loses fewer answers than the
/// concurrency) hands its slot over with the outcome (`record(_:then:)`) or waits with `recordAndWait`;
/// the others do not wait.
///
/// A service of the run: it commits until the graceful shutdown, then commits
/// what is left and ends. Whatever is handed over after that (items released
/// when the grace period runs out) is committed by `commitRemaining()`.
///
/// ```swift
/// recorder.record(.finished(outcome))      // returns at once
/// recorder.record([.finished(outcome)]) { slots.release() }   // returns at once; the slot goes back once committed
/// await recorder.recordAndWait([.finished(outcome)])   // returns once committed
/// try await recorder.run()                 // in the run's ServiceGroup
/// await recorder.commitRemaining()         // after the group ends
/// ```
package final class CheckpointRecorder: Service {
    private struct Buffer {
        var events: [CheckpointEvent] = []
        /// Workers waiting for the events they handed over to be committed, by ticket.
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextTicket: UInt64 = 0
        /// What workers that did not wait asked to run once their events are committed.
        var afterCommit: [@Sendable () -> Void] = []
        /// The commit loop has ended: events are then committed by `commitRemaining()`, and nobody waits for them.
        var loopEnded = false
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
    /// `--max-cost`: what provider batches' answers cost, once committed (live answers settle their own).
    private let spend: SpendGuard?

    package init(
        store: any CheckpointStore, counters: RunCounters, control: RunControl, prices: PriceTable = PriceTable(),
        metrics: RunMetrics? = nil, learned: (key: String, value: @Sendable () -> String)? = nil, spend: SpendGuard? = nil
    ) {
        self.store = store
        self.prices = prices
        self.metrics = metrics
        self.spend = spend
        self.counters = counters
        self.control = control
        self.learned = learned
        (rings, bell) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    package var largestBatch: Int { buffer.withLock { $0.largestBatch } }

    /// Whether an item may still be sent (see `CheckpointStore.maySend`): asked before every attempt.
    package func maySend(_ id: Int64) -> Bool { store.maySend(id) }

    package func record(_ event: CheckpointEvent) {
        buffer.withLock { $0.events.append(event) }
        bell.yield()
    }

    /// Hands `events` over and returns at once; `committed` runs once they are committed (or their commit
    /// failed, which stops the run), or at once when the commit loop has ended. For a worker whose only
    /// work left is to let go of what it holds (the scheduler's request slot): what `recordAndWait` gives,
    /// without a task kept waiting for every answer.
    package func record(_ events: [CheckpointEvent], then committed: @escaping @Sendable () -> Void) {
        let waits = buffer.withLock { buffer in
            buffer.events.append(contentsOf: events)
            guard !buffer.loopEnded else { return false }
            buffer.afterCommit.append(committed)
            return true
        }
        bell.yield()
        if !waits { committed() }
    }

    /// Hands `events` over and returns once they are committed (or their commit failed, which stops the run).
    /// It also returns, without waiting, when the commit loop has ended or the task is cancelled.
    package func recordAndWait(_ events: [CheckpointEvent]) async {
        guard !events.isEmpty else { return }
        let ticket = buffer.withLock { buffer in
            defer { buffer.nextTicket += 1 }
            return buffer.nextTicket
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Checked under the lock, as the cancellation handler looks under it: one of the two resumes.
                let waits = buffer.withLock { buffer in
                    buffer.events.append(contentsOf: events)
                    guard !buffer.loopEnded, !Task.isCancelled else { return false }
                    buffer.waiters[ticket] = continuation
                    return true
                }
                bell.yield()
                if !waits { continuation.resume() }
            }
        } onCancel: {
            buffer.withLock { $0.waiters.removeValue(forKey: ticket) }?.resume()
        }
    }

    package func run() async {
        await withGracefulShutdownHandler {
            for await _ in rings { await commit() }
        } onGracefulShutdown: { [bell] in
            bell.finish()
        }
        // Whoever handed events over before this waits for the commit below; nobody after it waits.
        buffer.withLock { $0.loopEnded = true }
        await commit()
    }

    /// Commits whatever was handed over and not yet committed.
    package func commitRemaining() async {
        await commit()
    }

    /// Commits `events` now, in a transaction of their own, and says whether it worked (a provider batch
    /// marks itself done only after its lines' outcomes are in the checkpoint). They do not go through the
    /// buffer: the loop could take them and return before they are written.
    package func commitNow(_ events: [CheckpointEvent]) async -> Bool {
        await apply(events)
    }

    @discardableResult
    private func commit() async -> Bool {
        let (batch, waiters, then) = buffer.withLock { buffer in
            defer {
                buffer.events.removeAll(keepingCapacity: true)
                buffer.waiters.removeAll(keepingCapacity: true)
                buffer.afterCommit.removeAll(keepingCapacity: true)
            }
            buffer.largestBatch = max(buffer.largestBatch, buffer.events.count)
            return (buffer.events, Array(buffer.waiters.values), buffer.afterCommit)
        }
        let committed = await apply(batch)
        for waiter in waiters { waiter.resume() }
        for action in then { action() }
        return committed
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
                    if outcome.answerSource?.hasPrefix("batch:") == true {
                        let batched = live * prices.batchShare(for: model)
                        stats.cost += batched
                        spend?.add(batched)
                    } else {
                        stats.cost += live
                    }
                }
            }
        }
        return true
    }
}
