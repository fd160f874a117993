/// What kind of failure an attempt or an item met, for grouping in `status`,
/// the report and the metrics, and for choosing what `retry-failed` sends again.
package enum ErrorClass: String, Codable, Sendable, CaseIterable, Comparable {
    case rateLimit = "rate_limit"
    case server
    case timeout
    case network
    case badRequest = "bad_request"
    case auth
    case input
    case invalidOutput = "invalid_output"

    /// Worth sending again later by default: the gateway, not the request, was the problem.
    package var isTransient: Bool {
        switch self {
        case .rateLimit, .server, .timeout, .network, .invalidOutput: true
        case .badRequest, .auth, .input: false
        }
    }

    /// Classifies a stored outcome: a bad input line, an HTTP status, or a transport failure's code.
    package static func of(badLine: Bool, httpStatus: Int?, errorCode: String?) -> ErrorClass {
        if badLine { return .input }
        if errorCode == GatewayFailure.Kind.invalidResponse.rawValue || errorCode == "invalid_output" { return .invalidOutput }
        if let status = httpStatus {
            switch status {
            case 429: return .rateLimit
            case 401, 403: return .auth
            case 500...: return .server
            case 408: return .timeout
            default: return .badRequest
            }
        }
        switch errorCode {
        case GatewayFailure.Kind.timeout.rawValue: return .timeout
        default: return .network
        }
    }

    package static func < (lhs: ErrorClass, rhs: ErrorClass) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
