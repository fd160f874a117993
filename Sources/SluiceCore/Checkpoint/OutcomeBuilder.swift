/// Turns the last attempt of an item into the `ItemOutcome` the checkpoint
/// stores: status, error code and message (scrubbed of the key), usage, who
/// answered, and the headers that were sent.
struct OutcomeBuilder: Sendable {
    let redactor: Redactor
    let profile: any GatewayProfile

    func outcome(
        for item: DispatchItem, attempts: ItemAttempts, request: GatewayRequest,
        result: GatewayResult, summary: ResponseSummary?
    ) -> ItemOutcome {
        var outcome = ItemOutcome(
            id: item.id, succeeded: attempts.state == .succeeded,
            attempts: item.previousAttempts + attempts.attempts, headersSent: Self.headersJSON(request.headers),
            fallbacksUsed: attempts.fallbacksUsed, retries: attempts.retries)
        switch result {
        case .response(let response):
            outcome.httpStatus = response.status
            let answered = profile.answerDetails(response.header)
            outcome.requestID = answered.requestID ?? response.requestID
            outcome.latencyMilliseconds = response.latencySeconds * 1000
            outcome.firstTokenMilliseconds = response.firstTokenSeconds.map { $0 * 1000 }
            outcome.response = redactor.scrub(response.body)
            outcome.answeredModel = answered.model ?? summary?.model ?? request.model
            outcome.provider = answered.provider
            if let summary {
                outcome.promptTokens = summary.promptTokens
                outcome.completionTokens = summary.completionTokens
                outcome.totalTokens = summary.totalTokens
                outcome.cachedTokens = summary.cachedTokens
            }
            outcome.cacheHit = answered.cacheHit
            if !outcome.succeeded {
                outcome.errorCode = ResponseSummary.errorCode(in: response.body) ?? "http_\(response.status)"
                outcome.errorMessage = redactor.scrub(ResponseSummary.errorMessage(in: response.body) ?? "HTTP \(response.status)")
            }
        case .failure(let failure):
            outcome.errorCode = failure.kind.rawValue
            outcome.errorMessage = redactor.scrub(failure.message)
            outcome.latencyMilliseconds = failure.latencySeconds * 1000
        }
        return outcome
    }

    /// How two failures are told apart by the circuit breaker: status and code.
    static func signature(of outcome: ItemOutcome) -> String {
        let status = outcome.httpStatus.map { "HTTP \($0)" } ?? "no answer"
        return outcome.errorCode.map { "\(status) \($0)" } ?? status
    }

    /// The headers sent, as a JSON object (Authorization is never among them).
    static func headersJSON(_ headers: [(name: String, value: String)]) -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "{")]
        for (index, header) in headers.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(header.name, to: &json)
            json.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(header.value, to: &json)
        }
        json.append(UInt8(ascii: "}"))
        return json
    }
}
