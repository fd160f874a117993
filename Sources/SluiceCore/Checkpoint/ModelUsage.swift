/// Tokens answered by one model over a job, for costs: each answering model is
/// billed at its own price (a fallback model at the fallback's).
package struct ModelUsage: Sendable, Equatable {
    package var model: String
    package var items: Int
    package var promptTokens: Int
    package var completionTokens: Int
    package var cachedTokens: Int
    /// Answered through a provider batch, billed at the model's batch share of its price.
    package var batch: Bool

    package init(model: String, items: Int, promptTokens: Int, completionTokens: Int, cachedTokens: Int, batch: Bool = false) {
        self.batch = batch
        self.model = model
        self.items = items
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
    }

    package func cost(in prices: PriceTable) -> Double? {
        guard let live = liveCost(in: prices) else { return nil }
        return batch ? live * prices.batchShare(for: model) : live
    }

    /// What the same tokens cost as live requests: the batch discount is the difference.
    package func liveCost(in prices: PriceTable) -> Double? {
        prices.cost(model: model, prompt: promptTokens, completion: completionTokens, cached: cachedTokens)
    }
}

extension Array where Element == ModelUsage {
    /// The cost of every model that has a price; the models without one are named apart.
    package func cost(in prices: PriceTable) -> (dollars: Double, unpriced: [String]) {
        var dollars = 0.0
        var unpriced: [String] = []
        for usage in self {
            if let cost = usage.cost(in: prices) { dollars += cost } else if usage.promptTokens + usage.completionTokens > 0 { unpriced.append(usage.model) }
        }
        return (dollars, Set(unpriced).sorted())
    }

    /// What answering through provider batches saved against live prices.
    package func batchSavings(in prices: PriceTable) -> Double {
        filter(\.batch).reduce(0) { sum, usage in sum + ((usage.liveCost(in: prices) ?? 0) - (usage.cost(in: prices) ?? 0)) }
    }
}
