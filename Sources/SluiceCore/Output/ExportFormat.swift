/// The shapes `sluice export` writes.
package enum ExportFormat: String, Sendable, CaseIterable {
    /// As `run` writes its results: the OpenAI batch output format.
    case openaiBatch = "openai-batch"
    /// One object per item: `custom_id`, `status`, `content`, `model`, `usage`, `latency_ms`, `metadata`, `properties`, `error`.
    case flat
    /// The flat fields as columns (RFC 4180 quoting), metadata fields as extra columns on request.
    case csv
}

/// Which items `sluice export` writes: finished ones, or only one outcome.
package enum ExportSelection: String, Sendable, CaseIterable {
    case all
    case succeeded
    case failed
}
