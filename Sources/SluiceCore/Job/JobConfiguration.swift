import Foundation

/// A job's settings after merging the job file, the flags and the defaults, checked as a whole.
/// This is what the checkpoint remembers (no key in it).
///
/// Each setting is a property here, with its initial value as its default, and one row in
/// `settings` beside it: job-file key, flag, help, check and stored key. Reading job files, merging
/// flags, validating, the checkpoint's form and the docs' table all follow from that row
/// (`Setting`), so adding a setting is a property, a row, and its `@Option` in the command line.
package struct JobConfiguration: Sendable, Equatable {
    /// Values other code quotes (the help's examples, the scheduler's own default).
    package enum Defaults {
        package static let baseURL = "https://api.floopy.ai/v1"
        package static let apiKeyEnv = "FLOOPY_API_KEY"
        package static let maxRetryAfter = RetryAfter.defaultCap
    }

    package init() {}

    // MARK: Inputs and outputs
    package var inputs: [String] = []
    package var name = ""
    package var output = ""
    package var errors = ""
    package var checkpoint = ""
    package var maxLineBytes = 8 << 20
    /// Fills a prompt from each input record; the checkpoint keeps the text itself, not a path.
    package var template: PromptTemplate?
    /// The record field that keys each item (with a template).
    package var idField: String?

    // MARK: Gateway
    package var baseURL = Defaults.baseURL
    package var apiKeyEnv = Defaults.apiKeyEnv
    package var apiKeyFile: String?
    /// Credential headers (`x-api-key`, Portkey's virtual key...) by name, each to the environment variable
    /// holding its value (`--header-env`): the names are stored, the values are read at start, like the key.
    package var headerEnv: [String: String] = [:]
    /// The gateway's vocabulary: cache, properties, fallback, session, user, tags, prompt, extra headers.
    package var gateway = GatewaySettings()
    /// Extra trusted root certificates (PEM) for the gateway's TLS.
    package var caFile: String?
    package var allowInsecureHTTP = false
    /// HTTP/2 where the gateway offers it (`auto`), or one of them.
    package var httpVersion = HTTPVersionSetting.auto

    // MARK: Requests
    package var model: String?
    package var endpoint = "/v1/chat/completions"
    package var bodyDefaults: [String: JSONValue] = [:]
    /// Embedding items packed into one request.
    package var embedBatch = 1
    /// Chat completions are streamed and assembled, for time to first token and tokens per second.
    package var stream = false

    // MARK: Dispatch
    package var concurrency = 16
    package var maxAttempts = 5
    package var timeoutSeconds = 120.0
    /// Learn the concurrency limit below `concurrency` from 429s and rate-limit headers.
    package var adaptiveConcurrency = true
    /// Stop the job when many items in a row fail with the same permanent error.
    package var circuitBreaker = true

    // MARK: Pacing
    package var requestsPerMinute: Int?
    package var tokensPerMinute: Int?
    /// A refused item waits its Retry-After up to this many seconds; past it, it comes back at the next free slot.
    package var maxRetryAfter = Defaults.maxRetryAfter

    // MARK: Money
    /// Prices per model (per million tokens), over the built-in table.
    package var prices: [String: Price] = [:]
    /// Stop sending before spend, plus the worst case of what is in flight, would pass this (US dollars).
    package var maxCost: Double?

    // MARK: Structured outputs
    /// Every answer must be JSON; a schema implies it.
    package var expectJSON = false
    /// The JSON Schema every answer must match (its content, not its path).
    package var schema: JSONValue?
    /// How many times an answer that is not the JSON asked for is asked again.
    package var outputRetries = 2
    /// How an invalid answer is asked again; nil: with the reason (`ReaskMode.reason`). Optional so that the
    /// stored form of a job that does not set it stays as earlier builds wrote it.
    package var reask: ReaskMode?
    /// The re-ask's user message, with `{reason}`; nil: `Reask.defaultTemplate`.
    package var reaskMessage: String?

    // MARK: Dedup and reuse
    /// Identical requests of the job are sent once.
    package var dedup = true
    /// Checkpoints (or folders of them) of earlier jobs whose answers identical requests take.
    package var reuse: [String] = []
    /// Send a stable `Idempotency-Key` per item.
    package var idempotencyKey = false

    // MARK: Provider batches
    /// Live requests, provider batches, or batches with live for what they fail (see `BatchDispatcher`).
    package var mode = JobMode.live
    package var batchMaxLines = 50_000
    package var batchMaxBytes = 200 << 20
    /// Tokens sluice keeps enqueued in open batches per model; nil: unknown until a refusal teaches it.
    package var batchMaxEnqueuedTokens: Int?
    package var pollInterval = 30.0
    package var deadline: String?
    package var batchProvider: String?
}

