import Foundation
import Testing

@testable import SluiceCore

/// Each profile's mapping of the same job settings, header by header and body
/// member by member, and how it reads its gateway's answers.
struct GatewayProfileTests {
    static func settings(cache: CacheMode = .exact) -> GatewaySettings {
        var settings = GatewaySettings()
        settings.cache = cache
        settings.properties = ["batch": "nightly", "env": "prod"]
        settings.fallback = ["claude-sonnet-4", "gemini-2.5-pro"]
        settings.sessionID = "s-1"
        settings.userID = "u-1"
        settings.tags = ["nightly", "evals"]
        settings.extraHeaders = ["X-Team": "search"]
        return settings
    }

    func item(body: String = #"{"messages":[]}"#) -> DispatchItem {
        DispatchItem(id: 1, customID: "a", endpoint: "/v1/chat/completions", model: nil, body: Array(body.utf8), overrides: nil, previousAttempts: 0)
    }

    /// The first attempt of an item as sent: headers as `Name: value` lines and the body as text.
    func firstAttempt(
        _ name: GatewayProfileName, _ settings: GatewaySettings = settings(), body: String = #"{"messages":[]}"#
    ) -> (
        headers: [String], body: String
    ) {
        let builder = RequestBuilder(
            baseURL: "https://gw.example/v1", defaultModel: "gpt-4o", settings: settings, profile: name.profile(jobName: "nightly-job"))
        let request = builder.request(for: item(body: body), plan: builder.plan(for: item(body: body)), modelIndex: 0)
        return (request.headers.map { "\($0.name): \($0.value)" }, String(decoding: request.body, as: UTF8.self))
    }

