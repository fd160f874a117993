import ArgumentParser
import Foundation
import Logging
import SluiceCore

/// How a run behaves, shared by `run` and `retry-failed`: never part of the
/// job's settings, never stored in the checkpoint.
struct RunBehaviourOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Proxy for the gateway, e.g. http://user:pass@proxy.corp:3128 (by default HTTPS_PROXY / HTTP_PROXY unless NO_PROXY matches, as curl reads them; '' for none). A run option, never stored in the checkpoint.",
            valueName: "URL"))
    var proxy: String?

    @Option(help: ArgumentHelp("Seconds in-flight requests get to finish after Ctrl-C, SIGTERM or sluice cancel.", valueName: "SECONDS"))
    var grace: Double = RunOptions.Defaults.graceSeconds

    @Option(help: ArgumentHelp("Seconds between progress lines when stderr is not a terminal.", valueName: "SECONDS"))
    var progressInterval: Double = RunOptions.Defaults.progressInterval

    @Flag(help: "No progress line.")
    var noProgress = false

    @Option(help: ArgumentHelp("Log level.", valueName: "LEVEL"))
    var logLevel: Logger.Level = .info

    @Option(help: ArgumentHelp("Log lines as plain text, or as one JSON object per line (for log shippers).", valueName: "text|json"))
    var logFormat: LogFormat = .text

    @Option(
        help: ArgumentHelp(
            "Serve Prometheus metrics at http://HOST:PORT/metrics while the job runs (loopback unless a host is given), e.g. --metrics 127.0.0.1:9464.",
            valueName: "HOST:PORT"))
    var metrics: ListenAddress?

    @Option(
        name: .customLong("metrics-label-property"),
        help: ArgumentHelp("Label the metrics by this property's value too (repeatable), e.g. --metrics-label-property team.", valueName: "NAME"))
    var metricsLabelProperties: [String] = []

    func validate() throws {
        if metrics == nil && !metricsLabelProperties.isEmpty { throw ValidationError("--metrics-label-property needs --metrics HOST:PORT") }
    }

    /// Sets up swift-log once for the process.
    func bootstrapLogging() {
        LoggingSystem.bootstrap { [logLevel, logFormat] label in
            switch logFormat {
            case .json: return JSONLogHandler(label: label, level: logLevel)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = logLevel
                return handler
            }
        }
    }

    func apply(to options: inout RunOptions) {
        options.graceSeconds = grace
        options.progressInterval = progressInterval
        options.showProgress = !noProgress
        options.proxy = proxy
        if let metrics { options.metrics = .init(host: metrics.host, port: metrics.port, labelProperties: metricsLabelProperties) }
    }
}