extension JobConfiguration {
    /// Every setting, in the order they resolve (a derived default reads only rows above it) and the docs list them.
    package static let settings: [Setting] = files + gatewaySettings + requests + dispatch + pacing + money + answers + sharing + batches

    static let files: [Setting] = [
        .value(
            \.inputs, "inputs", flag: "--input", .files, defaultText: "(required here or as `--input`)", fromFile: Setting.relativePaths,
            required: true, help: "JSONL input, plain or gzip (repeatable), e.g. --input data.jsonl.gz. Replaces the job file's inputs."),
        .value(
            \.name, "name", flag: "", .files,
            default: .derived("first input's name", { job in ((job.stem as NSString).lastPathComponent as NSString).deletingPathExtension }),
            required: true, help: "The job's name, shown in the summary."),
        .value(
            \.output, "output", .files, default: .derived("`<first input>.results.jsonl`", { job in defaultOutput(for: job.stem) }),
            fromFile: Setting.relativePath, required: true, help: "Results file, beside the first input by default; .gz compresses it."),
        .value(
            \.errors, "errors", .files, default: .derived("`<output stem>.errors.jsonl`", { job in defaultErrors(for: job.output) }),
            fromFile: Setting.relativePath, required: true, help: "Errors file with the failed items."),
        .value(
            \.checkpoint, "checkpoint", .files, default: .derived("`<output>.sluice.db`", { job in job.output + ".sluice.db" }),
            fromFile: Setting.relativePath,
            required: true,
            help:
                "Checkpoint: an SQLite file, or postgres://USER@HOST:PORT/DB?job=NAME to share the job with other workers (password from PGPASSWORD or ~/.pgpass)."
        ),
        .value(
            \.maxLineBytes, "max_line_bytes", .files, check: { $0 >= 1024 ? nil : "max line bytes must be at least 1024, got \($0)" },
            help: "Longest input line accepted, in bytes."),
        .loaded(
            \.template, "template", given: TemplateSetting.self, .files, fromFile: relativeTemplate, load: loadTemplate,
            help:
                "Prompt template: a JSON file {\"system\": \"...\", \"user\": \"... {{field}} ...\"} (Mustache, not HTML-escaped) filled from each input record; inputs may then be any JSON objects, or CSV/TSV files with a header row, e.g. --template prompts/label.json. A job file may give the template itself."
        ),
        .optional(
            \.idField, "id_field", .files, defaultText: "`file:line`",
            help: "The record field that keys each item in the results (default: file:line, or file:row for CSV), e.g. --id-field ticket_id."),
    ]

