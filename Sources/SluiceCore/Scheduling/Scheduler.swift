import Foundation
import Logging
import NIOConcurrencyHelpers

/// Runs pending items through the gateway: at most `concurrency` requests in
/// flight, retries and fallbacks per `ItemAttempts`, a job-wide pause on 429,
/// and every outcome handed to the checkpoint.
///
/// Reading is back-pressured by the permits: the next item is taken from the
/// feed only once a request slot is free.
public final class Scheduler: @unchecked Sendable {
    public struct Settings: Sendable {
        public var maxAttemptsPerModel: Int
        public var timeoutSeconds: Double
        public var policy: RetryPolicy

        public init(maxAttemptsPerModel: Int, timeoutSeconds: Double, policy: RetryPolicy = RetryPolicy()) {
            self.maxAttemptsPerModel = maxAttemptsPerModel
            self.timeoutSeconds = timeoutSeconds
            self.policy = policy
        }
    }

    private let settings: Settings
    private let transport: GatewayTransport
    private let builder: RequestBuilder
    private let recorder: CheckpointRecorder
    private let limiter: ConcurrencyLimiter
    private let adaptive: AdaptiveConcurrency?
    private let budget: RateBudget
    private let gate: RateGate
    private let control: RunControl
    private let counters: RunCounters
    private let redactor: Redactor
    private let logger: Logger
    private let baseURL: String
    /// Set once any HTTP answer arrives: until then, connection failures mean
    /// the gateway is unreachable rather than that an item is bad.
    private let reachedGateway = NIOLockedValueBox(false)

    public init(settings: Settings, transport: GatewayTransport, builder: RequestBuilder, recorder: CheckpointRecorder,
                limiter: ConcurrencyLimiter, adaptive: AdaptiveConcurrency?, budget: RateBudget,
                control: RunControl, counters: RunCounters, redactor: Redactor, logger: Logger) {
        self.settings = settings
        self.transport = transport
        self.builder = builder
        self.recorder = recorder
        self.limiter = limiter
        self.adaptive = adaptive
        self.budget = budget
        self.gate = RateGate(control: control)
        self.control = control
        self.counters = counters
        self.redactor = redactor
        self.logger = logger
        baseURL = builder.baseURL
    }

