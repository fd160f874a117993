/// How this particular run behaves (not part of the job's identity).
public struct RunOptions: Sendable {
    public var retryFailed = false
    public var force = false
    public var strict = false
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    public var graceSeconds = 30.0
    /// Seconds between plain progress lines when stderr is not a terminal.
    public var progressInterval = 10.0
    public var showProgress = true
    /// `--proxy URL`: overrides the proxy environment variables; empty for none.
    /// A run option, not a job setting: its credentials must never reach the checkpoint.
    public var proxy: String?

    public init() {}
}
