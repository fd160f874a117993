/// OpenAI itself, or any plain OpenAI-compatible server: no gateway headers at
/// all. The settings it has no place for are dropped with one warning at
/// start rather than one per request; `fallback` still works, because sluice
/// itself moves an item to the next model.
package struct OpenAIProfile: GatewayProfile {
    package init() {}

    package var name: GatewayProfileName { .openai }

    package func headers(for settings: GatewaySettings, remainingFallbacks: [String]) -> [(name: String, value: String)] { [] }

    package func answerDetails(_ header: (String) -> String?) -> AnswerDetails {
        AnswerDetails(requestID: header("x-request-id"))
    }

    package func check(_ settings: GatewaySettings) throws(ProfileRefusal) -> [String] {
        let ignored = ProfileSupport.ignored(settings, cache: true, properties: true, session: true, user: true, tags: true)
        guard !ignored.isEmpty else { return [] }
        return ["the openai profile sends no gateway headers: \(ignored.joined(separator: ", ")) will not be sent (lines' own settings neither)"]
    }
}
