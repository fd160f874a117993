import Foundation

/// Where a job stands, as `sluice status --json` prints it. The schema is
/// versioned (`schema`); within a version, fields are only ever added, never
/// renamed or removed, so scripts can rely on it. docs/operating.md
/// ("status --json") documents every field.
///
/// ```swift
/// let status = try await JobStatusCollector(store: store, prices: prices).collect()
/// print(status.items.succeeded, status.cost.totalUSD)
/// ```
public struct JobStatus: Codable, Sendable, Equatable {
    public static let schemaVersion = "sluice.status/1"

    public var schema = Self.schemaVersion
    public var job: String
    public var checkpoint: String
    /// `running` (a sluice process holds the job), `finished` (every item done), `cancelled`
    /// (`sluice cancel`; resumable with `run --force`), or `stopped` (interrupted or not finished; resumable).
    public var state: String
    /// The pid of the process running the job, when `state` is `running`.
    public var pid: Int32?
    public var items: Items
    public var progress: Progress
    public var tokens: Tokens
    public var cost: Cost
    public var latencyMS: Latency
    public var requests: Requests
    /// Which model answered how often; a model that was not asked for first is a fallback.
    public var answeredBy: [ModelCount]
    public var cache: Cache
    /// Failed items grouped by class, largest first.
    public var errors: [ErrorGroup]
    /// Usage and cost per property value (job-wide properties and each line's own).
    public var properties: [PropertyUsage]
    /// When the job's first item finished and its latest one did (ISO 8601), if any did.
    public var firstFinishedAt: String?
    public var lastFinishedAt: String?
    /// Streamed answers (`--stream`): time to first token and generation speed.
    public var streaming = Streaming()

    public struct Items: Codable, Sendable, Equatable {
        public var total = 0
        public var pending = 0
        public var inFlight = 0
        public var succeeded = 0
        public var failed = 0
        /// Failed items that are bad input lines (never sent).
        public var badInput = 0

        enum CodingKeys: String, CodingKey {
            case total, pending, succeeded, failed
            case inFlight = "in_flight"
            case badInput = "bad_input"
        }
    }

    public struct Progress: Codable, Sendable, Equatable {
        public var done = 0
        public var total = 0
        /// 0...1.
        public var fraction = 0.0
        /// False while lines are still being read: `total` then counts only the lines read so far.
        public var planningComplete = false
        /// Items finished per second over the last five minutes of work.
        public var itemsPerSecond: Double?
        /// At `itemsPerSecond`, while the job runs.
        public var etaSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case done, total, fraction
            case planningComplete = "planning_complete"
            case itemsPerSecond = "items_per_second"
            case etaSeconds = "eta_seconds"
        }
    }

    public struct Tokens: Codable, Sendable, Equatable {
        public var prompt = 0
        public var completion = 0
        /// Prompt tokens the provider served from its cache.
        public var cachedPrompt = 0

        enum CodingKeys: String, CodingKey {
            case prompt, completion
            case cachedPrompt = "cached_prompt"
        }
    }

    public struct Cost: Codable, Sendable, Equatable {
        /// At the job's prices, over every answered item (failed answers were billed too).
        public var totalUSD = 0.0
        /// Answering models without a price (their tokens are not in `total_usd`).
        public var unpricedModels: [String] = []
        public var byModel: [ModelCost] = []
        /// Items answered through provider batches, and what that saved against live prices.
        public var batchItems = 0
        public var batchSavingsUSD = 0.0

        enum CodingKeys: String, CodingKey {
            case totalUSD = "total_usd"
            case batchItems = "batch_items"
            case batchSavingsUSD = "batch_savings_usd"
            case unpricedModels = "unpriced_models"
            case byModel = "by_model"
        }
    }

    public struct ModelCost: Codable, Sendable, Equatable {
        public var model: String
        public var items: Int
        public var promptTokens: Int
        public var completionTokens: Int
        public var cachedTokens: Int
        /// Nil when the model has no price.
        public var costUSD: Double?

        enum CodingKeys: String, CodingKey {
            case model, items
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case cachedTokens = "cached_tokens"
            case costUSD = "cost_usd"
        }
    }

    /// Over the items that got an answer, in milliseconds; nil fields when none did.
    public struct Latency: Codable, Sendable, Equatable {
        public var count = 0
        public var p50: Double?
        public var p90: Double?
        public var p99: Double?
        public var max: Double?
    }

    /// Over the streamed answers that carried content; nil fields when there are none.
    public struct Streaming: Codable, Sendable, Equatable {
        public var count = 0
        /// From sending to the first event with content, in milliseconds.
        public var firstTokenP50: Double?
        public var firstTokenP90: Double?
        /// Median of each answer's completion tokens / (latency − time to first token); answers
        /// whose tokens came within a millisecond of the first (nothing to measure) are left out.
        public var tokensPerSecondP50: Double?

        enum CodingKeys: String, CodingKey {
            case count
            case firstTokenP50 = "first_token_ms_p50"
            case firstTokenP90 = "first_token_ms_p90"
            case tokensPerSecondP50 = "tokens_per_second_p50"
        }
    }

    public struct Requests: Codable, Sendable, Equatable {
        /// HTTP requests sent, over every run of the job.
        public var attempts = 0
        /// Requests sent again after a failed attempt, over every run (an item's attempts after its first, so a
        /// `retry-failed` run's sends count as retries too).
        public var retries = 0
        /// Items answered by a model sluice fell back to.
        public var fallbacks = 0
    }

    public struct ModelCount: Codable, Sendable, Equatable {
        public var model: String
        public var items: Int
        /// Of those, items that had asked for another model first.
        public var asFallback: Int

        enum CodingKeys: String, CodingKey {
            case model, items
            case asFallback = "as_fallback"
        }
    }

    public struct Cache: Codable, Sendable, Equatable {
        /// Answers the gateway served from its cache.
        public var hits = 0
        /// Of the succeeded items.
        public var hitRate = 0.0
        /// Items that took the answer of an identical request instead of sending one: of this job
        /// (dedup) and of an earlier job's checkpoint (`--reuse`).
        public var deduplicated = 0
        public var reused = 0

        enum CodingKeys: String, CodingKey {
            case hits, deduplicated, reused
            case hitRate = "hit_rate"
        }
    }

    public struct ErrorGroup: Codable, Sendable, Equatable {
        /// `rate_limit`, `server`, `timeout`, `network`, `bad_request`, `auth`, `input`, `invalid_output`.
        public var errorClass: String
        public var count: Int
        /// One item's message, and its id, as an example.
        public var sample: String
        public var sampleItem: String

        enum CodingKeys: String, CodingKey {
            case count, sample
            case errorClass = "class"
            case sampleItem = "sample_item"
        }
    }

    public struct PropertyUsage: Codable, Sendable, Equatable {
        public var name: String
        public var value: String
        public var items = 0
        public var succeeded = 0
        public var failed = 0
        public var promptTokens = 0
        public var completionTokens = 0
        public var costUSD = 0.0

        enum CodingKeys: String, CodingKey {
            case name, value, items, succeeded, failed
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case costUSD = "cost_usd"
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, job, checkpoint, state, pid, items, progress, tokens, cost, requests, cache, errors, properties
        case streaming
        case latencyMS = "latency_ms"
        case answeredBy = "answered_by"
        case firstFinishedAt = "first_finished_at"
        case lastFinishedAt = "last_finished_at"
    }

    /// Pretty, with sorted keys, so two statuses of the same job diff cleanly.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
