import NIOCore
import Synchronization

/// Permits for requests in flight, handed out in the order they were asked
/// for. The limit can change while the job runs (adaptive concurrency turns
/// it); waiting costs no CPU, and a waiting task that is cancelled leaves the
/// queue at once.
///
/// ```swift
/// let slots = ConcurrencyLimiter(limit: 32)
/// guard await slots.acquire() else { return }   // false: the task was cancelled
/// defer { slots.release() }
/// ```
package final class ConcurrencyLimiter: Sendable {
    private struct State {
        var limit: Int
        var inUse = 0
        var nextTicket: UInt64 = 0
        /// Waiters in arrival order, by ticket (dictionary keys are not ordered).
        var order = CircularBuffer<UInt64>()
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        /// Tasks waiting out a capacity refusal (`waitForRoom(below:)`), by ticket: fewer in flight than `below`.
        var roomWaiters: [UInt64: (below: Int, continuation: CheckedContinuation<Void, Never>)] = [:]

        /// Wakes the oldest waiters while there is room; each gets a permit.
        mutating func grant() -> [CheckedContinuation<Bool, Never>] {
            var ready: [CheckedContinuation<Bool, Never>] = []
            while inUse < limit, !order.isEmpty {
                let ticket = order.removeFirst()
                guard let continuation = waiters.removeValue(forKey: ticket) else { continue }
                inUse += 1
                ready.append(continuation)
            }
            return ready
        }

        /// A permit is free, nobody queues for it, and fewer than `level` are in use (see `waitForRoom(below:)`).
        func hasRoom(below level: Int) -> Bool { order.isEmpty && inUse < limit && inUse < level }

        /// A free permit nobody queues for wakes every room waiter whose level is above the permits in use. All of
        /// them, not one per permit: a woken waiter takes none (it queues with `acquire()` after, in turn), and one
        /// that then decides not to go would leave the permit it was offered unused for the others.
        mutating func offerRoom() -> [CheckedContinuation<Void, Never>] {
            guard !roomWaiters.isEmpty, hasRoom(below: .max) else { return [] }
            let eligible = roomWaiters.filter { hasRoom(below: $0.value.below) }.keys
            return eligible.compactMap { roomWaiters.removeValue(forKey: $0)?.continuation }
        }
    }

    private let state: Mutex<State>

    package init(limit: Int) { state = Mutex(State(limit: max(limit, 1))) }

    package var currentLimit: Int { state.withLock { $0.limit } }
    package var inUse: Int { state.withLock { $0.inUse } }

    /// Waits for a permit; false if the task was cancelled while waiting (no permit is then held).
    package func acquire() async -> Bool {
        // A free permit and nobody waiting (the common case below the limit): taken without a continuation.
        let queued: UInt64? = state.withLock { state in
            guard state.inUse >= state.limit || !state.order.isEmpty else {
                state.inUse += 1
                return nil
            }
            state.nextTicket += 1
            return state.nextTicket
        }
        guard let ticket = queued else {
            guard Task.isCancelled else { return true }
            release()
            return false
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let outcome: Bool? = state.withLock { state in
                    if Task.isCancelled { return false }
                    if state.inUse < state.limit, state.order.isEmpty {
                        state.inUse += 1
                        return true
                    }
                    state.order.append(ticket)
                    state.waiters[ticket] = continuation
                    return nil
                }
                if let outcome { continuation.resume(returning: outcome) }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: ticket) }
            continuation?.resume(returning: false)
        }
    }

    package func release() {
        let (ready, room) = state.withLock { state in
            state.inUse -= 1
            return (state.grant(), state.offerRoom())
        }
        ready.forEach { $0.resume(returning: true) }
        room.forEach { $0.resume() }
    }

    package func setLimit(_ newLimit: Int) {
        let (ready, room) = state.withLock { state in
            state.limit = max(newLimit, 1)
            return (state.grant(), state.offerRoom())
        }
        ready.forEach { $0.resume(returning: true) }
        room.forEach { $0.resume() }
    }

    /// Returns once fewer than `level` permits are in use while one is free and nobody queues for it (a slot
    /// that would otherwise go unused), or when the task is cancelled. It takes no permit: the caller asks
    /// with `acquire()` after, in turn. For a capacity refusal's wait: a gateway that refused at `level` in
    /// flight has room again below it, whatever its Retry-After said.
    package func waitForRoom(below level: Int) async {
        let ticket: UInt64? = state.withLock { state in
            if state.hasRoom(below: level) { return nil }
            state.nextTicket += 1
            return state.nextTicket
        }
        guard let ticket else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now: Bool = state.withLock { state in
                    if Task.isCancelled || state.hasRoom(below: level) { return true }
                    state.roomWaiters[ticket] = (level, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.roomWaiters.removeValue(forKey: ticket)?.continuation }
            continuation?.resume()
        }
    }
}
