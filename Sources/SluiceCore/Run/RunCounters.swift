import Synchronization

/// The live figures of the current run (`RunStats`), shared by every worker,
/// the progress line and the summary.
public final class RunCounters: Sendable {
    private let stats = Mutex(RunStats())
    public let started = ContinuousClock.now

    public init() {}

    public func update(_ change: (inout RunStats) -> Void) {
        stats.withLock { change(&$0) }
    }

    public var snapshot: RunStats { stats.withLock { $0 } }

    public var elapsedSeconds: Double { (ContinuousClock.now - started).inSeconds }
}
