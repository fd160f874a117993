/// `--max-cost` in batch modes: a batch is created only if the job's spend so far, plus the worst case of
/// every open batch and live request, plus its own stays under the cap. A batch's worst case is every
/// line's prompt and answer cap (`TokenEstimate`) at the model's batch price; it is released when the batch
/// is collected, as the checkpoint counts what its answers really cost.
extension BatchDispatcher {
    /// What `--max-cost` says of a batch file about to be submitted.
    enum SpendDecision {
        /// No cost cap.
        case noCap
        /// Its worst case does not fit while batches are open: wait for them (their answers show what they cost).
        case wait
        /// Its worst case is held until it is collected.
        case reserved(SpendGuard.Reservation)

        var reservation: SpendGuard.Reservation? {
            if case .reserved(let reservation) = self { return reservation }
            return nil
        }
    }

    /// Throws when the cap is reached with nothing open (the job stops, its items pending) or the model has no price.
    func reserveSpend(for file: BatchFile, open: Int) throws -> SpendDecision {
        guard let spend = parts.spend else { return .noCap }
        guard let worst = worstCase(model: file.model, promptTokens: file.promptTokens, totalTokens: file.tokens) else {
            throw SluiceError(.costCap, "--max-cost needs a price for \(file.model), the model of a batch file: give one with --price \(file.model)=IN,OUT")
        }
        if let reservation = spend.reserve(worstCase: worst) { return .reserved(reservation) }
        guard open == 0 else {
            parts.run.logger.debug("a batch of \(file.items.count) lines could cost $\(worst) at worst: waiting for the open batches under --max-cost")
            return .wait
        }
        let spent = String(format: "%.4f", spend.spent)
        throw SluiceError(
            .costCap,
            "the cost cap of $\(String(format: "%.2f", spend.cap)) is reached: $\(spent) spent at the job's prices, and the next batch "
                + "(\(file.items.count) lines of \(file.model), at most $\(String(format: "%.4f", worst)) at the batch price) could cost more than is left. "
                + "The job stopped with its items pending; run again with a higher --max-cost to continue.")
    }

    /// A file's worst case at the batch price: its prompt tokens at the input price, the rest (the answers'
    /// caps) at the output price. Nil when the model has no price.
    func worstCase(model: String, promptTokens: Int, totalTokens: Int) -> Double? {
        let prices = parts.run.prices
        return prices.cost(model: model, prompt: promptTokens, completion: totalTokens - promptTokens).map { $0 * prices.batchShare(for: model) }
    }
}
