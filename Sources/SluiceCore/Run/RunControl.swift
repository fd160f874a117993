import Synchronization

/// The one way a run is asked to stop, with why, and the one place every waiting task listens for it, so a stop
/// interrupts retry waits, pauses and budget sleeps at once (no polling). Signals reach it through
/// `SignalWatcher`; `sluice cancel` through `CancelWatcher`; errors (a refused key, a spent quota, an essential
/// service failing) from whoever meets them; a graceful shutdown reaching the run's group from outside (none
/// does today) through `JobRun`, which says in one place how the run then winds down.
///
/// ```swift
/// control.stop(.error(SluiceError(.authentication, "...")))   // the first reason wins
/// guard await control.sleep(seconds: 2) else { return }        // false: stopping
/// ```
package final class RunControl: Sendable {
    package enum StopReason: Equatable, Sendable {
        case signal(Int32)
        case error(SluiceError)
    }

    private struct State {
        var reason: StopReason?
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Set once, with the reason: every item asks `isStopping`, and copying the reason out under the lock
    /// for that was a retain and release per question.
    private let stopping = Atomic<Bool>(false)

    package init() {}

    package var stopReason: StopReason? { state.withLock { $0.reason } }
    package var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// The first reason wins; later calls are ignored.
    package func stop(_ why: StopReason) {
        let toResume: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard state.reason == nil else { return [] }
            state.reason = why
            stopping.store(true, ordering: .releasing)
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        toResume.forEach { $0.resume() }
    }

    /// Sleeps, returning early (false) if the run is told to stop or the task is cancelled.
    package func sleep(seconds: Double) async -> Bool {
        guard seconds > 0 else { return !isStopping }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                (try? await Task.sleep(for: .seconds(seconds))) != nil
            }
            group.addTask {
                await self.waitForStop()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first && !self.isStopping
        }
    }

    /// Resolves when the run is told to stop, or when the waiting task is cancelled.
    package func waitForStop() async {
        let id: UInt64 = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    if state.reason != nil || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
            continuation?.resume()
        }
    }
}
