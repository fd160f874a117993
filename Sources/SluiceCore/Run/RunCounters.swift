import Synchronization

/// The live figures of the current run (`RunStats`), shared by every worker,
/// the progress line and the summary.
package final class RunCounters: Sendable {
    private let stats = Mutex(RunStats())
    package let started = ContinuousClock.now

    package init() {}

    package func update(_ change: (inout RunStats) -> Void) {
        stats.withLock { change(&$0) }
    }

    package var snapshot: RunStats { stats.withLock { $0 } }

    package var elapsedSeconds: Double { (ContinuousClock.now - started).inSeconds }
}
