/// Pieces several profiles share, so each profile file reads as its gateway's table.
enum ProfileSupport {
    /// Gateways without a tags notion get tags as a `tags` property (comma-separated), which
    /// their dashboards filter on. A property the job or line names `tags` itself wins.
    static func propertiesWithTags(_ settings: GatewaySettings) -> [(name: String, value: String)] {
        var properties = settings.properties
        if !settings.tags.isEmpty, properties["tags"] == nil { properties["tags"] = settings.tags.joined(separator: ",") }
        return properties.keys.sorted().map { ($0, properties[$0]!) }
    }

    /// Refuses a job that sets both `tags` and a property named `tags`: one would silently hide the other.
    static func checkTagsProperty(_ settings: GatewaySettings, profile: GatewayProfileName) throws(ProfileRefusal) {
        guard !settings.tags.isEmpty, settings.properties["tags"] != nil else { return }
        throw ProfileRefusal(
            "the \(profile.rawValue) profile sends tags as the property \"tags\", and the job also sets a property named \"tags\": keep one of them")
    }

    /// A JSON object of strings with sorted keys: the same settings give the same header,
    /// byte for byte, so recorded headers and tests compare exactly.
    static func jsonObject(_ pairs: [(key: String, value: String)]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, pair) in pairs.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(pair.key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(pair.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    static func jsonArray(_ items: [String]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(item, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    static func jsonString(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        JSONText.appendQuoted(text, to: &out)
        return out
    }

    /// `gpt-4o,claude-sonnet-4`: the chain Floopy's SDKs and Helicone's AI Gateway try left to right.
    static func modelChain(_ model: String, _ remainingFallbacks: [String]) -> String {
        ([model] + remainingFallbacks).joined(separator: ",")
    }

    /// `HIT`, `SEMANTIC HIT` → true; `MISS`, `SEMANTIC MISS`, `REFRESH` → false; anything else
    /// (Portkey's `DISABLED`, no header) says nothing about the cache.
    static func cacheVerdict(_ status: String?) -> Bool? {
        guard let status = status?.trimmingCharacters(in: .whitespaces).uppercased(), !status.isEmpty else { return nil }
        if status == "HIT" || status.hasSuffix(" HIT") { return true }
        if status == "MISS" || status.hasSuffix(" MISS") || status == "REFRESH" { return false }
        return nil
    }

    /// The settings a profile without that notion drops, named as a job file names them.
    static func ignored(_ settings: GatewaySettings, cache: Bool, properties: Bool, session: Bool, user: Bool, tags: Bool) -> [String] {
        var names: [String] = []
        if cache, settings.cache != .off { names.append("cache") }
        if properties, !settings.properties.isEmpty { names.append("properties") }
        if session, settings.sessionID != nil { names.append("session_id") }
        if user, settings.userID != nil { names.append("user_id") }
        if tags, !settings.tags.isEmpty { names.append("tags") }
        return names
    }
}
