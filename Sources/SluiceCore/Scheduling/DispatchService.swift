import ServiceLifecycle

/// The dispatcher as a service of the run: takes items from the feed and runs
/// them through the scheduler until the feed is empty, the run stops, or the
/// group shuts down gracefully (no new items; those in flight finish or are
/// cancelled when the grace period runs out). Then it gives back what it had
/// leased and not started, and hands the circuit breaker's held failures to
/// the checkpoint. Its end ends the run.
struct DispatchService: Service {
    let scheduler: Scheduler
    let feed: ItemFeed
    let recorder: CheckpointRecorder
    let control: RunControl

    func run() async throws {
        defer { scheduler.drainHeldFailures() }
        do {
            try await scheduler.run(feed: feed)
        } catch {
            control.stop(.error(error as? SluiceError ?? SluiceError(.checkpoint, "\(error)")))
        }
        await feed.releaseUnused(to: recorder)
    }
}
