/// The gateways sluice knows how to speak to (`--profile`, job key `profile`).
package enum GatewayProfileName: String, Sendable, CaseIterable, Codable {
    case floopy
    case floopySDK = "floopy-sdk"
    case helicone
    case portkey
    case litellm
    case openai

    /// `floopy, floopy-sdk, ...`, for messages that list the choices.
    package static var namesList: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The profile for a job. `jobName` names Helicone's and Floopy SDK's session, which they require beside its id.
    package func profile(jobName: String) -> any GatewayProfile {
        switch self {
        case .floopy: return FloopyProfile()
        case .floopySDK: return FloopySDKProfile(sessionName: jobName)
        case .helicone: return HeliconeProfile(sessionName: jobName)
        case .portkey: return PortkeyProfile()
        case .litellm: return LiteLLMProfile()
        case .openai: return OpenAIProfile()
        }
    }

    /// A job file's unknown name is refused with the list, not Foundation's "cannot initialize".
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let name = GatewayProfileName(rawValue: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "unknown profile \"\(text)\"; the profiles are \(Self.namesList)")
        }
        self = name
    }
}
