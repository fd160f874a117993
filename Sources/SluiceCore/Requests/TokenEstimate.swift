/// What a request may cost in tokens before the gateway has said: its prompt at about 4 bytes a token,
/// and the most its answer may take (`max_tokens`, `max_completion_tokens` or `max_output_tokens`, else
/// `defaultOutputCap`).
///
/// One rule for the live `--tpm` budget, the `--max-cost` worst case and the batch enqueued-token budget,
/// so the three never disagree about the same request. Providers count a batch's enqueued tokens the
/// same way (prompt plus the answer's cap), which is why the batch budget takes `total`.
///
/// ```swift
/// let estimate = TokenEstimate(body: request.body)
/// budget.canOpen(tokens: estimate.total)
/// ```
package struct TokenEstimate: Sendable, Equatable {
    /// The answer assumed for a request that sets no cap (a worst case, not a guess).
    package static let defaultOutputCap = 4096

    package var prompt: Int
    /// The request's own cap on its answer; nil when it sets none.
    package var outputCap: Int?

    package init(prompt: Int, outputCap: Int?) {
        self.prompt = prompt
        self.outputCap = outputCap
    }

    /// Reads the cap from the body's top-level members; the body is not decoded otherwise.
    package init(body: [UInt8]) {
        self.init(prompt: Self.promptTokens(bodyBytes: body.count), outputCap: RequestBuilder.maxCompletionTokens(in: body))
    }

    /// About 4 bytes of JSON a token: cheap, and close enough for budgets corrected by the real usage.
    package static func promptTokens(bodyBytes: Int) -> Int { bodyBytes / 4 }

    /// The answer's worst case.
    package var output: Int { outputCap ?? Self.defaultOutputCap }

    /// Prompt plus the answer's worst case: what a provider counts as enqueued.
    package var total: Int { prompt + output }
}
