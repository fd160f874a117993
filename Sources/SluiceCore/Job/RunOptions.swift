/// How this particular run behaves (not part of the job's identity, never
/// stored in the checkpoint).
package struct RunOptions: Sendable {
    package enum Defaults {
        package static let graceSeconds = 30.0
        package static let progressInterval = 10.0
    }

    package var retryFailed = false
    /// `sluice retry-failed --class`: failed items of these classes are sent again (nil: none).
    package var retryClasses: Set<ErrorClass>?
    package var force = false
    package var strict = false
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    package var graceSeconds = Defaults.graceSeconds
    /// Seconds between plain progress lines when stderr is not a terminal.
    package var progressInterval = Defaults.progressInterval
    package var showProgress = true
    /// `--proxy URL`: overrides the proxy environment variables; empty for none.
    /// A run option, not a job setting: its credentials must never reach the checkpoint.
    package var proxy: String?
    /// `--metrics`: where to serve Prometheus metrics during the run, nil for nowhere.
    package var metrics: MetricsSettings?
    /// SIGINT and SIGTERM stop the run (the command line); a program that runs jobs itself keeps its signals.
    package var handlesSignals = true
    /// Called with the run's figures every `progressInterval` seconds (the `Sluice` library's progress events).
    package var onProgress: (@Sendable (ProgressFeed.Moment) -> Void)?

    package init() {}

    package func validate() throws {
        guard graceSeconds >= 0, graceSeconds.isFinite else {
            throw SluiceError(.configuration, "--grace must be zero or more seconds, got \(graceSeconds)")
        }
        guard progressInterval > 0, progressInterval.isFinite else {
            throw SluiceError(.configuration, "--progress-interval must be more than 0 seconds, got \(progressInterval)")
        }
    }
}
