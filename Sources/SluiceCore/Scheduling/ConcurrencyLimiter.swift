import Foundation

/// Permits for requests in flight. The limit can change while the job runs,
/// which is what adaptive concurrency will turn; waiting costs no CPU.
public final class ConcurrencyLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private var limit: Int
    private var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(limit: Int) { self.limit = max(limit, 1) }

    public var currentLimit: Int { lock.withLock { limit } }

    public func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted: Bool = lock.withLock {
                if inUse < limit { inUse += 1; return true }
                waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    public func release() {
        let next: CheckedContinuation<Void, Never>? = lock.withLock {
            if inUse <= limit, !waiters.isEmpty { return waiters.removeFirst() }
            inUse -= 1
            return nil
        }
        next?.resume()
    }

    public func setLimit(_ newLimit: Int) {
        let woken: [CheckedContinuation<Void, Never>] = lock.withLock {
            limit = max(newLimit, 1)
            var ready: [CheckedContinuation<Void, Never>] = []
            while inUse < limit, !waiters.isEmpty {
                inUse += 1
                ready.append(waiters.removeFirst())
            }
            return ready
        }
        woken.forEach { $0.resume() }
    }
}
