import Foundation

/// How a run is asked to stop, and the one place every waiting task listens
/// for it, so a stop interrupts sleeps and pauses at once (no polling).
public final class RunControl: @unchecked Sendable {
    public enum StopReason: Equatable, Sendable {
        case signal(Int32)
        case error(SluiceError)
    }

    private let lock = NSLock()
    private var reason: StopReason?
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter: UInt64 = 0

    public init() {}

    public var stopReason: StopReason? { lock.withLock { reason } }
    public var isStopping: Bool { stopReason != nil }

    /// The first reason wins; later calls are ignored.
    public func stop(_ why: StopReason) {
        let toResume: [CheckedContinuation<Void, Never>] = lock.withLock {
            guard reason == nil else { return [] }
            reason = why
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        toResume.forEach { $0.resume() }
    }

    /// Sleeps, returning early (false) if the run is told to stop or the task is cancelled.
    public func sleep(seconds: Double) async -> Bool {
        guard seconds > 0 else { return !isStopping }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                (try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))) != nil
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
    public func waitForStop() async {
        let id: UInt64 = lock.withLock { nextWaiter += 1; return nextWaiter }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = lock.withLock {
                    if reason != nil || Task.isCancelled { return true }
                    waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = lock.withLock { waiters.removeValue(forKey: id) }
            continuation?.resume()
        }
    }
}
