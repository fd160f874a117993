import Foundation

/// What one attempt's answer means beyond its item: its cost (for `--max-cost` and the history), the
/// refusal monitor's and adaptive concurrency's view of it, and how a packed embedding request's outcome
/// is split back into its items.
extension Scheduler {
    /// A packed embedding request's outcome, one per item: each its own vector and share of the usage,
    /// or each the same failure.
    static func unpacked(_ outcome: ItemOutcome, members: [DispatchItem], attempts: Int) -> [ItemOutcome] {
        var bodies: [[UInt8]]?
        if outcome.succeeded, let response = outcome.response {
            bodies = EmbeddingPacker.split(response, members: members)
        }
        return members.enumerated().map { index, member in
            var part = outcome
            part.id = member.id
            part.attempts = member.previousAttempts + attempts
            part.requestDigest = nil
            if let bodies {
                part.response = bodies[index]
                let summary = ResponseSummary(body: bodies[index])
                part.promptTokens = summary?.promptTokens
                part.totalTokens = summary?.totalTokens
                part.completionTokens = nil
            } else if outcome.succeeded {
                part.succeeded = false
                part.errorCode = GatewayFailure.Kind.invalidResponse.rawValue
                part.errorMessage = "the packed embeddings answer does not hold one vector per input (\(members.count) sent)"
            }
            return part
        }
    }

    /// What an attempt cost and how it failed, for `--max-cost`, the history and the report.
    func account(
        result: GatewayResult, summary: ResponseSummary?, request: GatewayRequest, verdict: AttemptVerdict, hold: SpendGuard.Reservation?,
        item: DispatchItem
    ) {
        let model = summary?.model ?? request.model
        var cost: Double?
        if let summary {
            cost = parts.prices.cost(
                model: model, prompt: summary.promptTokens ?? 0, completion: summary.completionTokens ?? 0, cached: summary.cachedTokens ?? 0)
        }
        if let hold { parts.spend?.settle(hold, actualCost: cost) }
        let response: GatewayResponse? = if case .response(let response) = result { response } else { nil }
        let failure: GatewayFailure? = if case .failure(let failure) = result { failure } else { nil }
        let errorClass: ErrorClass? =
            verdict == .success ? nil : ErrorClass.of(badLine: false, httpStatus: response?.status, errorCode: failure?.kind.rawValue)
        parts.counters.update { stats in
            if let response {
                stats.latencySumMilliseconds += response.latencySeconds * 1000
                stats.latencyCount += 1
            }
            if let errorClass { stats.errors[errorClass, default: 0] += 1 }
        }
        parts.metrics?.attemptFinished(
            model: model, outcome: errorClass?.rawValue ?? "success", latency: response.map { .seconds($0.latencySeconds) },
            promptTokens: summary?.promptTokens ?? 0, completionTokens: summary?.completionTokens ?? 0, cachedTokens: summary?.cachedTokens ?? 0,
            cost: cost, overrides: item.overrides)
    }

    func costCapError(_ spend: SpendGuard, model: String) -> SluiceError {
        let spent = String(format: "%.4f", spend.spent)
        return SluiceError(
            .costCap,
            "the cost cap of $\(String(format: "%.2f", spend.cap)) is reached: $\(spent) spent at the job's prices, and the next request "
                + "(\(model)) could cost more than is left. The job stopped with its items pending; run again with a higher --max-cost to continue.")
    }

    /// What an answer did beyond its item.
    struct Reaction {
        /// The answer paused the whole job (or extended its pause).
        var pausedJob = false
        /// How much longer the request slot is held.
        var slotHold = Duration.zero
    }

    /// Feeds one HTTP answer to the refusal monitor and adaptive concurrency.
    func react(
        to response: GatewayResponse, limits: RateLimitHeaders, item: DispatchItem,
        sentAt: ContinuousClock.Instant, next: ItemAttempts.Next
    ) -> Reaction {
        let refused = response.status == 429
        if refused { parts.counters.update { $0.refusals += 1 } }
        let wait: Double
        if case .retry(let after, _) = next, refused { wait = after } else { wait = limits.retryAfter ?? settings.policy.backoff(retry: 1) }
        // With a local budget sluice paces itself: a budget near zero is then expected, not a reason to stop.
        // With adaptive concurrency, refusals that fewer requests in flight cure are its to handle, whatever their Retry-After.
        let reaction = parts.monitor.observe(
            status: response.status, limits: limits, item: item.id, wait: wait,
            pacedLocally: parts.budget.isLimited, concurrencyExplains: parts.adaptive?.refusalsFollowLoad ?? false)
        var jobLimit = false
        var outcome = Reaction()
        if case .pauseJob(let seconds, let reason) = reaction {
            outcome.pausedJob = true
            if parts.gate.pause(for: seconds, reason: reason) {
                parts.counters.update { $0.jobPauses += 1 }
                parts.logger.info("pausing every request for \(String(format: "%.1f", seconds)) s: \(reason)")
            }
            jobLimit = limits.isExhausted
        }
        // A 5xx is a fault, not a rate signal: it neither refuses nor counts as accepted.
        guard let adaptive = parts.adaptive, response.status < 500 else { return outcome }
        // A budget at zero is a rate limit, which the pause handles: fewer requests
        // in flight would not send fewer per minute, only recover more slowly after.
        let answer: AdaptiveConcurrency.Answer
        if refused {
            answer = jobLimit ? .budgetLow : .refused
        } else {
            // With a local budget sluice paces itself; "remaining is low" is then expected, not a warning.
            answer = !parts.budget.isLimited && limits.isLow ? .budgetLow : .accepted
        }
        // Answered when the body was in, not after sluice's own work on it: on a loaded machine that work would
        // make requests answered one after another look in flight together.
        outcome.slotHold = adaptive.record(answer, sentAt: sentAt, now: sentAt + .seconds(response.latencySeconds))
        parts.counters.update { $0.concurrencyLimit = adaptive.currentLimit }
        return outcome
    }
}
