import Logging

/// What every part of one run shares, made once by `JobRun` and handed down whole: how the run is told to stop,
/// what it counts, which secrets it must never write, where it logs (already redacting them), and the prices
/// and metrics its answers are counted in.
///
/// ```swift
/// let run = RunContext(control: control, counters: RunCounters(), redactor: redactor, logger: logger)
/// run.counters.update { $0.requestsSent += 1 }
/// if run.control.isStopping { return }
/// ```
package struct RunContext: Sendable {
    /// The one way the run is asked to stop (a signal, `sluice cancel`, the cost cap, an error): every part
    /// checks `control.isStopping` or waits on it; the services' graceful shutdown follows from the dispatcher's end
    /// (the whole sequence: `JobRun`).
    package let control: RunControl
    package let counters: RunCounters
    package let redactor: Redactor
    /// Scrubs `redactor`'s secrets from every message.
    package let logger: Logger
    /// For each answer's cost (the spend guard, the history).
    package let prices: PriceTable
    /// `--metrics`, nil without.
    package let metrics: RunMetrics?

    package init(
        control: RunControl, counters: RunCounters, redactor: Redactor = Redactor(secret: nil), logger: Logger, prices: PriceTable = PriceTable(),
        metrics: RunMetrics? = nil
    ) {
        self.control = control
        self.counters = counters
        self.redactor = redactor
        self.logger = logger.redacting(redactor)
        self.prices = prices
        self.metrics = metrics
    }
}
