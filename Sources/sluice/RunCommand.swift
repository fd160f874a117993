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

    @Argument(help: ArgumentHelp("Job file (JSON) with the job's settings, e.g. jobs/demo.json.", valueName: "JOB.json"))
    var jobFile: String?

    @Option(name: .customLong("input"), help: ArgumentHelp("JSONL input, plain or gzip (repeatable), e.g. --input data.jsonl.gz. Replaces the job file's inputs.", valueName: "PATH"))
    var inputs: [String] = []

    @Option(help: ArgumentHelp("Results file (default: <first input>.results.jsonl beside it; .gz to compress).", valueName: "PATH"))
    var output: String?

    @Option(help: ArgumentHelp("Errors file with the failed items (default: <output stem>.errors.jsonl).", valueName: "PATH"))
    var errors: String?

    @Option(help: ArgumentHelp("Checkpoint database (default: <output>.sluice.db).", valueName: "PATH"))
    var checkpoint: String?

    @Option(help: ArgumentHelp("Gateway base URL (default: https://api.floopy.ai/v1), e.g. http://127.0.0.1:4000/v1.", valueName: "URL"))
    var baseURL: String?

    @Option(help: ArgumentHelp("Environment variable holding the API key (default: FLOOPY_API_KEY).", valueName: "NAME"))
    var apiKeyEnv: String?

    @Option(help: ArgumentHelp("File holding the API key, e.g. ~/.config/floopy/key.", valueName: "PATH"))
    var apiKeyFile: String?

    @Option(help: ArgumentHelp("Model for lines that name none, e.g. gpt-4o-mini.", valueName: "NAME"))
    var model: String?

    @Option(help: ArgumentHelp("Endpoint for chat and prompt lines (default: /v1/chat/completions).", valueName: "PATH"))
    var endpoint: String?

    @Option(help: ArgumentHelp("Most requests in flight at once (default: 16).", valueName: "N"))
    var concurrency: Int?

    @Option(help: ArgumentHelp("Attempts per model before falling back or failing (default: 5).", valueName: "N"))
    var maxAttempts: Int?

    @Option(help: ArgumentHelp("Seconds to wait for one answer (default: 120).", valueName: "SECONDS"))
    var timeout: Double?

    @Option(name: .customLong("property"), help: ArgumentHelp("Gateway property sent as floopy-property-KEY (repeatable), e.g. --property batch=nightly.", valueName: "KEY=VALUE"))
    var properties: [String] = []

    @Option(name: .customLong("fallback"), help: ArgumentHelp("Fallback model, in order (repeatable), e.g. --fallback claude-sonnet-4-20250514.", valueName: "MODEL"))
    var fallbacks: [String] = []

    @Option(help: ArgumentHelp("Gateway cache strategy: exact, semantic or off (default: off).", valueName: "MODE"))
    var cache: CacheMode?

    @Option(help: ArgumentHelp("Session id sent as floopy-session-id, e.g. --session-id nightly-2026-11-26.", valueName: "ID"))
    var sessionId: String?

    @Option(help: ArgumentHelp("End-user id sent as floopy-user-id.", valueName: "ID"))
    var userId: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("Extra request header (repeatable), e.g. --header 'X-Team: search'.", valueName: "'Name: value'"))
    var headers: [String] = []

    @Option(name: .customLong("body"), help: ArgumentHelp("Body default for lines that do not set it (repeatable; JSON values), e.g. --body temperature=0 --body max_tokens=64.", valueName: "KEY=VALUE"))
    var bodyDefaults: [String] = []

    @Option(help: ArgumentHelp("Requests per minute the gateway allows; sluice paces itself to stay under it, e.g. --rpm 6000.", valueName: "N"))
    var rpm: Int?

    @Option(help: ArgumentHelp("Tokens per minute the gateway allows (estimated before sending, corrected with usage), e.g. --tpm 2000000.", valueName: "N"))
    var tpm: Int?

    @Flag(help: "Keep exactly --concurrency requests in flight instead of learning the limit from the share of 429s.")
    var noAdaptive = false

    @Flag(help: "Do not stop the job when 50 items in a row fail with the same permanent error (a wrong model name, a wrong endpoint).")
    var noCircuitBreaker = false

    @Option(help: ArgumentHelp("PEM file of root certificates to trust besides the system's, for a gateway behind a private CA or a TLS-inspecting proxy (SSL_CERT_FILE replaces the system's roots instead).", valueName: "PATH"))
    var caFile: String?

    @Option(help: ArgumentHelp("Proxy for the gateway, e.g. http://user:pass@proxy.corp:3128 (default: HTTPS_PROXY / HTTP_PROXY unless NO_PROXY matches, as curl; --proxy '' for none).", valueName: "URL"))
    var proxy: String?

    @Option(help: ArgumentHelp("Longest input line accepted, in bytes (default: 8388608).", valueName: "BYTES"))
    var maxLineBytes: Int?

    @Option(help: ArgumentHelp("Seconds in-flight requests get to finish after Ctrl-C (default: 30).", valueName: "SECONDS"))
    var grace: Double = 30

    @Option(help: ArgumentHelp("Seconds between progress lines when stderr is not a terminal (default: 10).", valueName: "SECONDS"))
    var progressInterval: Double = 10

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error (default: info).", valueName: "LEVEL"))
    var logLevel: String = "info"

    @Flag(help: "Send failed items again (bad input lines stay failed).")
    var retryFailed = false

    @Flag(help: "Resume even though an input changed: re-plan the changed lines, keep the rest.")
    var force = false

    @Flag(help: "Refuse to start if any input line is bad, listing the problems.")
    var strict = false

    @Flag(help: "Allow plain http to a non-loopback gateway (the API key travels unencrypted).")
    var allowInsecureHttp = false

    @Flag(help: "No progress line.")
    var noProgress = false

    func validate() throws {
        if jobFile == nil && inputs.isEmpty {
            throw ValidationError("give a job file (sluice run jobs/x.json) or at least one --input PATH")
        }
        if let jobFile, !FileManager.default.fileExists(atPath: jobFile) {
            throw ValidationError("job file \(jobFile) does not exist")
        }
        _ = try parsedProperties()
        _ = try parsedHeaders()
        _ = try parsedBodyDefaults()
        if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if let maxAttempts, maxAttempts < 1 { throw ValidationError("--max-attempts must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be a positive number of seconds") }
        if let rpm, rpm < 1 { throw ValidationError("--rpm must be at least 1") }
        if let tpm, tpm < 1 { throw ValidationError("--tpm must be at least 1") }
        if grace < 0 { throw ValidationError("--grace must not be negative") }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    private func keyValue(_ text: String, flag: String) throws -> (String, String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ValidationError("\(flag) takes KEY=VALUE, e.g. \(flag) batch=nightly; got '\(text)'")
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }

    private func parsedProperties() throws -> [String: String] {
        try Dictionary(properties.map { try keyValue($0, flag: "--property") }) { _, last in last }
    }

    private func parsedBodyDefaults() throws -> [String: JSONValue] {
        try Dictionary(bodyDefaults.map { try keyValue($0, flag: "--body") }.map { ($0.0, JSONValue.parsingFlagValue($0.1)) }) { _, last in last }
    }

    private func parsedHeaders() throws -> [String: String] {
        try Dictionary(headers.map { header -> (String, String) in
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else {
                throw ValidationError("--header takes 'Name: value', e.g. --header 'X-Team: search'; got '\(header)'")
            }
            return (String(header[..<colon]).trimmingCharacters(in: .whitespaces),
                    String(header[header.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }) { _, last in last }
    }

    /// The flags as job settings; each one given wins over the job file.
    func overrides() throws -> JobFile {
        var flags = JobFile()
        flags.inputs = inputs.isEmpty ? nil : inputs
        flags.output = output
        flags.errors = errors
        flags.checkpoint = checkpoint
        flags.baseURL = baseURL
        flags.apiKeyEnv = apiKeyEnv
        flags.apiKeyFile = apiKeyFile
        flags.model = model
        flags.endpoint = endpoint
        flags.bodyDefaults = try parsedBodyDefaults()
        flags.maxAttempts = maxAttempts
        flags.concurrency = concurrency
        flags.timeoutSeconds = timeout
        flags.cache = cache
        flags.properties = try parsedProperties()
        flags.fallback = fallbacks.isEmpty ? nil : fallbacks
        flags.sessionID = sessionId
        flags.userID = userId
        flags.headers = try parsedHeaders()
        flags.maxLineBytes = maxLineBytes
        flags.allowInsecureHTTP = allowInsecureHttp ? true : nil
        flags.requestsPerMinute = rpm
        flags.tokensPerMinute = tpm
        if noAdaptive { flags.adaptiveConcurrency = false }
        if noCircuitBreaker { flags.circuitBreaker = false }
        flags.caFile = caFile
        return flags
    }

    func run() async throws {
        let started = Date()
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sluice")
        FileDescriptorLimit.raiseToHardLimit()
        do {
            let file = try jobFile.map { try JobFile.load(path: $0) }
            let directory = jobFile.map { ($0 as NSString).deletingLastPathComponent }
            let configuration = try JobConfiguration.resolve(file: file, fileDirectory: directory, flags: try overrides())
            let apiKey = try APIKeySource.resolve(environmentVariable: configuration.apiKeyEnv, keyFile: configuration.apiKeyFile,
                                                  baseURL: configuration.baseURL)
            if apiKey == nil { logger.debug("no API key found in \(configuration.apiKeyEnv); sending none to the loopback gateway") }
            var options = RunOptions()
            options.retryFailed = retryFailed
            options.force = force
            options.strict = strict
            options.graceSeconds = grace
            options.progressInterval = progressInterval
            options.showProgress = !noProgress
            options.proxy = proxy
            if let proxy, (try? ProxySetting.parse(proxy))?.password != nil {
                logger.notice("--proxy carries a password on the command line, where other users of this machine can see it (ps); HTTPS_PROXY in the environment keeps it out of sight")
            }

            let report = try await JobRunner(configuration: configuration, options: options, apiKey: apiKey, logger: logger).run()
            printReport(report)
            logger.debug("exiting \(String(format: "%.3f", Date().timeIntervalSince(started))) s after start")
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
            return shown.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,@".contains($0) }) ? shown
                : "'" + shown.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}

extension CacheMode: ExpressibleByArgument {}
