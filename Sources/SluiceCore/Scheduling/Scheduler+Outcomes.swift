import Foundation

/// What one attempt's answer means beyond its item: its cost (for `--max-cost` and the history), the
/// refusal monitor's and adaptive concurrency's view of it, how a packed embedding request's outcome
/// is split back into its items, and how a final outcome reaches the checkpoint.
extension Scheduler {
    /// A final outcome: a request waiting for the same answer gets it, and the checkpoint has committed it
    /// (through the circuit breaker) before this returns, while the caller still holds the request slot.
    func conclude(_ outcome: ItemOutcome, item: DispatchItem, attempts: Int, digest: UInt64, leading: Bool, permanent: Bool) async {
        let committed = hand(outcome, item: item, attempts: attempts, digest: digest, leading: leading)
        await parts.recorder.recordAndWait(committed.events.flatMap { settlement(of: $0, permanent: permanent) })
        committed.then()
    }

    /// The same, without waiting: `letGo` (giving back what the caller holds) runs once the outcome is committed.
    func conclude(
        _ outcome: ItemOutcome, item: DispatchItem, attempts: Int, digest: UInt64, leading: Bool, permanent: Bool,
        letGo: @escaping @Sendable () -> Void
    ) {
        let committed = hand(outcome, item: item, attempts: attempts, digest: digest, leading: leading)
        let then = committed.then
        parts.recorder.record(committed.events.flatMap { settlement(of: $0, permanent: permanent) }) {
            then()
            letGo()
        }
    }

    /// Shares the answer with identical requests waiting on it; the outcomes to commit (one per member of a packed
    /// request) and what to do once they are committed.
    private func hand(
        _ outcome: ItemOutcome, item: DispatchItem, attempts: Int, digest: UInt64, leading: Bool
    )
        -> (events: [ItemOutcome], then: @Sendable () -> Void)
    {
        let sharing = leading ? parts.sharing : nil
        let answer = outcome.succeeded ? OutcomeBuilder.sharable(outcome, item: item) : nil
        sharing?.finish(digest: digest, endpoint: item.endpoint, body: item.body, answer: answer)
        let final = item.members.map { Self.unpacked(outcome, members: $0, attempts: attempts) } ?? [outcome]
        // Once committed, an identical request finds the answer in the checkpoint; memory need not keep it.
        let succeeded = outcome.succeeded
        return (final, { if succeeded { sharing?.committed(digest: digest) } })
    }

    /// Holds the request slot until `end` (adaptive concurrency's hold); false when the run is stopping.
    func holdSlot(until end: ContinuousClock.Instant) async -> Bool {
        let left = end - .now
        guard left > .zero else { return true }
        return await parts.run.control.sleep(seconds: left.inSeconds)
    }

    /// What a final outcome puts in the checkpoint, through the circuit breaker when it is a permanent
    /// failure: the breaker may hold it back, commit earlier ones with it, or trip (and stop the run).
    private func settlement(of outcome: ItemOutcome, permanent: Bool) -> [CheckpointEvent] {
        guard let breaker = parts.breaker else { return [.finished(outcome)] }
        guard permanent, !outcome.succeeded else {
            return breaker.otherOutcome().map { .finished($0) } + [.finished(outcome)]
        }
        switch breaker.permanentFailure(outcome, signature: OutcomeBuilder.signature(of: outcome)) {
        case .held:
            return []
        case .commit(let earlier):
            return earlier.map { .finished($0) }
        case .tripped(let heldBack, let signature, let sample):
            parts.run.control.stop(
                .error(
                    SluiceError(
                        .repeatedFailure,
                        "the last \(breaker.threshold) items all failed the same way (\(signature): \(parts.run.redactor.scrub(sample))). "
                            + "The job stopped instead of failing every item; those items are pending again. Fix the cause and run the same command to resume "
                            + "(--no-circuit-breaker turns this check off).")))
            return heldBack.map { .released($0.id, attempts: $0.attempts) }
        }
    }

