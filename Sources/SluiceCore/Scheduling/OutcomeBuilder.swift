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
                outcome.errorCode = Self.errorCode(body: response.body, status: response.status)
                outcome.errorMessage = redactor.scrub(ResponseSummary.errorMessage(in: response.body) ?? "HTTP \(response.status)")
            }
        case .failure(let failure):
            outcome.errorCode = failure.kind.rawValue
            outcome.errorMessage = redactor.scrub(failure.message)
            outcome.latencyMilliseconds = failure.latencySeconds * 1000
        }
        return outcome
    }

    /// An item that takes another's answer (dedup, `--reuse`): the answer as it was, no request sent by this
    /// item, and no tokens counted again (they were billed once, to the item that sent the request).
    static func shared(_ answer: SharedAnswer, source: String, item: DispatchItem, digest: UInt64) -> ItemOutcome {
        var outcome = unsent(item, succeeded: true, attempts: item.previousAttempts)
        outcome.httpStatus = answer.httpStatus ?? 200
        outcome.response = answer.response
        outcome.answeredModel = answer.answeredModel
        outcome.provider = answer.provider
        outcome.requestID = answer.requestID
        outcome.requestDigest = digest
        outcome.answerSource = source
        return outcome
    }

    /// An outcome that no live request of this item produced (a shared answer, a provider batch's line, a line
    /// no batch file can hold): no headers were sent, and nothing fell back.
    static func unsent(_ item: DispatchItem, succeeded: Bool, attempts: Int, retries: Int = 0) -> ItemOutcome {
        ItemOutcome(id: item.id, succeeded: succeeded, attempts: attempts, headersSent: Array("{}".utf8), fallbacksUsed: 0, retries: retries)
    }

    /// One line of a provider batch's output (or error file) as its item's outcome.
    static func batchLine(_ item: DispatchItem, _ line: BatchLine, batchID: String, attempts: Int, succeeded: Bool) -> ItemOutcome {
        var outcome = unsent(item, succeeded: succeeded, attempts: attempts, retries: attempts - 1)
        outcome.httpStatus = line.status
        outcome.requestID = line.requestID
        outcome.response = line.body
        outcome.answerSource = "batch:\(batchID)"
        if let body = line.body, let summary = ResponseSummary(body: body) {
            outcome.answeredModel = summary.model ?? item.model
            outcome.promptTokens = summary.promptTokens
            outcome.completionTokens = summary.completionTokens
            outcome.totalTokens = summary.totalTokens
            outcome.cachedTokens = summary.cachedTokens
        }
        if !succeeded {
            outcome.errorCode = line.errorCode ?? errorCode(body: line.body, status: line.status) ?? "batch_error"
            outcome.errorMessage = line.errorMessage ?? line.body.flatMap(ResponseSummary.errorMessage(in:)) ?? "HTTP \(line.status ?? 0) in batch \(batchID)"
        }
        return outcome
    }

    /// A failed answer's code: the body's own (`error.code`, else `error.type`), else its HTTP status.
    static func errorCode(body: [UInt8]?, status: Int?) -> String? {
        body.flatMap(ResponseSummary.errorCode(in:)) ?? status.map { "http_\($0)" }
    }

    /// What a succeeded outcome gives to identical requests.
    static func sharable(_ outcome: ItemOutcome, item: DispatchItem) -> SharedAnswer? {
        guard let response = outcome.response else { return nil }
        var answer = SharedAnswer(customID: item.customID, response: response)
        answer.httpStatus = outcome.httpStatus
        answer.answeredModel = outcome.answeredModel
        answer.provider = outcome.provider
        answer.requestID = outcome.requestID
        answer.promptTokens = outcome.promptTokens
        answer.completionTokens = outcome.completionTokens
        answer.totalTokens = outcome.totalTokens
        answer.cachedTokens = outcome.cachedTokens
        answer.latencyMilliseconds = outcome.latencyMilliseconds
        return answer
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
