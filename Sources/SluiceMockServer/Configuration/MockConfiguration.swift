/// Everything `sluice-mock` can be told on its command line.
///
/// Probabilities are fractions in [0, 1] and are drawn per request from a
/// generator seeded by `(seed, request body, attempt)`, so a run is reproducible.
///
/// ```swift
/// var config = MockConfiguration()
/// config.faults.p429 = 0.1
/// config.faults.failFirst = 2      // only the first two attempts of a body may fail
/// let server = try await MockServer.start(config)
/// ```
public struct MockConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 0
    /// Event-loop threads serving connections.
    public var threads = 1
    public var apiKey: String?
    public var seed: UInt64 = 1
    public var latency = LatencyModel.none
    public var failingModels: Set<String> = []
    /// When false, the mock behaves like a plain OpenAI-compatible server: it
    /// ignores `floopy-fallback` and model chains, so the client must fall back.
    public var gatewayFallback = true
    public var faults = FaultRates()
    /// Requests and tokens accepted per sliding window before answering 429
    /// (with Retry-After and `x-ratelimit-*`). The window is a minute unless
    /// `rateWindowSeconds` shortens it (tests do, to stay fast).
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var rateWindowSeconds = 60.0
    /// A capacity limit: more than this many requests in flight are answered
    /// 429 at once, with no Retry-After and no rate-limit headers.
    public var maxInflight: Int?
    /// How long after its answer is written a `maxInflight` place frees (drawn per request).
    public var capacityReleaseMilliseconds = LatencyModel.none
    /// The Retry-After a capacity 429 carries.
    public var capacityRetryAfter = CapacityRetryAfter.none
    /// The account's quota in answered requests; past it every request gets
    /// OpenAI's permanent 429 `insufficient_quota`.
    public var quota: Int?
    /// Models that do not exist: 404 `model_not_found`.
    public var missingModels: Set<String> = []
    /// Echo the presented key in 401 bodies, as some gateways do, so tests can
    /// prove sluice scrubs it.
    public var echoKeyInErrors = false
    /// Echo the Authorization header and every other credential-looking header of the request in every
    /// error body (also the Files and Batches API's 401), in one line of each batch's error file and in one
    /// line of its output file (`CredentialEcho`).
    public var echoCredentials = false
    /// PEM certificate and key: serve HTTPS instead of HTTP.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// With TLS: offer HTTP/2 (ALPN `h2`) besides HTTP/1.1, announcing `maxStreams` concurrent streams per
    /// connection, as nginx (128) or Google's front ends (100) do.
    public var http2 = false
    public var maxStreams = 128
    /// Keep `(arrival time, status)` of every inference request for `/stats?timeline=1`.
    public var recordTimeline = true
    public var embeddingDimensions = 8
    /// How long a stalled request is held before its connection is closed.
    public var stallSeconds: Double = 60
    /// Keep a count per distinct request body for `/stats` (costs memory on huge runs).
    public var countBodies = true
    /// Keep the last N inference requests (headers and body) for `/stats/requests`; 0 keeps none.
    public var recordRequests = 0
    /// Milliseconds between the events of a streamed answer, as a model generating tokens spaces them;
    /// 0 sends them all at once.
    public var streamChunkMilliseconds = 0.0
    /// Answer like this gateway: its request id and cache-status headers, its renaming of an upstream Retry-After.
    public var profileEcho = ProfileEcho.floopy
    /// The Files and Batches API: batch duration and its faults.
    public var batch = BatchConfiguration()
    /// Larger request bodies are refused with 413; batch input files reach 200 MB (Anthropic's 256 MB).
    public var maxBodyBytes = 256 << 20

    public init() {}
}

/// Fault-injection rates. The checks run in the order they are declared here;
/// the first that fires decides what the request gets.
public struct FaultRates: Sendable {
    public var pDrop = 0.0
    public var pStall = 0.0
    public var p429 = 0.0
    public var retryAfterSeconds = 1.0
    /// How injected 429s say when to come back.
    public var retryAfterFormat = RetryAfterFormat.seconds
    public var p500 = 0.0
    public var p502 = 0.0
    public var p503 = 0.0
    public var p400 = 0.0
    /// Answered 403 FORBIDDEN, as a gateway does for a key without access.
    public var p403 = 0.0
    public var pMalformed = 0.0
    /// Fraction of answers asked to be JSON (`response_format`) that break it: prose, or JSON that misses the schema.
    public var pInvalidJSON = 0.0
    public var pCutStream = 0.0
    /// When set, faults apply only to the first K times a given body is received.
    public var failFirst: Int?

    public init() {}
}

/// How an injected 429 says when to come back, with the header name spelled as
/// servers variously do (clients must read header names case-insensitively).
public enum RetryAfterFormat: String, Sendable, CaseIterable {
    /// `retry-after: 2`
    case seconds
    /// `Retry-After-Ms: 2000`
    case milliseconds = "ms"
    /// `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`, rounded up to the next whole second.
    case date
}

/// What a capacity 429 (`--max-inflight`) says about when to come back.
public enum CapacityRetryAfter: String, Sendable, CaseIterable {
    /// Nothing: no Retry-After.
    case none
    /// `--retry-after` seconds, in `--retry-after-format`.
    case seconds
    /// Seconds to the next wall-clock minute, as LiteLLM's parallel-request limiter answers its cap.
    case nextMinute = "next-minute"
}
