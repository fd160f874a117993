import Foundation

/// Group commit: workers hand over events without waiting, and one task writes
/// whatever has accumulated in a single transaction. Under load, batches grow
/// by themselves; when idle, each event is committed right away.
public final class CheckpointRecorder: @unchecked Sendable {
    private let store: CheckpointStore
    private let counters: RunCounters
    private let control: RunControl
    private let lock = NSLock()
    private var buffer: [CheckpointEvent] = []
    /// The most events ever waiting for one commit, for diagnosing slow disks.
    public private(set) var largestBatch = 0
    private let bell: AsyncStream<Void>.Continuation
    private var flusher: Task<Void, Never>?

    public init(store: CheckpointStore, counters: RunCounters, control: RunControl) {
        self.store = store
        self.counters = counters
        self.control = control
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        bell = continuation
        flusher = Task { [weak self] in
            for await _ in stream { self?.flush() }
            self?.flush()
        }
    }

    public func record(_ event: CheckpointEvent) {
        lock.withLock { buffer.append(event) }
        bell.yield()
    }

    private func flush() {
        let batch: [CheckpointEvent] = lock.withLock {
            defer { buffer.removeAll(keepingCapacity: true) }
            largestBatch = max(largestBatch, buffer.count)
            return buffer
        }
        guard !batch.isEmpty else { return }
        do {
            try store.apply(batch)
        } catch let error as SluiceError {
            control.stop(.error(error))
            return
        } catch {
            control.stop(.error(SluiceError(.checkpoint, "writing the checkpoint failed: \(error)")))
            return
        }
        counters.update { stats in
            for case .finished(let outcome) in batch {
                if outcome.succeeded { stats.succeeded += 1 } else { stats.failed += 1 }
                stats.promptTokens += outcome.promptTokens ?? 0
                stats.completionTokens += outcome.completionTokens ?? 0
            }
        }
    }

    /// Commits everything handed over so far and stops the flusher.
    public func finish() async {
        bell.finish()
        await flusher?.value
    }
}
