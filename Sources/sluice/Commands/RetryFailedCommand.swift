import ArgumentParser
import Foundation
import Logging
import SluiceCore

/// `sluice retry-failed`: sends a job's failed items of some error classes again.
struct RetryFailedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry-failed",
        abstract: "Send a job's failed items again, by error class, with the job's settings.",
        discussion: """
            JOB is the job file or the checkpoint (.sluice.db); the job's settings are the job file's, else those the checkpoint kept. The failed items of the chosen classes become pending and the job runs (and resumes) as `sluice run` would; the results files are rewritten when every item is done.

            Classes: rate_limit, server, timeout, network, invalid_output (sent again by default: the gateway was the problem), bad_request, auth (sent again only when named: the request itself was refused). Bad input lines (class input) are never sent.

            Examples:
              sluice retry-failed jobs/nightly.json
              sluice retry-failed jobs/nightly.json --class rate_limit,timeout
              sluice retry-failed out/nightly.results.jsonl.sluice.db --class bad_request --concurrency 8
            """
    )

    @Argument(help: ArgumentHelp("The job file or its checkpoint.", valueName: "JOB"))
    var job: String

    @Option(
        name: .customLong("class"),
        help: ArgumentHelp(
            "Error classes to send again, comma-separated or repeated (default: rate_limit,server,timeout,network,invalid_output).",
            valueName: "CLASS[,CLASS...]"))
    var classes: [ErrorClassList] = []

    @Option(help: ArgumentHelp("Most requests in flight at once (default: the job's).", valueName: "N"))
    var concurrency: Int?

    @Flag(help: "Continue even though an input changed, or the job was cancelled.")
    var force = false

    @OptionGroup var behaviour: RunBehaviourOptions

    func run() async throws {
        behaviour.bootstrapLogging()
        try await reportingErrors {
            let reference = try JobReference.resolve(job)
            var configuration = try await settings(of: reference)
            if let concurrency { configuration.concurrency = concurrency }
            try configuration.validate()
            // A job file also names its template and schema files, which no output may overwrite (validate() checked the rest).
            if reference.configuration != nil { try OwnedFiles(job: configuration, sources: try JobSources.load(jobFile: job)).refuseClashes() }
            var options = RunOptions()
            options.force = force
            let chosen = classes.flatMap(\.classes)
            options.retryClasses = chosen.isEmpty ? Set(ErrorClass.allCases.filter(\.isTransient)) : Set(chosen)
            behaviour.apply(to: &options)
            try await JobExecution(configuration: configuration, options: options, logger: Logger(label: "sluice")).run()
        }
    }

    /// The job file's settings, else the checkpoint's (read, then closed: the run takes the lock).
    private func settings(of reference: JobReference) async throws -> JobConfiguration {
        if let configuration = reference.configuration { return configuration }
        let stored = try await CheckpointStores.withStore(reference.checkpoint, role: .reader) { try await JobConfiguration.stored(in: $0) }
        guard var stored else { throw SluiceError(.configuration, "\(reference.checkpoint): the job never started, so it has no failed items") }
        stored.checkpoint = reference.checkpoint
        return stored
    }
}
