import Foundation
import Logging

/// Runs one job end to end, in three steps: prepare it (`JobPreparation`:
/// lock, inputs against the checkpoint, recovery), run it (`JobRun`: the
/// services), and publish its results once every item is done. Running the
/// same job again resumes it.
///
/// ```swift
/// let runner = JobRunner(configuration: config, options: RunOptions(), apiKey: key, logger: logger)
/// let report = try await runner.run()
/// print(report.summary)
/// exit(report.exitCode)
/// ```
package struct JobRunner: Sendable {
    package let configuration: JobConfiguration
    package let options: RunOptions
    package let control: RunControl
    private let apiKey: String?
    private let logger: Logger
    private let transport: GatewayTransport?

    package init(
        configuration: JobConfiguration, options: RunOptions, apiKey: String?, logger: Logger,
        control: RunControl = RunControl(), transport: GatewayTransport? = nil
    ) {
        self.configuration = configuration
        self.options = options
        self.apiKey = apiKey
        self.logger = logger
        self.control = control
        self.transport = transport
    }

    package func run() async throws -> RunReport {
        let preparation = JobPreparation(configuration: configuration, options: options, logger: logger, control: control)
        return try await preparation.withPreparedJob { job in try await run(job, preparation: preparation) }
    }

    private func run(_ job: JobPreparation.PreparedJob, preparation: JobPreparation) async throws -> RunReport {
        // Results are written in input order as the finished prefix grows; creating the files now
        // also proves the output folder is writable before the first request is sent.
        let partialSuffix = ResultsPublisher.partialSuffix(shared: job.store is any SharedCheckpointStore)
        let publisher = try await ResultsPublisher.create(
            store: job.store, resultsPath: configuration.output,
            errorsPath: configuration.errors, control: control, partialSuffix: partialSuffix)
        do {
            let transport = try self.transport ?? makeTransport()
            let outcome: JobRun.Outcome
            do {
                outcome = try await JobRun(
                    configuration: configuration, options: options, logger: logger, control: control,
                    transport: transport, apiKey: apiKey
                ).run(job, preparation: preparation, publisher: publisher)
            } catch {
                // The run could not start (a `--reuse` checkpoint that does not open, say), or failed after its
                // tear-down: shutting the clients down again is harmless, leaving them open is not.
                await transport.shutdown()
                throw error
            }
            let report = try await publish(job, outcome: outcome, publisher: publisher)
            await publisher.close()
            return report
        } catch {
            await publisher.close()
            throw error
        }
    }

    /// The report, and when every item is finished, the results files renamed into place. A shared job's worker
    /// keeps beating throughout: from the run's end through the claim and the writing (see `beating`).
    private func publish(_ job: JobPreparation.PreparedJob, outcome: JobRun.Outcome, publisher: ResultsPublisher) async throws -> RunReport {
        let stats = outcome.stats
        let figures = WorkerFigures(sent: stats.requestsSent, finished: stats.succeeded + stats.failed, requestsPerSecond: 0)
        return try await Self.beating(job.store as? any SharedCheckpointStore, figures) {
            try await report(job, outcome: outcome, publisher: publisher)
        }
    }

    private func report(_ job: JobPreparation.PreparedJob, outcome: JobRun.Outcome, publisher: ResultsPublisher) async throws -> RunReport {
        let store = job.store
        let counts = try await store.counts()
        var report = RunReport(
            jobName: configuration.name, counts: counts, stats: outcome.stats, skipped: job.baseline.finished,
            recoveredInFlight: job.preparation.recoveredInFlight, requeuedFailed: job.preparation.requeuedFailed,
            elapsedSeconds: outcome.elapsedSeconds, written: nil,
            resultsPath: configuration.output, errorsPath: configuration.errors, checkpointPath: store.location,
            inputErrors: job.inputErrors + outcome.inputErrors, problems: try await store.inputProblems(limit: 20), stopReason: control.stopReason)
        let usage = try await store.usage()
        (report.totalCost, report.unpricedModels) = usage.cost(in: configuration.priceTable)
        report.batchSavings = usage.batchSavings(in: configuration.priceTable)
        let allPlanned = try await store.inputs().allSatisfy(\.planningComplete)
        let complete = control.stopReason == nil && counts.pending + counts.inFlight == 0 && allPlanned
        let shared = store as? any SharedCheckpointStore
        if complete, let other = try await shared?.claimPublication() {
            // Another worker saw the job complete first and writes the results from the checkpoint.
            report.publishedBy = other
            for path in [configuration.output, configuration.errors] { unlink(path + ResultsPublisher.partialSuffix(shared: true)) }
        } else if complete {
            report.written = try await publisher.finish()
            try await shared?.publicationWritten()
            logger.debug("results written after \(String(format: "%.3f", outcome.elapsedSeconds)) s of running")
        } else {
            try await publisher.advance()
        }
        return report
    }

    /// A shared job's worker keeps beating after its run: its heartbeat service has ended with the run, and a
    /// worker silent for a lease looks dead to `claimPublication`, so another worker would write the results
    /// too (seen on a loaded machine, with a 3 s lease). The run's heartbeat service stops last of its services,
    /// after the checkpoint's final flush, and this starts at once after it, so no stretch of the way from the
    /// last commit to the results written goes unbeaten.
    static func beating<T: Sendable>(
        _ shared: (any SharedCheckpointStore)?, _ figures: WorkerFigures, _ body: () async throws -> T
    ) async throws -> T {
        guard let shared else { return try await body() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // At once first: the run's teardown and the claim already took part of the lease.
                while !Task.isCancelled {
                    _ = try? await shared.heartbeat(figures)
                    try await Task.sleep(for: .seconds(max(shared.leaseSeconds / 3, 0.5)))
                }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    /// The HTTP transport with this job's trust roots and proxy (flag, else the environment, as curl).
    private func makeTransport() throws -> GatewayTransport {
        try Self.transport(for: configuration, apiKey: apiKey, proxyFlag: options.proxy, logger: logger)
    }

    /// The job's HTTP client: its TLS roots (`--ca-file`, `SSL_CERT_FILE`), proxy and key. Also what `cancel`
    /// uses to cancel the provider batches of a job nobody is running.
    package static func transport(
        for configuration: JobConfiguration, apiKey: String?, proxyFlag: String?, logger: Logger
    ) throws
        -> GatewayTransport
    {
        var settings = HTTPGatewayTransport.Settings(concurrency: configuration.concurrency)
        settings.requestTimeout = configuration.timeoutSeconds
        settings.caFile = configuration.caFile
        settings.httpVersion = configuration.httpVersion
        settings.gatewayURL = configuration.baseURL
        settings.logger = logger
        let environment = ProcessInfo.processInfo.environment
        if let file = environment["SSL_CERT_FILE"], !file.isEmpty {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw SluiceError(.configuration, "\(file): cannot read the certificate file named by SSL_CERT_FILE")
            }
            settings.certificateFile = file
        }
        settings.proxy = try ProxySetting.resolve(flag: proxyFlag, baseURL: configuration.baseURL, environment: environment)
        if let proxy = settings.proxy { logger.info("connecting to the gateway through the proxy \(proxy)") }
        return HTTPGatewayTransport(apiKey: apiKey, credentialHeaders: try configuration.credentialHeaders(), settings: settings)
    }
}
