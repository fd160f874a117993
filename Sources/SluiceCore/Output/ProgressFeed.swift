import ServiceLifecycle

/// Where a run's figures go for a program that runs jobs itself (the `Sluice` library's progress events),
/// as `ProgressReporter` draws them for a person: every `interval` seconds until the run stops.
package struct ProgressFeed: Service {
    /// The figures of one moment: this run's counters over what earlier runs of the job finished.
    package struct Moment: Sendable {
        package var stats: RunStats
        package var baseline: ItemCounts
        package var elapsedSeconds: Double
    }

    let counters: RunCounters
    let baseline: ItemCounts
    let interval: Double
    let receive: @Sendable (Moment) -> Void

    package func run() async {
        await ServiceRounds.repeat(every: interval) {
            receive(Moment(stats: counters.snapshot, baseline: baseline, elapsedSeconds: counters.elapsedSeconds))
            return true
        }
    }
}
