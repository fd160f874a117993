import ArgumentParser
import Foundation
import SluiceCore

/// `sluice validate`: checks a job's inputs and estimates its cost, sending nothing.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Read every input line and say what a run would send and cost; nothing is sent, no checkpoint is written.",
        discussion: """
            Takes the same job file and options as `sluice run` (`sluice run --dry-run` does the same). Prints the lines by shape and endpoint, the distinct models, the problems with file:line, an estimate of the prompt tokens (request bytes / 4) and, with prices, a cost range: the low end assumes --assume-completion-tokens per answer (or max_tokens when smaller), the high end every answer reaching its max_tokens.

            Exit code 0 when every line is good, 1 when some are not, 2 for a configuration error.

            Examples:
              sluice validate jobs/nightly.json
              sluice validate --input data.jsonl.gz --model gpt-4o-mini --price gpt-4o-mini=0.15,0.60
            """
    )

    @OptionGroup var job: JobOptions

    @Option(help: ArgumentHelp("Completion tokens assumed per answer for the cost estimate.", valueName: "N"))
    var assumeCompletionTokens: Int = JobValidator.defaultAssumedCompletionTokens

    func validate() throws {
        guard assumeCompletionTokens >= 0 else { throw ValidationError("--assume-completion-tokens must be 0 or more") }
    }

    func run() async throws {
        try await reportingErrors {
            try await Self.validate(try job.checkedConfiguration(), assumedCompletionTokens: assumeCompletionTokens)
        }
    }

    /// Shared with `run --dry-run`.
    static func validate(_ configuration: JobConfiguration, assumedCompletionTokens: Int = JobValidator.defaultAssumedCompletionTokens) async throws {
        var configuration = configuration
        // Standard input is copied to a private scratch folder to be read like a file, and the copy removed after.
        var scratch: String?
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        if configuration.inputs.contains(StandardInputSpool.marker) {
            let folder = try PrivateFile.temporaryFolder(prefix: "sluice-validate-")
            scratch = folder
            configuration.checkpoint = (folder as NSString).appendingPathComponent("stdin")
            configuration.inputs = try StandardInputSpool.spooling(
                configuration.inputs, besideCheckpoint: configuration.checkpoint, jobName: configuration.name)
        }
        let report = try await JobValidator(configuration: configuration, assumedCompletionTokens: assumedCompletionTokens).validate()
        print(report.text())
        if !report.isClean { throw ExitCode(1) }
    }
}
