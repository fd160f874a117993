import Foundation

/// The settings as the checkpoint keeps them. Read back by `status`, `export`,
/// `retry-failed` and the others, also from checkpoints written by an earlier
/// sluice, so settings added since then are optional when read.
extension JobConfiguration {
    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        name = try values.decode(String.self, forKey: .name)
        inputs = try values.decode([String].self, forKey: .inputs)
        output = try values.decode(String.self, forKey: .output)
        errors = try values.decode(String.self, forKey: .errors)
        checkpoint = try values.decode(String.self, forKey: .checkpoint)
        baseURL = try values.decode(String.self, forKey: .baseURL)
        apiKeyEnv = try values.decode(String.self, forKey: .apiKeyEnv)
        apiKeyFile = try values.decodeIfPresent(String.self, forKey: .apiKeyFile)
        headerEnv = try values.decodeIfPresent([String: String].self, forKey: .headerEnv) ?? [:]
        model = try values.decodeIfPresent(String.self, forKey: .model)
        endpoint = try values.decodeIfPresent(String.self, forKey: .endpoint) ?? Defaults.endpoint
        bodyDefaults = try values.decodeIfPresent([String: JSONValue].self, forKey: .bodyDefaults) ?? [:]
        concurrency = try values.decodeIfPresent(Int.self, forKey: .concurrency) ?? Defaults.concurrency
        maxAttempts = try values.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? Defaults.maxAttempts
        timeoutSeconds = try values.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? Defaults.timeoutSeconds
        gateway = try values.decodeIfPresent(GatewaySettings.self, forKey: .gateway) ?? GatewaySettings()
        maxLineBytes = try values.decodeIfPresent(Int.self, forKey: .maxLineBytes) ?? Defaults.maxLineBytes
        allowInsecureHTTP = try values.decodeIfPresent(Bool.self, forKey: .allowInsecureHTTP) ?? false
        requestsPerMinute = try values.decodeIfPresent(Int.self, forKey: .requestsPerMinute)
        tokensPerMinute = try values.decodeIfPresent(Int.self, forKey: .tokensPerMinute)
        maxRetryAfter = try values.decodeIfPresent(Double.self, forKey: .maxRetryAfter) ?? Defaults.maxRetryAfter
        adaptiveConcurrency = try values.decodeIfPresent(Bool.self, forKey: .adaptiveConcurrency) ?? true
        circuitBreaker = try values.decodeIfPresent(Bool.self, forKey: .circuitBreaker) ?? true
        caFile = try values.decodeIfPresent(String.self, forKey: .caFile)
        prices = try values.decodeIfPresent([String: Price].self, forKey: .prices) ?? [:]
        maxCost = try values.decodeIfPresent(Double.self, forKey: .maxCost)
        template = try values.decodeIfPresent(PromptTemplate.self, forKey: .template)
        idField = try values.decodeIfPresent(String.self, forKey: .idField)
        expectJSON = try values.decodeIfPresent(Bool.self, forKey: .expectJSON) ?? false
        schema = try values.decodeIfPresent(JSONValue.self, forKey: .schema)
        outputRetries = try values.decodeIfPresent(Int.self, forKey: .outputRetries) ?? Defaults.outputRetries
        dedup = try values.decodeIfPresent(Bool.self, forKey: .dedup) ?? true
        reuse = try values.decodeIfPresent([String].self, forKey: .reuse) ?? []
        idempotencyKey = try values.decodeIfPresent(Bool.self, forKey: .idempotencyKey) ?? false
        embedBatch = try values.decodeIfPresent(Int.self, forKey: .embedBatch) ?? 1
        mode = try values.decodeIfPresent(JobMode.self, forKey: .mode) ?? .live
        batchMaxLines = try values.decodeIfPresent(Int.self, forKey: .batchMaxLines) ?? Defaults.batchMaxLines
        batchMaxBytes = try values.decodeIfPresent(Int.self, forKey: .batchMaxBytes) ?? Defaults.batchMaxBytes
        pollInterval = try values.decodeIfPresent(Double.self, forKey: .pollInterval) ?? Defaults.pollInterval
        deadline = try values.decodeIfPresent(String.self, forKey: .deadline)
        batchProvider = try values.decodeIfPresent(String.self, forKey: .batchProvider)
        stream = try values.decodeIfPresent(Bool.self, forKey: .stream) ?? false
        httpVersion = try values.decodeIfPresent(HTTPVersionSetting.self, forKey: .httpVersion) ?? .auto
    }

    /// The settings a checkpoint holds; nil for a checkpoint whose job never started.
    public static func stored(in store: any CheckpointStore) async throws -> JobConfiguration? {
        guard let json = try await store.jobSettings(), json != "{}" else { return nil }
        do {
            return try JSONDecoder().decode(JobConfiguration.self, from: Data(json.utf8))
        } catch {
            throw SluiceError(.checkpoint, "\(store.location): the job's settings cannot be read (\(error))")
        }
    }
}
