@testable import SluiceCore

extension GatewayResult {
    /// A chat completion that says "ok" (1 + 1 tokens): what the tests' own transports answer.
    static func okCompletion(latencySeconds: Double) -> GatewayResult {
        let body =
            #"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#
        return .response(GatewayResponse(status: 200, headers: [("content-type", "application/json")], body: Array(body.utf8), latencySeconds: latencySeconds))
    }
}
