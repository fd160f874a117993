import Foundation
import Logging

/// Runs one job end to end: lock, check inputs against the checkpoint, plan,
/// dispatch, write results. Running the same job again resumes it.
///
/// ```swift
/// let runner = JobRunner(configuration: config, options: RunOptions(), apiKey: key, logger: logger)
/// let report = try await runner.run()
/// print(report.summary)
/// exit(report.exitCode)
/// ```
public final class JobRunner: @unchecked Sendable {
    public let configuration: JobConfiguration
    public let options: RunOptions
    public let control: RunControl
    private let apiKey: String?
    private let logger: Logger
    private let transportOverride: GatewayTransport?

    public init(configuration: JobConfiguration, options: RunOptions, apiKey: String?, logger: Logger,
                control: RunControl = RunControl(), transport: GatewayTransport? = nil) {
        self.configuration = configuration
        self.options = options
        self.apiKey = apiKey
        self.logger = logger
        self.control = control
        transportOverride = transport
    }

    public func run() async throws -> RunReport {
        for path in [configuration.output, configuration.errors, configuration.checkpoint] {
            try createParentDirectory(of: path)
        }
        let lock = try JobLock(checkpointPath: configuration.checkpoint)
        defer { withExtendedLifetime(lock) {} }
        let fingerprints = try configuration.inputs.map { try InputFingerprint.of(path: $0) }
        let store = try SQLiteCheckpointStore(path: configuration.checkpoint)
        let fresh = try store.jobSettings() == nil
        let (records, replanning) = try reconcileInputs(store: store, fingerprints: fingerprints, fresh: fresh)
        try store.saveJobSettings(configuration.json())
        try store.saveInputs(records)
        let (recovered, requeued) = try store.prepareForRun(retryFailed: options.retryFailed)
        if recovered > 0 { logger.info("resuming: \(recovered) items were in flight when the last run stopped and will be sent again") }

        let planner = Planner(parser: ItemParser(endpoint: configuration.endpoint, maxLineBytes: configuration.maxLineBytes,
                                                 bodyDefaults: configuration.bodyDefaults, jobHasModel: configuration.model != nil))
        let counters = RunCounters()
        counters.update { $0.concurrencyLimit = configuration.concurrency }
        var needsPlanning = records.contains { !$0.planningComplete }
        var inputErrors = records.compactMap(\.planningError)
        let baseline = try store.counts()

        if options.strict {
            if needsPlanning {
                let report = try await onThread { try planner.run(inputs: records, replanning: replanning, store: store, control: self.control) { _, _ in } }
                inputErrors += report.inputErrors
                needsPlanning = false
            }
            let counts = try store.counts()
            if counts.invalidInput > 0 || !inputErrors.isEmpty {
                let problems = try store.inputProblems(limit: 50).map { "  \($0.message)" }
                let more = counts.invalidInput > problems.count ? ["  ... and \(counts.invalidInput - problems.count) more"] : []
                if fresh { discardCheckpoint(store) }
                throw SluiceError(.configuration, (["--strict: \(counts.invalidInput) bad input line\(counts.invalidInput == 1 ? "" : "s"); nothing was sent:"]
                                                   + inputErrors.map { "  \($0)" } + problems + more).joined(separator: "\n"))
            }
        }

        let feed = ItemFeed(store: store, planningDone: !needsPlanning)
        let recorder = CheckpointRecorder(store: store, counters: counters, control: control)
        let transport = try transportOverride ?? makeTransport()
        let limiter = ConcurrencyLimiter(limit: configuration.concurrency)
        let adaptive = try makeAdaptiveConcurrency(limiter: limiter, store: store, counters: counters)
        let gate = RateGate(control: control)
        let scheduler = Scheduler(
            settings: .init(maxAttemptsPerModel: configuration.maxAttempts, timeoutSeconds: configuration.timeoutSeconds,
                            maxItemsHeld: Scheduler.Settings.itemsHeld(concurrency: configuration.concurrency)),
            parts: .init(
                transport: transport,
                builder: RequestBuilder(baseURL: configuration.baseURL, defaultModel: configuration.model, settings: configuration.gateway),
                recorder: recorder, limiter: limiter, adaptive: adaptive,
                budget: RateBudget(requestsPerMinute: configuration.requestsPerMinute, tokensPerMinute: configuration.tokensPerMinute,
                                   control: control, burstSeconds: 0),
                gate: gate, monitor: RefusalMonitor(), breaker: configuration.circuitBreaker ? CircuitBreaker() : nil,
                control: control, counters: counters, redactor: Redactor(secret: apiKey), logger: logger))
        let progress = ProgressReporter(counters: counters, baseline: baseline, plainInterval: options.progressInterval) { gate.currentPause }
        if options.showProgress { progress.start() }

        let planning: Task<Planner.Report?, Never>? = needsPlanning ? Task {
            defer { Task { await feed.planningFinished() } }
            do {
                let report = try await onThread {
                    try planner.run(inputs: records, replanning: replanning, store: store, control: self.control) { planned, problems in
                        counters.update { $0.planned += planned; $0.plannedInvalid += problems }
                        Task { await feed.itemsPlanned() }
                    }
                }
                logger.debug("planning finished after \(String(format: "%.3f", counters.elapsedSeconds)) s: \(report.planned) items")
                return report
            } catch {
                control.stop(.error(error as? SluiceError ?? SluiceError(.input, "\(error)")))
                return nil
            }
        } : nil

        // Results are written in input order as the finished prefix grows; creating the files now
        // also proves the output folder is writable before the first request is sent.
        let publisher = try ResultsPublisher(store: store, resultsPath: configuration.output, errorsPath: configuration.errors)
        let publishing = Task { [control] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                if Task.isCancelled { return }
                do {
                    try await onThread { try publisher.advance() }
                } catch {
                    control.stop(.error(error as? SluiceError ?? SluiceError(.output, "\(error)")))
                    return
                }
            }
        }

