import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The run itself: the job's services in one `ServiceGroup`, wired once (`wire`: one `RunContext`, one
/// `Pacing`, the recorder and the scheduler), listed in start order (`services`), and torn down after.
///
/// How a run stops, in three steps, each with one trigger:
/// 1. **Asked**: `RunControl.stop`, the only way to ask (a signal, `sluice cancel`, the cost cap, a refused
///    key, an essential service failing). Whatever decides whether to start new work (the scheduler, the
///    planner, the batch dispatcher, the watches for cancel and planning turns) asks `control.isStopping`,
///    or waits on it.
/// 2. **Drained**: the dispatcher sends nothing new and gives the requests in flight `--grace` seconds. Its
///    end (also when every item is done) is the only start of the group's graceful shutdown, which stops the
///    other services in reverse start order, each after the one before has ended: the periodic ones end
///    their rounds on it (`ServiceRounds`), a service whose work is done or failed waits for its turn
///    (`RunServiceRole`).
/// 3. **Cut**: cancellation, only where waiting longer would lose the grace period's promise (the requests
///    still in flight when it runs out are cancelled and their items released) or the group's 30 s bound.
/// Then `tearDown` commits what was released late.
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

    /// The `--reuse` checkpoints are open for the length of the run (see `CheckpointStores.withStores`).
    func run(_ job: JobPreparation.PreparedJob, preparation: JobPreparation, publisher: ResultsPublisher) async throws -> Outcome {
        try await CheckpointStores.withStores(
            configuration.reuseCheckpoints, role: .reader,
            opening: { path, error in SluiceError(.configuration, "--reuse \(path): \(SluiceError.wrapping(error, as: .checkpoint).message)") }
        ) { reuse in
            let wiring = try await wire(job, reuse: reuse)
            let planning = PlanningHooks(run: wiring.run, feed: wiring.feed)
            let services: [ServiceGroupConfiguration.ServiceConfiguration]
            do {
                services = try self.services(wiring, job: job, preparation: preparation, planning: planning, publisher: publisher)
            } catch {
                await wiring.metricsServer?.shutdown()
                throw error
            }
            // Once the dispatcher has ended, stopping the rest takes moments; the bound is only a safety net.
            var groupConfiguration = ServiceGroupConfiguration(services: services, logger: wiring.run.logger)
            groupConfiguration.maximumGracefulShutdownDuration = .seconds(30)
            do {
                // The group's shutdown must not begin before the dispatcher's end. Nothing runs a run inside a
                // service group of its own today (the Sluice library detaches it); if something did, its
                // graceful shutdown would reach this group: it asks the run to stop instead, as SIGTERM does.
                try await withGracefulShutdownHandler {
                    try await ServiceGroup(configuration: groupConfiguration).run()
                } onGracefulShutdown: { [control] in
                    control.stop(.signal(SIGTERM))
                }
            } catch {
                control.stop(.error(SluiceError.wrapping(error, as: .checkpoint)))
            }
            return await tearDown(wiring, store: job.store, inputErrors: planning.errors.withLockedValue { $0 })
        }
    }

    /// The parts of one run, made once: its context, the item feed, the pacing, the recorder and the scheduler.
    struct Wiring {
        let run: RunContext
        let feed: ItemFeed
        let pacing: Pacing
        let recorder: CheckpointRecorder
        let builder: RequestBuilder
        let scheduler: Scheduler
        let history: HistoryRecorder
        let sharing: AnswerSharing?
        let metricsServer: MetricsServer?
        let spentBefore: Double
        /// `--max-cost`: one guard for live requests and provider batches alike.
        let spend: SpendGuard?
        /// Provider batches: this run's mode, or an earlier run's batches still open.
        let batched: Bool
    }

    private func wire(_ job: JobPreparation.PreparedJob, reuse: [(label: String, store: any CheckpointStore)]) async throws -> Wiring {
        let store = job.store
        let prices = configuration.priceTable
        let metrics = options.metrics.map { RunMetrics(labelProperties: $0.labelProperties, jobProperties: configuration.gateway.properties) }
        let run = RunContext(control: control, counters: RunCounters(), redactor: try runRedactor(), logger: logger, prices: prices, metrics: metrics)
        for warning in configuration.gatewayProfileWarnings { run.logger.warning("\(warning)") }
        run.counters.update { $0.concurrencyLimit = configuration.concurrency }
        // With provider batches the live feed takes only live-route items, and waits for the batch dispatcher too.
        // An earlier run's open batches are collected even when this run is live.
        let earlierBatches = try await store.batches(openOnly: true)
        let batched = configuration.mode != .live || !earlierBatches.isEmpty
        let feed = makeFeed(job, batched: batched)
        let limiter = ConcurrencyLimiter(limit: configuration.concurrency)
        let pacing = Pacing(
            limiter: limiter, adaptive: try await makeAdaptiveConcurrency(limiter: limiter, store: store, counters: run.counters),
            gate: RateGate(control: control),
            budget: RateBudget(
                requestsPerMinute: configuration.requestsPerMinute, tokensPerMinute: configuration.tokensPerMinute, control: control, burstSeconds: 0))
        let spentBefore = try await store.usage().cost(in: prices).dollars
        let sharing = answerSharing(store: store, hadAnswers: job.baseline.succeeded > 0, reuse: reuse)
        let spend = configuration.maxCost.map { SpendGuard(cap: $0, prices: prices, alreadySpent: spentBefore) }
        let recorder = CheckpointRecorder(
            store: store, counters: run.counters, control: control, prices: prices, metrics: metrics,
            learned: pacing.adaptive.map { adaptive in (Self.learnedLimitKey, { String(adaptive.currentLimit) }) }, spend: spend)
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
                transport: transport, builder: builder, recorder: recorder, pacing: pacing,
                breaker: configuration.circuitBreaker ? CircuitBreaker() : nil,
                spend: spend,
                answers: try configuration.answerChecker(), sharing: sharing, run: run))
        // Last, once nothing else here can fail: from here on the group owns it (or `run`, if the group never starts).
        let metricsServer = try await startMetricsServer(metrics, counters: run.counters, gate: pacing.gate)
        return Wiring(
            run: run, feed: feed, pacing: pacing, recorder: recorder, builder: builder, scheduler: scheduler,
            history: HistoryRecorder(store: store, counters: run.counters), sharing: sharing, metricsServer: metricsServer,
            spentBefore: spentBefore, spend: spend, batched: batched)
    }

    /// A shared job's feed ends when the whole job is done, not when this worker runs dry (see ItemFeed). A worker
    /// of a shared job leases a little ahead of its concurrency, not 512 items: what it holds, the others cannot
    /// take, and a killed worker's holdings wait for their leases to expire. With nothing to lease it looks again
    /// four times a second (two cheap queries): a worker waiting for the planner's first items, or for the job's
    /// last, should not idle a whole second (make bench's 3-worker row felt it).
    private func makeFeed(_ job: JobPreparation.PreparedJob, batched: Bool) -> ItemFeed {
        let shared = job.store as? any SharedCheckpointStore
        var othersWorking: (@Sendable () async throws -> Bool)? = nil
        if let shared { othersWorking = { try await shared.workRemains() } }
        return ItemFeed(
            store: job.store, pageSize: shared == nil ? 512 : min(512, max(16, 2 * configuration.concurrency)),
            planningDone: shared != nil || !job.needsPlanning, route: batched ? .live : .all, otherProducers: batched ? 1 : 0,
            othersWorking: othersWorking, pollSeconds: 0.25, stopping: { [control] in control.isStopping })
    }

    /// What planning tells the run: items planned (the feed wakes up), planning's end, the inputs it could not read.
    struct PlanningHooks {
        let errors = NIOLockedValueBox<[String]>([])
        let onBatch: @Sendable (Int, Int, Double) async -> Void
        let onEnd: @Sendable (Planner.Report) async -> Void

        init(run: RunContext, feed: ItemFeed) {
            let counters = run.counters
            let logger = run.logger
            onBatch = { planned, problems, fraction in
                counters.update {
                    $0.planned += planned
                    $0.plannedInvalid += problems
                    $0.planningFraction = fraction
                }
                await feed.itemsPlanned()
            }
            let errors = self.errors
            onEnd = { report in
                errors.withLockedValue { $0 = report.inputErrors }
                counters.update { $0.planningFraction = nil }
                logger.debug("planning finished after \(String(format: "%.3f", counters.elapsedSeconds)) s: \(report.planned) items")
                await feed.planningFinished()
            }
        }
    }

    /// The run's services, in start order; the group stops them in reverse.
    private func services(
        _ wiring: Wiring, job: JobPreparation.PreparedJob, preparation: JobPreparation, planning: PlanningHooks, publisher: ResultsPublisher
    ) throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let (run, store, shared) = (wiring.run, job.store, job.store as? any SharedCheckpointStore)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] =
            options.handlesSignals ? [.run(SignalWatcher(control: control, graceSeconds: options.graceSeconds), "signals", .essential(control))] : []
        if let shared {
            // Early in the list, so stopped late: it beats until the checkpoint's last flush (see `JobRunner.beating`).
            services.append(
                .run(
                    WorkerHeartbeat(store: shared, counters: run.counters, budget: wiring.pacing.budget, control: control, logger: run.logger), "heartbeat",
                    .essential(control)))
        }
        services += [
            .run(wiring.recorder, "checkpoint", .essential(control)), .run(wiring.history, "history", .reporting),
            .run(CancelWatcher(store: store, control: control), "cancel", .essential(control)), .run(publisher, "results", .essential(control)),
        ]
        if wiring.batched {
            let batches = try makeBatchDispatcher(
                store: store, builder: wiring.builder, recorder: wiring.recorder, feed: wiring.feed, run: run, spend: wiring.spend, sharing: wiring.sharing)
            services.append(.run(batches, "batches", .essential(control)))
        }
        if let metricsServer = wiring.metricsServer { services.append(.run(metricsServer, "metrics", .reporting)) }
        if let shared, job.needsPlanning {
            let planner = SharedPlanning(
                store: shared,
                makePlanner: { stored in
                    // Where planning stands comes from the store; the file read is this worker's own copy.
                    let inputs = stored.map { record in
                        var record = record
                        if record.fileIndex < job.inputs.count { record.path = job.inputs[record.fileIndex].path }
                        return record
                    }
                    return try preparation.planner(for: job, inputs: inputs, onBatch: planning.onBatch)
                }, onEnd: planning.onEnd, control: control, logger: run.logger)
            services.append(.run(planner, "planner", .essential(control)))
        } else if job.needsPlanning {
            services.append(.run(try preparation.planner(for: job, onBatch: planning.onBatch, onEnd: planning.onEnd), "planner", .essential(control)))
        }
        let dispatcher = DispatchService(
            scheduler: wiring.scheduler, feed: wiring.feed, recorder: wiring.recorder, control: control, graceSeconds: options.graceSeconds)
        services.append(.run(dispatcher, "dispatcher", .ending))
        if options.showProgress {
            let gate = wiring.pacing.gate
            let progress = ProgressReporter(
                counters: run.counters, baseline: job.baseline, spentBefore: wiring.spentBefore, plainInterval: options.progressInterval
            ) { gate.currentPause }
            services.append(.run(progress, "progress", .reporting))
        }
        if let onProgress = options.onProgress {
            let feed = ProgressFeed(counters: run.counters, baseline: job.baseline, interval: options.progressInterval, receive: onProgress)
            services.append(.run(feed, "progress feed", .reporting))
        }
        return services
    }

    /// After the group: what was released late is committed, connections close, the learned limit is kept.
    private func tearDown(_ wiring: Wiring, store: any CheckpointStore, inputErrors: [String]) async -> Outcome {
        let counters = wiring.run.counters
        // Items released after the recorder stopped (the grace period ran out) are committed here.
        await wiring.recorder.commitRemaining()
        await wiring.history.flush()
        await transport.shutdown()
        wiring.run.logger.debug(
            "checkpoint flushed and connections closed after \(String(format: "%.3f", counters.elapsedSeconds)) s; largest commit \(wiring.recorder.largestBatch) events"
        )
        if let adaptive = wiring.pacing.adaptive {
            // Workers update the shown limit as answers arrive, possibly out of order; settle it here.
            counters.update { $0.concurrencyLimit = adaptive.currentLimit }
            try? await store.setValue(String(adaptive.currentLimit), forKey: Self.learnedLimitKey)
        }
        return Outcome(
            stats: counters.snapshot, elapsedSeconds: counters.elapsedSeconds, inputErrors: inputErrors, learnedLimit: wiring.pacing.adaptive?.currentLimit)
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
    private func answerSharing(
        store: any CheckpointStore, hadAnswers: Bool, reuse: [(label: String, store: any CheckpointStore)]
    ) -> AnswerSharing? {
        guard configuration.dedup || !configuration.reuse.isEmpty else { return nil }
        if !configuration.reuse.isEmpty { logger.info("reusing answers from \(reuse.count) checkpoint\(reuse.count == 1 ? "" : "s")") }
        return AnswerSharing(deduplicate: configuration.dedup, store: store, checkpointHadAnswers: hadAnswers, reuse: reuse)
    }

    /// `--mode batch|auto`: the Files and Batches API on the job's transport, `floopy-provider` when asked.
    private func makeBatchDispatcher(
        store: any CheckpointStore, builder: RequestBuilder, recorder: CheckpointRecorder, feed: ItemFeed, run: RunContext, spend: SpendGuard?,
        sharing: AnswerSharing?
    ) throws -> BatchDispatcher {
        var metadata = ["sluice_job": configuration.name]
        for name in configuration.gateway.properties.keys.sorted().prefix(15) {
            metadata[String(name.prefix(64))] = String(configuration.gateway.properties[name]!.prefix(512))
        }
        let api = BatchAPIClient(
            transport: transport, builder: builder, headers: configuration.batchProvider.map { [("floopy-provider", $0)] } ?? [],
            timeout: max(configuration.timeoutSeconds, 300), redactor: run.redactor)
        var settings = BatchDispatcher.Settings(
            auto: configuration.mode == .auto, submits: configuration.mode != .live, maxLines: configuration.batchMaxLines,
            maxBytes: configuration.batchMaxBytes, maxEnqueuedTokens: configuration.batchMaxEnqueuedTokens, pollSeconds: configuration.pollInterval,
            deadline: configuration.batchDeadline,
            maxAttempts: configuration.maxAttempts, metadata: metadata, jobName: configuration.name, answers: try configuration.answerChecker())
        settings.embedBatch = configuration.embedBatch
        return BatchDispatcher(
            settings: settings,
            parts: .init(store: store, api: api, builder: builder, recorder: recorder, feed: feed, run: run, spend: spend, sharing: sharing))
    }
}
