/// The tokens sluice keeps enqueued in open provider batches, per model, under the gateway's limit
/// (OpenAI: `token_limit_exceeded` past it), so a large job waits for batches to finish instead of
/// burning its lines' attempts on refused creates.
///
/// The limit is `--batch-max-enqueued-tokens` when given, and otherwise learned: unknown until a create
/// is refused, then the tokens that were open and accepted at that create (what the gateway did take),
/// or half the refused file when nothing else was open (the file alone was too big). A learned limit
/// only goes down. No I/O here; `BatchDispatcher` asks and tells.
///
/// ```swift
/// var budget = EnqueuedTokenBudget(given: nil)
/// if budget.canOpen(tokens: file.tokens, model: file.model) { budget.opened(tokens: file.tokens, model: file.model) }
/// budget.refused(tokens: file.tokens, openTokens: openAtCreate, model: file.model)   // learns the limit
/// ```
package struct EnqueuedTokenBudget: Sendable, Equatable {
    /// `--batch-max-enqueued-tokens`: the same for every model.
    package let given: Int?
    /// Limits learned from refusals, by model.
    package private(set) var learned: [String: Int]
    /// Tokens of the open batches (created, not yet collected), by model.
    package private(set) var open: [String: Int] = [:]

    package init(given: Int?, learned: [String: Int] = [:]) {
        self.given = given
        self.learned = learned
    }

    /// The limit for `model`: the given one, lowered by what was learned; nil while nothing is known.
    package func limit(for model: String) -> Int? {
        switch (given, learned[model]) {
        case (let given?, let learned?): min(given, learned)
        case (let given?, nil): given
        case (nil, let learned?): learned
        case (nil, nil): nil
        }
    }

    /// The lowest limit of any model: what status shows when a job has one model, as most do.
    package var tightestLimit: Int? { (learned.values + (given.map { [$0] } ?? [])).min() }

    package var openTokens: Int { open.values.reduce(0, +) }

    package func openTokens(for model: String) -> Int { open[model] ?? 0 }

    /// Whether a batch of `tokens` may be created now. With nothing open a file always fits: packing keeps
    /// every file under the limit, so the budget can never wait for a batch that will not come.
    package func canOpen(tokens: Int, model: String) -> Bool {
        guard let limit = limit(for: model), openTokens(for: model) > 0 else { return true }
        return openTokens(for: model) + tokens <= limit
    }

    package mutating func opened(tokens: Int, model: String) {
        open[model, default: 0] += tokens
    }

    /// The batch was collected (whatever its end): its tokens no longer count.
    package mutating func closed(tokens: Int, model: String) {
        open[model] = max(openTokens(for: model) - tokens, 0)
    }

    /// The gateway refused a batch of `tokens` that was created while `openTokens` of the model's other
    /// batches were open. Returns the limit learned.
    @discardableResult
    package mutating func refused(tokens: Int, openTokens: Int, model: String) -> Int {
        let candidate = openTokens > 0 ? openTokens : max(tokens / 2, 1)
        let lowered = min(learned[model] ?? candidate, candidate)
        learned[model] = lowered
        return lowered
    }
}
