import Foundation

/// The few fields sluice needs from an answer (who answered, token usage).
/// The body itself is kept as bytes for the checkpoint and the results.
public struct ResponseSummary: Sendable {
    public var model: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var totalTokens: Int?

    /// Nil when the body is not a JSON object: a 2xx like that is a broken answer.
    public init?(body: [UInt8]) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        model = object["model"] as? String
        if let usage = object["usage"] as? [String: Any] {
            promptTokens = (usage["prompt_tokens"] ?? usage["input_tokens"]) as? Int
            completionTokens = (usage["completion_tokens"] ?? usage["output_tokens"]) as? Int
            totalTokens = usage["total_tokens"] as? Int
        }
    }

    static func errorObject(in body: [UInt8]) -> [String: Any]? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        return object["error"] as? [String: Any]
    }

    /// `error.code` of an OpenAI or Floopy error body (`rate_limit_exceeded`, `PROVIDER_ERROR`...).
    public static func errorCode(in body: [UInt8]) -> String? {
        guard let error = errorObject(in: body) else { return nil }
        return (error["code"] as? String) ?? (error["type"] as? String)
    }

    public static func errorMessage(in body: [UInt8]) -> String? {
        if let error = errorObject(in: body) { return error["message"] as? String }
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
