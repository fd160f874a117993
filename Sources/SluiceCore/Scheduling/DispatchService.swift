import ServiceLifecycle

/// The dispatcher as a service of the run: takes items from the feed and runs
/// them through the scheduler until the feed is empty or the run stops. A
/// stopping run sends nothing new; the requests in flight get `graceSeconds`
/// to finish, then are cancelled (their items released). Then it gives back
/// what it had leased and not started, and settles what the circuit breaker
/// holds. Its end ends the run: the group then stops the other services.
struct DispatchService: Service {
    let scheduler: Scheduler
    let feed: ItemFeed
    let recorder: CheckpointRecorder
    let control: RunControl
    let graceSeconds: Double

    func run() async {
        let dispatch = Task { [scheduler, feed, control] in
            do {
                try await scheduler.run(feed: feed)
            } catch {
                control.stop(.error(SluiceError.wrapping(error, as: .checkpoint)))
            }
        }
        let grace = Task { [control, graceSeconds] in
            await control.waitForStop()
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: .seconds(graceSeconds))
            dispatch.cancel()
        }
        await withTaskCancellationHandler {
            await dispatch.value
        } onCancel: {
            dispatch.cancel()
        }
        grace.cancel()
        await feed.releaseUnused(to: recorder)
        scheduler.settleHeldFailures()
    }
}
