import ServiceLifecycle

/// How every periodic service of the run (heartbeat, history, progress, results, the watch for `sluice cancel`,
/// the planning turns) repeats its work: a round, a pause, a round, until the run's group stops the service,
/// which it does once the dispatcher has ended, in reverse start order (see `JobRun`). A round may end the
/// rounds sooner (returning false): its work is done, or failed and asked the run to stop.
///
/// ```swift
/// await ServiceRounds.repeat(every: 10, startingWith: .pause) {
///     await flush()
///     return true  // false ends the rounds early
/// }
/// ```
enum ServiceRounds {
    enum Start { case round, pause }

    /// Runs `round`, then pauses `seconds`, again and again while the service is neither being stopped by its
    /// group (graceful shutdown) nor cancelled, and `round` returns true. A stop cuts a pause short.
    /// On the caller's actor (`isolation`), so `round` may use its state.
    static func `repeat`(
        every seconds: Double, startingWith start: Start = .round, isolation: isolated (any Actor)? = #isolation, _ round: () async -> Bool
    ) async {
        if start == .pause, await !pause(seconds: seconds) { return }
        while !isStopped, await round() {
            guard await pause(seconds: seconds) else { return }
        }
    }

    /// False, at once or as soon as it happens, when the group is stopping the service or its task is cancelled.
    static func pause(seconds: Double) async -> Bool {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(seconds)) }
            return !isStopped
        } catch {
            return false
        }
    }

    static var isStopped: Bool { Task.isShuttingDownGracefully || Task.isCancelled }
}
