import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs pending items through the gateway: at most `limiter` requests in
/// flight, retries and fallbacks per `ItemAttempts`, 429s judged by the
/// `RefusalMonitor`, and every outcome handed to the checkpoint.
///
/// A request slot is held while a request is on the wire and, for its last
/// answer, until the outcome is committed: so the answers a kill can lose (in
/// flight, or received but not committed) never outnumber the slots. An item
/// waiting out a Retry-After or a backoff gives its slot back, so a few slow
/// retries never starve the rest. Reading is back-pressured twice: a new item is taken
/// from the feed only once a request slot is free, and no more than
/// `maxItemsHeld` items (sending or waiting to retry) are held at once.
public final class Scheduler: Sendable {
    public struct Settings: Sendable {
        public var maxAttemptsPerModel: Int
        public var timeoutSeconds: Double
        public var policy: RetryPolicy
        /// Items held at once, in flight or waiting for a retry (bounds memory).
        public var maxItemsHeld: Int
        /// Embedding items packed into one request (`--embed-batch`); 1 sends each on its own.
        public var embedBatch = 1
        /// An item refused with a longer Retry-After (and no job-wide pause) comes back at the next free slot instead.
        public var maxRetryAfter: Double

        public init(
            maxAttemptsPerModel: Int, timeoutSeconds: Double, maxItemsHeld: Int, embedBatch: Int = 1,
            maxRetryAfter: Double = JobConfiguration.Defaults.maxRetryAfter, policy: RetryPolicy = RetryPolicy()
        ) {
            self.embedBatch = max(1, embedBatch)
            self.maxRetryAfter = maxRetryAfter
            self.maxAttemptsPerModel = maxAttemptsPerModel
            self.timeoutSeconds = timeoutSeconds
            self.maxItemsHeld = max(maxItemsHeld, 1)
            self.policy = policy
        }

        /// Room for the items in flight plus as many waiting to retry (at least 1,024).
        public static func itemsHeld(concurrency: Int) -> Int { concurrency + max(3 * concurrency, 1024) }
    }

    /// What the scheduler works with, built by the job runner.
    public struct Parts: Sendable {
        public var transport: GatewayTransport
        public var builder: RequestBuilder
        public var recorder: CheckpointRecorder
        public var limiter: ConcurrencyLimiter
        public var adaptive: AdaptiveConcurrency?
        public var budget: RateBudget
        public var gate: RateGate
        public var monitor: RefusalMonitor
        /// Nil with `--no-circuit-breaker`.
        public var breaker: CircuitBreaker?
        /// Nil without `--max-cost`.
        public var spend: SpendGuard?
        /// For each answer's cost (the spend guard, and the history).
        public var prices: PriceTable
        /// `--metrics`, nil without.
        public var metrics: RunMetrics?
        /// Checks answers asked to be JSON; nil when nothing is asked.
        public var answers: AnswerChecker?
        /// Dedup and `--reuse`; nil when both are off.
        public var sharing: AnswerSharing?
        public var control: RunControl
        public var counters: RunCounters
        public var redactor: Redactor
        public var logger: Logger

        public init(
            transport: GatewayTransport, builder: RequestBuilder, recorder: CheckpointRecorder, limiter: ConcurrencyLimiter,
            adaptive: AdaptiveConcurrency?, budget: RateBudget, gate: RateGate, monitor: RefusalMonitor, breaker: CircuitBreaker?,
            spend: SpendGuard? = nil, prices: PriceTable = PriceTable(), metrics: RunMetrics? = nil, answers: AnswerChecker? = nil,
            sharing: AnswerSharing? = nil,
            control: RunControl, counters: RunCounters, redactor: Redactor, logger: Logger
        ) {
            self.answers = answers
            self.sharing = sharing
            self.transport = transport
            self.builder = builder
            self.recorder = recorder
            self.limiter = limiter
            self.adaptive = adaptive
            self.budget = budget
            self.gate = gate
            self.monitor = monitor
            self.breaker = breaker
            self.spend = spend
            self.prices = prices
            self.metrics = metrics
            self.control = control
            self.counters = counters
            self.redactor = redactor
            self.logger = logger
        }
    }

    let settings: Settings
    let parts: Parts
    private let held: ConcurrencyLimiter
    private let outcomes: OutcomeBuilder
    /// Set once any HTTP answer arrives: until then, connection failures mean
    /// the gateway is unreachable rather than that an item is bad.
    private let reachedGateway = Atomic<Bool>(false)

    public init(settings: Settings, parts: Parts) {
        self.settings = settings
        self.parts = parts
        held = ConcurrencyLimiter(limit: settings.maxItemsHeld)
        outcomes = OutcomeBuilder(redactor: parts.redactor, profile: parts.builder.profile)
    }