    /// Outcomes the circuit breaker still holds when dispatching ends: real failures when
    /// every item ran; when the run stopped (a signal, another error) they may be the start
    /// of a run of identical failures, so they go back to pending rather than fail.
    package func settleHeldFailures() {
        let held = parts.breaker?.drain() ?? []
        if parts.run.control.isStopping {
            held.forEach { parts.recorder.record(.released($0.id, attempts: $0.attempts)) }
        } else {
            held.forEach { parts.recorder.record(.finished($0)) }
        }
    }

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
            cost = parts.run.prices.cost(
                model: model, prompt: summary.promptTokens ?? 0, completion: summary.completionTokens ?? 0, cached: summary.cachedTokens ?? 0)
        }
        if let hold { parts.spend?.settle(hold, actualCost: cost) }
        let response: GatewayResponse? = if case .response(let response) = result { response } else { nil }
        let failure: GatewayFailure? = if case .failure(let failure) = result { failure } else { nil }
        let errorClass: ErrorClass? =
            verdict == .success ? nil : ErrorClass.of(badLine: false, httpStatus: response?.status, errorCode: failure?.kind.rawValue)
        parts.run.counters.update { stats in
            if let response {
                stats.latencySumMilliseconds += response.latencySeconds * 1000
                stats.latencyCount += 1
            }
            if let errorClass { stats.errors[errorClass, default: 0] += 1 }
        }
        parts.run.metrics?.attemptFinished(
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
        /// A 429 that adaptive concurrency may come to explain as a concurrency cap's (it did not pause the job).
        var mayBeTheCap = false
    }

    /// Feeds one HTTP answer to the refusal monitor and adaptive concurrency.
    func react(
        to response: GatewayResponse, limits: RateLimitHeaders, item: DispatchItem,
        sentAt: ContinuousClock.Instant, next: ItemAttempts.Next
    ) -> Reaction {
        let refused = response.status == 429
        if refused { parts.run.counters.update { $0.refusals += 1 } }
        // Only a refusal's wait is read: a success must not pay for a random backoff draw.
        let wait: Double
        if !refused {
            wait = 0
        } else if case .retry(let after, _) = next {
            wait = after
        } else {
            wait = limits.retryAfter ?? settings.policy.backoff(retry: 1)
        }
        // With a local budget sluice paces itself: a budget near zero is then expected, not a reason to stop.
        // With adaptive concurrency, refusals that fewer requests in flight cure are its to handle, whatever their Retry-After.
        let reaction = parts.pacing.monitor.observe(
            status: response.status, limits: limits, item: item.id, wait: wait,
            pacedLocally: parts.pacing.budget.isLimited, concurrencyExplains: refused && parts.pacing.adaptive?.refusalsFollowLoad == true)
        var jobLimit = false
        var outcome = Reaction()
        if case .pauseJob(let seconds, let reason) = reaction {
            outcome.pausedJob = true
            if parts.pacing.gate.pause(for: seconds, reason: reason) {
                parts.run.counters.update { $0.jobPauses += 1 }
                parts.run.logger.info("pausing every request for \(String(format: "%.1f", seconds)) s: \(reason)")
            }
            jobLimit = limits.isExhausted
        }
        // A 5xx is a fault, not a rate signal: it neither refuses nor counts as accepted.
        guard let adaptive = parts.pacing.adaptive, response.status < 500 else { return outcome }
        // A budget at zero is a rate limit, which the pause handles: fewer requests
        // in flight would not send fewer per minute, only recover more slowly after.
        let answer: AdaptiveConcurrency.Answer
        if refused {
            answer = jobLimit ? .budgetLow : .refused
        } else {
            // With a local budget sluice paces itself; "remaining is low" is then expected, not a warning.
            answer = !parts.pacing.budget.isLimited && limits.isLow ? .budgetLow : .accepted
        }
        // Answered when the body was in, not after sluice's own work on it: on a loaded machine that work would
        // make requests answered one after another look in flight together.
        outcome.slotHold = adaptive.record(answer, sentAt: sentAt, now: sentAt + .seconds(response.latencySeconds))
        outcome.mayBeTheCap = answer == .refused && !outcome.pausedJob
        parts.run.counters.update { $0.concurrencyLimit = adaptive.currentLimit }
        return outcome
    }
}