    static let gatewaySettings: [Setting] = [
        .value(\.baseURL, "base_url", stored: "baseURL", .gateway, required: true, help: "Gateway base URL, e.g. http://127.0.0.1:4000/v1."),
        .value(\.apiKeyEnv, "api_key_env", .gateway, required: true, help: "Environment variable holding the API key."),
        .optional(
            \.apiKeyFile, "api_key_file", .gateway, fromFile: Setting.relativePath,
            help: "File holding the API key (wins over the variable), e.g. ~/.config/floopy/key."),
        .entries(
            \.headerEnv, "header_env", .gateway,
            help:
                "Credential header whose value is read from an environment variable at start (repeatable), e.g. --header-env 'x-api-key=AZURE_OPENAI_KEY'; only the variable's name is stored."
        ),
        .value(
            \.gateway.profile, "profile", stored: "gateway.profile", .gateway,
            help:
                "Gateway whose names the cache, properties, fallback, session, user and tags are sent under: floopy, floopy-sdk, helicone, portkey, litellm or openai; see docs/gateways-and-headers.md."
        ),
        .value(\.gateway.cache, "cache", stored: "gateway.cache", .gateway, help: "Gateway cache strategy: exact, semantic or off."),
        .entries(
            \.gateway.properties, "properties", flag: "--property", stored: "gateway.properties", .gateway,
            help: "Gateway property (repeatable), sent as floopy-property-KEY with Floopy, e.g. --property batch=nightly."),
        .value(
            \.gateway.fallback, "fallback", stored: "gateway.fallback", .gateway,
            help: "Fallback model, in order (repeatable; replaces the job file's list), e.g. --fallback claude-sonnet-4-20250514."),
        .optional(
            \.gateway.sessionID, "session_id", stored: "gateway.sessionID", .gateway,
            help: "Gateway session id (floopy-session-id with Floopy), e.g. --session-id nightly-2026-11-26."),
        .optional(\.gateway.userID, "user_id", stored: "gateway.userID", .gateway, help: "End-user id (floopy-user-id with Floopy)."),
        .value(
            \.gateway.tags, "tags", flag: "--tag", stored: "gateway.tags", .gateway,
            help: "Tag for the job's requests, without commas (repeatable; replaces the job file's tags), e.g. --tag nightly --tag evals."),
        .optional(
            \.gateway.promptID, "prompt_id", stored: "gateway.promptID", .gateway,
            help: "Floopy's server-side prompt, sent as floopy-prompt-id: lines then carry {\"inputs\": {...}} that fill it (a line's own \"prompt_id\" wins)."),
        .optional(
            \.gateway.promptVersion, "prompt_version", stored: "gateway.promptVersion", .gateway,
            help: "The version of --prompt-id to use (floopy-prompt-version); the gateway's current one otherwise."),
        .entries(
            \.gateway.extraHeaders, "headers", flag: "--header", stored: "gateway.extraHeaders", .gateway,
            help:
                "Extra request header (repeatable), e.g. --header 'X-Team: search'. Credential headers (x-api-key, *-token, cookie...) are refused: use --header-env."
        ),
        .optional(
            \.caFile, "ca_file", .gateway, fromFile: Setting.relativePath,
            check: { FileManager.default.isReadableFile(atPath: $0) ? nil : "\($0): cannot read the CA file (--ca-file expects PEM certificates)" },
            help:
                "PEM file of root certificates to trust besides the system's, for a gateway behind a private CA or a TLS-inspecting proxy (SSL_CERT_FILE replaces the system's roots instead)."
        ),
        .value(
            \.allowInsecureHTTP, "allow_insecure_http", stored: "allowInsecureHTTP", .gateway,
            help: "Allow plain http to a non-loopback gateway (the API key travels unencrypted)."),
        .value(
            \.httpVersion, "http_version", .gateway,
            help:
                "HTTP version to the gateway: auto (HTTP/2 where an https gateway offers it, with as many connections as --concurrency needs under the stream limit the gateway announces, else HTTP/1.1), 1.1, or 2."
        ),
    ]

    static let requests: [Setting] = [
        .optional(\.model, "model", .requests, defaultText: "none (then every line names one)", help: "Model for lines that name none, e.g. gpt-4o-mini."),
        .value(
            \.endpoint, "endpoint", .requests, check: { $0.hasPrefix("/") ? nil : "endpoint must be a path such as /v1/chat/completions, got \"\($0)\"" },
            help: "Endpoint for chat and prompt lines."),
        .entries(
            \.bodyDefaults, "body_defaults", flag: "--body", .requests,
            help: "Body default for lines that do not set it (repeatable; JSON values), e.g. --body temperature=0 --body max_tokens=64."),
        .bodyParameter(
            "seed", Int.self,
            help:
                "Sampling seed sent in the body of every line that does not set its own, so that providers that honour it (OpenAI) answer alike across runs, e.g. --seed 42."
        ),
        .value(
            \.embedBatch, "embed_batch", .requests,
            check: {
                (1...EmbeddingPacker.maximumBatch).contains($0)
                    ? nil : "the embedding batch must be between 1 and \(EmbeddingPacker.maximumBatch) inputs, got \($0)"
            },
            help:
                "Embedding items (/v1/embeddings, one string input each) packed into one request of up to N inputs; the vectors are split back and each item is checkpointed on its own, e.g. --embed-batch 256."
        ),
        .value(
            \.stream, "stream", .requests,
            help:
                "Stream chat completions (stream: true, stream_options.include_usage) and assemble each into a normal chat.completion for the results; status and the report then show time to first token and tokens per second. Lines with \"stream\": true are accepted. Other endpoints (embeddings, completions, responses) are sent unstreamed."
        ),
    ]

