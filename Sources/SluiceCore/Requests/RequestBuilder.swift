/// Builds the request for one attempt of an item: URL, gateway headers and body.
///
/// The stored body has no `model`; the model for this attempt (the item's own,
/// or a fallback) is spliced in front, which costs one copy and no JSON work.
public struct RequestBuilder: Sendable {
    public let baseURL: String
    public let defaultModel: String?
    public let settings: GatewaySettings
    public let profile: HeaderProfile

    public init(baseURL: String, defaultModel: String?, settings: GatewaySettings, profile: HeaderProfile = FloopyHeaderProfile()) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.defaultModel = defaultModel
        self.settings = settings
        self.profile = profile
    }

    /// What stays the same across an item's attempts, worked out once per item:
    /// its gateway settings (the job's with the line's overrides) and its models.
    public struct ItemPlan: Sendable {
        public let settings: GatewaySettings
        /// The models to try in order: the item's (or the job's), then its fallbacks.
        public let chain: [String]
    }

    public func plan(for item: DispatchItem) -> ItemPlan {
        let effective = settings.applying(item.overrides)
        var chain: [String] = []
        for model in [item.model ?? defaultModel].compactMap({ $0 }) + effective.fallback where !chain.contains(model) {
            chain.append(model)
        }
        return ItemPlan(settings: effective, chain: chain)
    }

    public func request(for item: DispatchItem, plan: ItemPlan, modelIndex: Int) -> GatewayRequest {
        let model = plan.chain[modelIndex]
        let headers =
            [("Content-Type", "application/json")]
            + profile.headers(for: plan.settings, remainingFallbacks: Array(plan.chain.dropFirst(modelIndex + 1))).map {
                ($0.name, HeaderValidation.sendable($0.value))
            }
        return GatewayRequest(
            url: url(for: item.endpoint), headers: headers,
            body: Self.body(item.body, model: model), model: model)
    }

    /// `https://api.floopy.ai/v1` + `/v1/chat/completions` must not become `/v1/v1/...`.
    public func url(for endpoint: String) -> String {
        let path = endpoint.hasPrefix("/") ? endpoint : "/" + endpoint
        if baseURL.hasSuffix("/v1"), path.hasPrefix("/v1/") { return baseURL + path.dropFirst(3) }
        return baseURL + path
    }

    static func body(_ stored: [UInt8], model: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(stored.count + model.utf8.count + 12)
        out += Array(#"{"model":"#.utf8)
        JSONText.appendQuoted(model, to: &out)
        // The stored body is a JSON object: "{}" or "{...}".
        let rest = stored.dropFirst()
        if rest.first(where: { $0 != 0x20 }) != UInt8(ascii: "}") { out.append(UInt8(ascii: ",")) }
        out += rest
        return out
    }

    /// The most tokens the request lets the model answer with (`max_tokens`, `max_completion_tokens`,
    /// `max_output_tokens`), for the worst case of `--max-cost`.
    public static func maxCompletionTokens(in body: [UInt8]) -> Int? {
        guard let members = (try? JSONScanner.members(of: body)) ?? nil else { return nil }
        for member in members where member.key == "max_tokens" || member.key == "max_completion_tokens" || member.key == "max_output_tokens" {
            if let value = JSONScanner.integer(body[member.value]) { return value }
        }
        return nil
    }
}
