import Foundation

/// `--batch-enqueued-token-limit`: how the mock counts the tokens a batch holds enqueued, and when it
/// refuses one as OpenAI does (`token_limit_exceeded` in `errors.data`, the batch `failed`).
///
/// The count is the mock's own rule, not sluice's estimate: the prompt's text (message contents, `input`,
/// `prompt`) at 4 bytes a token, rounded up, plus the line's `max_tokens` / `max_completion_tokens` /
/// `max_output_tokens` or `defaultOutput`. A client that counts differently must still stay under it.
enum EnqueuedTokens {
    /// The answer assumed for a line that sets no cap (embeddings answer no tokens).
    static let defaultOutput = 1000

    /// Tokens of every line, by the model its body names (`""` when none).
    static func count(_ lines: [BatchLine], endpoint: String) -> [String: Int] {
        let embeddings = BatchInput.route(endpoint) == "/embeddings"
        var tokens: [String: Int] = [:]
        for line in lines {
            guard let body = (try? JSONSerialization.jsonObject(with: Data(line.body))) as? [String: Any] else { continue }
            let cap = ["max_tokens", "max_completion_tokens", "max_output_tokens"].lazy.compactMap { body[$0] as? Int }.first
            let output = cap ?? (embeddings ? 0 : defaultOutput)
            tokens[body["model"] as? String ?? "", default: 0] += (textBytes(of: body) + 3) / 4 + output
        }
        return tokens
    }

    /// Tokens `model` holds in batches still validating, in progress or finalizing at `now`.
    static func open(_ model: String, in batches: [BatchRecord], now: Double) -> Int {
        batches.reduce(0) { sum, batch in sum + (batch.enqueued[model].map { batch.isOpen(at: now) ? $0 : 0 } ?? 0) }
    }

    /// The error a create gets when the file's tokens, added to what its model already has open, pass `limit`
    /// (so a file over the limit on its own is refused too); nil when it fits.
    static func refusal(_ file: [String: Int], limit: Int, open batches: [BatchRecord], now: Double) -> BatchLineError? {
        for (model, tokens) in file.sorted(by: { $0.key < $1.key }) where open(model, in: batches, now: now) + tokens > limit {
            return BatchLineError(
                code: "token_limit_exceeded",
                message:
                    "Enqueued token limit reached for \(model) in organization org-mock. Limit: \(limit) enqueued tokens. Please try again once some in_progress batches have been completed.",
                line: nil)
        }
        return nil
    }

    /// UTF-8 bytes of the prompt's text: message contents (strings or parts' `text`), `input`, `prompt`.
    private static func textBytes(of body: [String: Any]) -> Int {
        func text(_ value: Any?) -> Int {
            switch value {
            case let string as String: string.utf8.count
            case let list as [Any]: list.reduce(0) { $0 + text($1) }
            case let object as [String: Any]: text(object["content"]) + text(object["text"])
            default: 0
            }
        }
        return text(body["messages"]) + text(body["input"]) + text(body["prompt"])
    }
}
