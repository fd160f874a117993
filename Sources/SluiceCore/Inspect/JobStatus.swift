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
package struct JobStatus: Codable, Sendable, Equatable {
    package static let schemaVersion = "sluice.status/1"

    package var schema = Self.schemaVersion
    package var job: String
    package var checkpoint: String
    /// `running` (a sluice process holds the job), `finished` (every item done), `cancelled`
    /// (`sluice cancel`; resumable with `run --force`), or `stopped` (interrupted or not finished; resumable).
    package var state: String
    /// The pid of the process running the job, when `state` is `running`.
    package var pid: Int32?
    package var items: Items
    package var progress: Progress
    package var tokens: Tokens
    package var cost: Cost
    package var latencyMS: Latency
    package var requests: Requests
    /// Which model answered how often; a model that was not asked for first is a fallback.
    package var answeredBy: [ModelCount]
    package var cache: Cache
    /// Failed items grouped by class, largest first.
    package var errors: [ErrorGroup]
    /// Usage and cost per property value (job-wide properties and each line's own).
    package var properties: [PropertyUsage]
    /// When the job's first item finished and its latest one did (ISO 8601), if any did.
    package var firstFinishedAt: String?
    package var lastFinishedAt: String?
    /// Streamed answers (`--stream`): time to first token and generation speed.
    package var streaming = Streaming()
    /// Provider batches' enqueued tokens against the limit (`--mode batch|auto`); absent for a job that never opened one.
    package var batchQueue: BatchQueue?
    /// Every provider batch of the job, oldest first; absent for a job that never opened one.
    package var batches: [BatchStatus]?

    package struct Items: Codable, Sendable, Equatable {
        package var total = 0
        package var pending = 0
        package var inFlight = 0
        package var succeeded = 0
        package var failed = 0
        /// Failed items that are bad input lines (never sent).
        package var badInput = 0

        enum CodingKeys: String, CodingKey {
            case total, pending, succeeded, failed
            case inFlight = "in_flight"
            case badInput = "bad_input"
        }
    }

    package struct Progress: Codable, Sendable, Equatable {
        package var done = 0
        package var total = 0
        /// 0...1.
        package var fraction = 0.0
        /// False while lines are still being read: `total` then counts only the lines read so far.
        package var planningComplete = false
        /// Items finished per second over the last five minutes of work.
        package var itemsPerSecond: Double?
        /// At `itemsPerSecond`, while the job runs.
        package var etaSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case done, total, fraction
            case planningComplete = "planning_complete"
            case itemsPerSecond = "items_per_second"
            case etaSeconds = "eta_seconds"
        }
    }

    package struct Tokens: Codable, Sendable, Equatable {
        package var prompt = 0
        package var completion = 0
        /// Prompt tokens the provider served from its cache.
        package var cachedPrompt = 0

        enum CodingKeys: String, CodingKey {
            case prompt, completion
            case cachedPrompt = "cached_prompt"
        }
    }

    package struct Cost: Codable, Sendable, Equatable {
        /// At the job's prices, over every answered item (failed answers were billed too).
        package var totalUSD = 0.0
        /// Answering models without a price (their tokens are not in `total_usd`).
        package var unpricedModels: [String] = []
        package var byModel: [ModelCost] = []
        /// Items answered through provider batches, and what that saved against live prices.
        package var batchItems = 0
        package var batchSavingsUSD = 0.0

        enum CodingKeys: String, CodingKey {
            case totalUSD = "total_usd"
            case batchItems = "batch_items"
            case batchSavingsUSD = "batch_savings_usd"
            case unpricedModels = "unpriced_models"
            case byModel = "by_model"
        }
    }

    package struct ModelCost: Codable, Sendable, Equatable {
        package var model: String
        package var items: Int
        package var promptTokens: Int
        package var completionTokens: Int
        package var cachedTokens: Int
        /// Nil when the model has no price.
        package var costUSD: Double?

        enum CodingKeys: String, CodingKey {
            case model, items
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case cachedTokens = "cached_tokens"
            case costUSD = "cost_usd"
        }
    }

    /// Over the items that got an answer, in milliseconds; nil fields when none did.
    package struct Latency: Codable, Sendable, Equatable {
        package var count = 0
        package var p50: Double?
        package var p90: Double?
        package var p99: Double?
        package var max: Double?
    }

    /// Over the streamed answers that carried content; nil fields when there are none.
    package struct Streaming: Codable, Sendable, Equatable {
        package var count = 0
        /// From sending to the first event with content, in milliseconds.
        package var firstTokenP50: Double?
        package var firstTokenP90: Double?
        /// Median of each answer's completion tokens / (latency − time to first token); answers
        /// whose tokens came within a millisecond of the first (nothing to measure) are left out.
        package var tokensPerSecondP50: Double?

        enum CodingKeys: String, CodingKey {
            case count
            case firstTokenP50 = "first_token_ms_p50"
            case firstTokenP90 = "first_token_ms_p90"
            case tokensPerSecondP50 = "tokens_per_second_p50"
        }
    }

    package struct Requests: Codable, Sendable, Equatable {
        /// HTTP requests sent, over every run of the job.
        package var attempts = 0
        /// Requests sent again after a failed attempt, over every run (an item's attempts after its first, so a
        /// `retry-failed` run's sends count as retries too).
        package var retries = 0
        /// Items answered by a model sluice fell back to.
        package var fallbacks = 0
    }

    package struct ModelCount: Codable, Sendable, Equatable {
        package var model: String
        package var items: Int
        /// Of those, items that had asked for another model first.
        package var asFallback: Int

        enum CodingKeys: String, CodingKey {
            case model, items
            case asFallback = "as_fallback"
        }
    }

    package struct Cache: Codable, Sendable, Equatable {
        /// Answers the gateway served from its cache.
        package var hits = 0
        /// Of the succeeded items.
        package var hitRate = 0.0
        /// Items that took the answer of an identical request instead of sending one: of this job
        /// (dedup) and of an earlier job's checkpoint (`--reuse`).
        package var deduplicated = 0
        package var reused = 0

        enum CodingKeys: String, CodingKey {
            case hits, deduplicated, reused
            case hitRate = "hit_rate"
        }
    }

    package struct ErrorGroup: Codable, Sendable, Equatable {
        /// `rate_limit`, `server`, `timeout`, `network`, `bad_request`, `auth`, `input`, `invalid_output`.
        package var errorClass: String
        package var count: Int
        /// One item's message, and its id, as an example.
        package var sample: String
        package var sampleItem: String

        enum CodingKeys: String, CodingKey {
            case count, sample
            case errorClass = "class"
            case sampleItem = "sample_item"
        }
    }

    package struct PropertyUsage: Codable, Sendable, Equatable {
        package var name: String
        package var value: String
        package var items = 0
        package var succeeded = 0
        package var failed = 0
        package var promptTokens = 0
        package var completionTokens = 0
        package var costUSD = 0.0

        enum CodingKeys: String, CodingKey {
            case name, value, items, succeeded, failed
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case costUSD = "cost_usd"
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, job, checkpoint, state, pid, items, progress, tokens, cost, requests, cache, errors, properties
        case streaming, batches
        case batchQueue = "batch_queue"
        case latencyMS = "latency_ms"
        case answeredBy = "answered_by"
        case firstFinishedAt = "first_finished_at"
        case lastFinishedAt = "last_finished_at"
    }

    /// Pretty, with sorted keys, so two statuses of the same job diff cleanly.
    package func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
