import Foundation

/// Which gateway the mock answers like (`--profile-echo`): the names it gives
/// the request id and the cache verdict, and how an upstream 429's wait
/// reaches the client. What the mock accepts does not change: it honours every
/// gateway's cache switch and fallback spelling whatever it echoes, so a test
/// can pair any profile with any echo.
public enum ProfileEcho: String, Sendable, CaseIterable {
    case floopy, helicone, portkey, litellm, openai

    /// Response headers of a successful answer beyond `x-request-id`.
    /// `cacheWanted` is false when the request asked for no cache: then no verdict is sent.
    func answerHeaders(
        request: MockRequest, requestID: String, model: String, provider: String, cacheWanted: Bool, hit: Bool, semantic: Bool
    ) -> [(String, String)] {
        var headers: [(String, String)] = []
        switch self {
        case .floopy:
            headers += [("floopy-model", model), ("floopy-provider", provider)]
            if cacheWanted { headers.append(("floopy-cache", hit ? "HIT" : "MISS")) }
        case .helicone:
            headers.append(("helicone-id", "hel_" + requestID))
            if cacheWanted { headers.append(("helicone-cache", hit ? "HIT" : "MISS")) }
        case .portkey:
            headers.append(("x-portkey-trace-id", request.header("x-portkey-trace-id") ?? "trace_" + requestID))
            if cacheWanted { headers.append(("x-portkey-cache-status", (semantic ? "SEMANTIC " : "") + (hit ? "HIT" : "MISS"))) }
        case .litellm:
            headers.append(("x-litellm-call-id", "call_" + requestID))
            // LiteLLM says nothing on a miss; a hit carries the cache entry's key.
            if cacheWanted, hit { headers.append(("x-litellm-cache-key", "key_" + requestID)) }
        case .openai:
            break
        }
        return headers
    }

    /// LiteLLM passes an upstream provider's headers on with an `llm_provider-` prefix,
    /// so the client sees no Retry-After of the usual name.
    func upstreamHeaders(_ headers: [(String, String)]) -> [(String, String)] {
        guard self == .litellm else { return headers }
        return headers.map { name, value in
            let lowered = name.lowercased()
            return lowered == "retry-after" || lowered == "retry-after-ms" ? ("llm_provider-" + lowered, value) : (name, value)
        }
    }

    /// Whether the request asks for the gateway cache, in any gateway's spelling,
    /// and whether it asks for the semantic kind.
    static func cacheRequest(_ request: MockRequest, body: [String: Any]) -> (wanted: Bool, semantic: Bool) {
        let floopy = request.header("floopy-cache")?.lowercased()
        let portkey = request.header("x-portkey-config").flatMap { text -> String? in
            let config = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
            return (config?["cache"] as? [String: Any])?["mode"] as? String
        }
        let litellm = ((body["cache"] as? [String: Any])?["use-cache"] as? Bool) == true
        let semantic = floopy == "semantic" || request.header("floopy-cache-advanced")?.lowercased() == "true" || portkey == "semantic"
        let wanted =
            semantic || floopy == "exact" || litellm || portkey == "simple"
            || request.header("floopy-cache-enabled")?.lowercased() == "true"
            || request.header("helicone-cache-enabled")?.lowercased() == "true"
        return (wanted, semantic)
    }
}
