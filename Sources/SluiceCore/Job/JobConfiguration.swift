import Foundation

/// A job's settings after merging the job file, the flags and the defaults,
/// checked as a whole. This is what the checkpoint remembers (no key in it).
public struct JobConfiguration: Codable, Sendable, Equatable {
    /// The defaults and bounds, in one place: `resolve` applies them, `validate` enforces them, and the
    /// command line's help quotes them.
    public enum Defaults {
        public static let baseURL = "https://api.floopy.ai/v1"
        public static let apiKeyEnv = "FLOOPY_API_KEY"
        public static let endpoint = "/v1/chat/completions"
        public static let concurrency = 16
        public static let concurrencyRange = 1...100_000
        public static let maxAttempts = 5
        public static let maxAttemptsRange = 1...100
        public static let timeoutSeconds = 120.0
        public static let timeoutRange = 0.001...3600.0
        public static let maxLineBytes = 8 << 20
        public static let minimumLineBytes = 1024
        public static let outputRetries = 2
        public static let batchMaxLines = 50_000
        public static let batchMaxBytes = 200 << 20
        public static let pollInterval = 30.0
        public static let outputRetriesRange = 0...20
        public static let maxRetryAfter = 30.0
        public static let maxRetryAfterRange = 0.0...RetryAfter.maximumSeconds
    }

    public var name: String
    public var inputs: [String]
    public var output: String
    public var errors: String
    public var checkpoint: String
    public var baseURL: String
    public var apiKeyEnv: String
    public var apiKeyFile: String?
    /// Credential headers (`x-api-key`, Portkey's virtual key...) by name, each to the environment variable
    /// holding its value (`--header-env`): the names are stored, the values are read at start, like the key.
    public var headerEnv: [String: String] = [:]
    public var model: String?
    public var endpoint: String
    public var bodyDefaults: [String: JSONValue]
    public var concurrency: Int
    public var maxAttempts: Int
    public var timeoutSeconds: Double
    public var gateway: GatewaySettings
    public var maxLineBytes: Int
    public var allowInsecureHTTP: Bool
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    /// A refused item waits its Retry-After up to this many seconds; past it, it comes back at the next free slot.
    public var maxRetryAfter = Defaults.maxRetryAfter
    /// Learn the concurrency limit below `concurrency` from 429s and rate-limit headers.
    public var adaptiveConcurrency: Bool
    /// Stop the job when many items in a row fail with the same permanent error.
    public var circuitBreaker: Bool
    /// Extra trusted root certificates (PEM) for the gateway's TLS.
    public var caFile: String?
    /// Prices per model (per million tokens), over the built-in table.
    public var prices: [String: Price]
    /// Stop sending before spend, plus the worst case of what is in flight, would pass this (US dollars).
    public var maxCost: Double?
    /// Fills a prompt from each input record; the checkpoint keeps the text itself, not a path.
    public var template: PromptTemplate?
    /// The record field that keys each item (with a template).
    public var idField: String?
    /// Every answer must be JSON (`--expect-json`); a schema implies it.
    public var expectJSON: Bool
    /// The JSON Schema every answer must match (its content, not its path).
    public var schema: JSONValue?
    /// How many times an answer that is not the JSON asked for is asked again.
    public var outputRetries: Int
    /// Identical requests of the job are sent once (`--no-dedup` turns it off).
    public var dedup: Bool
    /// Checkpoints (or folders of them) of earlier jobs whose answers identical requests take.
    public var reuse: [String]
    /// Send a stable `Idempotency-Key` per item.
    public var idempotencyKey: Bool
    /// Embedding items packed into one request.
    public var embedBatch: Int
    /// Live requests, provider batches, or batches with live for what they fail (see `BatchDispatcher`).
    public var mode: JobMode = .live
    public var batchMaxLines = Defaults.batchMaxLines
    public var batchMaxBytes = Defaults.batchMaxBytes
    public var pollInterval = Defaults.pollInterval
    public var deadline: String?
    public var batchProvider: String?
    /// `--stream`: chat completions are streamed and assembled, for time to first token and tokens per second.
    public var stream = false
    /// `--http-version`: HTTP/2 where the gateway offers it (`auto`), or one of them.
    public var httpVersion = HTTPVersionSetting.auto

