import NIOCore
import NIOPosix

/// A thread of its own for blocking work (SQLite, reading input, writing
/// results), so that work never occupies Swift's cooperative pool, which has
/// as many threads as cores (two here): one blocking call there stalls half
/// of every task in the process.
///
/// An actor that does blocking work runs on one:
/// ```swift
/// actor InputReader {
///     private let thread = DedicatedThread()
///     nonisolated var unownedExecutor: UnownedSerialExecutor { thread.executor }
///     func nextBatch() throws -> [PlannedItem]? { ... }   // read(2) and parsing, off the pool
/// }
/// ```
package final class DedicatedThread: Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let loop: EventLoop

    package init() { loop = group.next() }

    package var executor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    /// Runs one piece of blocking work on the thread (reading a whole file, say) and returns its result.
    package func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await loop.submit(work).get()
    }

    /// Ends the thread once the work queued on it has run.
    package func shutdown() async {
        try? await group.shutdownGracefully()
    }
}
