/// Every error sluice reports to a user: a stable code scripts can match on,
/// a message a person can act on, and where it happened when that is known.
///
/// Modelled on async-http-client's `HTTPClientError`: a struct with static
/// constructors rather than a growing enum, so codes can be added without
/// breaking anyone's `switch`.
package struct SluiceError: Error, CustomStringConvertible, Sendable, Equatable {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        /// Bad flags or job file: exit code 2.
        package static let configuration = Code("configuration")
        /// An input file could not be opened or read.
        package static let input = Code("input")
        /// The gzip stream of an input is truncated or corrupt.
        package static let corruptInput = Code("corrupt_input")
        /// The input changed since the job started; resume refused.
        package static let inputChanged = Code("input_changed")
        /// Another sluice process holds the job.
        package static let locked = Code("locked")
        /// The checkpoint database could not be opened, read or written.
        package static let checkpoint = Code("checkpoint")
        /// The gateway rejected the API key: nothing else can succeed.
        package static let authentication = Code("authentication")
        /// No HTTP answer at all from the gateway: wrong URL, or it is down.
        package static let unreachable = Code("gateway_unreachable")
        /// The results could not be written.
        package static let output = Code("output")
        /// The gateway says the account's quota or billing limit is used up: waiting does not cure it.
        package static let quota = Code("quota_exhausted")
        /// The gateway's TLS certificate could not be verified.
        package static let tls = Code("tls_verification_failed")
        /// The proxy refused sluice's credentials.
        package static let proxy = Code("proxy_authentication_failed")
        /// Many items in a row failed with the same permanent error: the job, not the items, is wrong.
        package static let repeatedFailure = Code("repeated_failure")
        /// `--max-cost` would be passed by the next request: exit code 3.
        package static let costCap = Code("cost_cap")
        /// `sluice cancel` asked the job to stop.
        package static let cancelled = Code("cancelled")
        /// The gateway's Files or Batches API refused or failed a call (provider batch mode).
        package static let gateway = Code("gateway_error")
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { message }

    /// Exit status for errors that end the run (see README "Exit codes").
    package var exitCode: Int32 {
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
    package static func wrapping(_ error: any Error, as code: Code) -> SluiceError {
        error as? SluiceError ?? SluiceError(code, "\(error)")
    }
}
