import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The run itself: the job's services in one `ServiceGroup`.
///
/// In start order (the group stops them in reverse, each after the one before
/// has ended): the signal watcher, the checkpoint recorder, the results
/// publisher, the planner, the dispatcher, the progress line. The dispatcher's
/// end shuts the group down gracefully: every item done, or the run stopping
/// (a signal, a refused key...), in which case the dispatcher first gives the
/// requests in flight `--grace` seconds, then cancels them and releases their
/// items. No other service ends on its own before it is told to: a service
/// that ends while the group stops another makes the group cancel everything.
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
        let redactor = try runRedactor()
        let counters = RunCounters()
        let prices = configuration.priceTable
        let metrics = options.metrics.map { RunMetrics(labelProperties: $0.labelProperties, jobProperties: configuration.gateway.properties) }
        let run = RunContext(control: control, counters: counters, redactor: redactor, logger: logger, prices: prices, metrics: metrics)
        let logger = run.logger
        for warning in configuration.gatewayProfileWarnings { logger.warning("\(warning)") }
        counters.update { $0.concurrencyLimit = configuration.concurrency }
        // With provider batches the live feed takes only live-route items, and waits for the batch dispatcher too.
        // An earlier run's open batches are collected even when this run is live.
        let earlierBatches = try await store.batches(openOnly: true)
        let batched = configuration.mode != .live || !earlierBatches.isEmpty
        // A shared job's feed ends when the whole job is done, not when this worker runs dry (see ItemFeed).
        let shared = store as? any SharedCheckpointStore
        var othersWorking: (@Sendable () async throws -> Bool)? = nil
        if let shared { othersWorking = { try await shared.workRemains() } }
        // A worker of a shared job leases a little ahead of its concurrency, not 512 items: what it holds, the
        // others cannot take, and a killed worker's holdings wait for their leases to expire. With nothing to
        // lease it looks again four times a second (two cheap queries): a worker waiting for the planner's first
        // items, or for the job's last, should not idle a whole second (make bench's 3-worker row felt it).
        let feed = ItemFeed(
            store: store, pageSize: shared == nil ? 512 : min(512, max(16, 2 * configuration.concurrency)), planningDone: shared != nil || !job.needsPlanning,
            route: batched ? .live : .all, otherProducers: batched ? 1 : 0,
            othersWorking: othersWorking, pollSeconds: 0.25, stopping: { control.isStopping })
        let limiter = ConcurrencyLimiter(limit: configuration.concurrency)
        let adaptive = try await makeAdaptiveConcurrency(limiter: limiter, store: store, counters: counters)
        let spentBefore = try await store.usage().cost(in: prices).dollars
        let gate = RateGate(control: control)
        let budget = RateBudget(
            requestsPerMinute: configuration.requestsPerMinute, tokensPerMinute: configuration.tokensPerMinute, control: control, burstSeconds: 0)
        let metricsServer = try await startMetricsServer(metrics, counters: counters, gate: gate)
        let sharing = try await openAnswerSharing(store: store, hadAnswers: job.baseline.succeeded > 0)
        let recorder = CheckpointRecorder(
            store: store, counters: counters, control: control, prices: prices, metrics: metrics,
            learned: adaptive.map { adaptive in (Self.learnedLimitKey, { String(adaptive.currentLimit) }) })
        let builder = RequestBuilder(
            baseURL: configuration.baseURL, defaultModel: configuration.model, settings: configuration.gateway,
            profile: configuration.gatewayProfile, idempotencyKeys: configuration.idempotencyKey
        ).streaming(configuration.stream)
        let scheduler = Scheduler(
            settings: .init(
                maxAttemptsPerModel: configuration.maxAttempts, timeoutSeconds: configuration.timeoutSeconds,
                maxItemsHeld: Scheduler.Settings.itemsHeld(concurrency: configuration.concurrency), embedBatch: configuration.embedBatch,
                maxRetryAfter: configuration.maxRetryAfter),
            parts: .init(
                transport: transport, builder: builder, recorder: recorder,
                pacing: Pacing(limiter: limiter, adaptive: adaptive, gate: gate, budget: budget),
                breaker: configuration.circuitBreaker ? CircuitBreaker() : nil,
                spend: configuration.maxCost.map { SpendGuard(cap: $0, prices: prices, alreadySpent: spentBefore) },
                answers: try configuration.answerChecker(), sharing: sharing, run: run))

        let history = HistoryRecorder(store: store, counters: counters)
        let planningErrors = Mutex<[String]>([])
        let onBatch: @Sendable (Int, Int, Double) async -> Void = { planned, problems, fraction in
            counters.update {
                $0.planned += planned
                $0.plannedInvalid += problems
                $0.planningFraction = fraction
            }
            await feed.itemsPlanned()
        }
        let onEnd: @Sendable (Planner.Report) async -> Void = { report in
            planningErrors.withLock { $0 = report.inputErrors }
            counters.update { $0.planningFraction = nil }
            logger.debug("planning finished after \(String(format: "%.3f", counters.elapsedSeconds)) s: \(report.planned) items")
            await feed.planningFinished()
        }
        let planner = try preparation.planner(for: job, onBatch: onBatch, onEnd: onEnd)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] =
            options.handlesSignals
            ? [.run(SignalWatcher(control: control, graceSeconds: options.graceSeconds), "signals")] : []
        if let shared {
            // Early in the list, so stopped late: it beats until the checkpoint's last flush (see `JobRunner.beating`).
            services.append(.run(WorkerHeartbeat(store: shared, counters: counters, budget: budget, control: control, logger: logger), "heartbeat"))
        }
        services += [
            .run(recorder, "checkpoint"),
            .run(history, "history", .reporting),
            .run(CancelWatcher(store: store, control: control), "cancel"),
            .run(publisher, "results"),
        ]
        if batched {
            let batches = try makeBatchDispatcher(store: store, builder: builder, recorder: recorder, feed: feed, run: run)
            services.append(.run(batches, "batches"))
        }
        if let metricsServer { services.append(.run(metricsServer, "metrics", .reporting)) }
        if let shared, job.needsPlanning {
            let planning = SharedPlanning(
                store: shared,
                makePlanner: { stored in
                    // Where planning stands comes from the store; the file read is this worker's own copy.
                    let inputs = stored.map { record in
                        var record = record
                        if record.fileIndex < job.inputs.count { record.path = job.inputs[record.fileIndex].path }
                        return record
                    }
                    return try preparation.planner(for: job, inputs: inputs, onBatch: onBatch)
                }, onEnd: onEnd,
                control: control, logger: logger)
            services.append(.run(planning, "planner"))
        } else if job.needsPlanning {
            services.append(.run(planner, "planner"))
        }
        let dispatcher = DispatchService(scheduler: scheduler, feed: feed, recorder: recorder, control: control, graceSeconds: options.graceSeconds)
        services.append(.run(dispatcher, "dispatcher", .ending))
        if options.showProgress {
            let progress = ProgressReporter(counters: counters, baseline: job.baseline, spentBefore: spentBefore, plainInterval: options.progressInterval) {
                gate.currentPause
            }
            services.append(.run(progress, "progress", .reporting))
        }
        if let onProgress = options.onProgress {
            let feed = ProgressFeed(counters: counters, baseline: job.baseline, interval: options.progressInterval, receive: onProgress)
            services.append(.run(feed, "progress feed", .reporting))
        }
        // Once the dispatcher has ended, stopping the rest takes moments; the bound is only a safety net.
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            control.stop(.error(SluiceError.wrapping(error, as: .checkpoint)))
        }
        // Items released after the recorder stopped (the grace period ran out) are committed here.
        await recorder.commitRemaining()
        await history.flush()
        await sharing?.close()
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

    /// Every secret of the run (the key, the `--header-env` values, the proxy's password), for every path
    /// that writes gateway text: live and batch outcomes, stop messages, logs.
    private func runRedactor() throws -> Redactor {
        let proxy = try? ProxySetting.resolve(flag: options.proxy, baseURL: configuration.baseURL, environment: ProcessInfo.processInfo.environment)
        return try configuration.redactor(apiKey: apiKey, proxyPassword: proxy?.password)
    }

    /// Listening before anything is sent: a port in use stops the run at once, not after an hour.
    private func startMetricsServer(_ metrics: RunMetrics?, counters: RunCounters, gate: RateGate) async throws -> MetricsServer? {
        guard let metrics, let settings = options.metrics else { return nil }
        let server = try await MetricsServer.start(settings, metrics: metrics) {
            metrics.refresh(from: counters.snapshot, paused: gate.currentPause != nil)
        }
        logger.info("serving metrics at http://\(settings.host.contains(":") ? "[\(settings.host)]" : settings.host):\(server.port)/metrics")
        return server
    }

    /// Adaptive concurrency starts where the last run of this job left it (never
    /// above the current `--concurrency`), and remembers what it learns.
    private func makeAdaptiveConcurrency(limiter: ConcurrencyLimiter, store: any CheckpointStore, counters: RunCounters) async throws -> AdaptiveConcurrency? {
        guard configuration.adaptiveConcurrency else { return nil }
        let learned = try await store.value(forKey: Self.learnedLimitKey).flatMap(Int.init)
        if let learned, learned < configuration.concurrency {
            logger.info("starting at the concurrency learned by the last run: \(learned) (ceiling \(configuration.concurrency))")
        }
        // The recorder stores what is learned, with its commits.
        // Each change is logged with the window that caused it: the trace a user (or a test) reads to see where it settled.
        let logger = logger
        let adaptive = AdaptiveConcurrency(limiter: limiter, ceiling: configuration.concurrency, start: learned ?? configuration.concurrency) {
            logger.info("\($0.summary)")
        }
        counters.update { $0.concurrencyLimit = adaptive.currentLimit }
        return adaptive
    }

    /// Dedup within the job and the `--reuse` checkpoints (a folder stands for the checkpoints under it).
    private func openAnswerSharing(store: any CheckpointStore, hadAnswers: Bool) async throws -> AnswerSharing? {
        guard configuration.dedup || !configuration.reuse.isEmpty else { return nil }
        var others: [(label: String, store: any CheckpointStore)] = []
        for path in configuration.reuseCheckpoints {
            do {
                others.append((path, try await CheckpointStores.open(path, role: .reader)))
            } catch {
                for (_, other) in others { await other.close() }
                throw SluiceError(.configuration, "--reuse \(path): \(SluiceError.wrapping(error, as: .checkpoint).message)")
            }
        }
        if !configuration.reuse.isEmpty { logger.info("reusing answers from \(others.count) checkpoint\(others.count == 1 ? "" : "s")") }
        return AnswerSharing(deduplicate: configuration.dedup, store: store, checkpointHadAnswers: hadAnswers, reuse: others)
    }

    /// `--mode batch|auto`: the Files and Batches API on the job's transport, `floopy-provider` when asked.
    private func makeBatchDispatcher(
        store: any CheckpointStore, builder: RequestBuilder, recorder: CheckpointRecorder, feed: ItemFeed, run: RunContext
    ) throws -> BatchDispatcher {
        var metadata = ["sluice_job": configuration.name]
        for name in configuration.gateway.properties.keys.sorted().prefix(15) {
            metadata[String(name.prefix(64))] = String(configuration.gateway.properties[name]!.prefix(512))
        }
        let api = BatchAPIClient(
            transport: transport, builder: builder, headers: configuration.batchProvider.map { [("floopy-provider", $0)] } ?? [],
            timeout: max(configuration.timeoutSeconds, 300), redactor: run.redactor)
        return BatchDispatcher(
            settings: .init(
                auto: configuration.mode == .auto, submits: configuration.mode != .live, maxLines: configuration.batchMaxLines,
                maxBytes: configuration.batchMaxBytes, pollSeconds: configuration.pollInterval, deadline: configuration.batchDeadline,
                maxAttempts: configuration.maxAttempts, metadata: metadata, jobName: configuration.name, answers: try configuration.answerChecker()),
            parts: .init(store: store, api: api, builder: builder, recorder: recorder, feed: feed, run: run))
    }
}
