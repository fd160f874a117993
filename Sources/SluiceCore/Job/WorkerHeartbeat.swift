import Foundation
import Logging
import ServiceLifecycle

/// A worker of a shared job proves it is alive: every third of the lease it
/// extends its leases and publishes its figures, and learns how many workers
/// are live, which divides the job's `--rpm/--tpm` among them (the budget is
/// the gateway's, for the job as a whole). A worker that stops beating (killed,
/// cut off) loses its leases when they expire, and the others' shares grow
/// back at their next beat.
///
/// ```swift
/// let heartbeat = WorkerHeartbeat(store: shared, counters: counters, budget: budget, control: control, logger: logger)
/// try await heartbeat.run()   // in the run's ServiceGroup
/// ```
struct WorkerHeartbeat: Service {
    let store: any SharedCheckpointStore
    let counters: RunCounters
    let budget: RateBudget
    let control: RunControl
    let logger: Logger

    func run() async {
        let interval = max(store.leaseSeconds / 3, 0.5)
        var lastSent = counters.snapshot.requestsSent
        var lastTime = ContinuousClock.now
        var lastLive = 1
        await ServiceRounds.repeat(every: interval) {
            let stats = counters.snapshot
            let now = ContinuousClock.now
            let rate = Double(stats.requestsSent - lastSent) / max((now - lastTime).inSeconds, 0.001)
            (lastSent, lastTime) = (stats.requestsSent, now)
            do {
                let live = try await store.heartbeat(
                    WorkerFigures(sent: stats.requestsSent, finished: stats.succeeded + stats.failed, requestsPerSecond: rate))
                budget.share(among: live)
                if live != lastLive, budget.isLimited {
                    logger.info("\(live) live worker\(live == 1 ? "" : "s") share the job's rate budget")
                }
                lastLive = live
            } catch {
                // The store retried through the outage it allows; past that, this worker's leases are expiring.
                control.stop(.error(SluiceError.wrapping(error, as: .checkpoint)))
                return false
            }
            return true
        }
        // Waits for the group to stop it, then publishes the final figures (the dispatcher, stopped before it, has ended).
        try? await gracefulShutdown()
        let stats = counters.snapshot
        _ = try? await store.heartbeat(WorkerFigures(sent: stats.requestsSent, finished: stats.succeeded + stats.failed, requestsPerSecond: 0))
    }
}