    /// The names the checkpoint stores them under (see JobConfiguration+Stored.swift for reading them back).
    enum CodingKeys: String, CodingKey {
        case name, inputs, output, errors, checkpoint, baseURL, apiKeyEnv, apiKeyFile, headerEnv, model, endpoint, bodyDefaults, concurrency
        case maxAttempts, timeoutSeconds, gateway, maxLineBytes, allowInsecureHTTP, requestsPerMinute, tokensPerMinute
        case adaptiveConcurrency, circuitBreaker, caFile, prices, maxCost, template, idField
        case expectJSON, schema, outputRetries, dedup, reuse, idempotencyKey, embedBatch
        case mode, batchMaxLines, batchMaxBytes, pollInterval, deadline, batchProvider
        case stream, maxRetryAfter, httpVersion
    }

    /// Merges `file` (paths relative to `fileDirectory`) with `flags` (paths as given).
    ///
    /// Flags are the same settings as a job file, and each one given wins over the
    /// file; list settings (`inputs`, `fallback`) replace the file's list, while
    /// `properties`, `headers`, `header_env` and `body_defaults` are merged into it.
    public static func resolve(file: JobFile?, fileDirectory: String?, flags: JobFile) throws -> JobConfiguration {
        let job = file ?? JobFile()
        func fromFile(_ path: String?) -> String? { path.map { pathInJobFile($0, folder: fileDirectory) } }
        let inputs = flags.inputs.flatMap { $0.isEmpty ? nil : $0 } ?? (job.inputs ?? []).compactMap(fromFile)
        guard let first = inputs.first else {
            throw SluiceError(.configuration, "no input: give a job file with \"inputs\" or --input PATH")
        }
        // Standard input has no file name to name the results after.
        let stem = first == StandardInputSpool.marker ? "stdin" : first
        let output = flags.output ?? fromFile(job.output) ?? defaultOutput(for: stem)
        var gateway = GatewaySettings()
        gateway.cache = flags.cache ?? job.cache ?? .off
        gateway.properties = (job.properties ?? [:]).merging(flags.properties ?? [:]) { _, flag in flag }
        gateway.fallback = flags.fallback.flatMap { $0.isEmpty ? nil : $0 } ?? job.fallback ?? []
        gateway.sessionID = flags.sessionID ?? job.sessionID
        gateway.userID = flags.userID ?? job.userID
        gateway.promptID = flags.promptID ?? job.promptID
        gateway.promptVersion = flags.promptVersion ?? job.promptVersion
        gateway.extraHeaders = (job.headers ?? [:]).merging(flags.headers ?? [:]) { _, flag in flag }
        gateway.profile = flags.profile ?? job.profile ?? .floopy
        gateway.tags = flags.tags.flatMap { $0.isEmpty ? nil : $0 } ?? job.tags ?? []

        var configuration = JobConfiguration(
            name: job.name ?? ((stem as NSString).lastPathComponent as NSString).deletingPathExtension,
            inputs: inputs,
            output: output,
            errors: flags.errors ?? fromFile(job.errors) ?? defaultErrors(for: output),
            checkpoint: flags.checkpoint ?? fromFile(job.checkpoint) ?? output + ".sluice.db",
            baseURL: flags.baseURL ?? job.baseURL ?? Defaults.baseURL,
            apiKeyEnv: flags.apiKeyEnv ?? job.apiKeyEnv ?? Defaults.apiKeyEnv,
            apiKeyFile: flags.apiKeyFile ?? fromFile(job.apiKeyFile),
            model: flags.model ?? job.model,
            endpoint: flags.endpoint ?? job.endpoint ?? Defaults.endpoint,
            bodyDefaults: (job.bodyDefaults ?? [:]).merging(flags.bodyDefaults ?? [:]) { _, flag in flag },
            concurrency: flags.concurrency ?? job.concurrency ?? Defaults.concurrency,
            maxAttempts: flags.maxAttempts ?? job.maxAttempts ?? Defaults.maxAttempts,
            timeoutSeconds: flags.timeoutSeconds ?? job.timeoutSeconds ?? Defaults.timeoutSeconds,
            gateway: gateway,
            maxLineBytes: flags.maxLineBytes ?? job.maxLineBytes ?? Defaults.maxLineBytes,
            allowInsecureHTTP: (flags.allowInsecureHTTP ?? false) || (job.allowInsecureHTTP ?? false),
            requestsPerMinute: flags.requestsPerMinute ?? job.requestsPerMinute,
            tokensPerMinute: flags.tokensPerMinute ?? job.tokensPerMinute,
            adaptiveConcurrency: flags.adaptiveConcurrency ?? job.adaptiveConcurrency ?? true,
            circuitBreaker: flags.circuitBreaker ?? job.circuitBreaker ?? true,
            caFile: flags.caFile ?? fromFile(job.caFile),
            prices: (job.prices ?? [:]).merging(flags.prices ?? [:]) { _, flag in flag },
            maxCost: flags.maxCost ?? job.maxCost,
            template: try
                (flags.template
                ?? job.template.map { setting in
                    if case .file(let path) = setting { return .file(fromFile(path) ?? path) }
                    return setting
                }).map { setting in
                    switch setting {
                    case .inline(let template): return template
                    case .file(let path): return try PromptTemplate.load(path: path)
                    }
                },
            idField: flags.idField ?? job.idField,
            expectJSON: flags.expectJSON ?? job.expectJSON ?? false,
            schema: try
                (flags.schema
                ?? job.schema.map { value in
                    if case .string(let path) = value { return .string(fromFile(path) ?? path) }
                    return value
                }).map(loadSchema),
            outputRetries: flags.outputRetries ?? job.outputRetries ?? Defaults.outputRetries,
            dedup: flags.dedup ?? job.dedup ?? true,
            reuse: flags.reuse ?? (job.reuse ?? []).compactMap(fromFile),
            idempotencyKey: flags.idempotencyKey ?? job.idempotencyKey ?? false,
            embedBatch: flags.embedBatch ?? job.embedBatch ?? 1,
            stream: flags.stream ?? job.stream ?? false
        )
        configuration.mode = flags.mode ?? job.mode ?? .live
        configuration.batchMaxLines = flags.batchMaxLines ?? job.batchMaxLines ?? Defaults.batchMaxLines
        configuration.batchMaxBytes = flags.batchMaxBytes ?? job.batchMaxBytes ?? Defaults.batchMaxBytes
        configuration.pollInterval = flags.pollInterval ?? job.pollInterval ?? Defaults.pollInterval
        configuration.deadline = flags.deadline ?? job.deadline
        configuration.batchProvider = flags.batchProvider ?? job.batchProvider
        configuration.maxRetryAfter = flags.maxRetryAfter ?? job.maxRetryAfter ?? Defaults.maxRetryAfter
        configuration.headerEnv = (job.headerEnv ?? [:]).merging(flags.headerEnv ?? [:]) { _, flag in flag }
        configuration.httpVersion = flags.httpVersion ?? job.httpVersion ?? .auto
        try configuration.validate()
        return configuration
    }

