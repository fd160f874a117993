import Foundation

/// The few fields sluice needs from an answer (who answered, token usage).
/// The body itself is kept as bytes for the checkpoint and the results.
package struct ResponseSummary: Sendable {
    package var model: String?
    package var promptTokens: Int?
    package var completionTokens: Int?
    package var totalTokens: Int?
    /// Prompt tokens the provider served from its cache (OpenAI's `prompt_tokens_details.cached_tokens`,
    /// Anthropic's `cache_read_input_tokens`), billed at the cached-input price.
    package var cachedTokens: Int?

    /// Nil when the body is not a JSON object: a 2xx like that is a broken answer.
    /// Validates the whole body but decodes only these fields (no objects built).
    package init?(body: [UInt8]) {
        guard let members = (try? JSONScanner.members(of: body)) ?? nil else { return nil }
        for member in members {
            if member.key == "model" {
                let value = body[member.value]
                model =
                    JSONScanner.string(value)
                    ?? ((try? JSONSerialization.jsonObject(with: Data(value), options: .fragmentsAllowed)) as? String)
            } else if member.key == "usage", let usage = JSONScanner.members(of: body, in: member.value) {
                for field in usage {
                    let number = JSONScanner.integer(body[field.value])
                    if field.key == "prompt_tokens" || field.key == "input_tokens" {
                        promptTokens = number
                    } else if field.key == "completion_tokens" || field.key == "output_tokens" {
                        completionTokens = number
                    } else if field.key == "total_tokens" {
                        totalTokens = number
                    } else if field.key == "cache_read_input_tokens" {
                        cachedTokens = number
                    } else if field.key == "prompt_tokens_details" || field.key == "input_tokens_details",
                        let details = JSONScanner.members(of: body, in: field.value)
                    {
                        for detail in details where detail.key == "cached_tokens" { cachedTokens = JSONScanner.integer(body[detail.value]) }
                    }
                }
            }
        }
        if totalTokens == nil, let prompt = promptTokens, let completion = completionTokens { totalTokens = prompt + completion }
    }

    static func errorObject(in body: [UInt8]) -> [String: Any]? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        return object["error"] as? [String: Any]
    }

    /// `error.code` of an OpenAI or Floopy error body (`rate_limit_exceeded`, `PROVIDER_ERROR`...).
    package static func errorCode(in body: [UInt8]) -> String? {
        guard let error = errorObject(in: body) else { return nil }
        return (error["code"] as? String) ?? (error["type"] as? String)
    }

    package static func errorMessage(in body: [UInt8]) -> String? {
        if let error = errorObject(in: body) { return error["message"] as? String }
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
