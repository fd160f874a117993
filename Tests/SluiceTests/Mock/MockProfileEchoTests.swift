import Foundation
import Testing

@testable import SluiceMockServer

/// The mock's gateway impressions (`--profile-echo`) and its request log
/// (`--record-requests`), on `MockGateway` directly: no sockets needed.
struct MockProfileEchoTests {
    func gateway(_ change: (inout MockConfiguration) -> Void) -> MockGateway {
        var config = MockConfiguration()
        change(&config)
        return MockGateway(configuration: config)
    }

    func chat(_ gateway: MockGateway, _ body: String, headers: [(String, String)] = []) throws -> MockResponse {
        let reply = gateway.handle(
            MockRequest(method: "POST", path: "/v1/chat/completions", headers: headers.map { (name: $0.0, value: $0.1) }, body: Array(body.utf8)))
        guard case .respond(let response) = reply.action else { throw TestFailure("expected an answer") }
        return response
    }

    func header(_ response: MockResponse, _ name: String) -> String? { response.headers.first { $0.0.lowercased() == name }?.1 }

    @Test func eachEchoReportsTheCacheUnderItsGatewaysName() throws {
        let cases: [(ProfileEcho, [(String, String)], String, String, String?)] = [
            (.floopy, [("Floopy-Cache", "exact")], "floopy-cache", "HIT", "MISS"),
            (.helicone, [("Helicone-Cache-Enabled", "true")], "helicone-cache", "HIT", "MISS"),
            (.portkey, [("x-portkey-config", #"{"cache":{"mode":"semantic"}}"#)], "x-portkey-cache-status", "SEMANTIC HIT", "SEMANTIC MISS"),
            (.litellm, [], "x-litellm-cache-key", "key_", nil),
        ]
        for (echo, headers, name, hit, miss) in cases {
            let mock = gateway { $0.profileEcho = echo }
            let body = echo == .litellm ? #"{"model":"m","cache":{"use-cache":true},"messages":[]}"# : #"{"model":"m","messages":[]}"#
            #expect(header(try chat(mock, body, headers: headers), name) == miss, "\(echo) first answer")
            #expect(header(try chat(mock, body, headers: headers), name)?.hasPrefix(hit) == true, "\(echo) second answer")
        }
    }

    @Test func litellmRenamesAnUpstreamRetryAfterAndHonoursBodyFallbacks() throws {
        let limited = gateway {
            $0.profileEcho = .litellm
            $0.faults.p429 = 1
            $0.faults.retryAfterSeconds = 2
        }
        let refused = try chat(limited, #"{"model":"m","messages":[]}"#)
        #expect(refused.status == 429)
        #expect(header(refused, "llm_provider-retry-after") == "2" && header(refused, "retry-after") == nil)

        let failing = gateway { $0.failingModels = ["a"] }
        let answer = try chat(failing, #"{"model":"a","fallbacks":["b"],"messages":[]}"#)
        #expect(answer.status == 200 && header(answer, "floopy-model") == "b")
    }

    @Test func theRequestLogKeepsTheLastRequestsOldestFirst() throws {
        let mock = gateway { $0.recordRequests = 2 }
        for index in 0..<3 { _ = try chat(mock, #"{"model":"m\#(index)","messages":[]}"#, headers: [("X-N", "\(index)")]) }
        let reply = mock.handle(MockRequest(method: "GET", path: "/stats/requests", headers: [], body: []))
        guard case .respond(let response) = reply.action else { throw TestFailure("no answer") }
        let list = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]])
        #expect(list.compactMap { ($0["body"] as? [String: Any])?["model"] as? String } == ["m1", "m2"])
        #expect((list.last?["headers"] as? [[String]])?.contains(["x-n", "2"]) == true)
        #expect(gateway { _ in }.handle(MockRequest(method: "GET", path: "/stats/requests", headers: [], body: [])).action.isEmptyList)
    }
}

extension MockAction {
    fileprivate var isEmptyList: Bool {
        if case .respond(let response) = self { return response.body == Array("[]".utf8) }
        return false
    }
}
