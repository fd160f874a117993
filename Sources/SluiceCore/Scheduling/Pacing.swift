/// How fast the run may send, in one place: the request slots (`--concurrency`, learned down by adaptive
/// concurrency), the job-wide pause a binding 429 sets, the rate budget (`--rpm`, `--tpm`), and the monitor
/// that tells which kind of 429 an answer is.
package struct Pacing: Sendable {
    package var limiter: ConcurrencyLimiter
    /// Nil with `--no-adaptive`.
    package var adaptive: AdaptiveConcurrency?
    package var gate: RateGate
    package var budget: RateBudget
    package var monitor: RefusalMonitor

    package init(limiter: ConcurrencyLimiter, adaptive: AdaptiveConcurrency?, gate: RateGate, budget: RateBudget, monitor: RefusalMonitor = RefusalMonitor()) {
        self.limiter = limiter
        self.adaptive = adaptive
        self.gate = gate
        self.budget = budget
        self.monitor = monitor
    }
}
