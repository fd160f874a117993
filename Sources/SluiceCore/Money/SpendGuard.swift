import Synchronization

/// `--max-cost`: no request leaves if what the job has spent, plus the worst
/// case of every request in flight, plus this one's worst case, would pass the
/// cap. The worst case of a request is its prompt (estimated from its size) at
/// the input price and its `max_tokens` (or `assumedCompletionTokens`) at the
/// output price; the answer's real usage then replaces it.
///
/// ```swift
/// let guardian = SpendGuard(cap: 25, prices: prices, alreadySpent: 3.10)
/// guard let hold = guardian.reserve(model: "gpt-4o-mini", promptTokens: 800, maxCompletionTokens: 64) else { stop() }
/// guardian.settle(hold, actualCost: 0.00019)
/// ```
package final class SpendGuard: Sendable {
    /// The completion assumed for a request that sets no `max_tokens` (a worst case, not a guess).
    package static let assumedCompletionTokens = TokenEstimate.defaultOutputCap

    package struct Reservation: Sendable {
        fileprivate let amount: Double
    }

    private struct State {
        var spent: Double
        var reserved = 0.0
    }

    package let cap: Double
    private let prices: PriceTable
    private let state: Mutex<State>

    package init(cap: Double, prices: PriceTable, alreadySpent: Double) {
        self.cap = cap
        self.prices = prices
        state = Mutex(State(spent: alreadySpent))
    }

    package var spent: Double { state.withLock { $0.spent } }

    /// Nil when the request would take the job past the cap (or its model has no price, so its cost cannot be bounded).
    package func reserve(model: String, promptTokens: Int, maxCompletionTokens: Int?) -> Reservation? {
        guard let worst = prices.cost(model: model, prompt: promptTokens, completion: maxCompletionTokens ?? Self.assumedCompletionTokens) else {
            return nil
        }
        return reserve(worstCase: worst)
    }

    /// A provider batch's worst case (every line's prompt and answer cap, at the batch price), or nil when it
    /// would take the job past the cap.
    package func reserve(worstCase worst: Double) -> Reservation? {
        state.withLock { state in
            guard state.spent + state.reserved + worst <= cap else { return nil }
            state.reserved += worst
            return Reservation(amount: worst)
        }
    }

    /// Counted whatever the cap says: a batch an earlier run opened is already running.
    package func hold(worstCase worst: Double) -> Reservation {
        state.withLock { $0.reserved += worst }
        return Reservation(amount: worst)
    }

    /// A provider batch's answers, as the checkpoint commits them (their batch's reservation is then settled
    /// with no cost of its own, so nothing counts twice).
    package func add(_ cost: Double) {
        state.withLock { $0.spent += cost }
    }

    /// The answer came (or none will): its real cost replaces the worst case.
    package func settle(_ reservation: Reservation, actualCost: Double?) {
        state.withLock { state in
            state.reserved -= reservation.amount
            state.spent += actualCost ?? 0
        }
    }
}
