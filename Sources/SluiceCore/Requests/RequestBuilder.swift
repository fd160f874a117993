/// Builds the request for one attempt of an item: URL, gateway headers and body.
///
/// The stored body has no `model`; the model for this attempt (the item's own,
/// or a fallback, or the gateway's chain of them) and any members the profile
/// adds are spliced in front, which costs one copy and no JSON work.
package struct RequestBuilder: Sendable {
    package let baseURL: String
    package let defaultModel: String?
    package let settings: GatewaySettings
    package let profile: any GatewayProfile
    /// `--stream`: chat completions ask for Server-Sent Events (see RequestBuilder+Streaming.swift).
    package var stream = false
    /// The job's own headers, sorted, and their lowercased names: they replace a profile header of the same name.
    private let extraHeaders: [(name: String, value: String)]
    private let extraNames: Set<String>
    /// Send `Idempotency-Key` (`--idempotency-key`).
    package let idempotencyKeys: Bool

    /// `profile` defaults to the one `settings` names.
    package init(
        baseURL: String, defaultModel: String?, settings: GatewaySettings, profile: (any GatewayProfile)? = nil, idempotencyKeys: Bool = false
    ) {
        self.idempotencyKeys = idempotencyKeys
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.defaultModel = defaultModel
        self.settings = settings
        self.profile = profile ?? settings.profile.profile(jobName: "sluice")
        extraHeaders = settings.extraHeaders.keys.sorted().map { ($0, settings.extraHeaders[$0]!) }
        extraNames = Set(settings.extraHeaders.keys.map { $0.lowercased() })
    }

    /// What stays the same across an item's attempts, worked out once per item:
    /// its gateway settings (the job's with the line's overrides) and its models.
    package struct ItemPlan: Sendable {
        package let settings: GatewaySettings
        /// The models to try in order: the item's (or the job's), then its fallbacks.
        package let chain: [String]
        /// Body keys the profile would add that the line's body already has: the line's value stays.
        package let ownBodyKeys: Set<String>
        /// Nil when the item's request is not streamed.
        package var streaming: StreamPlan? = nil
    }

    package func plan(for item: DispatchItem) -> ItemPlan {
        let effective = settings.applying(item.overrides)
        var chain: [String] = []
        for model in [item.model ?? defaultModel].compactMap({ $0 }) + effective.fallback where !chain.contains(model) {
            chain.append(model)
        }
        return ItemPlan(
            settings: effective, chain: chain, ownBodyKeys: Self.keys(profile.bodyKeys, presentIn: item.body), streaming: streamPlan(for: item))
    }

    package func request(for item: DispatchItem, plan: ItemPlan, modelIndex: Int) -> GatewayRequest {
        let model = plan.chain[modelIndex]
        let remaining = Array(plan.chain.dropFirst(modelIndex + 1))
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        let profileHeaders = profile.headers(for: plan.settings, remainingFallbacks: remaining)
        headers += extraNames.isEmpty ? profileHeaders : profileHeaders.filter { !extraNames.contains($0.name.lowercased()) }
        headers += extraHeaders
        if idempotencyKeys { headers.append(("Idempotency-Key", Self.idempotencyKey(for: item))) }
        // Header values are bytes: non-ASCII text is encoded (see HeaderValidation.sendable).
        headers = headers.map { ($0.name, HeaderValidation.sendable($0.value)) }
        var edit = profile.body(for: plan.settings, model: model, remainingFallbacks: remaining)
        if !plan.ownBodyKeys.isEmpty { edit.members.removeAll { plan.ownBodyKeys.contains($0.key) } }
        edit.members += plan.streaming?.members ?? []
        return GatewayRequest(
            url: url(for: item.endpoint), headers: headers, body: Self.body(item.body, edit: edit), model: model, stream: plan.streaming != nil)
    }

    /// The same for every attempt of an item, in this run and after a resume (its key, endpoint and stored
    /// body do not change), and different once the line's request changes; fallback models do not change it.
    package static func idempotencyKey(for item: DispatchItem) -> String {
        "sluice-" + String(Digest64.of(item.customID, item.endpoint, item.body), radix: 16)
    }

    /// `https://api.floopy.ai/v1` + `/v1/chat/completions` must not become `/v1/v1/...`.
    package func url(for endpoint: String) -> String {
        let path = endpoint.hasPrefix("/") ? endpoint : "/" + endpoint
        if baseURL.hasSuffix("/v1"), path.hasPrefix("/v1/") { return baseURL + path.dropFirst(3) }
        return baseURL + path
    }

    static func body(_ stored: [UInt8], model: String) -> [UInt8] {
        body(stored, edit: BodyEdit(model: model))
    }

    static func body(_ stored: [UInt8], edit: BodyEdit) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(stored.count + edit.model.utf8.count + 12 + edit.members.reduce(0) { $0 + $1.key.utf8.count + $1.json.count + 4 })
        out += Array(#"{"model":"#.utf8)
        JSONText.appendQuoted(edit.model, to: &out)
        for member in edit.members {
            out.append(UInt8(ascii: ","))
            JSONText.appendQuoted(member.key, to: &out)
            out.append(UInt8(ascii: ":"))
            out += member.json
        }
        // The stored body is a JSON object: "{}" or "{...}".
        let rest = stored.dropFirst()
        if rest.first(where: { $0 != 0x20 }) != UInt8(ascii: "}") { out.append(UInt8(ascii: ",")) }
        out += rest
        return out
    }

    /// Which of `keys` the stored body has at its top level; no scan at all for a profile that adds none.
    static func keys(_ keys: [String], presentIn body: [UInt8]) -> Set<String> {
        guard !keys.isEmpty, let members = (try? JSONScanner.members(of: body)) ?? nil else { return [] }
        let present = Set(members.map { RawObject.keyText($0.key) })
        return Set(keys.filter(present.contains))
    }

    /// The most tokens the request lets the model answer with (`max_tokens`, `max_completion_tokens`,
    /// `max_output_tokens`), for the worst case of `--max-cost`.
    package static func maxCompletionTokens(in body: [UInt8]) -> Int? {
        guard let members = (try? JSONScanner.members(of: body)) ?? nil else { return nil }
        for member in members where member.key == "max_tokens" || member.key == "max_completion_tokens" || member.key == "max_output_tokens" {
            if let value = JSONScanner.integer(body[member.value]) { return value }
        }
        return nil
    }
}
