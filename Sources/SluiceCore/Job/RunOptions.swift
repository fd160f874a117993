/// How this particular run behaves (not part of the job's identity, never
/// stored in the checkpoint).
public struct RunOptions: Sendable {
    public enum Defaults {
        public static let graceSeconds = 30.0
        public static let progressInterval = 10.0
    }

    public var retryFailed = false
    /// `sluice retry-failed --class`: failed items of these classes are sent again (nil: none).
    public var retryClasses: Set<ErrorClass>?
    public var force = false
    public var strict = false
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    public var graceSeconds = Defaults.graceSeconds
    /// Seconds between plain progress lines when stderr is not a terminal.
    public var progressInterval = Defaults.progressInterval
    public var showProgress = true
    /// `--proxy URL`: overrides the proxy environment variables; empty for none.
    /// A run option, not a job setting: its credentials must never reach the checkpoint.
    public var proxy: String?
    /// `--metrics`: where to serve Prometheus metrics during the run, nil for nowhere.
    public var metrics: MetricsSettings?

    public init() {}

    public func validate() throws {
        guard graceSeconds >= 0, graceSeconds.isFinite else {
            throw SluiceError(.configuration, "--grace must be zero or more seconds, got \(graceSeconds)")
        }
        guard progressInterval > 0, progressInterval.isFinite else {
            throw SluiceError(.configuration, "--progress-interval must be more than 0 seconds, got \(progressInterval)")
        }
    }
}
