/// Settings given on the command line. Each one, when present, wins over the
/// job file; list settings (`--input`, `--fallback`) replace the file's list,
/// while `--property` and `--header` are merged into it.
public struct JobOverrides: Sendable {
    public var inputs: [String] = []
    public var output: String?
    public var errors: String?
    public var checkpoint: String?
    public var baseURL: String?
    public var apiKeyEnv: String?
    public var apiKeyFile: String?
    public var model: String?
    public var endpoint: String?
    public var bodyDefaults: [String: JSONValue] = [:]
    public var concurrency: Int?
    public var maxAttempts: Int?
    public var timeoutSeconds: Double?
    public var cache: CacheMode?
    public var properties: [String: String] = [:]
    public var fallback: [String] = []
    public var sessionID: String?
    public var userID: String?
    public var headers: [String: String] = [:]
    public var maxLineBytes: Int?
    public var allowInsecureHTTP = false
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    /// Set to false by `--no-adaptive`.
    public var adaptiveConcurrency: Bool?

    public init() {}
}

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

    public init() {}
}
