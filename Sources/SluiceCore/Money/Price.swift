/// What one model costs, in US dollars per million tokens, as a provider lists it.
package struct Price: Codable, Sendable, Equatable {
    package var input: Double
    package var output: Double
    /// Prompt tokens the provider served from its cache (`usage.prompt_tokens_details.cached_tokens`); `input` when not listed.
    package var cachedInput: Double?
    /// What a provider batch (issue: batch mode) costs as a share of the live price.
    package var batch: Double?

    package init(input: Double, output: Double, cachedInput: Double? = nil, batch: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        self.batch = batch
    }

    enum CodingKeys: String, CodingKey {
        case input, output, batch
        case cachedInput = "cached_input"
    }

    /// The cost of one answer's usage.
    package func cost(prompt: Int, completion: Int, cached: Int = 0) -> Double {
        let cachedTokens = min(max(cached, 0), prompt)
        return (Double(prompt - cachedTokens) * input + Double(cachedTokens) * (cachedInput ?? input) + Double(completion) * output) / 1_000_000
    }
}
