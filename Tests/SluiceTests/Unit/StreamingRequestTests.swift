import Foundation
import Testing

@testable import SluiceCore

/// `--stream` before and after the wire: which bodies ask for events and how,
/// which lines are accepted, and how an answer that is not labelled as events is taken.
struct StreamingRequestTests {
    func item(_ body: String, endpoint: String = "/v1/chat/completions") -> DispatchItem {
        DispatchItem(id: 1, customID: "a", endpoint: endpoint, model: "m", body: Array(body.utf8), overrides: nil, previousAttempts: 0)
    }

    func request(_ body: String, endpoint: String = "/v1/chat/completions", stream: Bool = true) -> GatewayRequest {
        let builder = RequestBuilder(baseURL: "http://127.0.0.1:1/v1", defaultModel: nil, settings: .init(), profile: OpenAIProfile()).streaming(stream)
        let item = item(body, endpoint: endpoint)
        return builder.request(for: item, plan: builder.plan(for: item), modelIndex: 0)
    }

    func object(_ request: GatewayRequest) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
    }

    @Test func chatBodiesGetStreamAndIncludeUsageSplicedInFront() throws {
        let sent = request(#"{"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(sent.stream)
        #expect(
            String(decoding: sent.body, as: UTF8.self)
                == #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
    }

    @Test func withoutStreamOrOnOtherEndpointsNothingChanges() throws {
        let plain = request(#"{"messages":[]}"#, stream: false)
        #expect(!plain.stream && String(decoding: plain.body, as: UTF8.self) == #"{"model":"m","messages":[]}"#)
        let embedding = request(#"{"input":"x"}"#, endpoint: "/v1/embeddings")
        #expect(!embedding.stream && String(decoding: embedding.body, as: UTF8.self) == #"{"model":"m","input":"x"}"#)
    }

    @Test func aLinesOwnStreamSettingsAreKeptAndNeverDuplicated() throws {
        let own = request(#"{"stream":true,"messages":[]}"#)
        #expect(own.stream)
        #expect(String(decoding: own.body, as: UTF8.self) == #"{"model":"m","stream_options":{"include_usage":true},"stream":true,"messages":[]}"#)
        let options = request(#"{"stream": true, "stream_options":{"include_usage":false},"messages":[]}"#)
        #expect(try (object(options)["stream_options"] as? [String: Bool]) == ["include_usage": false])
        #expect(String(decoding: options.body, as: UTF8.self).hasPrefix(#"{"model":"m","stream": true"#))
        let off = request(#"{"stream":false,"messages":[]}"#)
        #expect(!off.stream && String(decoding: off.body, as: UTF8.self) == #"{"model":"m","stream":false,"messages":[]}"#)
        // A message that merely mentions "stream" is scanned and still streamed.
        #expect(request(#"{"messages":[{"role":"user","content":"\"stream\" me"}]}"#).stream)
    }

    func parse(_ line: String, acceptsStream: Bool) -> PlannedItem? {
        let parser = ItemParser(endpoint: "/v1/chat/completions", maxLineBytes: 4096, bodyDefaults: [:], jobHasModel: true, acceptsStream: acceptsStream)
        return parser.parse(InputLine(number: 1, bytes: Array(line.utf8), oversized: false, length: line.utf8.count), fileIndex: 0, fileLabel: "f")
    }

    @Test func aStreamTrueLineIsRefusedWithoutStreamAndAcceptedWithIt() throws {
        let line = #"{"id":"a","messages":[{"role":"user","content":"x"}],"stream":true}"#
        let refused = try #require(parse(line, acceptsStream: false)?.problem)
        #expect(refused.code == .invalidField)
        #expect(refused.message.contains("--stream"))
        let accepted = try #require(parse(line, acceptsStream: true))
        #expect(accepted.problem == nil)
        let batch = #"{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[],"stream":true}}"#
        #expect(parse(batch, acceptsStream: true)?.problem == nil)
        let embeddings = #"{"custom_id":"e","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x","stream":true}}"#
        #expect(parse(embeddings, acceptsStream: true)?.problem?.message.contains("/v1/chat/completions") == true)
    }

    @Test func anInterruptedStreamIsANetworkErrorThatIsRetried() {
        #expect(ErrorClass.of(badLine: false, httpStatus: nil, errorCode: GatewayFailure.Kind.streamInterrupted.rawValue) == .network)
        let verdict = RetryPolicy().verdict(for: .failure(GatewayFailure(kind: .streamInterrupted, message: "cut")))
        #expect(verdict == .retry(after: nil, rateLimited: false))
    }

    func answer(_ body: String, status: Int = 200) -> GatewayResponse {
        GatewayResponse(status: status, headers: [("content-type", "text/plain")], body: Array(body.utf8), latencySeconds: 0.5)
    }

    @Test func anAnswerNotLabelledAsEventsIsTakenAsJSONOrAssembled() throws {
        let json = #"{"id":"x","object":"chat.completion","choices":[]}"#
        guard case .response(let plain) = HTTPGatewayTransport.unlabelledStream(answer(json)) else { throw TestFailure("JSON was not kept") }
        #expect(String(decoding: plain.body, as: UTF8.self) == json)
        guard case .response(let error) = HTTPGatewayTransport.unlabelledStream(answer("data: no", status: 500)) else { throw TestFailure("error") }
        #expect(error.status == 500)
        let events =
            "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
        guard case .response(let assembled) = HTTPGatewayTransport.unlabelledStream(answer(events)) else { throw TestFailure("events not assembled") }
        #expect(ResponseSummary(body: assembled.body)?.model == "m")
        #expect(String(decoding: assembled.body, as: UTF8.self).contains(#""content":"hi""#))
        guard case .failure(let cut) = HTTPGatewayTransport.unlabelledStream(answer("data: {\"choices\":[{\"delta\":{\"content\":\"h\"}}]}\n\n")) else {
            throw TestFailure("a cut stream was taken")
        }
        #expect(cut.kind == .streamInterrupted && cut.message.contains(#"partial text: "h""#))
    }
}