    /// A path a job file names, as sluice opens it: relative to the job file's folder, unless it is absolute,
    /// standard input, or a PostgreSQL checkpoint (a URL, not a path).
    static func pathInJobFile(_ path: String, folder: String?) -> String {
        guard path != StandardInputSpool.marker, !PostgresLocation.isPostgres(path), let folder, !path.hasPrefix("/") else { return path }
        return normalized((folder as NSString).appendingPathComponent(path))
    }

    /// `jobs/../samples/x.jsonl` → `samples/x.jsonl`, so messages show the path a user would type.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// `data/prompts.jsonl.gz` → `data/prompts.results.jsonl`.
    static func defaultOutput(for input: String) -> String {
        let directory = (input as NSString).deletingLastPathComponent
        let stem = stripExtensions((input as NSString).lastPathComponent)
        let name = stem + ".results.jsonl"
        return directory.isEmpty ? name : (directory as NSString).appendingPathComponent(name)
    }

    /// `x.results.jsonl` → `x.errors.jsonl`; gzip output gets gzip errors.
    static func defaultErrors(for output: String) -> String {
        let gz = output.hasSuffix(".gz")
        var stem = gz ? String(output.dropLast(3)) : output
        for suffix in [".results.jsonl", ".jsonl", ".json"] where stem.hasSuffix(suffix) {
            stem = String(stem.dropLast(suffix.count))
            break
        }
        return stem + ".errors.jsonl" + (gz ? ".gz" : "")
    }

