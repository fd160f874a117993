import Foundation
import NIOConcurrencyHelpers

/// The OpenAI-shaped Files and Batches API (`/v1/files`, `/v1/batches`), as Floopy, LiteLLM and OpenAI serve it.
///
/// Kept apart from `MockGateway` because it holds state of its own (files and batches outlive requests)
/// and its lock: it takes the gateway's stats lock inside its own, through `record`, never the other way.
final class MockBatches: Sendable {
    /// Applies a change to the gateway's `/stats` counters under the gateway's lock.
    typealias Recorder = ((inout MockStats) -> Void) -> Void

    struct StoredFile: Sendable {
        var id: String
        var filename: String
        var purpose: String
        var createdAt: Double
        /// Output and error files go away after `--file-expiry-seconds`; uploads stay.
        var expiresAt: Double?
        var bytes: [UInt8]

        var json: [String: Any] {
            [
                "id": id, "object": "file", "bytes": bytes.count, "created_at": Int(createdAt), "filename": filename, "purpose": purpose,
                "expires_at": expiresAt.map { Int($0) as Any } ?? NSNull(),
            ]
        }
    }

    struct State: Sendable {
        var files: [String: StoredFile] = [:]
        /// `batch_<n>` is `batches[n - 1]`.
        var batches: [BatchRecord] = []
        var nextFile = 1
        /// Batches created so far from each input (by digest), so a resubmission gets fresh draws.
        var attempts: [Digest: Int] = [:]
    }

    let configuration: MockConfiguration
    private let state = NIOLockedValueBox(State())

    init(configuration: MockConfiguration) { self.configuration = configuration }

    static func handles(_ path: String) -> Bool {
        path == "/files" || path.hasPrefix("/files/") || path == "/batches" || path.hasPrefix("/batches/")
    }

    /// `path` is without `/v1`.
    func handle(_ request: MockRequest, path: String, record: Recorder) -> MockResponse {
        if let key = configuration.apiKey, request.header("authorization") != "Bearer \(key)" {
            var message = "Invalid or missing API key"
            if configuration.echoCredentials, let echo = CredentialEcho(request.headers) {
                message += " (presented: \(echo.text))"
                record { echo.record(at: "batch_api_error", in: &$0) }
            }
            return .floopyError(401, code: "INVALID_API_KEY", message: message)
        }
        let now = Date().timeIntervalSince1970
        let parts = path.split(separator: "/").map(String.init)
        switch (request.method, parts.count) {
        case ("POST", 1) where parts[0] == "files": return upload(request, now: now, record: record)
        case ("GET", 2) where parts[0] == "files":
            return withFile(parts[1], now: now) { .object(200, $0.json) }
        case ("GET", 3) where parts[0] == "files" && parts[2] == "content":
            return withFile(parts[1], now: now) { MockResponse(status: 200, headers: [("content-type", "application/octet-stream")], body: $0.bytes) }
        case ("DELETE", 2) where parts[0] == "files":
            let found = state.withLockedValue { $0.files.removeValue(forKey: parts[1]) }
            guard let found, found.expiresAt.map({ now < $0 }) ?? true else { return Self.noFile(parts[1]) }
            return .object(200, ["id": found.id, "object": "file", "deleted": true])
        case ("POST", 1) where parts[0] == "batches": return create(request, now: now, record: record)
        case ("GET", 1) where parts[0] == "batches": return list(query: request.query, now: now, record: record)
        case ("GET", 2) where parts[0] == "batches":
            return withBatch(parts[1], now: now, record: record) { _ in nil }
        case ("POST", 3) where parts[0] == "batches" && parts[2] == "cancel":
            return withBatch(parts[1], now: now, record: record) { batch in
                let status = batch.status(at: now)
                if status == "cancelling" { return nil }
                guard ["validating", "in_progress", "finalizing"].contains(status) else {
                    return .openAIError(409, "Cannot cancel a batch with status '\(status)'.", code: "batch_not_cancellable")
                }
                batch.cancelRequestedAt = now
                return nil
            }
        default:
            return .openAIError(404, "Invalid URL (\(request.method) \(request.path))", code: "unknown_url")
        }
    }

