import Foundation

/// A job file (`jobs/*.json`): every setting of a run, so a job can be
/// re-run or resumed by name. Every key is optional; flags override them.
///
/// ```json
/// {
///   "name": "nightly-classification",
///   "inputs": ["../data/prompts.jsonl.gz"],
///   "model": "gpt-4o-mini",
///   "body_defaults": {"temperature": 0, "max_tokens": 64},
///   "concurrency": 64,
///   "cache": "exact",
///   "properties": {"batch": "nightly"},
///   "fallback": ["claude-sonnet-4-20250514"]
/// }
/// ```
/// Relative paths are relative to the job file's folder.
public struct JobFile: Codable, Sendable, Equatable {
    public var name: String?
    public var inputs: [String]?
    public var output: String?
    public var errors: String?
    public var checkpoint: String?
    public var baseURL: String?
    public var apiKeyEnv: String?
    public var apiKeyFile: String?
    public var model: String?
    public var endpoint: String?
    public var bodyDefaults: [String: JSONValue]?
    public var concurrency: Int?
    public var maxAttempts: Int?
    public var timeoutSeconds: Double?
    public var cache: CacheMode?
    public var properties: [String: String]?
    public var fallback: [String]?
    public var sessionID: String?
    public var userID: String?
    public var headers: [String: String]?
    /// Credential headers by name, each to the environment variable holding its value (`"x-api-key": "AZURE_KEY"`).
    public var headerEnv: [String: String]?
    public var maxLineBytes: Int?
    public var allowInsecureHTTP: Bool?
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    /// Seconds of a refused item's Retry-After honoured at most.
    public var maxRetryAfter: Double?
    public var adaptiveConcurrency: Bool?
    public var circuitBreaker: Bool?
    public var caFile: String?
    public var prices: [String: Price]?
    public var maxCost: Double?
    /// A prompt template, or the path of a file holding one; inputs are then records that fill it.
    public var template: TemplateSetting?
    public var idField: String?
    /// The gateway the vocabulary is mapped onto (`GatewayProfileName`).
    public var profile: GatewayProfileName?
    public var tags: [String]?
    public var expectJSON: Bool?
    /// A JSON Schema every answer must match: the path of a schema file, or the schema itself.
    public var schema: JSONValue?
    public var outputRetries: Int?
    public var dedup: Bool?
    /// Earlier jobs' checkpoints (or folders of them) whose answers identical requests take.
    public var reuse: [String]?
    public var idempotencyKey: Bool?
    public var promptID: String?
    public var promptVersion: String?
    public var embedBatch: Int?
    /// `live`, `batch` or `auto` (provider batches).
    public var mode: JobMode?
    public var batchMaxLines: Int?
    public var batchMaxBytes: Int?
    public var pollInterval: Double?
    /// `auto`: when unfinished batches give up and their lines go live (a duration such as `6h`, or an ISO 8601 time).
    public var deadline: String?
    /// Floopy's `floopy-provider` for batches (`openai` or `anthropic`).
    public var batchProvider: String?
    /// Stream chat completions (`--stream`).
    public var stream: Bool?
    /// `auto`, `1.1` or `2` (`--http-version`).
    public var httpVersion: HTTPVersionSetting?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, inputs, output, errors, checkpoint, model, endpoint, concurrency, cache, properties, fallback, headers
        case baseURL = "base_url"
        case apiKeyEnv = "api_key_env"
        case apiKeyFile = "api_key_file"
        case headerEnv = "header_env"
        case bodyDefaults = "body_defaults"
        case maxAttempts = "max_attempts"
        case timeoutSeconds = "timeout_seconds"
        case sessionID = "session_id"
        case userID = "user_id"
        case maxLineBytes = "max_line_bytes"
        case allowInsecureHTTP = "allow_insecure_http"
        case requestsPerMinute = "requests_per_minute"
        case tokensPerMinute = "tokens_per_minute"
        case maxRetryAfter = "max_retry_after"
        case adaptiveConcurrency = "adaptive_concurrency"
        case circuitBreaker = "circuit_breaker"
        case caFile = "ca_file"
        case prices
        case maxCost = "max_cost"
        case template
        case idField = "id_field"
        case profile, tags
        case expectJSON = "expect_json"
        case schema
        case outputRetries = "output_retries"
        case dedup, reuse
        case idempotencyKey = "idempotency_key"
        case promptID = "prompt_id"
        case promptVersion = "prompt_version"
        case embedBatch = "embed_batch"
        case mode, deadline
        case batchMaxLines = "batch_max_lines"
        case batchMaxBytes = "batch_max_bytes"
        case pollInterval = "poll_interval"
        case batchProvider = "batch_provider"
        case stream
        case httpVersion = "http_version"
    }

    /// Loads and checks a job file: unknown keys and wrong types are errors
    /// naming the key, so a typo never silently falls back to a default.
    public static func load(path: String) throws -> JobFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SluiceError(.configuration, "\(path): cannot read the job file")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SluiceError(.configuration, "\(path): not valid JSON (\(JSONText.reason(of: error)))")
        }
        guard let dictionary = object as? [String: Any] else {
            throw SluiceError(.configuration, "\(path): a job file is a JSON object")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let unknown = dictionary.keys.filter { !known.contains($0) }.sorted()
        if !unknown.isEmpty {
            throw SluiceError(
                .configuration,
                "\(path): unknown key\(unknown.count > 1 ? "s" : "") \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) (known keys: \(known.sorted().joined(separator: ", ")))"
            )
        }
        do {
            return try JSONDecoder().decode(JobFile.self, from: data)
        } catch let DecodingError.typeMismatch(type, context) {
            throw SluiceError(.configuration, "\(path): \"\(keyPath(context))\" must be \(describe(type))")
        } catch let DecodingError.dataCorrupted(context) {
            throw SluiceError(.configuration, "\(path): \"\(keyPath(context))\" has an invalid value (\(context.debugDescription))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw SluiceError(.configuration, "\(path): \"\(keyPath(context))\" must be \(describe(type)), not null")
        } catch {
            throw SluiceError(.configuration, "\(path): \(error)")
        }
    }

    private static func keyPath(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is [String].Type, is [Any].Type: return "a list"
        case is [String: String].Type, is [String: Any].Type: return "an object"
        default: return "of type \(type)"
        }
    }
}
