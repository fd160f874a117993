import ArgumentParser

/// `--log-format text|json`.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    /// `swift-log`'s plain lines.
    case text
    /// One JSON object per line (`JSONLogHandler`).
    case json
}
