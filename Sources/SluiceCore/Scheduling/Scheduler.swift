import Foundation
import Logging
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
package final class Scheduler: Sendable {
    package struct Settings: Sendable {
        package var maxAttemptsPerModel: Int
        package var timeoutSeconds: Double
        package var policy: RetryPolicy
        /// Items held at once, in flight or waiting for a retry (bounds memory).
        package var maxItemsHeld: Int
        /// Embedding items packed into one request (`--embed-batch`); 1 sends each on its own.
        package var embedBatch = 1
        /// An item refused with a longer Retry-After (and no job-wide pause) comes back at the next free slot instead.
        package var maxRetryAfter: Double

        package init(
            maxAttemptsPerModel: Int, timeoutSeconds: Double, maxItemsHeld: Int, embedBatch: Int = 1,
            maxRetryAfter: Double = RetryAfter.defaultCap, policy: RetryPolicy = RetryPolicy()
        ) {
            self.embedBatch = max(1, embedBatch)
            self.maxRetryAfter = maxRetryAfter
            self.maxAttemptsPerModel = maxAttemptsPerModel
            self.timeoutSeconds = timeoutSeconds
            self.maxItemsHeld = max(maxItemsHeld, 1)
            self.policy = policy
        }

        /// Room for the items in flight plus as many waiting to retry (at least 1,024).
        package static func itemsHeld(concurrency: Int) -> Int { concurrency + max(3 * concurrency, 1024) }
    }

    /// What the scheduler works with, built by the job runner.
    package struct Parts: Sendable {
        package var transport: GatewayTransport
        package var builder: RequestBuilder
        package var recorder: CheckpointRecorder
        package var pacing: Pacing
        /// Nil with `--no-circuit-breaker`.
        package var breaker: CircuitBreaker?
        /// Nil without `--max-cost`.
        package var spend: SpendGuard?
        /// Checks answers asked to be JSON; nil when nothing is asked.
        package var answers: AnswerChecker?
        /// Dedup and `--reuse`; nil when both are off.
        package var sharing: AnswerSharing?
        package var run: RunContext

        package init(
            transport: GatewayTransport, builder: RequestBuilder, recorder: CheckpointRecorder, pacing: Pacing, breaker: CircuitBreaker?,
            spend: SpendGuard? = nil, answers: AnswerChecker? = nil, sharing: AnswerSharing? = nil, run: RunContext
        ) {
            self.transport = transport
            self.builder = builder
            self.recorder = recorder
            self.pacing = pacing
            self.breaker = breaker
            self.spend = spend
            self.answers = answers
            self.sharing = sharing
            self.run = run
        }
    }

    let settings: Settings
    let parts: Parts
    private let held: ConcurrencyLimiter
    private let outcomes: OutcomeBuilder
    /// Set once any HTTP answer arrives: until then, connection failures mean
    /// the gateway is unreachable rather than that an item is bad.
    let reachedGateway = Atomic<Bool>(false)

    package init(settings: Settings, parts: Parts) {
        self.settings = settings
        self.parts = parts
        held = ConcurrencyLimiter(limit: settings.maxItemsHeld)
        outcomes = OutcomeBuilder(redactor: parts.run.redactor, profile: parts.builder.profile)
    }

    /// Returns when the feed is exhausted and every item's task has ended, or when the run is stopping and
    /// the in-flight items' tasks have ended (or were cancelled). Outcomes they handed over may still be on
    /// their way to the checkpoint: the recorder, stopped after the dispatcher, commits them before it ends.
    package func run(feed: ItemFeed) async throws {
        let control = parts.run.control
        func stopping() -> Bool { control.isStopping }
        try await withThrowingDiscardingTaskGroup { group in
            while !stopping() {
                guard await held.acquire() else { break }
                guard await parts.pacing.gate.waitUntilOpen(), await parts.pacing.limiter.acquire() else {
                    held.release()
                    break
                }
                let next = stopping() ? nil : try await feed.next()
                guard let item = next, !stopping() else {
                    // Stopped while the feed was waiting for the planner: give the item back.
                    if let item = next { parts.recorder.record(.released(item.id, attempts: item.previousAttempts)) }
                    parts.pacing.limiter.release()
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

    /// One item from its first attempt to its outcome. Starts holding a request slot and an item permit
    /// (taken by `run`); `DispatchStateMachine` decides each step, this performs it.
    private func process(_ item: DispatchItem) async {
        let plan = parts.builder.plan(for: item)
        var attempts = ItemAttempts(chain: plan.chain, maxAttemptsPerModel: settings.maxAttemptsPerModel, policy: settings.policy)
        var machine = DispatchStateMachine()
        let digest = AnswerSharing.digest(endpoint: item.endpoint, model: plan.chain[0], body: item.body)
        defer {
            machine.stopped()
            cleanUp(item, machine.cleanup, attempts: attempts.attempts, digest: digest)
        }
        if let sharing = parts.sharing, item.members == nil {
            guard await share(item, digest: digest, sharing: sharing, machine: &machine) else { return }
        }
        // What is sent: the item, or after a re-ask with the reason its conversation so far. Sharing, the digest and
        // the outcome stay the item's own request, so identical requests still share the accepted answer.
        var asked = item
        while true {
            if machine.needsSlot {
                guard await parts.pacing.gate.waitUntilOpen(), await parts.pacing.limiter.acquire() else { return }
                machine.slotAcquired()
            }
            guard await parts.pacing.gate.waitUntilOpen(), !Task.isCancelled else { return }
            machine.askBudget()
            let request = parts.builder.request(for: asked, plan: plan, modelIndex: attempts.modelIndex)
            guard let answer = await attempt(request, item: item, attempts: &attempts, machine: &machine) else { return }
            switch answer.after {
            case .stopUnreachable:
                // Not the item's fault: leave it pending and stop, so nothing is marked failed.
                parts.run.control.stop(
                    .error(
                        SluiceError(
                            .unreachable,
                            "cannot reach the gateway at \(parts.builder.baseURL) (\(parts.run.redactor.scrub(answer.result.failureMessage))) after \(attempts.attempts) attempts. Nothing was lost; check --base-url and run again to resume."
                        )))
                return
            case .settle:
                // The slot is given back once the outcome is committed (by the recorder, or by the cleanup after a
                // wait), so that the answers a kill can lose (in flight, or received and not yet committed) are never
                // more than the concurrency.
                var outcome = outcomes.outcome(for: item, attempts: attempts, request: request, result: answer.result, summary: answer.summary)
                if outcome.succeeded { outcome.requestDigest = digest }
                guard answer.holdEnds <= .now else {
                    await conclude(outcome, item: item, attempts: attempts.attempts, digest: digest, leading: answer.leading, permanent: answer.permanent)
                    machine.committed()
                    _ = await holdSlot(until: answer.holdEnds)
                    return
                }
                // No adaptive hold left (the common case): the recorder gives both back after the commit, and no task waits for it.
                machine.handedOver()
                let (limiter, held) = (parts.pacing.limiter, held)
                conclude(outcome, item: item, attempts: attempts.attempts, digest: digest, leading: answer.leading, permanent: answer.permanent) {
                    limiter.release()
                    held.release()
                }
                return
            case .stopJob(let cause):
                parts.run.control.stop(.error(cause.error(result: answer.result, baseURL: parts.builder.baseURL, redactor: parts.run.redactor)))
                return
            case .retry(let after, let rateLimited, let earlyOnRoom):
                // How full the gateway was when it refused (this request included). Under half of that it has room
                // again: the end of a job, not the moments in a busy one when a slot is free while the next item is
                // fetched (waking at one below the level sent items back early there: 5.9 % refused at K = 200, against 2 %).
                // The slots in use (held ones included): an over-estimate of the requests on the wire, which read low
                // on a loaded client (others finish while it reads the refusal, or while a request waits for a connection).
                let refusedAt = earlyOnRoom ? parts.pacing.limiter.inUse : nil
                if let invalid = answer.reask, let text = invalid.text, let reask = parts.answers?.reask,
                    let next = reask.body(for: asked.body, endpoint: item.endpoint, answer: text, reason: invalid.reason)
                {
                    asked.body = next
                }
                guard await holdSlot(until: answer.holdEnds) else { return }
                parts.pacing.limiter.release()
                machine.slotGivenBack()
                guard
                    await waitToRetry(
                        item, after: after, rateLimited: rateLimited, refusedAt: refusedAt, fellBack: answer.fellBack,
                        model: attempts.model)
                else { return }
            }
        }
    }

    /// Dedup and `--reuse`: an earlier or identical request's answer settles the item (false: nothing more to do);
    /// else this item leads. Waiting holds no request slot.
    private func share(_ item: DispatchItem, digest: UInt64, sharing: AnswerSharing, machine: inout DispatchStateMachine) async -> Bool {
        var resolution = sharing.quickResolve(digest: digest, endpoint: item.endpoint, body: item.body)
        if resolution == nil {
            parts.pacing.limiter.release()
            machine.waitForSharedAnswer()
            resolution = await sharing.resolve(digest: digest, endpoint: item.endpoint, body: item.body)
        }
        switch resolution ?? .lead {
        case .answer(let answer, let source):
            parts.run.counters.update { if source.hasPrefix("reuse:") { $0.reused += 1 } else { $0.deduplicated += 1 } }
            machine.sharedAnswer()
            parts.recorder.record(.finished(OutcomeBuilder.shared(answer, source: source, item: item, digest: digest)))
            return false
        case .lead:
            machine.lead()
            return true
        }
    }

    /// Counts the retry and waits it out without a slot; false when the run stopped meanwhile. `refusedAt`: how many
    /// were in flight when a refusal that may be a concurrency cap's came (see `waitOutRefusal`).
    private func waitToRetry(_ item: DispatchItem, after: Double, rateLimited: Bool, refusedAt: Int?, fellBack: Bool, model: String) async -> Bool {
        parts.run.counters.update {
            $0.retries += 1
            if rateLimited { $0.rateLimited += 1 }
            if fellBack { $0.fallbacksUsed += 1 }
        }
        parts.run.logger.debug("retrying item", metadata: ["custom_id": "\(item.customID)", "after_s": "\(after)", "model": "\(model)"])
        // A job-wide pause (if the monitor called one) also holds back this item.
        guard after > 0 else { return true }
        parts.run.counters.update { $0.retrying += 1 }
        let completed: Bool
        if let refusedAt, let adaptive = parts.pacing.adaptive {
            completed = await waitOutRefusal(seconds: after, refusedAt: refusedAt, adaptive: adaptive)
        } else {
            completed = await parts.run.control.sleep(seconds: after)
        }
        parts.run.counters.update { $0.retrying -= 1 }
        return completed
    }

    /// A refusal's wait that ends early once the gateway has room again (under half as many in flight as at the refusal,
    /// and a slot nobody queues for: the end of a job, not a busy moment), if by then adaptive concurrency knows the
    /// refusal for a concurrency cap's, whose Retry-After says nothing about when a place frees (LiteLLM answers
    /// "the next minute"). Without it a job's last refused items waited that out on an idle gateway.
    private func waitOutRefusal(seconds: Double, refusedAt: Int, adaptive: AdaptiveConcurrency) async -> Bool {
        let (control, limiter) = (parts.run.control, parts.pacing.limiter)
        let deadline = ContinuousClock.now + .seconds(seconds)
        let roomFirst = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = await control.sleep(seconds: seconds)
                return false
            }
            group.addTask {
                await limiter.waitForRoom(below: refusedAt / 2)
                return !Task.isCancelled
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard !control.isStopping else { return false }
        guard roomFirst, !adaptive.refusedAtTheCap(inFlight: refusedAt) else { return true }
        // Room, but not a cap's refusal: an upstream's Retry-After is waited out whole.
        return await control.sleep(seconds: (deadline - .now).inSeconds)
    }

    /// What the item's task undoes as it ends, however it ends (see `DispatchStateMachine.Cleanup`).
    private func cleanUp(_ item: DispatchItem, _ cleanup: DispatchStateMachine.Cleanup, attempts: Int, digest: UInt64) {
        if cleanup.abandonSharing { parts.sharing?.finish(digest: digest, endpoint: item.endpoint, body: item.body, answer: nil) }
        if cleanup.releaseSlot { parts.pacing.limiter.release() }
        if cleanup.releaseItems {
            for member in item.members ?? [item] {
                parts.recorder.record(.released(member.id, attempts: member.previousAttempts + attempts))
            }
        }
        if cleanup.releaseItemPermit { held.release() }
    }

    func isUnreachable(_ result: GatewayResult) -> Bool {
        guard case .failure(let failure) = result, failure.kind == .connection else { return false }
        return !reachedGateway.load(ordering: .relaxed)
    }
}