        let dispatch = Task { try await scheduler.run(feed: feed) }
        let graceWatcher = Task { [control, options] in
            await control.waitForStop()
            guard !Task.isCancelled else { return }
            try? await Task.sleep(nanoseconds: UInt64(options.graceSeconds * 1_000_000_000))
            dispatch.cancel()
        }
        do {
            try await dispatch.value
        } catch {
            control.stop(.error(error as? SluiceError ?? SluiceError(.checkpoint, "\(error)")))
        }
        graceWatcher.cancel()
        publishing.cancel()
        scheduler.drainHeldFailures()
        logger.debug("dispatch finished after \(String(format: "%.3f", counters.elapsedSeconds)) s")
        await recorder.finish()
        if let report = await planning?.value { inputErrors += report.inputErrors }
        progress.stop()
        await transport.shutdown()
        logger.debug("checkpoint flushed and connections closed after \(String(format: "%.3f", counters.elapsedSeconds)) s; largest commit \(recorder.largestBatch) events")

        if let adaptive {
            // Workers update the shown limit as answers arrive, possibly out of order; settle it here.
            counters.update { $0.concurrencyLimit = adaptive.currentLimit }
            try? store.setValue(String(adaptive.currentLimit), forKey: Self.learnedLimitKey)
        }
        let counts = try store.counts()
        var report = RunReport(
            jobName: configuration.name, counts: counts, stats: counters.snapshot, skipped: baseline.finished,
            recoveredInFlight: recovered, requeuedFailed: requeued, elapsedSeconds: counters.elapsedSeconds, written: nil,
            resultsPath: configuration.output, errorsPath: configuration.errors, checkpointPath: configuration.checkpoint,
            inputErrors: inputErrors, problems: try store.inputProblems(limit: 20), stopReason: control.stopReason)
        let allPlanned = try store.inputs().allSatisfy(\.planningComplete)
        _ = await publishing.value
        if control.stopReason == nil, counts.pending + counts.inFlight == 0, allPlanned {
            report.written = try publisher.finish()
            logger.debug("results written after \(String(format: "%.3f", counters.elapsedSeconds)) s")
        } else {
            try publisher.advance()
        }
        return report
    }

    /// The HTTP transport with this job's trust roots and proxy (flag, else the environment, as curl).
    private func makeTransport() throws -> GatewayTransport {
        var settings = HTTPGatewayTransport.Settings(concurrency: configuration.concurrency)
        settings.requestTimeout = configuration.timeoutSeconds
        settings.caFile = configuration.caFile
        let environment = ProcessInfo.processInfo.environment
        if let file = environment["SSL_CERT_FILE"], !file.isEmpty {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw SluiceError(.configuration, "\(file): cannot read the certificate file named by SSL_CERT_FILE")
            }
            settings.certificateFile = file
        }
        settings.proxy = try ProxySetting.resolve(flag: options.proxy, baseURL: configuration.baseURL, environment: environment)
        if let proxy = settings.proxy { logger.info("connecting to the gateway through the proxy \(proxy)") }
        return HTTPGatewayTransport(apiKey: apiKey, settings: settings)
    }

    static let learnedLimitKey = "learned_concurrency"

    /// Adaptive concurrency starts where the last run of this job left it (never
    /// above the current `--concurrency`), and remembers what it learns.
    private func makeAdaptiveConcurrency(limiter: ConcurrencyLimiter, store: CheckpointStore, counters: RunCounters) throws -> AdaptiveConcurrency? {
        guard configuration.adaptiveConcurrency else { return nil }
        let learned = try store.value(forKey: Self.learnedLimitKey).flatMap(Int.init)
        if let learned, learned < configuration.concurrency {
            logger.info("starting at the concurrency learned by the last run: \(learned) (ceiling \(configuration.concurrency))")
        }
        let adaptive = AdaptiveConcurrency(limiter: limiter, ceiling: configuration.concurrency, start: learned ?? configuration.concurrency) { limit in
            try? store.setValue(String(limit), forKey: Self.learnedLimitKey)
        }
        counters.update { $0.concurrencyLimit = adaptive.currentLimit }
        return adaptive
    }

    /// Compares the inputs with what the checkpoint planned. A changed input is
    /// refused unless `--force`, which re-plans that file keeping unchanged lines.
    private func reconcileInputs(store: CheckpointStore, fingerprints: [InputFingerprint], fresh: Bool) throws -> ([InputRecord], Set<Int>) {
        let stored = try store.inputs()
        func newRecord(_ index: Int) -> InputRecord {
            InputRecord(fileIndex: index, path: configuration.inputs[index], fingerprint: fingerprints[index],
                        plannedLines: 0, planningComplete: false, planningError: nil)
        }
        if fresh || stored.isEmpty { return (configuration.inputs.indices.map(newRecord), []) }
        var records: [InputRecord] = []
        var changes: [String] = []
        var replanning = Set<Int>()
        for index in configuration.inputs.indices {
            guard index < stored.count else {
                changes.append("\(configuration.inputs[index]) was not an input when the job started")
                records.append(newRecord(index))
                continue
            }
            var record = stored[index]
            record.path = configuration.inputs[index]
            if record.fingerprint != fingerprints[index] {
                changes.append("\(record.path) changed since the job started (was \(record.fingerprint), now \(fingerprints[index]))")
                record = newRecord(index)
                replanning.insert(index)
            }
            records.append(record)
        }
        if stored.count > configuration.inputs.count {
            changes.append("the job started with \(stored.count) inputs, now \(configuration.inputs.count)")
        }
        if !changes.isEmpty {
            guard options.force else {
                throw SluiceError(.inputChanged, changes.joined(separator: "; ")
                                  + ". Nothing was sent. Run with --force to re-plan the changed lines (unchanged lines keep their results), or use another --checkpoint to start over.")
            }
            logger.warning("--force: \(changes.joined(separator: "; ")); re-planning changed lines")
            for removed in configuration.inputs.count..<max(stored.count, configuration.inputs.count) {
                try store.removeItems(fileIndex: removed, afterLine: 0)
            }
        }
        return (records, replanning)
    }

    private func discardCheckpoint(_ store: SQLiteCheckpointStore) {
        store.close()
        for suffix in ["", "-wal", "-shm", ".lock"] { unlink(configuration.checkpoint + suffix) }
    }

    private func createParentDirectory(of path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SluiceError(.configuration, "\(directory): cannot create the folder (\(error.localizedDescription))")
        }
    }
}

/// Runs blocking work (parsing, SQLite) on its own thread, so it never holds
/// one of the few threads of Swift's cooperative pool.
func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
