import Foundation

/// `sluice status` for a person: the same figures as `--json`, a section a line.
extension JobStatus {
    package func text() -> String {
        var lines: [String] = []
        var head = "job \"\(job)\" · \(state)"
        if let pid { head += " (pid \(pid))" }
        lines.append(head + " · checkpoint \(checkpoint)")

        var itemLine = "items      \(items.total) total · \(items.succeeded) succeeded · \(items.failed) failed"
        if items.badInput > 0 { itemLine += " (\(items.badInput) bad input)" }
        itemLine += " · \(items.pending) pending · \(items.inFlight) in flight"
        lines.append(itemLine)

        var progressLine = "progress   \(progress.done)/\(progress.total)\(progress.planningComplete ? "" : "+ (still reading the input)")"
        progressLine += String(format: " · %.1f%%", progress.fraction * 100)
        if let rate = progress.itemsPerSecond { progressLine += String(format: " · %.1f items/s over the last 5 min", rate) }
        if let eta = progress.etaSeconds { progressLine += " · ETA \(ProgressReporter.duration(eta))" }
        lines.append(progressLine)

        var tokenLine = "tokens     \(tokens.prompt) prompt"
        if tokens.cachedPrompt > 0 { tokenLine += " (\(tokens.cachedPrompt) cached)" }
        lines.append(tokenLine + " + \(tokens.completion) completion")

        var costLine = "cost       \(ProgressReporter.dollars(cost.totalUSD)) at the job's prices"
        if !cost.unpricedModels.isEmpty { costLine += " · no price for \(cost.unpricedModels.joined(separator: ", "))" }
        if cost.batchItems > 0 {
            costLine += " · \(cost.batchItems) items through provider batches saved \(ProgressReporter.dollars(cost.batchSavingsUSD))"
        }
        lines.append(costLine)
        for model in cost.byModel {
            let dollars = model.costUSD.map(ProgressReporter.dollars) ?? "no price"
            lines.append(
                "  \(model.model.padding(toLength: max(model.model.count, 24), withPad: " ", startingAt: 0)) \(model.items) items · "
                    + "\(model.promptTokens) + \(model.completionTokens) tokens · \(dollars)")
        }

        if latencyMS.count > 0, let p50 = latencyMS.p50, let p90 = latencyMS.p90, let p99 = latencyMS.p99, let max = latencyMS.max {
            lines.append(
                "latency    p50 \(Self.milliseconds(p50)) · p90 \(Self.milliseconds(p90)) · p99 \(Self.milliseconds(p99)) · max \(Self.milliseconds(max)) "
                    + "(\(latencyMS.count) answers)")
        } else {
            lines.append("latency    no answers yet")
        }
        if streaming.count > 0, let p50 = streaming.firstTokenP50, let p90 = streaming.firstTokenP90 {
            var line = "streaming  first token p50 \(Self.milliseconds(p50)) · p90 \(Self.milliseconds(p90))"
            if let speed = streaming.tokensPerSecondP50 { line += String(format: " · %.0f tokens/s median", speed) }
            lines.append(line + " (\(streaming.count) streamed answers)")
        }
        lines.append("requests   \(requests.attempts) attempts · \(requests.retries) retries · \(requests.fallbacks) items answered by a fallback")
        if !answeredBy.isEmpty {
            lines.append(
                "answered   "
                    + answeredBy.map { $0.asFallback > 0 ? "\($0.model) \($0.items) (\($0.asFallback) as fallback)" : "\($0.model) \($0.items)" }
                    .joined(separator: " · "))
        }
        var cacheLine = String(format: "cache      %d hits (%.1f%% of succeeded items)", cache.hits, cache.hitRate * 100)
        if cache.deduplicated + cache.reused > 0 {
            cacheLine += " · \(cache.deduplicated) answers shared within the job, \(cache.reused) reused from earlier jobs"
        }
        lines.append(cacheLine)
        if let queue = batchQueue {
            var line = "batches    \(queue.enqueuedTokens) tokens enqueued in \(queue.openBatches) open batch\(queue.openBatches == 1 ? "" : "es")"
            line += queue.limit.map { " · limit \($0) (\(queue.limitSource ?? "given"))" } ?? " · limit not known yet"
            lines.append(line + " · \(queue.refusedBatches) refused for the enqueued-token limit")
        }
        if let batches, !batches.isEmpty {
            // The open ones and the latest ones: a long job's hundreds of batches are in --json and the report.
            let latestFinished = Set(batches.indices.filter { batches[$0].state == "done" }.suffix(Self.finishedBatchesShown))
            let shown = batches.indices.filter { batches[$0].state != "done" || latestFinished.contains($0) }.map { batches[$0] }
            let hidden = batches.count - shown.count
            for (index, batch) in shown.enumerated() {
                lines.append((index == 0 ? "batch      " : "           ") + batch.line)
            }
            if hidden > 0 { lines.append("           and \(hidden) earlier finished batches (status --json or sluice report lists every one)") }
        }
        if errors.isEmpty {
            lines.append("errors     none")
        } else {
            for (index, group) in errors.enumerated() {
                let label = index == 0 ? "errors     " : "           "
                lines.append("\(label)\(group.errorClass) \(group.count) · e.g. \(group.sampleItem): \(group.sample)")
            }
        }
        for (index, property) in properties.enumerated() {
            let label = index == 0 ? "properties " : "           "
            lines.append(
                "\(label)\(property.name)=\(property.value) · \(property.items) items · \(property.succeeded) succeeded · \(property.failed) failed · "
                    + "\(property.promptTokens) + \(property.completionTokens) tokens · \(ProgressReporter.dollars(property.costUSD))")
        }
        return lines.joined(separator: "\n")
    }

    /// Finished batches listed by the text status (the open ones always are).
    static let finishedBatchesShown = 10

    /// `840 ms`, `1.25 s`.
    static func milliseconds(_ value: Double) -> String {
        value < 1000 ? String(format: "%.0f ms", value) : String(format: "%.2f s", value / 1000)
    }
}