    static let dispatch: [Setting] = [
        .value(\.concurrency, "concurrency", .dispatch, check: Setting.within(1...100_000, "concurrency"), help: "Most requests in flight at once."),
        .value(
            \.maxAttempts, "max_attempts", .dispatch, check: Setting.within(1...100, "max attempts"),
            help: "Attempts per model before falling back or failing."),
        .value(
            \.timeoutSeconds, "timeout_seconds", flag: "--timeout", .dispatch,
            check: { (0.001...3600).contains($0) ? nil : "timeout must be more than 0 and at most 3600 seconds, got \($0)" },
            help: "Seconds to wait for one answer."),
        .value(
            \.adaptiveConcurrency, "adaptive_concurrency", flag: "--no-adaptive", .dispatch,
            help: "Learn the concurrency limit below concurrency from the share of 429s; --no-adaptive keeps exactly --concurrency requests in flight."),
        .value(
            \.circuitBreaker, "circuit_breaker", flag: "--no-circuit-breaker", .dispatch,
            help:
                "Stop the job when 50 items in a row fail with the same permanent error (a wrong model name, a wrong endpoint); --no-circuit-breaker does not."),
    ]

    static let pacing: [Setting] = [
        .optional(
            \.requestsPerMinute, "requests_per_minute", flag: "--rpm", .pacing, check: { $0 >= 1 ? nil : "requests per minute must be at least 1, got \($0)" },
            help: "Requests per minute the gateway allows; sluice paces itself to stay under it, e.g. --rpm 6000."),
        .optional(
            \.tokensPerMinute, "tokens_per_minute", flag: "--tpm", .pacing, check: { $0 >= 1 ? nil : "tokens per minute must be at least 1, got \($0)" },
            help: "Tokens per minute the gateway allows (estimated before sending, corrected with usage), e.g. --tpm 2000000."),
        .value(
            \.maxRetryAfter, "max_retry_after", .pacing,
            check: {
                (0...RetryAfter.maximumSeconds).contains($0)
                    ? nil : "the longest Retry-After honoured must be between 0 and \(Int(RetryAfter.maximumSeconds)) seconds, got \($0)"
            },
            help:
                "Longest Retry-After a refused item waits, in seconds; past it the item comes back at the next free request slot. A job-wide pause is not shortened."
        ),
    ]

    static let money: [Setting] = [
        .entries(
            \.prices, "prices", flag: "--price", .money, defaultText: "built-in table (see [Money](money.md))",
            help:
                "A model's price in US dollars per million tokens (repeatable), input, output and optionally cached input, e.g. --price gpt-4o-mini=0.15,0.60,0.075. Over the built-in table; a job file gives {\"gpt-4o-mini\": {\"input\": 0.15, \"output\": 0.60, \"cached_input\": 0.075}}."
        ),
        .optional(
            \.maxCost, "max_cost", .money, check: { $0 > 0 ? nil : "the cost cap must be more than 0 dollars, got \($0)" },
            help:
                "Stop sending before the job's spend, plus the worst case of the requests in flight, would pass this many US dollars (resumable with a higher cap), e.g. --max-cost 25."
        ),
    ]

