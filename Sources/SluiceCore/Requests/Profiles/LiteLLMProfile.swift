/// The LiteLLM proxy. It ignores fallback headers: fallbacks go in the body as
/// `"fallbacks"`, and so do the session (`litellm_session_id`) and the
/// per-request cache switch (`"cache": {"use-cache": true}`, which opts in when
/// the proxy's cache is `default_off`; which cache answers, exact or semantic,
/// is the proxy's `cache_params.type`, not the request's). Tags, the end user
/// and properties (as spend-log metadata) are headers.
///
/// LiteLLM answers its own 429s without Retry-After and passes an upstream
/// provider's headers on with an `llm_provider-` prefix, so an upstream
/// `Retry-After` arrives as `llm_provider-retry-after`: read here as the wait.
/// It reports a cache hit only by sending the entry's `x-litellm-cache-key`.
package struct LiteLLMProfile: GatewayProfile {
    package init() {}

    package var name: GatewayProfileName { .litellm }

    package func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if !settings.tags.isEmpty { headers.append(("x-litellm-tags", settings.tags.joined(separator: ","))) }
        if !settings.properties.isEmpty {
            headers.append(("x-litellm-spend-logs-metadata", ProfileSupport.jsonObject(settings.properties.map { ($0.key, $0.value) })))
        }
        if let user = settings.userID { headers.append(("x-litellm-end-user-id", user)) }
        return headers
    }

    package func body(for settings: GatewaySettings, model: String, remainingFallbacks: [String]) -> BodyEdit {
        var edit = BodyEdit(model: model)
        if !remainingFallbacks.isEmpty { edit.members.append(.init(key: "fallbacks", json: ProfileSupport.jsonArray(remainingFallbacks))) }
        if settings.cache != .off { edit.members.append(.init(key: "cache", json: Array(#"{"use-cache":true}"#.utf8))) }
        if let session = settings.sessionID { edit.members.append(.init(key: "litellm_session_id", json: ProfileSupport.jsonString(session))) }
        return edit
    }

    package var bodyKeys: [String] { ["fallbacks", "cache", "litellm_session_id"] }

    package func answerDetails(_ header: (String) -> String?) -> AnswerDetails {
        let key = header("x-litellm-cache-key")
        let status: String? = key == nil ? nil : (header("x-litellm-semantic-similarity") == nil ? "HIT" : "SEMANTIC HIT")
        return AnswerDetails(requestID: header("x-litellm-call-id"), cacheStatus: status, cacheHit: key == nil ? nil : true)
    }

    package func rateLimits(_ header: (String) -> String?) -> RateLimitHeaders {
        RateLimitHeaders { name in
            switch name {
            case "retry-after", "retry-after-ms": return header(name) ?? header("llm_provider-" + name)
            default: return header(name)
            }
        }
    }
}
