import ArgumentParser
import Foundation
import Logging
import SluiceCore

/// Runs a job the way `run` and `retry-failed` both do: the key from the
/// environment or a file, the summary on stdout, notes and the resume command
/// on stderr, the documented exit code.
struct JobExecution {
    let configuration: JobConfiguration
    let options: RunOptions
    let logger: Logger

    func run() async throws {
        let started = ContinuousClock.now
        FileDescriptorLimit.raiseToHardLimit()
        try options.validate()
        let apiKey = try APIKeySource.resolve(
            environmentVariable: configuration.apiKeyEnv, keyFile: configuration.apiKeyFile, baseURL: configuration.baseURL)
        // The --header-env values are read now: a variable that is not set stops the job before anything is sent.
        // The proxy as the transport will use it: --proxy, else HTTPS_PROXY/ALL_PROXY from the environment (NO_PROXY applied).
        let proxy = try? ProxySetting.resolve(flag: options.proxy, baseURL: configuration.baseURL, environment: ProcessInfo.processInfo.environment)
        let redactor = try configuration.redactor(apiKey: apiKey, proxyPassword: proxy?.password)
        let logger = logger.redacting(redactor)
        if apiKey == nil { logger.debug("no API key found in \(configuration.apiKeyEnv); sending none to the loopback gateway") }
        if let proxy = options.proxy, (try? ProxySetting.parse(proxy))?.password != nil {
            logger.notice(
                "--proxy carries a password on the command line, where other users of this machine can see it (ps); HTTPS_PROXY in the environment keeps it out of sight"
            )
        }
        var configuration = configuration
        configuration.inputs = try StandardInputSpool.spooling(
            configuration.inputs, besideCheckpoint: configuration.checkpoint, jobName: configuration.name
        ) { path in
            logger.notice("standard input is saved in \(path); the job reads it from there (resume with --input \(path))")
        }
        let report = try await JobRunner(configuration: configuration, options: options, apiKey: apiKey, logger: logger).run()
        printReport(report, spooled: configuration.inputs.first { !self.configuration.inputs.contains($0) }, redactor: redactor)
        logger.debug("exiting \(String(format: "%.3f", (ContinuousClock.now - started).inSeconds)) s after start")
        throw ExitCode(report.exitCode)
    }

    /// Stop messages may quote the gateway: they are scrubbed like everything else the run writes.
    private func printReport(_ report: RunReport, spooled: String?, redactor: Redactor) {
        var notes: [String] = []
        for problem in report.problems { notes.append("sluice: bad input: \(problem.message)") }
        if report.counts.invalidInput > report.problems.count {
            notes.append("sluice: ... and \(report.counts.invalidInput - report.problems.count) more bad input lines (see the errors file)")
        }
        for error in report.inputErrors { notes.append("sluice: input error: \(error)") }
        if case .error(let error) = report.stopReason { notes.append("sluice: error: \(error.message)") }
        if report.stopReason != nil {
            notes.append("sluice: progress is saved in \(report.checkpointPath); resume with:\n  \(resumeCommand(report, spooled: spooled))")
        }
        if !notes.isEmpty { FileHandle.standardError.write(Data(redactor.scrub(notes.joined(separator: "\n") + "\n").utf8)) }
        print(report.summary)
    }

    /// The command line as typed (it never holds the key), quoted for a shell, with a proxy
    /// password blanked out; a cancelled job needs --force to continue.
    private func resumeCommand(_ report: RunReport, spooled: String?) -> String {
        var arguments = Array(CommandLine.arguments.dropFirst())
        // The pipe is gone; its copy is what a resume reads.
        if let spooled, let dash = arguments.indices.first(where: { $0 > 0 && arguments[$0] == "-" && arguments[$0 - 1] == "--input" }) {
            arguments[dash] = spooled
        }
        if case .error(let error) = report.stopReason, error.code == .cancelled, !arguments.contains("--force") { arguments.append("--force") }
        return (["sluice"] + arguments).map { argument in
            let shown = ProxySetting.redactingPassword(argument)
            return shown.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@".contains($0) })
                ? shown
                : "'" + shown.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
