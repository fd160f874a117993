import Foundation

/// The OpenAI-shaped Files and Batches API (OpenAI, Floopy, LiteLLM proxy), over the job's transport, so
/// TLS roots, proxies and the key are the live path's.
///
/// ```swift
/// let api = BatchAPIClient(transport: transport, baseURL: "https://api.floopy.ai/v1", headers: [("floopy-provider", "openai")])
/// let file = try await api.upload(jsonl, filename: "nightly-1.jsonl")
/// let batch = try await api.create(inputFileID: file, endpoint: "/v1/chat/completions", metadata: ["job": "nightly"])
/// ```
package struct BatchAPIClient: Sendable {
    /// What the gateway says about a batch; only the fields sluice acts on.
    package struct Batch: Decodable, Sendable {
        package var id: String
        package var status: String
        package var inputFileID: String?
        package var outputFileID: String?
        package var errorFileID: String?
        package var requestCounts: Counts?
        package var errors: Errors?
        package var createdAt: Double?

        package struct Counts: Decodable, Sendable {
            package var total: Int?
            package var completed: Int?
            package var failed: Int?
        }

        package struct Errors: Decodable, Sendable {
            package var data: [Entry]?
            package struct Entry: Decodable, Sendable {
                package var code: String?
                package var message: String?
            }
        }

        enum CodingKeys: String, CodingKey {
            case id, status, errors
            case inputFileID = "input_file_id"
            case outputFileID = "output_file_id"
            case errorFileID = "error_file_id"
            case requestCounts = "request_counts"
            case createdAt = "created_at"
        }

        /// The gateway's reason for a batch that failed as a whole.
        package var failureReason: String? {
            errors?.data?.compactMap { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.first
        }

        /// The gateway's reason when it refused the batch for its cap on enqueued tokens (OpenAI's
        /// `token_limit_exceeded`; gateways that rename the code keep the words of its message). No line ran.
        package var tokenLimitRefusal: String? {
            guard status == "failed" else { return nil }
            let entry = errors?.data?.first {
                $0.code == "token_limit_exceeded" || ($0.message ?? "").lowercased().contains("enqueued token limit")
            }
            return entry.map { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }
        }

        /// The batch will not change any more.
        package var isFinished: Bool { ["completed", "failed", "expired", "cancelled"].contains(status) }
    }

    /// A call the gateway refused or that never got an answer; `status` nil for the latter.
    package struct Failure: Error, CustomStringConvertible {
        package var status: Int?
        package var message: String
        package var description: String { message }
        /// Asking again cannot help (a 4xx other than 408, 409, 425 and 429).
        package var isPermanent: Bool { status.map { (400..<500).contains($0) && ![408, 409, 425, 429].contains($0) } ?? false }
    }

    let transport: GatewayTransport
    let builder: RequestBuilder
    /// Sent on every call (`floopy-provider` for Floopy's batches).
    let headers: [(name: String, value: String)]
    let timeout: Double
    /// Every message made of the gateway's words is scrubbed here, so no caller can print, log or store a
    /// credential the gateway echoed.
    let redactor: Redactor

    package init(
        transport: GatewayTransport, builder: RequestBuilder, headers: [(name: String, value: String)], timeout: Double = 300,
        redactor: Redactor = Redactor(secret: nil)
    ) {
        self.transport = transport
        self.builder = builder
        self.headers = headers
        self.timeout = timeout
        self.redactor = redactor
    }

    /// `POST /v1/files` with `purpose=batch`; returns the file id.
    package func upload(_ jsonl: [UInt8], filename: String) async throws -> String {
        let boundary = "sluice-\(UInt64.random(in: 0...UInt64.max))"
        var body: [UInt8] = []
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\n".utf8)
        body += Array("Content-Type: application/jsonl\r\n\r\n".utf8)
        body += jsonl
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        let answer = try await call("POST", "/v1/files", body: body, contentType: "multipart/form-data; boundary=\(boundary)")
        guard let id = (try? JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any])?["id"] as? String else {
            throw SluiceError(.gateway, "the gateway's answer to a file upload has no file id")
        }
        return id
    }

    package func create(inputFileID: String, endpoint: String, metadata: [String: String]) async throws -> Batch {
        let object: [String: Any] = ["input_file_id": inputFileID, "endpoint": endpoint, "completion_window": "24h", "metadata": metadata]
        // Not retried blindly: a create whose answer was lost may have made the batch, and a second one would
        // answer (and bill) every line twice. The dispatcher looks the batch up by its file before asking again.
        return try decode(try await call("POST", "/v1/batches", body: try JSONText.encode(object), retrying: false))
    }

    package func batch(_ id: String) async throws -> Batch { try decode(try await call("GET", "/v1/batches/\(id)")) }

    package func cancel(_ id: String) async throws -> Batch { try decode(try await call("POST", "/v1/batches/\(id)/cancel", body: [])) }

    /// The newest batches first, a page at a time (for finding one created just before a crash).
    package func list(after: String?, limit: Int = 100) async throws -> (batches: [Batch], hasMore: Bool) {
        struct Page: Decodable {
            var data: [Batch]
            var hasMore: Bool?
            enum CodingKeys: String, CodingKey {
                case data
                case hasMore = "has_more"
            }
        }
        let page: Page = try decode(try await call("GET", "/v1/batches?limit=\(limit)" + (after.map { "&after=\($0)" } ?? "")))
        return (page.data, page.hasMore ?? false)
    }

    /// The most a downloaded output or error file may hold (OpenAI's inputs are at most 200 MB).
    package static let maxFileBytes = 10 << 30

    /// Streams the file's bytes into `path` (created 0600) rather than memory; false when the gateway no longer
    /// has it (output files expire). Retried as any call is, from the start, until the answer has begun.
    package func download(file id: String, to path: String) async throws -> Bool {
        let body: [UInt8]
        do {
            body = try await call("GET", "/v1/files/\(id)/content", maxBytes: Self.maxFileBytes, downloadPath: path)
        } catch let failure as Failure where failure.status == 404 {
            return false
        }
        // A transport that does not stream (tests' fakes) hands the body back instead.
        if !body.isEmpty || access(path, F_OK) != 0 {
            let fd = PrivateFile.create(path)
            guard fd >= 0 else { throw SluiceError(.gateway, "cannot create \(path) (\(String(cString: strerror(errno))))") }
            defer { close(fd) }
            try body.withUnsafeBytes { try HTTPGatewayTransport.writeAll(fd, $0, path: path) }
        }
        return true
    }

    private func decode<T: Decodable>(_ bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            let shown = redactor.scrub(String(decoding: bytes.prefix(300), as: UTF8.self))
            throw SluiceError(.gateway, "the gateway's batch answer cannot be read (\(redactor.scrub("\(error)"))): \(shown)")
        }
    }

    /// One call, retried on what the live path retries (connection errors, 408/409/425/429/5xx) a few times
    /// with the gateway's Retry-After or a backoff; anything else is an error naming the status and message.
    private func call(
        _ method: String, _ path: String, body: [UInt8] = [], contentType: String = "application/json", maxBytes: Int? = nil, retrying: Bool = true,
        downloadPath: String? = nil
    ) async throws -> [UInt8] {
        var request = GatewayRequest(
            url: builder.url(for: path), headers: [("Content-Type", contentType)] + headers, body: body, model: "")
        request.method = method
        request.maxResponseBytes = maxBytes
        request.downloadPath = downloadPath
        let policy = RetryPolicy()
        let attempts = retrying ? 6 : 1
        for attempt in 1...attempts {
            let result = await transport.send(request, timeout: timeout)
            let verdict = policy.verdict(for: result)
            switch (result, verdict) {
            case (.response(let response), .success):
                return response.body
            case (_, .retry(let after, _)) where attempt < attempts, (_, .tryNextModel(let after, _)) where attempt < attempts:
                try await Task.sleep(for: .seconds(after ?? policy.backoff(retry: attempt)))
            case (.response(let response), _):
                let message = ResponseSummary.errorMessage(in: response.body) ?? String(decoding: response.body.prefix(300), as: UTF8.self)
                throw Failure(status: response.status, message: redactor.scrub("HTTP \(response.status) from \(method) \(path): \(message)"))
            case (.failure(let failure), _):
                throw Failure(status: nil, message: redactor.scrub("\(method) \(path) failed: \(failure.message)"))
            }
        }
        throw Failure(status: nil, message: "\(method) \(path) kept failing")
    }
}
