import SluiceCore

/// Why a job could not be configured, run or read: a stable code to match on, a message a person can act on.
public struct JobError: Error, Sendable, CustomStringConvertible {
    /// Stable across versions: `configuration`, `input`, `input_changed`, `locked`, `checkpoint`, `authentication`,
    /// `gateway_unreachable`, `output`, `quota_exhausted`, `cost_cap`, `cancelled`... (the `code` of `sluice status --json`).
    public let code: String
    /// What went wrong, naming the file, line or setting; never a secret.
    public let message: String
    /// The exit code `sluice run` gives for it: 1, 2 or 3 (see the README's exit codes).
    public let exitCode: Int32

    public var description: String { message }

    init(code: String, message: String, exitCode: Int32 = 2) {
        self.code = code
        self.message = message
        self.exitCode = exitCode
    }

    init(_ error: SluiceError) {
        self.init(code: error.code.rawValue, message: error.message, exitCode: error.exitCode)
    }
}
