import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import SluiceMockServer

/// A minimal client of the mock's Files and Batches API over real sockets, built by hand (multipart
/// included) so the tests see exactly the bytes a gateway would.
struct MockBatchHTTPClient {
    struct Answer {
        var status: Int
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    static let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
    static let terminal: Set<String> = ["completed", "failed", "expired", "cancelled"]
    let port: Int

    static func withMock(_ change: (inout MockConfiguration) -> Void = { _ in }, _ body: (MockBatchHTTPClient) async throws -> Void) async throws {
        var config = MockConfiguration()
        config.batch.seconds = 0.4
        change(&config)
        let server = try await MockServer.start(config)
        do { try await body(MockBatchHTTPClient(port: server.port)) } catch {
            try await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    func call(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await Self.http.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), body: Array(bytes.readableBytesView))
    }

    func post(_ path: String, json: [String: Any], headers: [(String, String)] = []) async throws -> Answer {
        try await call(.POST, path, body: Array(try JSONSerialization.data(withJSONObject: json)), headers: headers)
    }

    /// A `multipart/form-data` body as curl and the OpenAI SDKs send it.
    static func multipart(_ fields: [(name: String, filename: String?, content: String)], boundary: String = "sluice-test-boundary") -> [UInt8] {
        var text = ""
        for field in fields {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field.name)\""
            if let filename = field.filename { text += "; filename=\"\(filename)\"\r\nContent-Type: application/jsonl" }
            text += "\r\n\r\n\(field.content)\r\n"
        }
        return Array((text + "--\(boundary)--\r\n").utf8)
    }

    func upload(_ jsonl: String, purpose: String = "batch") async throws -> Answer {
        try await call(
            .POST, "/v1/files", body: Self.multipart([("purpose", nil, purpose), ("file", "input.jsonl", jsonl)]),
            headers: [("content-type", "multipart/form-data; boundary=sluice-test-boundary")])
    }

    /// Uploads `jsonl` and creates a batch of it; returns the batch object.
    func submit(_ jsonl: String, endpoint: String = "/v1/chat/completions", headers: [(String, String)] = []) async throws -> [String: Any] {
        let file = try await upload(jsonl)
        #expect(file.status == 200, "\(file.text)")
        let fileID = try #require(file.json["id"] as? String)
        let batch = try await post(
            "/v1/batches", json: ["input_file_id": fileID, "endpoint": endpoint, "completion_window": "24h"], headers: headers)
        #expect(batch.status == 200, "\(batch.text)")
        return batch.json
    }

    /// Polls until the batch ends; returns its final object and every status seen on the way.
    func wait(_ id: String, timeout: Double = 10) async throws -> (batch: [String: Any], seen: [String]) {
        let deadline = Date().addingTimeInterval(timeout)
        var seen: [String] = []
        while Date() < deadline {
            let batch = try await call(.GET, "/v1/batches/\(id)").json
            let status = batch["status"] as? String ?? "?"
            if seen.last != status { seen.append(status) }
            if Self.terminal.contains(status) { return (batch, seen) }
            try await Task.sleep(for: .milliseconds(40))
        }
        throw TestFailure("batch \(id) did not end within \(timeout) s; statuses \(seen)")
    }

    /// The lines of an output or error file; none when the batch left no such file.
    func lines(of fileID: Any?) async throws -> [[String: Any]] {
        guard let fileID = fileID as? String else { return [] }
        let answer = try await call(.GET, "/v1/files/\(fileID)/content")
        #expect(answer.status == 200, "\(answer.text)")
        return answer.text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func stats() async throws -> [String: Any] { try await call(.GET, "/stats").json }

    /// Input lines `{"custom_id": "<prefix>-<n>", ...}` with distinct questions, and each line's body.
    static func input(_ count: Int, prefix: String = "item", endpoint: String = "/v1/chat/completions") -> (jsonl: String, bodies: [String: String]) {
        var bodies: [String: String] = [:]
        var lines: [String] = []
        for index in 0..<count {
            let body =
                switch endpoint {
                case "/v1/embeddings": #"{"model":"text-embedding-3-small","input":"text \#(prefix) \#(index)"}"#
                case "/v1/responses": #"{"model":"gpt-4o-mini","input":"question \#(prefix) \#(index)"}"#
                case "/v1/completions": #"{"model":"gpt-4o-mini","prompt":"question \#(prefix) \#(index)"}"#
                default: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"question \#(prefix) \#(index)"}]}"#
                }
            bodies["\(prefix)-\(index)"] = body
            lines.append(#"{"custom_id":"\#(prefix)-\#(index)","method":"POST","url":"\#(endpoint)","body":\#(body)}"#)
        }
        return (lines.joined(separator: "\n") + "\n", bodies)
    }

    /// Key order and spacing aside, the same JSON.
    static func same(_ left: Any?, _ right: Any?) -> Bool {
        guard let left, let right,
            let a = try? JSONSerialization.data(withJSONObject: left, options: [.sortedKeys]),
            let b = try? JSONSerialization.data(withJSONObject: right, options: [.sortedKeys])
        else { return false }
        return a == b
    }
}