    /// Returns when the feed is exhausted and every item has finished, or when
    /// the run is stopping and the in-flight items have finished (or were cancelled).
    public func run(feed: ItemFeed) async throws {
        let control = parts.control
        func stopping() -> Bool { control.isStopping || Task.isShuttingDownGracefully }
        try await withThrowingDiscardingTaskGroup { group in
            while !stopping() {
                guard await held.acquire() else { break }
                guard await parts.gate.waitUntilOpen(), await parts.limiter.acquire() else {
                    held.release()
                    break
                }
                let next = stopping() ? nil : try await feed.next()
                guard let item = next, !stopping() else {
                    // Stopped while the feed was waiting for the planner: give the item back.
                    if let item = next { parts.recorder.record(.released(item.id, attempts: item.previousAttempts)) }
                    parts.limiter.release()
                    held.release()
                    break
                }
                var dispatched = item
                if settings.embedBatch > 1, let key = EmbeddingPacker.packingKey(of: item) {
                    var packed = [item]
                    while packed.count < settings.embedBatch, let more = await feed.nextBuffered(where: { EmbeddingPacker.packingKey(of: $0) == key }) {
                        packed.append(more)
                    }
                    dispatched = EmbeddingPacker.pack(packed)
                }
                group.addTask { [dispatched] in await self.process(dispatched) }
            }
        }
    }

