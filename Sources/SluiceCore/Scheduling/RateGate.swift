import Synchronization

/// The job-wide pause. Only the `RefusalMonitor` closes it, and only on
/// evidence that the limit being hit is the job's own (its budget at zero, or
/// refusals across many items); a single item's 429 never does.
///
/// ```swift
/// gate.pause(for: 41, reason: "gateway rate limit")
/// guard await gate.waitUntilOpen() else { return }   // false: the run is stopping
/// gate.currentPause   // (remaining: 40.2, reason: "gateway rate limit"), for the progress line
/// ```
package final class RateGate: Sendable {
    private struct Pause {
        var until: ContinuousClock.Instant
        var reason: String
    }

    private let pause = Mutex<Pause?>(nil)
    private let control: RunControl

    package init(control: RunControl) { self.control = control }

    /// Extends the pause to at least `seconds` from now. True when this starts
    /// a pause (none was in force), for counting pauses rather than extensions.
    @discardableResult
    package func pause(for seconds: Double, reason: String) -> Bool {
        guard seconds > 0 else { return false }
        let now = ContinuousClock.now
        let until = now + .seconds(seconds)
        return pause.withLock { current in
            let started = current.map { $0.until <= now } ?? true
            if current.map({ until > $0.until }) ?? true { current = Pause(until: until, reason: reason) }
            return started
        }
    }

    /// The pause in force, if any: seconds left and why.
    package var currentPause: (remaining: Double, reason: String)? {
        pause.withLock { current in
            guard let current, current.until > .now else { return nil }
            return ((current.until - .now).inSeconds, current.reason)
        }
    }

    /// Returns when sending is allowed again; false if the run is stopping.
    package func waitUntilOpen() async -> Bool {
        while let until = pause.withLock({ $0?.until }) {
            let remaining = until - .now
            if remaining <= .zero {
                pause.withLock { if $0?.until == until { $0 = nil } }
                break
            }
            if !(await control.sleep(seconds: remaining.inSeconds)) { return false }
        }
        return !control.isStopping
    }
}

extension Duration {
    /// As a number of seconds, for arithmetic and display.
    package var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
