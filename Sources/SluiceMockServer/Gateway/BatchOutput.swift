import Foundation

/// The output and error files of an ended batch, in OpenAI's batch output line format.
///
/// Answers are the ones the live endpoint gives for the same body (same id, content and usage), so a
/// client can mix live and batch answers in one result. Lines come out in a seeded shuffle, not input
/// order, because real gateways give no order and a client must match by `custom_id`.
struct BatchOutput {
    /// A line answered with status 200: the stats count its body and usage as a live answer's.
    struct Answered {
        var customID: String
        var digest: Digest
        /// Nil for embeddings, whose usage the live path does not add to the token totals either.
        var usage: (prompt: Int, completion: Int)?
    }

    var output: [String] = []
    var errors: [String] = []
    var answered: [Answered] = []
    var failed = 0
    var faults: [String: Int] = [:]
    /// Where the batch's credentials were sent back (`batch_error_line`, `batch_output_line`).
    var echoes: [String] = []

    /// The first `finished` lines of the shuffled order ran; with `expireRest` the others get `batch_expired`
    /// errors (an expired batch), otherwise they are left out (a cancelled one).
    init(batch: BatchRecord, finished: Int, expireRest: Bool, configuration: MockConfiguration) {
        var rng = SplitMix64(seed: batch.seed)
        var order = Array(batch.lines.indices)
        for index in order.indices.dropLast().reversed() {
            order.swapAt(index + 1, Int(rng.next() % UInt64(index + 2)))
        }
        let settings = configuration.batch
        var sampleBody: String?
        for (rank, position) in order.enumerated() {
            let line = batch.lines[position]
            let requestID = Digest(of: Array("\(batch.id)/\(line.customID)".utf8)).description
            let head = #"{"id":"batch_req_\#(requestID)","custom_id":\#(jsonQuoted(line.customID)),"response":"#
            guard rank < finished else {
                if expireRest {
                    errors.append(
                        head
                            + #"null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}"#
                    )
                    failed += 1
                }
                continue
            }
            func write(_ status: Int, _ body: String) -> String {
                head + #"{"status_code":\#(status),"request_id":"req_\#(requestID)","body":\#(body)},"error":null}"#
            }
            if let echo = batch.echo, !echoes.contains("batch_error_line") {
                // The first line that ran is refused, quoting the credentials it came with.
                let message = "Invalid request (presented: \(echo.text))"
                errors.append(
                    write(400, #"{"error":{"message":\#(jsonQuoted(message)),"type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#))
                echoes.append("batch_error_line")
                failed += 1
                continue
            }
            var lineRNG = SplitMix64(seed: batch.seed ^ Digest(of: Array(line.customID.utf8)).value)
            if lineRNG.nextUnit() < settings.lineFail {
                errors.append(write(settings.lineFailStatus, Self.injectedError(status: settings.lineFailStatus)))
                faults["batch_line_fail", default: 0] += 1
                failed += 1
                continue
            }
            let fallback = batch.headers.first { $0.name == "floopy-fallback" }?.value
            let answer = Self.answer(line.body, endpoint: batch.endpoint, fallback: fallback, configuration: configuration)
            if answer.status == 200 {
                var body = answer.body
                if let echo = batch.echo, !echoes.contains("batch_output_line") {
                    // An answer that carries the credentials back in a member of its own.
                    body = "{\"mock_echo\":\(jsonQuoted(echo.text))," + body.dropFirst()
                    echoes.append("batch_output_line")
                }
                output.append(write(200, body))
                answered.append(Answered(customID: line.customID, digest: Digest(of: line.body), usage: answer.usage))
                sampleBody = sampleBody ?? answer.body
            } else {
                errors.append(write(answer.status, answer.body))
                failed += 1
            }
        }
        if settings.duplicateLine, !output.isEmpty {
            let copy = output[Int(rng.next() % UInt64(output.count))]
            output.insert(copy, at: Int(rng.next() % UInt64(output.count + 1)))
            faults["batch_duplicate_line", default: 0] += 1
        }
        if settings.unknownLine, let sampleBody {
            let customID = "sluice-mock-unknown-\(batch.id)"
            let line =
                #"{"id":"batch_req_unknown_\#(batch.number)","custom_id":"\#(customID)","response":{"status_code":200,"request_id":"req_unknown_\#(batch.number)","body":\#(sampleBody)},"error":null}"#
            output.insert(line, at: Int(rng.next() % UInt64(output.count + 1)))
            faults["batch_unknown_line", default: 0] += 1
        }
    }

    /// `--batch-line-fail-status`: a 5xx is OpenAI's retryable `server_error`, a 4xx a permanent refusal.
    static func injectedError(status: Int) -> String {
        status >= 500
            ? #"{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":"server_error"}}"#
            : #"{"error":{"message":"Injected permanent failure of this request.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}"#
    }

    /// What the live endpoint answers for this body: the same model resolution (missing and failing models,
    /// body `fallbacks`, the batch's `floopy-fallback`) and the same deterministic answer, always billed.
    static func answer(
        _ bytes: [UInt8], endpoint: String, fallback: String?, configuration: MockConfiguration
    ) -> (
        status: Int, body: String, usage: (prompt: Int, completion: Int)?
    ) {
        let body = ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]) ?? [:]
        let digest = Digest(of: bytes)
        let requested = (body["model"] as? String) ?? "mock-model"
        if configuration.missingModels.contains(requested) {
            let message = "The model `\(requested)` does not exist or you do not have access to it."
            return (404, #"{"error":{"message":\#(jsonQuoted(message)),"type":"invalid_request_error","param":null,"code":"model_not_found"}}"#, nil)
        }
        var chain = MockGateway.modelList(requested)
        if !configuration.gatewayFallback { chain = Array(chain.prefix(1)) }
        if configuration.gatewayFallback, let fallback { chain += MockGateway.modelList(fallback) }
        if configuration.gatewayFallback, let fallbacks = body["fallbacks"] as? [String] { chain += fallbacks }
        guard let model = chain.first(where: { !configuration.failingModels.contains($0) }) else {
            let message = "every provider failed for model \(requested)"
            return (502, #"{"error":{"code":"PROVIDER_ERROR","message":\#(jsonQuoted(message)),"type":"provider_error"}}"#, nil)
        }
        let created = 1_700_000_000 + Int(digest.value % 100_000_000)
        var answer = CompletionFactory.answer(for: body, digest: digest)
        if let size = configuration.batch.answerBytes, answer.content.utf8.count < size {
            answer.content += String(repeating: "x", count: size - answer.content.utf8.count)
        }
        let usage = (prompt: answer.promptTokens, completion: answer.completionTokens)
        switch BatchInput.route(endpoint) {
        case "/embeddings":
            return (200, CompletionFactory.embeddings(for: body, model: model, dimensions: configuration.embeddingDimensions), nil)
        case "/responses":
            return (200, CompletionFactory.response(id: "resp_\(digest)", model: model, created: created, answer: answer, billed: true), usage)
        case "/completions":
            return (200, CompletionFactory.textCompletion(id: "cmpl-\(digest)", model: model, created: created, answer: answer, billed: true), usage)
        default:
            return (200, CompletionFactory.chatCompletion(id: "chatcmpl-\(digest)", model: model, created: created, answer: answer, billed: true), usage)
        }
    }
}
