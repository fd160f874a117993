import ArgumentParser
import Foundation
import Logging
import SluiceCore

/// `sluice run`: runs (or resumes) one job.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job, or resume it if it was interrupted.",
        discussion: """
            Settings come from the job file, then the flags (flags win). Running the same job again resumes it: succeeded items are not sent again, items in flight at a crash are retried, failed items are retried only with --retry-failed (or `sluice retry-failed`, by error class).

            Examples:
              sluice run jobs/demo.json
              sluice run --input data.jsonl.gz --model gpt-4o-mini --property batch=nightly
              sluice run jobs/demo.json --max-cost 25 --metrics 127.0.0.1:9464
              sluice run jobs/demo.json --dry-run

            The API key is read from the environment variable named by --api-key-env (default FLOOPY_API_KEY) or from --api-key-file; there is no flag that takes the key itself.

            Exit codes: 0 all items succeeded; 1 some items failed; 2 usage, configuration or authentication error; 3 stopped at the --max-cost cap; 130/143 interrupted by SIGINT/SIGTERM or sluice cancel (run again to resume).
            """
    )

    @OptionGroup var job: JobOptions
    @OptionGroup var behaviour: RunBehaviourOptions

    @Flag(help: "Send failed items again (bad input lines stay failed).")
    var retryFailed = false

    @Flag(help: "Resume even though an input changed (re-plan the changed lines, keep the rest), or the job was cancelled.")
    var force = false

    @Flag(help: "Refuse to start if any input line is bad, listing the problems.")
    var strict = false

    @Flag(help: "Read and check every line, print what would be sent and its estimated cost, send nothing (as sluice validate).")
    var dryRun = false

    func run() async throws {
        behaviour.bootstrapLogging()
        try await reportingErrors {
            let configuration = try job.checkedConfiguration()
            if dryRun {
                try await ValidateCommand.validate(configuration)
                return
            }
            var options = RunOptions()
            options.retryFailed = retryFailed
            options.force = force
            options.strict = strict
            behaviour.apply(to: &options)
            try await JobExecution(configuration: configuration, options: options, logger: Logger(label: "sluice")).run()
        }
    }
}