    static func stripExtensions(_ name: String) -> String {
        var stem = name
        for suffix in [".gz", ".jsonl", ".ndjson", ".json", ".csv", ".tsv"] where stem.hasSuffix(suffix) && stem.count > suffix.count {
            stem = String(stem.dropLast(suffix.count))
        }
        return stem
    }

    public func validate() throws {
        func fail(_ message: String) -> SluiceError { SluiceError(.configuration, message) }
        let bounds = Defaults.self
        guard bounds.concurrencyRange.contains(concurrency) else {
            throw fail("concurrency must be between \(bounds.concurrencyRange.lowerBound) and \(bounds.concurrencyRange.upperBound), got \(concurrency)")
        }
        guard bounds.maxAttemptsRange.contains(maxAttempts) else {
            throw fail("max attempts must be between \(bounds.maxAttemptsRange.lowerBound) and \(bounds.maxAttemptsRange.upperBound), got \(maxAttempts)")
        }
        guard bounds.timeoutRange.contains(timeoutSeconds) else {
            throw fail("timeout must be more than 0 and at most \(Int(bounds.timeoutRange.upperBound)) seconds, got \(timeoutSeconds)")
        }
        guard maxLineBytes >= bounds.minimumLineBytes else { throw fail("max line bytes must be at least \(bounds.minimumLineBytes), got \(maxLineBytes)") }
        if let rpm = requestsPerMinute, rpm < 1 { throw fail("requests per minute must be at least 1, got \(rpm)") }
        if let tpm = tokensPerMinute, tpm < 1 { throw fail("tokens per minute must be at least 1, got \(tpm)") }
        guard bounds.maxRetryAfterRange.contains(maxRetryAfter) else {
            throw fail("the longest Retry-After honoured must be between 0 and \(Int(bounds.maxRetryAfterRange.upperBound)) seconds, got \(maxRetryAfter)")
        }
        guard endpoint.hasPrefix("/") else { throw fail("endpoint must be a path such as /v1/chat/completions, got \"\(endpoint)\"") }
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw fail("base URL must be an http(s) URL such as \(Defaults.baseURL), got \"\(baseURL)\"")
        }
        if scheme == "http", httpVersion == .http2 {
            throw fail("--http-version 2 needs an https base URL (sluice speaks HTTP/2 over TLS only), got \"\(baseURL)\"")
        }
        if scheme == "http", !Self.isLoopback(host), !allowInsecureHTTP {
            throw fail("refusing to send the API key over plain http to \(host); use https, or pass --allow-insecure-http if this network is trusted")
        }
        // Compared as files, not spellings (`./x`, symlinks, hard links): see OwnedFiles.
        try OwnedFiles(job: self).refuseClashes()
        if let maxCost, !(maxCost > 0) { throw fail("the cost cap must be more than 0 dollars, got \(maxCost)") }
        for (model, price) in prices where !(price.input >= 0 && price.output >= 0 && (price.cachedInput ?? 0) >= 0) {
            throw fail("the price of \(model) must not be negative")
        }
        if let maxCost, let model = ([model].compactMap { $0 } + gateway.fallback).first(where: { priceTable.price(for: $0) == nil }) {
            throw fail("--max-cost \(maxCost) needs a price for \(model): give one with --price \(model)=IN,OUT or the job file's \"prices\"")
        }
        for name in [model].compactMap({ $0 }) + gateway.fallback where name.contains(",") || name.isEmpty {
            throw fail(
                name.isEmpty
                    ? "a model name is empty"
                    : "model \"\(name)\" contains a comma, which some gateways read as a fallback list; name one model, and fallbacks with --fallback")
        }
        if let template { _ = try TemplateRenderer(template) }
        _ = try answerChecker()
        for path in reuse where !FileManager.default.fileExists(atPath: path) {
            throw fail("--reuse \(path): no such checkpoint or folder")
        }
        if mode != .live {
            if maxCost != nil {
                throw fail(
                    "--max-cost reserves the worst case of each live request; it does not cover provider batches yet (--mode \(mode.rawValue)): drop one of them"
                )
            }
            guard batchMaxLines >= 1, batchMaxBytes >= 1024 else { throw fail("a batch file needs at least 1 line and 1024 bytes") }
            guard pollInterval > 0 else { throw fail("the poll interval must be more than 0 seconds") }
            if let deadline, Self.deadlineDate(deadline, from: Date()) == nil {
                throw fail("--deadline \(deadline): give a duration such as 90m, 6h, 2d or 3600s, or an ISO 8601 time")
            }
            if mode == .batch, deadline != nil {
                throw fail("--deadline sends what a batch still holds live, which only --mode auto does")
            }
            if let provider = batchProvider, !["openai", "anthropic"].contains(provider) {
                throw fail("--batch-provider must be openai or anthropic, got \(provider)")
            }
        }
        guard (1...EmbeddingPacker.maximumBatch).contains(embedBatch) else {
            throw fail("the embedding batch must be between 1 and \(EmbeddingPacker.maximumBatch) inputs, got \(embedBatch)")
        }
        guard bounds.outputRetriesRange.contains(outputRetries) else {
            throw fail("output retries must be between 0 and \(bounds.outputRetriesRange.upperBound), got \(outputRetries)")
        }
        if idField != nil, template == nil { throw fail("--id-field names a record field, which only a template reads (--template)") }
        if template == nil, let csv = inputs.first(where: CSVRecordReader.handles) {
            throw fail("\(csv): a CSV or TSV input needs a template to turn its rows into prompts (--template)")
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw fail("\(caFile): cannot read the CA file (--ca-file expects PEM certificates)")
        }
        try checkHeaders()
        try checkGatewayProfile()
    }

    /// The job's prices over the built-in table.
    public var priceTable: PriceTable { PriceTable(overrides: prices) }

    /// The settings as stored in the checkpoint.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// A schema given as a path is read here, so the checkpoint keeps the schema itself.
    static func loadSchema(_ value: JSONValue) throws -> JSONValue {
        guard case .string(let path) = value else { return value }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SluiceError(.configuration, "\(path): cannot read the schema file")
        }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw SluiceError(.configuration, "\(path): the schema file is not JSON (\(JSONText.reason(of: error)))")
        }
    }

    /// Always a checker, even with no `--expect-json` and no schema: a request may still ask for JSON
    /// itself (its `response_format`), and items that ask nothing cost it one scan of the request.
    public func answerChecker() throws -> AnswerChecker {
        var compiled: JSONSchema?
        if let schema {
            do {
                compiled = try JSONSchema(jsonObject: schema.foundationValue)
            } catch {
                throw SluiceError(.configuration, "the schema cannot be used: \(error)")
            }
        }
        return AnswerChecker(expectJSON: expectJSON, schema: compiled, outputRetries: outputRetries)
    }

    /// The parser for this job's input lines and records.
    public func itemParser() throws -> ItemParser {
        ItemParser(
            endpoint: endpoint, maxLineBytes: maxLineBytes, bodyDefaults: bodyDefaults, jobHasModel: model != nil,
            template: try template.map(TemplateRenderer.init), idField: idField, jobHasPrompt: gateway.promptID != nil,
            acceptsStream: stream)
    }

    /// `--deadline` for the batch dispatcher: an ISO 8601 time as it is, a duration counted from each batch's creation.
    public var batchDeadline: BatchDispatcher.Deadline? {
        guard let deadline else { return nil }
        if let date = ISO8601DateFormatter().date(from: deadline) { return .at(date) }
        return Self.deadlineDate(deadline, from: Date(timeIntervalSince1970: 0)).map { .afterCreation(seconds: $0.timeIntervalSince1970) }
    }

    /// `6h`, `90m`, `2d`, `3600s`, `3600` (seconds from `start`), or an ISO 8601 time.
    public static func deadlineDate(_ text: String, from start: Date) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()), amount >= 0 { return start + amount * unit }
        if let seconds = Double(text), seconds >= 0 { return start + seconds }
        return nil
    }
}
