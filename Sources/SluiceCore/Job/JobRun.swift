import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The run itself: the job's services in one `ServiceGroup`.
///
/// In start order (the group stops them in reverse, each after the one before
/// has ended): the signal watcher, the checkpoint recorder, the results
/// publisher, the planner, the dispatcher, the progress line. The dispatcher's
/// end (every item done, or the run stopping for an error) shuts the group
/// down gracefully; so does the first SIGINT/SIGTERM, through the watcher. The
/// graceful shutdown is given `--grace` seconds, then the group cancels what is
/// left (requests in flight are abandoned and their items released).
struct JobRun {
    let configuration: JobConfiguration
    let options: RunOptions
    let logger: Logger
    let control: RunControl
    let transport: GatewayTransport
    let apiKey: String?

    struct Outcome {
        var stats: RunStats
        var elapsedSeconds: Double
        var inputErrors: [String]
        var learnedLimit: Int?
    }

    func run(_ job: JobPreparation.PreparedJob, preparation: JobPreparation, publisher: ResultsPublisher) async throws -> Outcome {
        let store = job.store
        let counters = RunCounters()
        counters.update { $0.concurrencyLimit = configuration.concurrency }
        let feed = ItemFeed(store: store, planningDone: !job.needsPlanning)
        let recorder = CheckpointRecorder(store: store, counters: counters, control: control)
        let limiter = ConcurrencyLimiter(limit: configuration.concurrency)
        let adaptive = try await makeAdaptiveConcurrency(limiter: limiter, store: store, counters: counters)
        let gate = RateGate(control: control)
        let scheduler = Scheduler(
            settings: .init(
                maxAttemptsPerModel: configuration.maxAttempts, timeoutSeconds: configuration.timeoutSeconds,
                maxItemsHeld: Scheduler.Settings.itemsHeld(concurrency: configuration.concurrency)),
            parts: .init(
                transport: transport,
                builder: RequestBuilder(baseURL: configuration.baseURL, defaultModel: configuration.model, settings: configuration.gateway),
                recorder: recorder, limiter: limiter, adaptive: adaptive,
                budget: RateBudget(
                    requestsPerMinute: configuration.requestsPerMinute, tokensPerMinute: configuration.tokensPerMinute,
                    control: control, burstSeconds: 0),
                gate: gate, monitor: RefusalMonitor(), breaker: configuration.circuitBreaker ? CircuitBreaker() : nil,
                control: control, counters: counters, redactor: Redactor(secret: apiKey), logger: logger))

        let planningErrors = Mutex<[String]>([])
        let planner = preparation.planner(
            for: job,
            onBatch: { planned, problems in
                counters.update {
                    $0.planned += planned; $0.plannedInvalid += problems
                }
                await feed.itemsPlanned()
            },
            onEnd: { report in
                planningErrors.withLock { $0 = report.inputErrors }
                logger.debug("planning finished after \(String(format: "%.3f", counters.elapsedSeconds)) s: \(report.planned) items")
                await feed.planningFinished()
            })

        let group = GroupHandle()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            // Names, not descriptions: the group logs them, and a description could print a service's fields.
            .init(
                service: SignalWatcher(control: control, graceSeconds: options.graceSeconds) { await group.triggerGracefulShutdown() },
                successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "signals"),
            .init(service: recorder, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "checkpoint"),
            .init(service: publisher, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "results"),
        ]
        if job.needsPlanning {
            services.append(
                .init(
                    service: planner, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup,
                    serviceName: "planner"))
        }
        services.append(
            .init(
                service: DispatchService(scheduler: scheduler, feed: feed, recorder: recorder, control: control),
                successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup,
                serviceName: "dispatcher"))
        if options.showProgress {
            services.append(
                .init(
                    service: ProgressReporter(counters: counters, baseline: job.baseline, plainInterval: options.progressInterval) { gate.currentPause },
                    successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore, serviceName: "progress"))
        }
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(options.graceSeconds)
        let serviceGroup = ServiceGroup(configuration: groupConfiguration)
        group.set(serviceGroup)

        do {
            try await serviceGroup.run()
        } catch {
            control.stop(.error(error as? SluiceError ?? SluiceError(.checkpoint, "\(error)")))
        }
        // Items released after the recorder stopped (the grace period ran out) are committed here.
        await recorder.commitRemaining()
        await transport.shutdown()
        logger.debug(
            "checkpoint flushed and connections closed after \(String(format: "%.3f", counters.elapsedSeconds)) s; largest commit \(recorder.largestBatch) events"
        )

        if let adaptive {
            // Workers update the shown limit as answers arrive, possibly out of order; settle it here.
            counters.update { $0.concurrencyLimit = adaptive.currentLimit }
            try? await store.setValue(String(adaptive.currentLimit), forKey: Self.learnedLimitKey)
        }
        return Outcome(
            stats: counters.snapshot, elapsedSeconds: counters.elapsedSeconds,
            inputErrors: planningErrors.withLock { $0 }, learnedLimit: adaptive?.currentLimit)
    }

    static let learnedLimitKey = "learned_concurrency"

    /// Adaptive concurrency starts where the last run of this job left it (never
    /// above the current `--concurrency`), and remembers what it learns.
    private func makeAdaptiveConcurrency(limiter: ConcurrencyLimiter, store: any CheckpointStore, counters: RunCounters) async throws -> AdaptiveConcurrency? {
        guard configuration.adaptiveConcurrency else { return nil }
        let learned = try await store.value(forKey: Self.learnedLimitKey).flatMap(Int.init)
        if let learned, learned < configuration.concurrency {
            logger.info("starting at the concurrency learned by the last run: \(learned) (ceiling \(configuration.concurrency))")
        }
        let adaptive = AdaptiveConcurrency(limiter: limiter, ceiling: configuration.concurrency, start: learned ?? configuration.concurrency) { limit in
            Task { try? await store.setValue(String(limit), forKey: Self.learnedLimitKey) }
        }
        counters.update { $0.concurrencyLimit = adaptive.currentLimit }
        return adaptive
    }
}

/// The group, for the signal watcher that must start its graceful shutdown
/// (the group is built from the services, the watcher among them).
private final class GroupHandle: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)

    func set(_ serviceGroup: ServiceGroup) { group.withLock { $0 = serviceGroup } }

    func triggerGracefulShutdown() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }
}
