import Logging

/// Every log line of a run, at every level and in every format, with the run's secrets scrubbed from its
/// message and metadata: a log line may quote a gateway's answer, and gateways echo credentials.
///
/// ```swift
/// var logger = Logger(label: "sluice")
/// logger.handler = RedactingLogHandler(wrapping: logger.handler, redactor: redactor)
/// ```
package struct RedactingLogHandler: LogHandler {
    private var wrapped: any LogHandler
    private let redactor: Redactor

    package init(wrapping wrapped: any LogHandler, redactor: Redactor) {
        self.wrapped = wrapped
        self.redactor = redactor
    }

    package var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    package var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    package func log(event: LogEvent) {
        var event = event
        event.message = "\(redactor.scrub(event.message.description))"
        event.metadata = event.metadata?.mapValues(scrub)
        if let error = event.error { event.error = ScrubbedError(description: redactor.scrub(String(describing: error))) }
        wrapped.log(event: event)
    }

    private func scrub(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(redactor.scrub(text))
        case .stringConvertible(let convertible): .string(redactor.scrub(convertible.description))
        case .array(let values): .array(values.map(scrub))
        case .dictionary(let values): .dictionary(values.mapValues(scrub))
        }
    }
}

/// An error attached to a log event, as text with the secrets removed.
struct ScrubbedError: Error, CustomStringConvertible {
    let description: String
}

extension Logger {
    /// This logger with the run's secrets scrubbed from everything it writes.
    package func redacting(_ redactor: Redactor) -> Logger {
        guard !redactor.isEmpty else { return self }
        var logger = self
        logger.handler = RedactingLogHandler(wrapping: handler, redactor: redactor)
        return logger
    }
}