    @Test func floopyQuickStartSpelling() {
        let sent = firstAttempt(.floopy)
        #expect(
            sent.headers == [
                "Content-Type: application/json", "Floopy-Cache: exact", "floopy-property-batch: nightly", "floopy-property-env: prod",
                "floopy-property-tags: nightly,evals", "floopy-fallback: claude-sonnet-4,gemini-2.5-pro", "floopy-session-id: s-1",
                "floopy-user-id: u-1", "X-Team: search",
            ])
        #expect(sent.body == #"{"model":"gpt-4o","messages":[]}"#)
    }

    @Test func floopySDKSpellingPutsTheChainInTheModel() {
        let sent = firstAttempt(.floopySDK, Self.settings(cache: .semantic))
        #expect(
            sent.headers == [
                "Content-Type: application/json", "Floopy-Cache-Enabled: true", "floopy-cache-advanced: true", "floopy-property-batch: nightly",
                "floopy-property-env: prod", "floopy-property-tags: nightly,evals", "floopy-session-id: s-1", "floopy-session-name: nightly-job",
                "floopy-session-path: /", "floopy-user-id: u-1", "X-Team: search",
            ])
        #expect(sent.body == #"{"model":"gpt-4o,claude-sonnet-4,gemini-2.5-pro","messages":[]}"#)
        #expect(firstAttempt(.floopySDK).headers.filter { $0.lowercased().hasPrefix("floopy-cache") } == ["Floopy-Cache-Enabled: true"])
    }

    @Test func heliconeHeadersAndModelChain() {
        let sent = firstAttempt(.helicone)
        #expect(
            sent.headers == [
                "Content-Type: application/json", "Helicone-Cache-Enabled: true", "Helicone-Property-batch: nightly", "Helicone-Property-env: prod",
                "Helicone-Property-tags: nightly,evals", "Helicone-Session-Id: s-1", "Helicone-Session-Name: nightly-job", "Helicone-Session-Path: /",
                "Helicone-User-Id: u-1", "X-Team: search",
            ])
        #expect(sent.body == #"{"model":"gpt-4o,claude-sonnet-4,gemini-2.5-pro","messages":[]}"#)
    }

    @Test func portkeyMetadataTraceAndInlineCacheConfig() {
        let sent = firstAttempt(.portkey, Self.settings(cache: .semantic))
        #expect(
            sent.headers == [
                "Content-Type: application/json", #"x-portkey-metadata: {"_user":"u-1","batch":"nightly","env":"prod","tags":"nightly,evals"}"#,
                "x-portkey-trace-id: s-1", #"x-portkey-config: {"cache":{"mode":"semantic"}}"#, "X-Team: search",
            ])
        #expect(sent.body == #"{"model":"gpt-4o","messages":[]}"#, "fallback stays with sluice: no targets are invented")
        #expect(firstAttempt(.portkey).headers.contains(#"x-portkey-config: {"cache":{"mode":"simple"}}"#))
    }

    @Test func portkeyKeepsTheJobsOwnConfigAndSaysTheCacheIsItsBusiness() throws {
        var settings = Self.settings()
        settings.extraHeaders = ["x-portkey-config": "pc-fallbacks-1"]
        let sent = firstAttempt(.portkey, settings)
        #expect(sent.headers.filter { $0.lowercased().hasPrefix("x-portkey-config") } == ["x-portkey-config: pc-fallbacks-1"])
        let warnings = try PortkeyProfile().check(settings)
        #expect(warnings.count == 1 && warnings[0].contains("x-portkey-config"))
    }

    @Test func portkeysOwnKeyIsAskedForFromTheEnvironment() throws {
        var flags = JobFile()
        flags.inputs = ["in.jsonl"]
        flags[\.gateway.profile] = .portkey
        let without = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags)
        #expect(without.gatewayProfileWarnings.contains { $0.contains("--header-env 'x-portkey-api-key=") }, "\(without.gatewayProfileWarnings)")
        flags.headerEnv = ["x-portkey-api-key": "PORTKEY_API_KEY", "x-portkey-virtual-key": "PORTKEY_VK"]
        let with = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags)
        #expect(!with.gatewayProfileWarnings.contains { $0.contains("x-portkey-api-key") }, "\(with.gatewayProfileWarnings)")
        // The credentials are never among the headers the request carries (and the checkpoint records).
        let sent = RequestBuilder(baseURL: "https://gw.example/v1", defaultModel: "m", settings: with.gateway, profile: with.gatewayProfile)
        let request = sent.request(for: item(), plan: sent.plan(for: item()), modelIndex: 0)
        #expect(!request.headers.contains { HeaderValidation.isCredential($0.name) }, "\(request.headers)")
    }

    @Test func litellmPutsFallbacksSessionAndCacheInTheBody() {
        let sent = firstAttempt(.litellm)
        #expect(
            sent.headers == [
                "Content-Type: application/json", "x-litellm-tags: nightly,evals", #"x-litellm-spend-logs-metadata: {"batch":"nightly","env":"prod"}"#,
                "x-litellm-end-user-id: u-1", "X-Team: search",
            ])
        #expect(
            sent.body
                == #"{"model":"gpt-4o","fallbacks":["claude-sonnet-4","gemini-2.5-pro"],"cache":{"use-cache":true},"litellm_session_id":"s-1","messages":[]}"#
        )
        let own = firstAttempt(.litellm, body: #"{"messages":[],"fallbacks":["mine"]}"#)
        #expect(own.body == #"{"model":"gpt-4o","cache":{"use-cache":true},"litellm_session_id":"s-1","messages":[],"fallbacks":["mine"]}"#)
    }

    @Test func openaiSendsNoGatewayHeadersAndWarnsOnce() throws {
        let sent = firstAttempt(.openai)
        #expect(sent.headers == ["Content-Type: application/json", "X-Team: search"])
        #expect(sent.body == #"{"model":"gpt-4o","messages":[]}"#)
        let warnings = try OpenAIProfile().check(Self.settings())
        #expect(
            warnings == [
                "the openai profile sends no gateway headers: cache, properties, session_id, user_id, tags will not be sent (lines' own settings neither)"
            ])
        #expect(try OpenAIProfile().check(GatewaySettings()).isEmpty)
    }

    @Test(arguments: GatewayProfileName.allCases)
    func theChainAdvancesWithTheAttempt(name: GatewayProfileName) {
        let builder = RequestBuilder(baseURL: "https://gw.example/v1", defaultModel: "gpt-4o", settings: Self.settings(), profile: name.profile(jobName: "j"))
        let plan = builder.plan(for: item())
        let last = builder.request(for: item(), plan: plan, modelIndex: 2)
        let text = String(decoding: last.body, as: UTF8.self)
        #expect(last.model == "gemini-2.5-pro")
        #expect(text.hasPrefix(#"{"model":"gemini-2.5-pro","#), "the last model has nothing to fall back to")
        #expect(!text.contains("fallbacks") && !last.headers.contains { $0.name == "floopy-fallback" })
    }

    @Test func aJobHeaderReplacesTheProfilesHeaderOfTheSameName() {
        var settings = Self.settings()
        settings.extraHeaders = ["helicone-cache-enabled": "false"]
        let sent = firstAttempt(.helicone, settings)
        #expect(sent.headers.filter { $0.lowercased().hasPrefix("helicone-cache-enabled") } == ["helicone-cache-enabled: false"])
    }

    static let answers: [(GatewayProfileName, [String: String], AnswerDetails)] = [
        (
            .floopy, ["floopy-cache": "HIT", "x-request-id": "req_1", "floopy-model": "claude", "floopy-provider": "anthropic"],
            AnswerDetails(model: "claude", provider: "anthropic", requestID: "req_1", cacheStatus: "HIT", cacheHit: true)
        ),
        (.floopySDK, ["floopy-cache": "MISS", "x-request-id": "req_2"], AnswerDetails(requestID: "req_2", cacheStatus: "MISS", cacheHit: false)),
        (.helicone, ["helicone-cache": "HIT", "helicone-id": "hel_1"], AnswerDetails(requestID: "hel_1", cacheStatus: "HIT", cacheHit: true)),
        (
            .portkey, ["x-portkey-cache-status": "SEMANTIC HIT", "x-portkey-trace-id": "t-1"],
            AnswerDetails(requestID: "t-1", cacheStatus: "SEMANTIC HIT", cacheHit: true)
        ),
        (.portkey, ["x-portkey-cache-status": "SEMANTIC MISS"], AnswerDetails(cacheStatus: "SEMANTIC MISS", cacheHit: false)),
        (.portkey, ["x-portkey-cache-status": "DISABLED"], AnswerDetails(cacheStatus: "DISABLED", cacheHit: nil)),
        (.litellm, ["x-litellm-cache-key": "abc", "x-litellm-call-id": "call_1"], AnswerDetails(requestID: "call_1", cacheStatus: "HIT", cacheHit: true)),
        (.litellm, ["x-litellm-call-id": "call_2"], AnswerDetails(requestID: "call_2")),
        (.openai, ["x-request-id": "req_3", "floopy-cache": "HIT"], AnswerDetails(requestID: "req_3")),
    ]

    @Test(arguments: answers.indices)
    func eachProfileReadsItsGatewaysAnswer(index: Int) {
        let (name, headers, expected) = Self.answers[index]
        #expect(name.profile(jobName: "j").answerDetails { headers[$0] } == expected)
    }

    @Test func litellmReadsTheRenamedUpstreamRetryAfter() {
        let renamed = ["llm_provider-retry-after": "2"]
        #expect(LiteLLMProfile().rateLimits { renamed[$0] }.retryAfter == 2)
        #expect(FloopyProfile().rateLimits { renamed[$0] }.retryAfter == nil, "only LiteLLM renames it")
        let both = ["retry-after": "1", "llm_provider-retry-after": "5", "llm_provider-retry-after-ms": "700"]
        #expect(LiteLLMProfile().rateLimits { both[$0] }.retryAfter == 0.7, "retry-after-ms first, as the SDKs read it")
        let plain = ["retry-after": "3"]
        #expect(LiteLLMProfile().rateLimits { plain[$0] }.retryAfter == 3)
    }
}