    /// Returns when the feed is exhausted and every item has finished, or when
    /// the run is stopping and the in-flight items have finished (or were cancelled).
    public func run(feed: ItemFeed) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            while !control.isStopping {
                await limiter.acquire()
                guard !control.isStopping, let item = try await feed.next() else {
                    limiter.release()
                    break
                }
                group.addTask {
                    defer { self.limiter.release() }
                    await self.process(item)
                }
            }
        }
    }

    private func process(_ item: DispatchItem) async {
        let plan = builder.plan(for: item)
        var attempts = ItemAttempts(chain: plan.chain, maxAttemptsPerModel: settings.maxAttemptsPerModel, policy: settings.policy)
        recorder.record(.started(item.id))
        counters.update { $0.inFlight += 1 }
        var finished = false
        defer {
            counters.update { $0.inFlight -= 1 }
            if !finished { recorder.record(.released(item.id)) }
        }

        while true {
            guard await gate.waitUntilOpen(), !Task.isCancelled else { return }
            let modelIndex = attempts.begin()
            let request = builder.request(for: item, plan: plan, modelIndex: modelIndex)
            let estimate = budget.isLimited ? budget.estimate(bodyBytes: request.body.count) : 0
            guard await budget.acquire(tokens: estimate) else { return }
            counters.update { $0.requestsSent += 1 }
            let result = await transport.send(request, timeout: settings.timeoutSeconds)
            switch result {
            case .failure(let failure) where failure.kind == .cancelled: return
            case .response(let response):
                reachedGateway.withLockedValue { $0 = true }
                learn(from: response)
            case .failure: break
            }

            var verdict = settings.policy.verdict(for: result)
            var summary: ResponseSummary?
            var effectiveResult = result
            if verdict == .success, case .response(let response) = result {
                summary = ResponseSummary(body: response.body)
                budget.correct(estimated: estimate, actual: summary?.totalTokens, completion: summary?.completionTokens)
                if summary == nil {
                    effectiveResult = .failure(GatewayFailure(kind: .invalidResponse, message: "HTTP \(response.status) with a body that is not a JSON object",
                                                              latencySeconds: response.latencySeconds))
                    verdict = .retry(after: nil, rateLimited: false)
                }
            }

            switch attempts.finish(verdict) {
            case .failed where isUnreachable(effectiveResult):
                // Not the item's fault: leave it pending and stop, so nothing is marked failed.
                control.stop(.error(SluiceError(.unreachable, "cannot reach the gateway at \(baseURL) (\(redactor.scrub(failureMessage(effectiveResult)))) after \(attempts.attempts) attempts. Nothing was lost; check --base-url and run again to resume.")))
                return
            case .succeeded, .failed:
                recorder.record(.finished(outcome(item, attempts: attempts, request: request, result: effectiveResult, summary: summary)))
                finished = true
                return
            case .stopJob:
                control.stop(.error(authenticationError(result)))
                return
            case .retry(let after, let rateLimited):
                counters.update {
                    $0.retries += 1
                    if rateLimited { $0.rateLimited += 1 }
                    if attempts.modelIndex != modelIndex { $0.fallbacksUsed += 1 }
                }
                logger.debug("retrying item", metadata: ["custom_id": "\(item.customID)", "after_s": "\(after)", "model": "\(attempts.model)"])
                if rateLimited {
                    gate.pause(for: after)
                } else if after > 0 {
                    counters.update { $0.retrying += 1 }
                    let completed = await control.sleep(seconds: after)
                    counters.update { $0.retrying -= 1 }
                    if !completed { return }
                }
            }
        }
    }

    /// Feeds the answer's rate-limit signals to adaptive concurrency.
    private func learn(from response: GatewayResponse) {
        guard let adaptive else { return }
        if response.status == 429 {
            adaptive.record(.throttled)
        } else if (200..<300).contains(response.status) {
            // With a local budget sluice paces itself; "remaining is low" is then expected, not a warning.
            let low = !budget.isLimited && AdaptiveConcurrency.budgetIsLow(response.header)
            adaptive.record(low ? .budgetLow : .success)
        }
        counters.update { $0.concurrencyLimit = adaptive.currentLimit }
    }

    private func isUnreachable(_ result: GatewayResult) -> Bool {
        guard case .failure(let failure) = result, failure.kind == .connection else { return false }
        return !reachedGateway.withLockedValue { $0 }
    }

    private func failureMessage(_ result: GatewayResult) -> String {
        if case .failure(let failure) = result { return failure.message }
        return ""
    }

    private func authenticationError(_ result: GatewayResult) -> SluiceError {
        guard case .response(let response) = result else { return SluiceError(.authentication, "the gateway refused the request") }
        let detail = redactor.scrub(ResponseSummary.errorMessage(in: response.body) ?? "")
        return SluiceError(.authentication, "the gateway refused the API key (HTTP \(response.status)\(detail.isEmpty ? "" : ": \(detail)")). The job stopped before sending more; fix the key and run again to resume.")
    }

    private func outcome(_ item: DispatchItem, attempts: ItemAttempts, request: GatewayRequest,
                         result: GatewayResult, summary: ResponseSummary?) -> ItemOutcome {
        var headersJSON: [UInt8] = [UInt8(ascii: "{")]
        for (index, header) in request.headers.enumerated() {
            if index > 0 { headersJSON.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(header.name, to: &headersJSON)
            headersJSON.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(header.value, to: &headersJSON)
        }
        headersJSON.append(UInt8(ascii: "}"))
        var outcome = ItemOutcome(id: item.id, succeeded: attempts.state == .succeeded,
                                  attempts: item.previousAttempts + attempts.attempts, headersSent: headersJSON,
                                  fallbacksUsed: attempts.fallbacksUsed, retries: attempts.retries)
        switch result {
        case .response(let response):
            outcome.httpStatus = response.status
            outcome.requestID = response.requestID
            outcome.latencyMilliseconds = response.latencySeconds * 1000
            outcome.response = redactor.scrub(response.body)
            outcome.answeredModel = response.header("floopy-model") ?? summary?.model ?? request.model
            outcome.provider = response.header("floopy-provider")
            if let summary {
                outcome.promptTokens = summary.promptTokens
                outcome.completionTokens = summary.completionTokens
                outcome.totalTokens = summary.totalTokens
            }
            if !outcome.succeeded {
                outcome.errorCode = ResponseSummary.errorCode(in: response.body) ?? "http_\(response.status)"
                outcome.errorMessage = redactor.scrub(ResponseSummary.errorMessage(in: response.body) ?? "HTTP \(response.status)")
            }
        case .failure(let failure):
            outcome.errorCode = failure.kind.rawValue
            outcome.errorMessage = redactor.scrub(failure.message)
            outcome.latencyMilliseconds = failure.latencySeconds * 1000
        }
        return outcome
    }
}
