/// Every error sluice reports to a user: a stable code scripts can match on,
/// a message a person can act on, and where it happened when that is known.
///
/// Modelled on async-http-client's `HTTPClientError`: a struct with static
/// constructors rather than a growing enum, so codes can be added without
/// breaking anyone's `switch`.
public struct SluiceError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Bad flags or job file: exit code 2.
        public static let configuration = Code("configuration")
        /// An input file could not be opened or read.
        public static let input = Code("input")
        /// The gzip stream of an input is truncated or corrupt.
        public static let corruptInput = Code("corrupt_input")
        /// The input changed since the job started; resume refused.
        public static let inputChanged = Code("input_changed")
        /// Another sluice process holds the job.
        public static let locked = Code("locked")
        /// The checkpoint database could not be opened, read or written.
        public static let checkpoint = Code("checkpoint")
        /// The gateway rejected the API key: nothing else can succeed.
        public static let authentication = Code("authentication")
        /// No HTTP answer at all from the gateway: wrong URL, or it is down.
        public static let unreachable = Code("gateway_unreachable")
        /// The results could not be written.
        public static let output = Code("output")
        /// The gateway says the account's quota or billing limit is used up: waiting does not cure it.
        public static let quota = Code("quota_exhausted")
        /// The gateway's TLS certificate could not be verified.
        public static let tls = Code("tls_verification_failed")
        /// The proxy refused sluice's credentials.
        public static let proxy = Code("proxy_authentication_failed")
        /// Many items in a row failed with the same permanent error: the job, not the items, is wrong.
        public static let repeatedFailure = Code("repeated_failure")
        /// `--max-cost` would be passed by the next request: exit code 3.
        public static let costCap = Code("cost_cap")
        /// `sluice cancel` asked the job to stop.
        public static let cancelled = Code("cancelled")
        /// The gateway's Files or Batches API refused or failed a call (provider batch mode).
        public static let gateway = Code("gateway_error")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Exit status for errors that end the run (see README "Exit codes").
    public var exitCode: Int32 {
        switch code {
        case .corruptInput, .checkpoint, .output, .gateway: return 1
        case .costCap: return 3
        case .cancelled: return 130
        default: return 2
        }
    }
}

extension SluiceError {
    /// The error itself when it is already a `SluiceError`, else one with `code` that says what it was.
    public static func wrapping(_ error: any Error, as code: Code) -> SluiceError {
        error as? SluiceError ?? SluiceError(code, "\(error)")
    }
}