    /// Advances every batch to `now` and counts them by status, for `/stats`.
    func statusCounts(record: Recorder) -> [String: Int] {
        let now = Date().timeIntervalSince1970
        return state.withLockedValue { state in
            var counts: [String: Int] = [:]
            for index in state.batches.indices {
                advance(&state, index, now: now, record: record)
                counts[state.batches[index].status(at: now), default: 0] += 1
            }
            return counts
        }
    }

    // MARK: - Files

    private func upload(_ request: MockRequest, now: Double, record: Recorder) -> MockResponse {
        guard let form = MultipartForm(contentType: request.header("content-type"), body: request.body) else {
            return .openAIError(
                400, "The body must be multipart/form-data with a boundary, holding the fields 'purpose' and 'file'.", code: "invalid_multipart")
        }
        let purpose = form.part(named: "purpose").map { String(decoding: $0.content, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let purpose else { return .openAIError(400, "Missing required parameter: 'purpose'.", param: "purpose", code: "missing_required_parameter") }
        guard purpose == "batch" else {
            return .openAIError(400, "This mock accepts files with purpose 'batch' only, got '\(purpose)'.", param: "purpose", code: "invalid_value")
        }
        guard let file = form.part(named: "file"), let filename = file.filename else {
            return .openAIError(400, "Missing required parameter: 'file' (a part with a filename).", param: "file", code: "missing_required_parameter")
        }
        let stored = state.withLockedValue { state in
            let stored = StoredFile(
                id: "file-\(state.nextFile)", filename: filename, purpose: "batch", createdAt: now, expiresAt: nil, bytes: Array(file.content))
            state.nextFile += 1
            state.files[stored.id] = stored
            record {
                $0.batch.filesUploaded += 1
                $0.batch.bytesUploaded += stored.bytes.count
            }
            return stored
        }
        return .object(200, stored.json)
    }

    /// A file that has expired is removed and answers like one that never existed, as OpenAI's do.
    private func withFile(_ id: String, now: Double, _ answer: (StoredFile) -> MockResponse) -> MockResponse {
        let file = state.withLockedValue { state -> StoredFile? in
            guard let file = state.files[id] else { return nil }
            if let expiry = file.expiresAt, now >= expiry {
                state.files[id] = nil
                return nil
            }
            return file
        }
        return file.map(answer) ?? Self.noFile(id)
    }

    private static func noFile(_ id: String) -> MockResponse {
        .openAIError(404, "No such File object: \(id)", param: "id", code: "file_not_found")
    }

    // MARK: - Batches

    private func create(_ request: MockRequest, now: Double, record: Recorder) -> MockResponse {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            return .openAIError(400, "The body must be a JSON object.", code: "invalid_json")
        }
        guard let inputFileID = object["input_file_id"] as? String else {
            return .openAIError(400, "Missing required parameter: 'input_file_id'.", param: "input_file_id", code: "missing_required_parameter")
        }
        guard let endpoint = object["endpoint"] as? String, BatchInput.endpoints.contains(BatchInput.route(endpoint)) else {
            let list = BatchInput.endpoints.sorted().map { "/v1" + $0 }.joined(separator: ", ")
            return .openAIError(400, "Invalid 'endpoint': expected one of \(list).", param: "endpoint", code: "invalid_value")
        }
        guard let window = object["completion_window"] as? String, window == "24h" else {
            return .openAIError(400, "Invalid 'completion_window': expected '24h'.", param: "completion_window", code: "invalid_value")
        }
        var metadata: [String: String]?
        if let raw = object["metadata"], !(raw is NSNull) {
            guard let pairs = raw as? [String: Any], let strings = pairs as? [String: String] else {
                return .openAIError(400, "Invalid 'metadata': expected an object of string values.", param: "metadata", code: "invalid_value")
            }
            if let problem = Self.metadataProblem(strings) { return .openAIError(400, problem, param: "metadata", code: "invalid_value") }
            metadata = strings
        }
        guard let file = state.withLockedValue({ $0.files[inputFileID] }), file.expiresAt.map({ now < $0 }) ?? true else {
            return .openAIError(404, "No such File object: \(inputFileID)", param: "input_file_id", code: "file_not_found")
        }
        guard file.purpose == "batch" else {
            return .openAIError(400, "The file \(inputFileID) has purpose '\(file.purpose)', not 'batch'.", param: "input_file_id", code: "invalid_value")
        }
        // Validation and the digest run outside the lock: a file may hold 50,000 lines.
        let (lines, invalid, submitted) = BatchInput.validate(file.bytes, endpoint: endpoint)
        let digest = Digest(of: file.bytes)
        let limit = configuration.batch.enqueuedTokenLimit
        let enqueued = limit == nil || !invalid.isEmpty ? [:] : EnqueuedTokens.count(lines, endpoint: endpoint)
        let batch = state.withLockedValue { state -> BatchRecord in
            let attempt = state.attempts[digest, default: 0] + 1
            state.attempts[digest] = attempt
            var rng = SplitMix64(seed: configuration.seed ^ digest.value ^ (UInt64(attempt) &* 0x9E37_79B9_7F4A_7C15))
            let failDraw = rng.nextUnit(), expireDraw = rng.nextUnit()
            let fate: BatchRecord.Fate =
                failDraw < configuration.batch.fail ? .fail : (expireDraw < configuration.batch.expire ? .expire : .complete)
            let refusal = limit.flatMap { EnqueuedTokens.refusal(enqueued, limit: $0, open: state.batches, now: now) }
            var batch = BatchRecord(
                number: state.batches.count + 1, endpoint: endpoint, inputFileID: inputFileID, completionWindow: window, metadata: metadata,
                createdAt: now, seconds: configuration.batch.seconds, lines: lines, invalid: refusal.map { [$0] } ?? invalid, fate: fate,
                seed: rng.next(), headers: request.headers.filter { $0.name.hasPrefix("floopy-property-") || $0.name == "floopy-fallback" })
            if refusal == nil { batch.enqueued = enqueued }
            if configuration.echoCredentials { batch.echo = CredentialEcho(request.headers) }
            state.batches.append(batch)
            // With --batch-seconds 0 the batch has already ended: its files exist before it is first shown.
            advance(&state, state.batches.count - 1, now: now, record: record)
            let opened = batch.enqueued.keys.map { ($0, EnqueuedTokens.open($0, in: state.batches, now: now)) }
            record { stats in
                stats.batch.batchesCreated += 1
                stats.batch.linesSubmitted += submitted
                stats.batch.providers[request.header("floopy-provider") ?? "none", default: 0] += 1
                if refusal != nil { stats.batch.batchesRefused += 1 }
                for (model, open) in opened { stats.batch.enqueuedTokensPeak[model] = max(stats.batch.enqueuedTokensPeak[model] ?? 0, open) }
            }
            return state.batches[state.batches.count - 1]
        }
        return .object(200, batch.json(at: now))
    }

    /// OpenAI's limits: at most 16 pairs, keys up to 64 characters, values up to 512.
    static func metadataProblem(_ metadata: [String: String]) -> String? {
        if metadata.count > 16 { return "Invalid 'metadata': at most 16 keys, got \(metadata.count)." }
        if let key = metadata.keys.first(where: { $0.count > 64 }) { return "Invalid 'metadata': the key '\(key)' is longer than 64 characters." }
        if let key = metadata.first(where: { $0.value.count > 512 })?.key {
            return "Invalid 'metadata': the value of '\(key)' is longer than 512 characters."
        }
        return nil
    }

    /// Finds the batch, brings it up to `now`, lets `change` act on it (a non-nil result answers instead),
    /// and answers the batch object.
    private func withBatch(_ id: String, now: Double, record: Recorder, _ change: (inout BatchRecord) -> MockResponse?) -> MockResponse {
        state.withLockedValue { state in
            guard id.hasPrefix("batch_"), let number = Int(id.dropFirst(6)), state.batches.indices.contains(number - 1) else {
                return .openAIError(404, "No batch found with id '\(id)'.", param: "batch_id", code: "batch_not_found")
            }
            advance(&state, number - 1, now: now, record: record)
            if let refusal = change(&state.batches[number - 1]) { return refusal }
            advance(&state, number - 1, now: now, record: record)
            return .object(200, state.batches[number - 1].json(at: now))
        }
    }

    /// `?limit=N&after=ID`, newest first, as sluice pages through it on resume to find its batches by input file.
    private func list(query: String, now: Double, record: Recorder) -> MockResponse {
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let pieces = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if pieces.count == 2 { parameters[pieces[0]] = pieces[1] }
        }
        let limit = min(max(parameters["limit"].flatMap { Int($0) } ?? 20, 1), 100)
        return state.withLockedValue { state in
            var numbers = Array(state.batches.indices.reversed())
            if let after = parameters["after"], let position = numbers.firstIndex(where: { state.batches[$0].id == after }) {
                numbers = Array(numbers[(position + 1)...])
            }
            let page = numbers.prefix(limit)
            let data = page.map { index -> [String: Any] in
                advance(&state, index, now: now, record: record)
                return state.batches[index].json(at: now)
            }
            return .object(
                200,
                [
                    "object": "list", "data": data, "first_id": page.first.map { state.batches[$0].id as Any } ?? NSNull(),
                    "last_id": page.last.map { state.batches[$0].id as Any } ?? NSNull(), "has_more": numbers.count > page.count,
                ])
        }
    }

