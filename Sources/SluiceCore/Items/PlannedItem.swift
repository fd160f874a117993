/// One input line turned into a unit of work, ready to be stored in the checkpoint.
///
/// The body is kept as the JSON bytes of the request without its `model`, which
/// is spliced in per attempt so a fallback does not need to re-encode the body.
package struct PlannedItem: Sendable {
    package var fileIndex: Int
    package var line: Int
    /// The key users see in results: `custom_id` / `id`, else `file:line`.
    package var customID: String
    /// FNV-1a of the raw line, so a changed line can be told from an unchanged one.
    package var lineHash: UInt64
    package var endpoint: String
    package var model: String?
    package var body: [UInt8]
    /// Per-line gateway settings as JSON (`LineOverrides`), nil when the line has none.
    package var overrides: [UInt8]?
    /// The line's `metadata`, echoed in the results and never sent.
    package var metadata: [UInt8]?
    /// Set when the line cannot become a request; the item is then recorded as failed.
    package var problem: InputProblem?
    /// Which of the accepted line shapes the line had (nil for a bad line), for `validate`.
    package var shape: LineShape? = nil
    /// The line asked to be sent live (`"mode": "live"`) even when the job uses provider batches.
    package var live = false
}

/// The line shapes `ItemParser` accepts.
package enum LineShape: String, Sendable, CaseIterable {
    /// `{"custom_id", "method", "url", "body"}`, as the OpenAI Batch API takes.
    case batch
    /// `{"messages": [...], ...}`.
    case chat
    /// `{"prompt": "text", "system"?: "text"}`.
    case prompt
    /// Any JSON object or CSV row, filling the job's template.
    case record
    /// `{"prompt_id"?: ..., "inputs": {...}}`: Floopy's server-side prompt.
    case promptInputs = "prompt_inputs"
}
