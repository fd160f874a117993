import ServiceLifecycle

/// The pause between rounds of a periodic service of the run (heartbeat, history, planning turn, results):
/// it ends early when the group shuts down gracefully. False then, so the loop can stop.
///
/// ```swift
/// while !Task.isShuttingDownGracefully {
///     await work()
///     guard await sleepUnlessShuttingDown(seconds: 10) else { break }
/// }
/// ```
func sleepUnlessShuttingDown(seconds: Double) async -> Bool {
    do {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(seconds)) }
        return true
    } catch {
        return false
    }
}
