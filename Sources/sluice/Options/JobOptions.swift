import ArgumentParser
import Foundation
import SluiceCore

/// The job: a job file and the flags that override its settings. Shared by
/// every command that works on a job's definition (`run`, `validate`).
/// Defaults and bounds live in `JobConfiguration.Defaults`; they are checked
/// once, when the job file and the flags are merged (`configuration()`).
struct JobOptions: ParsableArguments {
    typealias Defaults = JobConfiguration.Defaults

    @Argument(help: ArgumentHelp("Job file (JSON) with the job's settings, e.g. jobs/demo.json.", valueName: "JOB.json"))
    var jobFile: String?

    @Option(
        name: .customLong("input"),
        help: ArgumentHelp("JSONL input, plain or gzip (repeatable), e.g. --input data.jsonl.gz. Replaces the job file's inputs.", valueName: "PATH"))
    var inputs: [String] = []

    @Option(help: ArgumentHelp("Results file (default: <first input>.results.jsonl beside it; .gz to compress).", valueName: "PATH"))
    var output: String?

    @Option(help: ArgumentHelp("Errors file with the failed items (default: <output stem>.errors.jsonl).", valueName: "PATH"))
    var errors: String?

    @Option(
        help: ArgumentHelp(
            "Checkpoint: an SQLite file (default: <output>.sluice.db), or postgres://USER@HOST:PORT/DB?job=NAME to share the job with other workers (password from PGPASSWORD or ~/.pgpass).",
            valueName: "PATH|URL"))
    var checkpoint: String?

    @Option(help: ArgumentHelp("Gateway base URL (default: \(Defaults.baseURL)), e.g. http://127.0.0.1:4000/v1.", valueName: "URL"))
    var baseURL: String?

    @Option(help: ArgumentHelp("Environment variable holding the API key (default: \(Defaults.apiKeyEnv)).", valueName: "NAME"))
    var apiKeyEnv: String?

    @Option(help: ArgumentHelp("File holding the API key, e.g. ~/.config/floopy/key.", valueName: "PATH"))
    var apiKeyFile: String?

    @Option(help: ArgumentHelp("Model for lines that name none, e.g. gpt-4o-mini.", valueName: "NAME"))
    var model: String?

    @Option(help: ArgumentHelp("Endpoint for chat and prompt lines (default: \(Defaults.endpoint)).", valueName: "PATH"))
    var endpoint: String?

    @Option(help: ArgumentHelp("Most requests in flight at once (default: \(Defaults.concurrency)).", valueName: "N"))
    var concurrency: Int?

    @Option(help: ArgumentHelp("Attempts per model before falling back or failing (default: \(Defaults.maxAttempts)).", valueName: "N"))
    var maxAttempts: Int?

    @Option(help: ArgumentHelp("Seconds to wait for one answer (default: \(Int(Defaults.timeoutSeconds))).", valueName: "SECONDS"))
    var timeout: Double?

    @Option(
        name: .customLong("property"),
        help: ArgumentHelp("Gateway property (repeatable), sent as floopy-property-KEY with Floopy, e.g. --property batch=nightly.", valueName: "KEY=VALUE"))
    var properties: [KeyValue] = []

    @Option(
        name: .customLong("fallback"),
        help: ArgumentHelp("Fallback model, in order (repeatable), e.g. --fallback claude-sonnet-4-20250514.", valueName: "MODEL"))
    var fallbacks: [String] = []

    @Option(help: ArgumentHelp("Gateway cache strategy (default: off).", valueName: "MODE"))
    var cache: CacheMode?

    @Option(help: ArgumentHelp("Gateway session id (floopy-session-id with Floopy), e.g. --session-id nightly-2026-11-26.", valueName: "ID"))
    var sessionId: String?

    @Option(help: ArgumentHelp("End-user id (floopy-user-id with Floopy).", valueName: "ID"))
    var userId: String?

    @Option(
        help: ArgumentHelp(
            "Gateway whose names the cache, properties, fallback, session, user and tags are sent under (default: floopy); see docs/gateways-and-headers.md.",
            valueName: "NAME"))
    var profile: GatewayProfileName?

    @Option(
        name: .customLong("tag"),
        help: ArgumentHelp("Tag for the job's requests (repeatable; replaces the job file's tags), e.g. --tag nightly --tag evals.", valueName: "TAG"))
    var tags: [String] = []

    @Option(
        name: .customLong("header"),
        help: ArgumentHelp(
            "Extra request header (repeatable), e.g. --header 'X-Team: search'. Credential headers (x-api-key, *-token, cookie...) are refused: use --header-env.",
            valueName: "'Name: value'"))
    var headers: [HeaderField] = []

    @Option(
        name: .customLong("header-env"),
        help: ArgumentHelp(
            "Credential header whose value is read from an environment variable at start (repeatable), e.g. --header-env 'x-api-key=AZURE_OPENAI_KEY'; only the variable's name is stored.",
            valueName: "NAME=ENV_NAME"))
    var headerEnv: [KeyValue] = []

    @Option(
        name: .customLong("body"),
        help: ArgumentHelp(
            "Body default for lines that do not set it (repeatable; JSON values), e.g. --body temperature=0 --body max_tokens=64.", valueName: "KEY=VALUE"))
    var bodyDefaults: [KeyValue] = []

    @Option(help: ArgumentHelp("Requests per minute the gateway allows; sluice paces itself to stay under it, e.g. --rpm 6000.", valueName: "N"))
    var rpm: Int?

    @Option(help: ArgumentHelp("Tokens per minute the gateway allows (estimated before sending, corrected with usage), e.g. --tpm 2000000.", valueName: "N"))
    var tpm: Int?

