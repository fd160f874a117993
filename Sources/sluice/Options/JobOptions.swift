import ArgumentParser
import Foundation
import SluiceCore

/// The job: a job file and the flags that override its settings. Shared by
/// every command that works on a job's definition (`run`, `validate`).
/// Each option's help, default and check come from its setting's row in
/// `JobConfiguration.settings`; they are checked once, when the job file and
/// the flags are merged (`configuration()`).
struct JobOptions: ParsableArguments {
    typealias Defaults = JobConfiguration.Defaults

    @Argument(help: ArgumentHelp("Job file (JSON) with the job's settings, e.g. jobs/demo.json.", valueName: "JOB.json"))
    var jobFile: String?

    @Option(name: .customLong("input"), help: .setting(\.inputs, valueName: "PATH"))
    var inputs: [String] = []

    @Option(help: .setting(\.output, valueName: "PATH"))
    var output: String?

    @Option(help: .setting(\.errors, valueName: "PATH"))
    var errors: String?

    @Option(help: .setting(\.checkpoint, valueName: "PATH|URL"))
    var checkpoint: String?

    @Option(help: .setting(\.baseURL, valueName: "URL"))
    var baseURL: String?

    @Option(help: .setting(\.apiKeyEnv, valueName: "NAME"))
    var apiKeyEnv: String?

    @Option(help: .setting(\.apiKeyFile, valueName: "PATH"))
    var apiKeyFile: String?

    @Option(help: .setting(\.model, valueName: "NAME"))
    var model: String?

    @Option(help: .setting(\.endpoint, valueName: "PATH"))
    var endpoint: String?

    @Option(help: .setting(\.concurrency, valueName: "N"))
    var concurrency: Int?

    @Option(help: .setting(\.maxAttempts, valueName: "N"))
    var maxAttempts: Int?

    @Option(help: .setting(\.timeoutSeconds, valueName: "SECONDS"))
    var timeout: Double?

    @Option(name: .customLong("property"), help: .setting(\.gateway.properties, valueName: "KEY=VALUE"))
    var properties: [KeyValue] = []

    @Option(name: .customLong("fallback"), help: .setting(\.gateway.fallback, valueName: "MODEL"))
    var fallbacks: [String] = []

    @Option(help: .setting(\.gateway.cache, valueName: "MODE"))
    var cache: CacheMode?

    @Option(help: .setting(\.gateway.sessionID, valueName: "ID"))
    var sessionId: String?

    @Option(help: .setting(\.gateway.userID, valueName: "ID"))
    var userId: String?

    @Option(help: .setting(\.gateway.profile, valueName: "NAME"))
    var profile: GatewayProfileName?

    @Option(name: .customLong("tag"), help: .setting(\.gateway.tags, valueName: "TAG"))
    var tags: [String] = []

    @Option(name: .customLong("header"), help: .setting(\.gateway.extraHeaders, valueName: "'Name: value'"))
    var headers: [HeaderField] = []

    @Option(name: .customLong("header-env"), help: .setting(\.headerEnv, valueName: "NAME=ENV_NAME"))
    var headerEnv: [KeyValue] = []

    @Option(name: .customLong("body"), help: .setting(\.bodyDefaults, valueName: "KEY=VALUE"))
    var bodyDefaults: [KeyValue] = []

    @Option(help: .setting(\.bodyDefaults["seed"], valueName: "N"))
    var seed: Int?

    @Option(help: .setting(\.requestsPerMinute, valueName: "N"))
    var rpm: Int?

    @Option(help: .setting(\.tokensPerMinute, valueName: "N"))
    var tpm: Int?

    @Option(help: .setting(\.maxRetryAfter, valueName: "SECONDS"))
    var maxRetryAfter: Double?

    @Flag(help: .setting(\.adaptiveConcurrency))
    var noAdaptive = false

    @Flag(help: .setting(\.circuitBreaker))
    var noCircuitBreaker = false

    @Option(help: .setting(\.caFile, valueName: "PATH"))
    var caFile: String?

    @Option(help: .setting(\.httpVersion, valueName: "auto|1.1|2"))
    var httpVersion: HTTPVersionSetting?

    @Option(name: .customLong("price"), help: .setting(\.prices, valueName: "MODEL=IN,OUT[,CACHED]"))
    var prices: [ModelPrice] = []

    @Option(help: .setting(\.maxCost, valueName: "USD"))
    var maxCost: Double?

    @Option(help: .setting(\.maxLineBytes, valueName: "BYTES"))
    var maxLineBytes: Int?

    @Flag(help: .setting(\.allowInsecureHTTP))
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
        flags[body: "seed"] = seed
        flags.maxAttempts = maxAttempts
        flags.concurrency = concurrency
        flags.timeoutSeconds = timeout
        flags[\.gateway.cache] = cache
        flags[\.gateway.properties] = properties.dictionary
        flags[\.gateway.fallback] = fallbacks.isEmpty ? nil : fallbacks
        flags[\.gateway.sessionID] = sessionId
        flags[\.gateway.userID] = userId
        flags[\.gateway.extraHeaders] = Dictionary(headers.map { ($0.name, $0.value) }) { _, last in last }
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
        flags[\.gateway.profile] = profile
        flags[\.gateway.tags] = tags.isEmpty ? nil : tags
        dataset.apply(to: &flags)
        answers.apply(to: &flags)
        reuse.apply(to: &flags)
        batches.apply(to: &flags)
        streaming.apply(to: &flags)
        return flags
    }
}
