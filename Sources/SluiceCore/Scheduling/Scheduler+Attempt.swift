import Foundation

/// One attempt of an item: the rate budget and the spend guard, the request on the wire, and what its
/// answer means (through `RetryPolicy`, `ItemAttempts` and the dispatch state machine).
extension Scheduler {
    /// What one attempt came to, for `process`.
    struct Attempted {
        var after: DispatchStateMachine.AfterAnswer
        /// The result as judged: a 2xx whose body is no JSON object, or not the JSON asked for, is a failure.
        var result: GatewayResult
        var summary: ResponseSummary?
        /// A failure that no retry can cure, which the circuit breaker counts.
        var permanent: Bool
        /// Until when adaptive concurrency wants the slot held.
        var holdEnds: ContinuousClock.Instant
        /// This item was answering for identical requests when its answer came.
        var leading: Bool
        var fellBack: Bool
        /// The answer that is being asked again and why it failed the check; nil unless this is a re-ask.
        var reask: InvalidAnswer? = nil
    }

    /// An answer that is not the JSON asked for: its text, which a re-ask hands back, and the checker's message.
    struct InvalidAnswer {
        var text: String?
        var reason: String
    }

    /// The result as judged, before the retry policy reads it.
    private struct Judged {
        var effective: GatewayResult
        var limits: RateLimitHeaders?
        var summary: ResponseSummary?
        var invalidAnswer = false
        var invalidText: String?
    }

    /// Sends one attempt and judges its answer; nil when the item must stop here (the budget or the spend
    /// guard refused, the item's lease may have lapsed, or the request was cancelled).
    func attempt(
        _ request: GatewayRequest, item: DispatchItem, attempts: inout ItemAttempts, machine: inout DispatchStateMachine
    ) async -> Attempted? {
        let estimate = parts.pacing.budget.isLimited ? parts.pacing.budget.estimate(TokenEstimate(body: request.body)) : 0
        guard await parts.pacing.budget.acquire(tokens: estimate) else { return nil }
        // A shared job: the lease may have lapsed while the item waited (a backoff, a slot, the budget, the checkpoint
        // unreachable), and another worker may have taken the item and stored its outcome. Not sent then: the item's
        // cleanup gives it back, a release fenced like any outcome (nothing changes if it is another worker's now).
        // (No array of one for an item alone: this runs for every attempt.)
        guard item.members?.allSatisfy({ parts.recorder.maySend($0.id) }) ?? parts.recorder.maySend(item.id) else {
            parts.run.logger.debug("lease may have lapsed: item not sent, given back", metadata: ["custom_id": "\(item.customID)"])
            return nil
        }
        var hold: SpendGuard.Reservation?
        if let spend = parts.spend {
            guard let reservation = reserve(spend, for: request, item: item) else { return nil }
            hold = reservation
        }
        let modelIndex = attempts.begin()
        machine.sent()
        parts.run.metrics?.requestSent(model: request.model, overrides: item.overrides)
        parts.run.counters.update {
            $0.requestsSent += 1
            $0.inFlight += 1
        }
        let sentAt = ContinuousClock.now
        let result = await parts.transport.send(request, timeout: settings.timeoutSeconds)
        parts.run.counters.update {
            $0.inFlight -= 1
            if case .response = result { $0.answered += 1 } else { $0.unanswered += 1 }
        }
        if case .failure(let failure) = result, failure.kind == .cancelled { return nil }

        let judged = judge(result, request: request, estimate: estimate)
        let (verdict, reasked) = machine.verdict(
            settings.policy.verdict(for: judged.effective, limits: judged.limits), invalidAnswer: judged.invalidAnswer,
            allowedReasks: parts.answers?.outputRetries ?? 0)
        if let reasked {
            parts.run.counters.update {
                $0.invalidAnswers += 1
                if reasked { $0.invalidAnswersRetried += 1 }
            }
        }
        let next = attempts.finish(verdict)
        account(result: judged.effective, summary: judged.summary, request: request, verdict: verdict, hold: hold, item: item)
        var reaction = Reaction()
        if case .response(let response) = result, let limits = judged.limits {
            reaction = react(to: response, limits: limits, item: item, sentAt: sentAt, next: next)
        }
        // The slot is held a little longer when adaptive concurrency asks (see AdaptiveConcurrency).
        let holdEnds = ContinuousClock.now + reaction.slotHold
        let leading = machine.leading
        let fellBack = attempts.modelIndex != modelIndex
        let after = machine.answered(
            next, unreachable: isUnreachable(judged.effective), pausedJob: reaction.pausedJob, mayBeTheCap: reaction.mayBeTheCap, reasked: reasked == true,
            fellBack: fellBack, slotHold: reaction.slotHold.inSeconds, maxRetryAfter: settings.maxRetryAfter)
        var attempted = Attempted(
            after: after, result: judged.effective, summary: judged.summary, permanent: verdict.isPermanentFailure, holdEnds: holdEnds,
            leading: leading, fellBack: fellBack)
        if reasked == true { attempted.reask = InvalidAnswer(text: judged.invalidText, reason: judged.effective.failureMessage) }
        return attempted
    }

    /// Reads an answer: its rate-limit headers (through the profile: a gateway may rename the wait, as LiteLLM's
    /// llm_provider-retry-after), its usage, and whether it is what was asked for.
    private func judge(_ result: GatewayResult, request: GatewayRequest, estimate: Int) -> Judged {
        var judged = Judged(effective: result)
        guard case .response(let response) = result else { return judged }
        reachedGateway.store(true, ordering: .relaxed)
        judged.limits = parts.builder.profile.rateLimits(response.header)
        guard (200..<300).contains(response.status) else { return judged }
        let summary = ResponseSummary(body: response.body)
        judged.summary = summary
        parts.pacing.budget.correct(estimated: estimate, actual: summary?.totalTokens, completion: summary?.completionTokens)
        if summary == nil {
            judged.effective = .failure(
                GatewayFailure(
                    kind: .invalidResponse, message: "HTTP \(response.status) with a body that is not a JSON object", latencySeconds: response.latencySeconds))
        } else if let problem = parts.answers?.check(request: request.body, response: response.body) {
            judged.invalidAnswer = true
            judged.invalidText = AnswerChecker.answerText(of: response.body)
            judged.effective = .failure(GatewayFailure(kind: .invalidOutput, message: problem, latencySeconds: response.latencySeconds))
        }
        return judged
    }

    /// `--max-cost`: room for this request's worst case, or the job stops (nil).
    private func reserve(_ spend: SpendGuard, for request: GatewayRequest, item: DispatchItem) -> SpendGuard.Reservation? {
        guard parts.run.prices.price(for: request.model) != nil else {
            parts.run.control.stop(
                .error(
                    SluiceError(
                        .configuration,
                        "--max-cost needs a price for every model it may pay for, and \(request.model) (item \(item.customID)) has none: "
                            + "give one with --price \(request.model)=IN,OUT or the job file's \"prices\", then run again to resume.")))
            return nil
        }
        let tokens = TokenEstimate(body: request.body)
        guard let reservation = spend.reserve(model: request.model, promptTokens: tokens.prompt, maxCompletionTokens: tokens.outputCap) else {
            parts.run.control.stop(.error(costCapError(spend, model: request.model)))
            return nil
        }
        return reservation
    }
}
