/// Prices by model: a small built-in table of common models (dated in
/// docs/money.md), overridden by the job file's `prices` and by `--price`. The one
/// place money is worked out, for the progress line, the summary, `status`,
/// `validate`, the report and `--max-cost`.
///
/// ```swift
/// let prices = PriceTable(overrides: ["gpt-4o-mini": Price(input: 0.15, output: 0.60)])
/// let dollars = prices.cost(model: "gpt-4o-mini-2024-07-18", prompt: 1200, completion: 80)   // the dated name finds its model
/// ```
package struct PriceTable: Sendable, Equatable {
    /// List prices per million tokens, as published on 2026-11-01 (docs/money.md). A job file's
    /// `prices` wins over these; they are a convenience, not a bill.
    package static let builtIn: [String: Price] = [
        "gpt-4o": Price(input: 2.50, output: 10.00, cachedInput: 1.25, batch: 0.5),
        "gpt-4o-mini": Price(input: 0.15, output: 0.60, cachedInput: 0.075, batch: 0.5),
        "gpt-4.1": Price(input: 2.00, output: 8.00, cachedInput: 0.50, batch: 0.5),
        "gpt-4.1-mini": Price(input: 0.40, output: 1.60, cachedInput: 0.10, batch: 0.5),
        "gpt-4.1-nano": Price(input: 0.10, output: 0.40, cachedInput: 0.025, batch: 0.5),
        "o3-mini": Price(input: 1.10, output: 4.40, cachedInput: 0.55, batch: 0.5),
        "o4-mini": Price(input: 1.10, output: 4.40, cachedInput: 0.275, batch: 0.5),
        "text-embedding-3-small": Price(input: 0.02, output: 0, batch: 0.5),
        "text-embedding-3-large": Price(input: 0.13, output: 0, batch: 0.5),
        "claude-sonnet-4": Price(input: 3.00, output: 15.00, cachedInput: 0.30, batch: 0.5),
        "claude-3-5-haiku": Price(input: 0.80, output: 4.00, cachedInput: 0.08, batch: 0.5),
        "claude-opus-4": Price(input: 15.00, output: 75.00, cachedInput: 1.50, batch: 0.5),
        "gemini-2.5-flash": Price(input: 0.30, output: 2.50, cachedInput: 0.075, batch: 0.5),
        "gemini-2.5-pro": Price(input: 1.25, output: 10.00, cachedInput: 0.31, batch: 0.5),
    ]

    package let prices: [String: Price]
    /// The names lowercased, longest first: `price(for:)` runs for every answer, so the table is not
    /// lowercased and filtered each time.
    private let prefixes: [(name: String, price: Price)]

    package init(overrides: [String: Price] = [:], includeBuiltIn: Bool = true) {
        prices = (includeBuiltIn ? Self.builtIn : [:]).merging(overrides) { _, job in job }
        prefixes = prices.map { (name: $0.key.lowercased(), price: $0.value) }
            .sorted { $0.name.count != $1.name.count ? $0.name.count > $1.name.count : $0.name < $1.name }
    }

    package static func == (left: PriceTable, right: PriceTable) -> Bool { left.prices == right.prices }

    /// The price of a model by its exact name, else the longest listed name it starts with
    /// (`gpt-4o-mini-2024-07-18` is `gpt-4o-mini`, `claude-sonnet-4-20250514` is `claude-sonnet-4`).
    package func price(for model: String) -> Price? {
        if let exact = prices[model] { return exact }
        let lowered = model.lowercased()
        return prefixes.first { lowered.hasPrefix($0.name) }?.price
    }

    /// Nil when the model has no price.
    /// A provider batch's price as a share of the live one: the model's `batch`, else half (OpenAI's and
    /// Anthropic's batch discount).
    package func batchShare(for model: String) -> Double { price(for: model)?.batch ?? 0.5 }

    package func cost(model: String, prompt: Int, completion: Int, cached: Int = 0) -> Double? {
        price(for: model)?.cost(prompt: prompt, completion: completion, cached: cached)
    }
}
