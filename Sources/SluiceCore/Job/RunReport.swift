import Foundation

/// What a run did, for the summary, the exit code and tests.
package struct RunReport: Sendable {
    package var jobName: String
    package var counts: ItemCounts
    package var stats: RunStats
    /// Items already finished before this run started (not sent again).
    package var skipped: Int
    package var recoveredInFlight: Int
    package var requeuedFailed: Int
    package var elapsedSeconds: Double
    package var written: ResultsPublisher.Written?
    /// A shared job completed, and another worker (this id) writes the results.
    package var publishedBy: String?
    package var resultsPath: String
    package var errorsPath: String
    package var checkpointPath: String
    package var inputErrors: [String]
    package var problems: [InputProblemRecord]
    package var stopReason: RunControl.StopReason?
    /// What every answer of the job cost at its prices, and the answering models without a price.
    package var totalCost = 0.0
    package var unpricedModels: [String] = []
    /// What provider batches saved against live prices, over the whole job.
    package var batchSavings = 0.0

    /// 0 all succeeded; 1 some items failed or an input was damaged; 2 usage,
    /// configuration or authentication error; 3 the `--max-cost` cap was reached;
    /// 130/143 interrupted or cancelled (resumable).
    package var exitCode: Int32 {
        switch stopReason {
        case .signal(let number): return 128 + number
        case .error(let error): return error.exitCode
        case nil: return counts.failed > 0 || !inputErrors.isEmpty || counts.pending + counts.inFlight > 0 ? 1 : 0
        }
    }

    package var summary: String {
        var lines: [String] = []
        let state: String
        switch stopReason {
        case .signal(let number): state = "interrupted by \(number == SIGINT ? "SIGINT" : "SIGTERM")"
        case .error(let error) where error.code == .cancelled: state = "cancelled"
        case .error(let error) where error.code == .costCap: state = "stopped at the cost cap"
        case .error: state = "stopped"
        case nil: state = "finished"
        }
        lines.append("sluice: job \"\(jobName)\" \(state) in \(String(format: "%.1f", elapsedSeconds)) s")
        var items = "  items      \(counts.total) total · \(counts.succeeded) succeeded · \(counts.failed) failed"
        if counts.invalidInput > 0 { items += " (\(counts.invalidInput) bad input line\(counts.invalidInput == 1 ? "" : "s"))" }
        if counts.pending + counts.inFlight > 0 { items += " · \(counts.pending + counts.inFlight) not yet done" }
        items += " · \(skipped) skipped (done in earlier runs)"
        lines.append(items)
        let rate = Double(stats.requestsSent) / max(elapsedSeconds, 0.001)
        var requests = "  requests   \(stats.requestsSent) sent (\(stats.answered) answered"
        if stats.unanswered > 0 { requests += ", \(stats.unanswered) without an answer" }
        requests += ") · \(stats.retries) retries · \(stats.fallbacksUsed) fallbacks · \(stats.refusals) refused with 429"
        if stats.jobPauses > 0 { requests += " (\(stats.jobPauses) job-wide pause\(stats.jobPauses == 1 ? "" : "s"))" }
        requests += " · \(String(format: "%.1f", rate)) req/s · concurrency \(stats.concurrencyLimit)"
        lines.append(requests)
        if stats.batchesCreated + stats.batchesFinished > 0 {
            var line =
                "  batches    \(stats.batchesCreated) created, \(stats.batchesFinished) finished in this run · \(stats.batchLinesAnswered) items answered in batches"
            if stats.batchesRefused > 0 || stats.enqueuedTokenLimit != nil {
                line += " · \(stats.batchesRefused) refused at the enqueued-token limit (lines not charged)"
                if let limit = stats.enqueuedTokenLimit { line += ", limit \(limit) tokens" }
            }
            if stats.sentLiveForDeadline > 0 {
                let took = stats.batchTurnaround.map { String(format: "%.0f s", $0) } ?? "unknown"
                line += " · \(stats.sentLiveForDeadline) items sent live instead: batches took up to \(took), more than was left before --deadline"
            }
            if stats.batchesOpen > 0 { line += " · \(stats.batchesOpen) still open at the gateway (\(stats.itemsInBatches) items; run again to collect them)" }
            if batchSavings > 0 { line += " · saved \(ProgressReporter.dollars(batchSavings)) against live prices" }
            lines.append(line)
        }
        if stats.deduplicated + stats.reused > 0 {
            lines.append(
                "  shared     \(stats.deduplicated + stats.reused) requests not sent: \(stats.deduplicated) identical to another of this job, \(stats.reused) answered by a --reuse checkpoint"
            )
        }
        if stats.invalidAnswers > 0 {
            lines.append(
                "  answers    \(stats.invalidAnswers) not the JSON asked for (\(stats.invalidAnswersRetried) sent again, the rest failed as invalid_output)")
        }
        if counts.attempts != stats.requestsSent || counts.retries != stats.retries {
            lines.append("  attempts   \(counts.attempts) over every run of this job · \(counts.retries) retries")
        }
        lines.append("  tokens     \(counts.promptTokens) prompt + \(counts.completionTokens) completion")
        if totalCost > 0 || !unpricedModels.isEmpty {
            var cost = "  cost       \(ProgressReporter.dollars(totalCost)) at the job's prices (\(ProgressReporter.dollars(stats.cost)) in this run)"
            if !unpricedModels.isEmpty { cost += " · no price for \(unpricedModels.sorted().joined(separator: ", "))" }
            lines.append(cost)
        }
        if recoveredInFlight > 0 { lines.append("  resumed    \(recoveredInFlight) items that were in flight when the last run stopped were sent again") }
        if requeuedFailed > 0 { lines.append("  retried    \(requeuedFailed) previously failed items sent again") }
        if let written {
            lines.append("  results    \(resultsPath) (\(written.results) lines)")
            lines.append("  errors     \(errorsPath) (\(written.errors) lines)")
        }
        if let publishedBy { lines.append("  results    written by worker \(publishedBy) (sluice export writes them anywhere)") }
        lines.append("  checkpoint \(checkpointPath)")
        return lines.joined(separator: "\n")
    }
}
