/// What a provider batch's line means for its item, judged by the live path's `RetryPolicy`, so a line
/// and a live answer with the same status fare alike.
extension BatchLine {
    /// What becomes of the item a line names.
    enum Verdict {
        case answered
        /// Worth another try (a 5xx, a 429, an expired or cancelled batch's line).
        case retry(reason: String)
        /// Sending it again cannot help (a 400): the item fails with the gateway's error.
        case fail

        var isAnswered: Bool {
            if case .answered = self { return true }
            return false
        }

        var isPermanentFailure: Bool {
            if case .fail = self { return true }
            return false
        }
    }

    var verdict: Verdict {
        guard let status else {
            return .retry(reason: "\(errorCode ?? "no response"): \(errorMessage ?? "the batch gave no answer for this line")")
        }
        switch RetryPolicy().verdict(status: status, header: { _ in nil }, body: body ?? []) {
        case .success: return body == nil ? .retry(reason: "HTTP \(status) without a body") : .answered
        case .fail, .tryNextModel(_, permanent: true), .stopJob: return .fail
        case .retry, .tryNextModel: return .retry(reason: "HTTP \(status): \(body.flatMap(ResponseSummary.errorMessage(in:)) ?? "no message")")
        }
    }
}
