import Foundation
import Testing

@testable import SluiceCore

struct RequestBuilderTests {
    func settings() -> GatewaySettings {
        var settings = GatewaySettings()
        settings.cache = .exact
        settings.properties = ["batch": "nightly", "env": "prod"]
        settings.fallback = ["claude-sonnet-4", "gemini-2.5-pro"]
        settings.sessionID = "s-1"
        settings.userID = "u-1"
        settings.extraHeaders = ["X-Team": "search"]
        return settings
    }

    func item(model: String? = nil, overrides: LineOverrides? = nil, body: String = #"{"messages":[]}"#) -> DispatchItem {
        DispatchItem(
            id: 1, customID: "a", endpoint: "/v1/chat/completions", model: model, body: Array(body.utf8),
            overrides: overrides, previousAttempts: 0)
    }

    @Test func floopyHeadersFollowTheConventions() {
        let headers = FloopyHeaderProfile().headers(for: settings(), remainingFallbacks: ["claude-sonnet-4"])
        #expect(
            headers.map { "\($0.name): \($0.value)" } == [
                "Floopy-Cache: exact", "floopy-property-batch: nightly", "floopy-property-env: prod",
                "floopy-fallback: claude-sonnet-4", "floopy-session-id: s-1", "floopy-user-id: u-1",
            ])
        var off = settings()
        off.cache = .off
        off.properties = [:]
        #expect(!FloopyHeaderProfile().headers(for: off, remainingFallbacks: []).contains { $0.name == "Floopy-Cache" || $0.name == "floopy-fallback" })
    }

    @Test func lineOverridesWinAndPropertiesMerge() {
        let merged = settings().applying(
            LineOverrides(properties: ["env": "staging", "tier": "gold"], fallback: ["x"], sessionID: nil, userID: "u-2", cache: .off))
        #expect(merged.properties == ["batch": "nightly", "env": "staging", "tier": "gold"])
        #expect(merged.fallback == ["x"])
        #expect(merged.sessionID == "s-1")
        #expect(merged.userID == "u-2")
        #expect(merged.cache == .off)
    }

    @Test func modelChainAndFallbackHeaderAdvanceTogether() throws {
        let builder = RequestBuilder(baseURL: "https://api.floopy.ai/v1", defaultModel: "gpt-4o-mini", settings: settings())
        let plan = builder.plan(for: item())
        #expect(plan.chain == ["gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro"])
        let first = builder.request(for: item(), plan: plan, modelIndex: 0)
        #expect(first.headers.first { $0.name == "floopy-fallback" }?.value == "claude-sonnet-4,gemini-2.5-pro")
        let last = builder.request(for: item(), plan: plan, modelIndex: 2)
        #expect(last.model == "gemini-2.5-pro")
        #expect(!last.headers.contains { $0.name == "floopy-fallback" })
        #expect(builder.plan(for: item(model: "claude-sonnet-4")).chain == ["claude-sonnet-4", "gemini-2.5-pro"])
    }

    @Test func urlsJoinWithoutDoublingV1() {
        #expect(
            RequestBuilder(baseURL: "https://api.floopy.ai/v1", defaultModel: nil, settings: .init()).url(for: "/v1/chat/completions")
                == "https://api.floopy.ai/v1/chat/completions")
        #expect(
            RequestBuilder(baseURL: "http://127.0.0.1:4000/v1/", defaultModel: nil, settings: .init()).url(for: "/v1/embeddings")
                == "http://127.0.0.1:4000/v1/embeddings")
        #expect(
            RequestBuilder(baseURL: "http://localhost:8000", defaultModel: nil, settings: .init()).url(for: "/v1/chat/completions")
                == "http://localhost:8000/v1/chat/completions")
    }

    @Test(arguments: [#"{"messages":[{"role":"user","content":"é \"q\""}],"n":1}"#, "{}", "{ }"])
    func modelIsSplicedIntoValidJSON(stored: String) throws {
        let body = RequestBuilder.body(Array(stored.utf8), model: "gpt\"4")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["model"] as? String == "gpt\"4")
        let original = try #require(try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any])
        #expect(object.count == original.count + 1)
    }

    @Test func redactorRemovesTheKeyEverywhere() {
        let redactor = Redactor(secret: "fp_secret_key")
        #expect(redactor.scrub("Incorrect API key provided: fp_secret_key. Also fp_secret_key!") == "Incorrect API key provided: [REDACTED]. Also [REDACTED]!")
        #expect(redactor.scrub("fp_secret_ke") == "fp_secret_ke")
        #expect(Redactor(secret: nil).scrub("anything") == "anything")
    }

    /// Request digests are stored in checkpoints: hashing the parts must give what hashing them joined gave.
    @Test func digestOfPartsEqualsTheDigestOfTheJoinedBytes() {
        let body = Array(#"{"messages":[{"role":"user","content":"é"}]}"#.utf8)
        let joined = Array("/v1/chat/completions".utf8) + [0] + Array("gpt-4o-mini".utf8) + [0] + body
        #expect(Digest64.of("/v1/chat/completions", "gpt-4o-mini", body) == Digest64.of(joined))
        #expect(Digest64.of("/v1/chat/completions", "gpt-4o", body) != Digest64.of(joined))
    }
}
