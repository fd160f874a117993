import Synchronization

/// Stops a job that fails the same way on every item (a wrong model name, a
/// wrong endpoint, a gateway answering 400 to a bad key) instead of marking a
/// million items failed.
///
/// Permanent failures are held back, not committed, while they might be part
/// of such a run: when `threshold` identical ones arrive in a row the job stops
/// and the held items go back to pending, so `run` resumes once the cause is
/// fixed, without `--retry-failed`. Anything else that finishes (a success, a
/// different error) proves the failures are the items' own, and they are
/// committed as failed.
///
/// ```swift
/// switch breaker.permanentFailure(outcome, signature: "HTTP 400 model_not_found") {
/// case .held: break
/// case .commit(let outcomes): outcomes.forEach { recorder.record(.finished($0)) }
/// case .tripped(let held, _, _): held.forEach { recorder.record(.released($0.id, attempts: $0.attempts)) }
/// }
/// ```
package final class CircuitBreaker: Sendable {
    package enum Decision: Sendable {
        case held
        /// A different failure broke the run: these are the items' own failures.
        case commit([ItemOutcome])
        /// `threshold` identical failures in a row: stop the job, put these back.
        case tripped([ItemOutcome], signature: String, sample: String)
    }

    private struct State {
        var signature: String?
        var held: [ItemOutcome] = []
        var tripped = false
    }

    package let threshold: Int
    private let state = Mutex(State())

    package init(threshold: Int = 50) { self.threshold = max(threshold, 1) }

    package func permanentFailure(_ outcome: ItemOutcome, signature: String) -> Decision {
        state.withLock { state in
            if state.tripped { return .tripped([outcome], signature: signature, sample: outcome.errorMessage ?? "") }
            var released: [ItemOutcome] = []
            if state.signature != signature {
                released = state.held
                state.held = []
                state.signature = signature
            }
            state.held.append(outcome)
            if state.held.count >= threshold {
                state.tripped = true
                defer { state.held = [] }
                return .tripped(state.held, signature: signature, sample: outcome.errorMessage ?? "")
            }
            return released.isEmpty ? .held : .commit(released)
        }
    }

    /// Something other than a permanent failure finished: whatever was held is committed.
    package func otherOutcome() -> [ItemOutcome] {
        state.withLock { state in
            state.signature = nil
            defer { state.held = [] }
            return state.held
        }
    }

    /// The run is ending for another reason: what is held was a real failure.
    package func drain() -> [ItemOutcome] { otherOutcome() }
}
