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
            Settings come from the job file, then the flags (flags win). Running the same job again resumes it: succeeded items are not sent again, items in flight at a crash are retried, failed items are retried only with --retry-failed.

            Examples:
              sluice run jobs/demo.json
              sluice run --input data.jsonl.gz --model gpt-4o-mini --property batch=nightly
              sluice run jobs/demo.json --retry-failed --concurrency 64

            The API key is read from the environment variable named by --api-key-env (default FLOOPY_API_KEY) or from --api-key-file; there is no flag that takes the key itself.
            """
    )

    @OptionGroup var job: JobOptions

    @Option(
        help: ArgumentHelp(
            "Proxy for the gateway, e.g. http://user:pass@proxy.corp:3128 (by default HTTPS_PROXY / HTTP_PROXY unless NO_PROXY matches, as curl reads them; '' for none). A run option, never stored in the checkpoint.",
            valueName: "URL"))
    var proxy: String?

    @Option(help: ArgumentHelp("Seconds in-flight requests get to finish after Ctrl-C or SIGTERM.", valueName: "SECONDS"))
    var grace: Double = RunOptions.Defaults.graceSeconds

    @Option(help: ArgumentHelp("Seconds between progress lines when stderr is not a terminal.", valueName: "SECONDS"))
    var progressInterval: Double = RunOptions.Defaults.progressInterval

    @Option(help: ArgumentHelp("Log level.", valueName: "LEVEL"))
    var logLevel: Logger.Level = .info

    @Flag(help: "Send failed items again (bad input lines stay failed).")
    var retryFailed = false

    @Flag(help: "Resume even though an input changed: re-plan the changed lines, keep the rest.")
    var force = false

    @Flag(help: "Refuse to start if any input line is bad, listing the problems.")
    var strict = false

    @Flag(help: "No progress line.")
    var noProgress = false

    private func options() -> RunOptions {
        var options = RunOptions()
        options.retryFailed = retryFailed
        options.force = force
        options.strict = strict
        options.graceSeconds = grace
        options.progressInterval = progressInterval
        options.showProgress = !noProgress
        options.proxy = proxy
        return options
    }

    func run() async throws {
        let started = ContinuousClock.now
        LoggingSystem.bootstrap { [logLevel] label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "sluice")
        FileDescriptorLimit.raiseToHardLimit()
        do {
            let configuration = try job.configuration()
            let options = options()
            try options.validate()
            let apiKey = try APIKeySource.resolve(
                environmentVariable: configuration.apiKeyEnv, keyFile: configuration.apiKeyFile,
                baseURL: configuration.baseURL)
            if apiKey == nil { logger.debug("no API key found in \(configuration.apiKeyEnv); sending none to the loopback gateway") }
            if let proxy, (try? ProxySetting.parse(proxy))?.password != nil {
                logger.notice(
                    "--proxy carries a password on the command line, where other users of this machine can see it (ps); HTTPS_PROXY in the environment keeps it out of sight"
                )
            }
            let report = try await JobRunner(configuration: configuration, options: options, apiKey: apiKey, logger: logger).run()
            printReport(report)
            logger.debug("exiting \(String(format: "%.3f", (ContinuousClock.now - started).inSeconds)) s after start")
            throw ExitCode(report.exitCode)
        } catch let error as SluiceError {
            FileHandle.standardError.write(Data("sluice: error: \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }

    private func printReport(_ report: RunReport) {
        var notes: [String] = []
        for problem in report.problems { notes.append("sluice: bad input: \(problem.message)") }
        if report.counts.invalidInput > report.problems.count {
            notes.append("sluice: ... and \(report.counts.invalidInput - report.problems.count) more bad input lines (see the errors file)")
        }
        for error in report.inputErrors { notes.append("sluice: input error: \(error)") }
        if case .error(let error) = report.stopReason { notes.append("sluice: error: \(error.message)") }
        if report.stopReason != nil {
            notes.append("sluice: progress is saved in \(report.checkpointPath); resume with:\n  \(resumeCommand())")
        }
        if !notes.isEmpty { FileHandle.standardError.write(Data((notes.joined(separator: "\n") + "\n").utf8)) }
        print(report.summary)
    }

    /// The command line as typed (it never holds the key), quoted for a shell,
    /// with a proxy password blanked out.
    private func resumeCommand() -> String {
        (["sluice"] + CommandLine.arguments.dropFirst()).map { argument in
            let shown = ProxySetting.redactingPassword(argument)
            return shown.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@".contains($0) })
                ? shown
                : "'" + shown.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