    @Option(
        help: ArgumentHelp(
            "Longest Retry-After a refused item waits (default 30); past it the item comes back at the next free request slot. A job-wide pause is not shortened.",
            valueName: "SECONDS"))
    var maxRetryAfter: Double?

    @Flag(help: "Keep exactly --concurrency requests in flight instead of learning the limit from the share of 429s.")
    var noAdaptive = false

    @Flag(help: "Do not stop the job when 50 items in a row fail with the same permanent error (a wrong model name, a wrong endpoint).")
    var noCircuitBreaker = false

    @Option(
        help: ArgumentHelp(
            "PEM file of root certificates to trust besides the system's, for a gateway behind a private CA or a TLS-inspecting proxy (SSL_CERT_FILE replaces the system's roots instead).",
            valueName: "PATH"))
    var caFile: String?

    @Option(
        help: ArgumentHelp(
            "HTTP version to the gateway: auto (HTTP/2 where an https gateway offers it, with as many connections as --concurrency needs under the stream limit the gateway announces, else HTTP/1.1), 1.1, or 2.",
            valueName: "auto|1.1|2"))
    var httpVersion: HTTPVersionSetting?

    @Option(
        name: .customLong("price"),
        help: ArgumentHelp(
            "A model's price in US dollars per million tokens (repeatable), input, output and optionally cached input, e.g. --price gpt-4o-mini=0.15,0.60,0.075. Over the built-in table and the job file's \"prices\".",
            valueName: "MODEL=IN,OUT[,CACHED]"))
    var prices: [ModelPrice] = []

    @Option(
        help: ArgumentHelp(
            "Stop sending before the job's spend, plus the worst case of the requests in flight, would pass this many US dollars (resumable with a higher cap), e.g. --max-cost 25.",
            valueName: "USD"))
    var maxCost: Double?

    @Option(help: ArgumentHelp("Longest input line accepted, in bytes (default: \(Defaults.maxLineBytes)).", valueName: "BYTES"))
    var maxLineBytes: Int?

    @Flag(help: "Allow plain http to a non-loopback gateway (the API key travels unencrypted).")
    var allowInsecureHttp = false

    @OptionGroup(title: "Datasets and templates")
    var dataset: DatasetOptions

    @OptionGroup(title: "Structured outputs")
    var answers: AnswerOptions

    @OptionGroup(title: "Dedup and idempotency")
    var reuse: ReuseOptions

    @OptionGroup(title: "Provider batch mode")
    var batches: BatchOptions

    @OptionGroup(title: "Streaming")
    var streaming: StreamingOptions

    func validate() throws {
        if let jobFile, APIKeySource.looksLikeAKey(jobFile) {
            // Most likely `--api-key <key>`: say so without repeating the key into the terminal's scrollback or a CI log.
            throw ValidationError(
                "an argument looks like an API key; sluice never takes the key on the command line (other users can read it with ps). "
                    + "Put it in an environment variable (--api-key-env NAME, default \(Defaults.apiKeyEnv)) or a file (--api-key-file PATH).")
        }
        if jobFile == nil && inputs.isEmpty {
            throw ValidationError("give a job file (sluice run jobs/x.json) or at least one --input PATH")
        }
        if let jobFile, !FileManager.default.fileExists(atPath: jobFile) {
            throw ValidationError("job file \(jobFile) does not exist")
        }
    }

    /// The job file merged with the flags, checked as a whole.
    func configuration() throws -> JobConfiguration {
        let file = try jobFile.map { try JobFile.load(path: $0) }
        let directory = jobFile.map { ($0 as NSString).deletingLastPathComponent }
        return try JobConfiguration.resolve(file: file, fileDirectory: directory, flags: overrides())
    }

    /// The flags as job settings; each one given wins over the job file.
    func overrides() -> JobFile {
        var flags = JobFile()
        flags.inputs = inputs.isEmpty ? nil : inputs
        flags.output = output
        flags.errors = errors
        flags.checkpoint = checkpoint
        flags.baseURL = baseURL
        flags.apiKeyEnv = apiKeyEnv
        flags.apiKeyFile = apiKeyFile
        flags.model = model
        flags.endpoint = endpoint
        flags.bodyDefaults = bodyDefaults.dictionary.mapValues(JSONValue.parsingFlagValue)
        flags.maxAttempts = maxAttempts
        flags.concurrency = concurrency
        flags.timeoutSeconds = timeout
        flags.cache = cache
        flags.properties = properties.dictionary
        flags.fallback = fallbacks.isEmpty ? nil : fallbacks
        flags.sessionID = sessionId
        flags.userID = userId
        flags.headers = Dictionary(headers.map { ($0.name, $0.value) }) { _, last in last }
        flags.headerEnv = headerEnv.isEmpty ? nil : headerEnv.dictionary
        flags.maxLineBytes = maxLineBytes
        flags.allowInsecureHTTP = allowInsecureHttp ? true : nil
        flags.requestsPerMinute = rpm
        flags.tokensPerMinute = tpm
        flags.maxRetryAfter = maxRetryAfter
        if noAdaptive { flags.adaptiveConcurrency = false }
        if noCircuitBreaker { flags.circuitBreaker = false }
        flags.caFile = caFile
        flags.httpVersion = httpVersion
        flags.prices = prices.isEmpty ? nil : Dictionary(prices.map { ($0.model, $0.price) }) { _, last in last }
        flags.maxCost = maxCost
        flags.profile = profile
        flags.tags = tags.isEmpty ? nil : tags
        dataset.apply(to: &flags)
        answers.apply(to: &flags)
        reuse.apply(to: &flags)
        batches.apply(to: &flags)
        streaming.apply(to: &flags)
        return flags
    }
}