    /// One item from its first attempt to its outcome. Starts holding a request
    /// slot and an item permit (taken by `run`).
    private func process(_ item: DispatchItem) async {
        let parts = self.parts
        let plan = parts.builder.plan(for: item)
        var attempts = ItemAttempts(chain: plan.chain, maxAttemptsPerModel: settings.maxAttemptsPerModel, policy: settings.policy)
        var holdingSlot = true
        var settled = false
        var outputRetries = 0
        let digest = AnswerSharing.digest(endpoint: item.endpoint, model: plan.chain[0], body: item.body)
        var leading = false
        defer {
            if leading { parts.sharing?.finish(digest: digest, endpoint: item.endpoint, body: item.body, answer: nil) }
            if holdingSlot { parts.limiter.release() }
            if !settled {
                for member in item.members ?? [item] {
                    parts.recorder.record(.released(member.id, attempts: member.previousAttempts + attempts.attempts))
                }
            }
            held.release()
        }

        if let sharing = parts.sharing, item.members == nil {
            var resolution = sharing.quickResolve(digest: digest, endpoint: item.endpoint, body: item.body)
            if resolution == nil {
                // Waiting for an identical request, or for a checkpoint's answer, holds no request slot.
                parts.limiter.release()
                holdingSlot = false
                resolution = await sharing.resolve(digest: digest, endpoint: item.endpoint, body: item.body)
            }
            switch resolution ?? .lead {
            case .answer(let answer, let source):
                parts.counters.update { if source.hasPrefix("reuse:") { $0.reused += 1 } else { $0.deduplicated += 1 } }
                settled = true
                parts.recorder.record(.finished(OutcomeBuilder.shared(answer, source: source, item: item, digest: digest)))
                return
            case .lead:
                leading = true
            }
        }

        while true {
            if !holdingSlot {
                guard await parts.gate.waitUntilOpen(), await parts.limiter.acquire() else { return }
                holdingSlot = true
            }
            guard await parts.gate.waitUntilOpen(), !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
            let request = parts.builder.request(for: item, plan: plan, modelIndex: attempts.modelIndex)
            let estimate = parts.budget.isLimited ? parts.budget.estimate(bodyBytes: request.body.count) : 0
            guard await parts.budget.acquire(tokens: estimate) else { return }
            var hold: SpendGuard.Reservation?
            if let spend = parts.spend {
                guard parts.prices.price(for: request.model) != nil else {
                    parts.control.stop(
                        .error(
                            SluiceError(
                                .configuration,
                                "--max-cost needs a price for every model it may pay for, and \(request.model) (item \(item.customID)) has none: "
                                    + "give one with --price \(request.model)=IN,OUT or the job file's \"prices\", then run again to resume.")))
                    return
                }
                let maxTokens = RequestBuilder.maxCompletionTokens(in: request.body)
                guard let reservation = spend.reserve(model: request.model, promptTokens: request.body.count / 4, maxCompletionTokens: maxTokens) else {
                    parts.control.stop(.error(costCapError(spend, model: request.model)))
                    return
                }
                hold = reservation
            }
            let modelIndex = attempts.begin()
            parts.metrics?.requestSent(model: request.model, overrides: item.overrides)
            parts.counters.update {
                $0.requestsSent += 1
                $0.inFlight += 1
            }
            let sentAt = ContinuousClock.now
            let result = await parts.transport.send(request, timeout: settings.timeoutSeconds)
            parts.counters.update {
                $0.inFlight -= 1
                if case .response = result { $0.answered += 1 } else { $0.unanswered += 1 }
            }

            var limits: RateLimitHeaders?
            var summary: ResponseSummary?
            var effective = result
            var invalidAnswer = false
            switch result {
            case .failure(let failure) where failure.kind == .cancelled:
                return
            case .response(let response):
                reachedGateway.store(true, ordering: .relaxed)
                // Read through the profile: a gateway may rename the wait (LiteLLM's llm_provider-retry-after).
                limits = parts.builder.profile.rateLimits(response.header)
                if (200..<300).contains(response.status) {
                    summary = ResponseSummary(body: response.body)
                    parts.budget.correct(estimated: estimate, actual: summary?.totalTokens, completion: summary?.completionTokens)
                    if summary == nil {
                        effective = .failure(
                            GatewayFailure(
                                kind: .invalidResponse, message: "HTTP \(response.status) with a body that is not a JSON object",
                                latencySeconds: response.latencySeconds))
                    } else if let problem = parts.answers?.check(request: request.body, response: response.body) {
                        invalidAnswer = true
                        effective = .failure(GatewayFailure(kind: .invalidOutput, message: problem, latencySeconds: response.latencySeconds))
                    }
                }
            case .failure:
                break
            }

            var verdict = settings.policy.verdict(for: effective, limits: limits)
            if invalidAnswer {
                // The same request again: sampling makes another answer likely to differ.
                let again = outputRetries < (parts.answers?.outputRetries ?? 0)
                outputRetries += 1
                verdict = again ? .retry(after: 0, rateLimited: false) : .fail
                parts.counters.update {
                    $0.invalidAnswers += 1
                    if again { $0.invalidAnswersRetried += 1 }
                }
            }
            var next = attempts.finish(verdict)
            account(result: effective, summary: summary, request: request, verdict: verdict, hold: hold, item: item)
            var reaction = Reaction()
            if case .response(let response) = result, let limits {
                reaction = react(to: response, limits: limits, item: item, sentAt: sentAt, next: next)
            }
            // The slot is held a little longer when adaptive concurrency asks (see AdaptiveConcurrency).
            let holdEnds = ContinuousClock.now + reaction.slotHold
            if case .retry(let after, true) = next, !reaction.pausedJob {
                // A refusal's Retry-After is its item's alone: honoured up to --max-retry-after, past it the next free slot.
                next = .retry(after: after > settings.maxRetryAfter ? 0 : max(after - reaction.slotHold.inSeconds, 0), rateLimited: true)
            }

            switch next {
            case .failed where isUnreachable(effective):
                // Not the item's fault: leave it pending and stop, so nothing is marked failed.
                parts.control.stop(
                    .error(
                        SluiceError(
                            .unreachable,
                            "cannot reach the gateway at \(parts.builder.baseURL) (\(parts.redactor.scrub(effective.failureMessage))) after \(attempts.attempts) attempts. Nothing was lost; check --base-url and run again to resume."
                        )))
                return
            case .succeeded, .failed:
                settled = true
                let lead = leading
                leading = false
                // The slot is given back (by the defer) once the outcome is committed, so that the answers a kill
                // can lose (in flight, or received and not yet committed) are never more than the concurrency.
                var outcome = outcomes.outcome(for: item, attempts: attempts, request: request, result: effective, summary: summary)
                if outcome.succeeded { outcome.requestDigest = digest }
                await conclude(outcome, item: item, attempts: attempts.attempts, digest: digest, leading: lead, permanent: verdict.isPermanentFailure)
                _ = await holdSlot(until: holdEnds)
                return
            case .stopJob(let cause):
                parts.control.stop(.error(cause.error(result: effective, baseURL: parts.builder.baseURL, redactor: parts.redactor)))
                return
            case .retry(let after, let rateLimited):
                guard await holdSlot(until: holdEnds) else { return }
                parts.limiter.release()
                holdingSlot = false
                parts.counters.update {
                    $0.retries += 1
                    if rateLimited { $0.rateLimited += 1 }
                    if attempts.modelIndex != modelIndex { $0.fallbacksUsed += 1 }
                }
                parts.logger.debug("retrying item", metadata: ["custom_id": "\(item.customID)", "after_s": "\(after)", "model": "\(attempts.model)"])
                // Waiting holds no request slot; a job-wide pause (if the monitor called one) also holds back this item.
                if after > 0 {
                    parts.counters.update { $0.retrying += 1 }
                    let completed = await parts.control.sleep(seconds: after)
                    parts.counters.update { $0.retrying -= 1 }
                    if !completed { return }
                }
            }
        }
    }

    private func isUnreachable(_ result: GatewayResult) -> Bool {
        guard case .failure(let failure) = result, failure.kind == .connection else { return false }
        return !reachedGateway.load(ordering: .relaxed)
    }
}