    /// Writes the files of a batch whose end has come and counts its answers; a no-op otherwise.
    private func advance(_ state: inout State, _ index: Int, now: Double, record: Recorder) {
        let batch = state.batches[index]
        let (status, endedAt) = batch.end
        guard batch.ending == nil, now >= endedAt else { return }
        let total = batch.invalid.isEmpty ? batch.lines.count : 0
        let output: BatchOutput? =
            switch status {
            case "completed": BatchOutput(batch: batch, finished: total, expireRest: false, configuration: configuration)
            case "expired": BatchOutput(batch: batch, finished: total / 2, expireRest: true, configuration: configuration)
            case "cancelled":
                BatchOutput(
                    batch: batch, finished: Int(Double(total) * batch.progress(at: batch.cancelRequestedAt ?? now)), expireRest: false,
                    configuration: configuration)
            default: nil
            }
        func register(_ lines: [String]?, _ kind: String) -> String? {
            guard let lines, !lines.isEmpty else { return nil }
            let file = StoredFile(
                id: "file-\(state.nextFile)", filename: "\(batch.id)_\(kind).jsonl", purpose: "batch_output", createdAt: endedAt,
                expiresAt: configuration.batch.fileExpirySeconds.map { endedAt + $0 }, bytes: Array((lines.joined(separator: "\n") + "\n").utf8))
            state.nextFile += 1
            state.files[file.id] = file
            return file.id
        }
        state.batches[index].ending = BatchRecord.Ending(
            outputFileID: register(output?.output, "output"), errorFileID: register(output?.errors, "error"),
            completed: output?.answered.count ?? 0, failed: output?.failed ?? 0)
        record { stats in
            if status == "expired" || (status == "failed" && batch.invalid.isEmpty) {
                stats.faults[status == "expired" ? "batch_expired" : "batch_failed", default: 0] += 1
            }
            guard let output else { return }
            stats.batch.linesAnswered += output.answered.count
            for answer in output.answered {
                if configuration.countBodies {
                    stats.bodies[answer.digest, default: 0] += 1
                    stats.batch.answered(customID: answer.customID)
                }
                if let usage = answer.usage { stats.record(usage: usage.prompt, usage.completion, headers: batch.headers) }
            }
            for (fault, count) in output.faults { stats.faults[fault, default: 0] += count }
            for place in output.echoes { batch.echo?.record(at: place, in: &stats) }
        }
    }
}

extension MockResponse {
    /// OpenAI's error body, which the Files and Batches API answers with on every gateway.
    static func openAIError(_ status: Int, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String) -> MockResponse {
        let param = param.map(jsonQuoted) ?? "null"
        return json(status, #"{"error":{"message":\#(jsonQuoted(message)),"type":"\#(type)","param":\#(param),"code":"\#(code)"}}"#)
    }

    static func tooLarge(limit: Int) -> MockResponse {
        openAIError(413, "The request body is larger than \(limit) bytes.", code: "request_too_large")
    }

    static func object(_ status: Int, _ object: [String: Any]) -> MockResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return MockResponse(status: status, headers: [("content-type", "application/json")], body: Array(data))
    }
}