    static let answers: [Setting] = [
        .value(
            \.expectJSON, "expect_json", stored: "expectJSON", .answers,
            help: "Every answer must be JSON; one that is not is asked again (--output-retries), then fails as invalid_output."),
        .optional(
            \.schema, "schema", .answers, fromFile: relativeSchema, load: loadSchema,
            help:
                "A JSON Schema (draft 2020-12 subset, see docs/structured-outputs.md) every answer must match, e.g. --schema label.schema.json; a job file may give the schema itself. Implies --expect-json."
        ),
        .value(
            \.outputRetries, "output_retries", .answers, check: Setting.within(0...20, "output retries"),
            help: "How many times an answer that is not the JSON asked for is asked again before the item fails."),
        .optional(
            \.reask, "reask", .answers, defaultText: "`reason`",
            help:
                "How an answer that is not the JSON asked for is asked again: reason appends the answer and a user message saying what was wrong (--reask-message; chat and Responses requests), same sends the same request again."
        ),
        .optional(
            \.reaskMessage, "reask_message", .answers, defaultText: "`\(Reask.defaultTemplate)`",
            check: { template in
                template.contains(Reask.placeholder)
                    ? nil : "--reask-message (reask_message) must contain {reason}, where the checker's message goes, got \"\(template)\""
            },
            help:
                "The user message of a re-ask with --reask reason; {reason} is what the check found, e.g. \"is not JSON (...)\" or \"does not match the schema: at /label: ...\"."
        ),
    ]

    static let sharing: [Setting] = [
        .value(
            \.dedup, "dedup", flag: "--no-dedup", .reuse,
            help: "Send identical requests of the job once and share the answer; --no-dedup sends every item's request."),
        .value(
            \.reuse, "reuse", .reuse, fromFile: Setting.relativePaths,
            check: { paths in paths.first { !FileManager.default.fileExists(atPath: $0) }.map { "--reuse \($0): no such checkpoint or folder" } },
            help:
                "An earlier job's checkpoint, or a folder of them (repeatable): a request identical to one answered there takes that answer instead of being sent, e.g. --reuse runs/monday.results.jsonl.sluice.db."
        ),
        .value(
            \.idempotencyKey, "idempotency_key", .reuse,
            help: "Send a stable Idempotency-Key per item (the same across its retries and resumes), for gateways that honour it."),
    ]

    static let batches: [Setting] = [
        .value(
            \.mode, "mode", .batches,
            help:
                "live (each item a request), batch (provider batches through the gateway's Files and Batches API, about half price, within 24 h) or auto (batches, and live for lines a batch fails, expires or still holds at --deadline)."
        ),
        .value(\.batchMaxLines, "batch_max_lines", .batches, help: "Most lines in one batch input file (OpenAI's limit; Anthropic's is 100,000)."),
        .value(\.batchMaxBytes, "batch_max_bytes", .batches, help: "Most bytes in one batch input file (200 MB)."),
        .optional(
            \.batchMaxEnqueuedTokens, "batch_max_enqueued_tokens", .batches,
            check: { $0 >= 1 ? nil : "--batch-max-enqueued-tokens (batch_max_enqueued_tokens) must be at least 1, got \($0)" },
            help:
                "Most tokens (prompt plus max_tokens, or 4,096) sluice keeps enqueued in open batches per model, e.g. your tier's batch queue limit; files are cut to fit and batches wait for others to finish. Default: none known, then learned from the gateway's token_limit_exceeded refusals."
        ),
        .value(
            \.pollInterval, "poll_interval", .batches,
            help: "Seconds between the first polls of a batch; the interval grows for long batches, up to 5 minutes."),
        .optional(
            \.deadline, "deadline", .batches,
            help:
                "With --mode auto: batches still unfinished this long after their creation (90m, 6h, 2d) or at this ISO 8601 time are cancelled and their lines sent live."
        ),
        .optional(\.batchProvider, "batch_provider", .batches, help: "Floopy's provider for batches, sent as floopy-provider: openai or anthropic."),
    ]

    /// The first input, as the default names follow it (standard input has no file name to name them after).
    var stem: String { inputs.first.map { $0 == StandardInputSpool.marker ? "stdin" : $0 } ?? "" }
}
