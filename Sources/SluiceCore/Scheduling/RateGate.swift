import Foundation

/// A job-wide pause: when the gateway answers 429 with a Retry-After, every
/// worker waits it out before sending again, rather than each item hammering
/// the gateway on its own schedule.
public final class RateGate: @unchecked Sendable {
    private let lock = NSLock()
    private var pausedUntil: ContinuousClock.Instant?
    private let control: RunControl

    public init(control: RunControl) { self.control = control }

    public func pause(for seconds: Double) {
        guard seconds > 0 else { return }
        let until = ContinuousClock.now + .nanoseconds(Int64(seconds * 1_000_000_000))
        lock.withLock {
            if pausedUntil.map({ until > $0 }) ?? true { pausedUntil = until }
        }
    }

    /// Returns when sending is allowed again; false if the run is stopping.
    public func waitUntilOpen() async -> Bool {
        while true {
            guard let until = lock.withLock({ pausedUntil }) else { return !control.isStopping }
            let remaining = until - ContinuousClock.now
            if remaining <= .zero {
                lock.withLock { if pausedUntil == until { pausedUntil = nil } }
                return !control.isStopping
            }
            let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) * 1e-18
            if !(await control.sleep(seconds: seconds)) { return false }
        }
    }
}
