import Foundation

/// Builds deterministic OpenAI-shaped answers from a request.
///
/// Same request body, same answer: the content is derived from the body's digest
/// and its last user message, and usage is counted at about 4 characters per token.
enum CompletionFactory {
    /// About 4 characters (UTF-8 bytes) per token, rounded up.
    static func tokens(forCharacters count: Int) -> Int { (count + 3) / 4 }

    /// The text of every message, for counting prompt tokens.
    static func promptCharacters(_ body: [String: Any]) -> Int {
        if let prompt = body["prompt"] as? String { return prompt.utf8.count }
        if let input = body["input"] as? String { return input.utf8.count + ((body["instructions"] as? String)?.utf8.count ?? 0) }
        guard let messages = (body["messages"] ?? body["input"]) as? [[String: Any]] else { return 0 }
        return messages.reduce(0) { $0 + text(of: $1["content"]).utf8.count }
    }

    /// The question of a chat (`messages`), Responses API (`input`, a string or messages) or legacy completion (`prompt`).
    static func lastUserMessage(_ body: [String: Any]) -> String {
        if let prompt = body["prompt"] as? String { return prompt }
        if let input = body["input"] as? String { return input }
        guard let messages = (body["messages"] ?? body["input"]) as? [[String: Any]] else { return "" }
        let user = messages.last { ($0["role"] as? String) == "user" } ?? messages.last
        return user.map { text(of: $0["content"]) } ?? ""
    }

    /// Content may be a string or an array of typed parts; only text parts count.
    static func text(of content: Any?) -> String {
        if let string = content as? String { return string }
        if let parts = content as? [[String: Any]] {
            return parts.compactMap { $0["text"] as? String }.joined(separator: " ")
        }
        return ""
    }

    struct Answer {
        var content: String
        var finishReason: String
        var promptTokens: Int
        var completionTokens: Int
    }

    /// Asked for JSON (`response_format` `json_object` or `json_schema`), the answer is
    /// `{"id": <digest>, "label": "positive", "score": 0.9, "question": <the user message>}` unless the user
    /// message says `[[not-json]]` or `[[schema-break]]`, or `breakingJSON` (the `--pinvalid-json` fault) is drawn.
    static func answer(for body: [String: Any], digest: Digest, breakingJSON: Bool = false) -> Answer {
        let question = lastUserMessage(body)
        var content = "Mock answer " + digest.description + " to: "
        content += question.utf8.count <= 120 ? question : String(question.prefix(120))
        let format = (body["response_format"] as? [String: Any])?["type"] as? String
        if isStubborn(body) {
            content = stubbornAnswer(question: question)
        } else if format == "json_object" || format == "json_schema" {
            // Drawn breaks alternate prose and schema-breaking JSON where a schema was given; plain JSON mode gets prose.
            let schemaBreak = question.contains("[[schema-break]]") || (breakingJSON && format == "json_schema" && digest.value % 2 == 1)
            if question.contains("[[not-json]]") || (breakingJSON && !schemaBreak) {
                content = "Sure! Here is the JSON you asked for: {\"label\": \"positive\""
            } else if schemaBreak {
                content = #"{"id":"\#(digest)","score":"high"}"#
            } else {
                let echoed = String(question.prefix(120))
                let object: [String: Any] = ["id": digest.description, "label": "positive", "score": 0.9, "question": echoed]
                let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
                content = String(decoding: data, as: UTF8.self)
            }
        }
        var finish = "stop"
        if let maxTokens = (body["max_completion_tokens"] ?? body["max_tokens"]) as? Int, maxTokens > 0,
            tokens(forCharacters: content.utf8.count) > maxTokens
        {
            content = String(content.prefix(maxTokens * 4))
            finish = "length"
        }
        return Answer(
            content: content, finishReason: finish,
            promptTokens: tokens(forCharacters: promptCharacters(body)),
            completionTokens: tokens(forCharacters: content.utf8.count))
    }

    static let stubbornModel = "mock-stubborn-json"

    /// `mock-stubborn-json` (first of the model chain): prose until the last user message says what was wrong.
    static func isStubborn(_ body: [String: Any]) -> Bool {
        guard let model = body["model"] as? String else { return false }
        return model.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) == stubbornModel } ?? false
    }

    /// Prose, unless the last user message carries a checker's reason ("not JSON", "does not match"): then
    /// `{"label": "yes", "question": <that message>}`, so a test can read what the model was told.
    static func stubbornAnswer(question: String) -> String {
        guard question.contains("not JSON") || question.contains("does not match") else {
            return "Sure! The label is yes."
        }
        let object: [String: Any] = ["label": "yes", "question": String(question.prefix(400))]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func usageJSON(prompt: Int, completion: Int, cached: Int = 0) -> String {
        #"{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion),"prompt_tokens_details":{"cached_tokens":\#(cached)},"completion_tokens_details":{"reasoning_tokens":0}}"#
    }

    static func chatCompletion(id: String, model: String, created: Int, answer: Answer, billed: Bool) -> String {
        let usage =
            billed
            ? usageJSON(prompt: answer.promptTokens, completion: answer.completionTokens)
            : usageJSON(prompt: 0, completion: 0)
        return
            #"{"id":\#(jsonQuoted(id)),"object":"chat.completion","created":\#(created),"model":\#(jsonQuoted(model)),"choices":[{"index":0,"message":{"role":"assistant","content":\#(jsonQuoted(answer.content))},"logprobs":null,"finish_reason":"\#(answer.finishReason)"}],"usage":\#(usage)}"#
    }

    /// A Responses API answer (`/v1/responses`): the text as an `output_text` part of a message.
    static func response(id: String, model: String, created: Int, answer: Answer, billed: Bool) -> String {
        let prompt = billed ? answer.promptTokens : 0
        let completion = billed ? answer.completionTokens : 0
        let status = answer.finishReason == "length" ? "incomplete" : "completed"
        return
            #"{"id":\#(jsonQuoted(id)),"object":"response","created_at":\#(created),"status":"\#(status)","model":\#(jsonQuoted(model)),"output":[{"type":"message","id":"msg_\#(id.dropFirst(5))","status":"completed","role":"assistant","content":[{"type":"output_text","text":\#(jsonQuoted(answer.content)),"annotations":[]}]}],"usage":{"input_tokens":\#(prompt),"input_tokens_details":{"cached_tokens":0},"output_tokens":\#(completion),"output_tokens_details":{"reasoning_tokens":0},"total_tokens":\#(prompt + completion)}}"#
    }

    /// A legacy completion (`/v1/completions`): the text in `choices[0].text`.
    static func textCompletion(id: String, model: String, created: Int, answer: Answer, billed: Bool) -> String {
        let usage = billed ? usageJSON(prompt: answer.promptTokens, completion: answer.completionTokens) : usageJSON(prompt: 0, completion: 0)
        return
            #"{"id":\#(jsonQuoted(id)),"object":"text_completion","created":\#(created),"model":\#(jsonQuoted(model)),"choices":[{"text":\#(jsonQuoted(answer.content)),"index":0,"logprobs":null,"finish_reason":"\#(answer.finishReason)"}],"usage":\#(usage)}"#
    }

    /// SSE events for a streamed answer: role chunk, content in pieces, finish chunk,
    /// the usage chunk when asked for, then `[DONE]`.
    static func streamEvents(id: String, model: String, created: Int, answer: Answer, includeUsage: Bool) -> [String] {
        let prefix = #"{"id":\#(jsonQuoted(id)),"object":"chat.completion.chunk","created":\#(created),"model":\#(jsonQuoted(model)),"choices":"#
        var events = [prefix + #"[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#]
        var rest = Substring(answer.content)
        while !rest.isEmpty {
            let piece = rest.prefix(24)
            rest = rest.dropFirst(piece.count)
            events.append(prefix + #"[{"index":0,"delta":{"content":\#(jsonQuoted(String(piece)))},"finish_reason":null}]}"#)
        }
        events.append(prefix + #"[{"index":0,"delta":{},"finish_reason":"\#(answer.finishReason)"}]}"#)
        if includeUsage {
            events.append(prefix + #"[],"usage":\#(usageJSON(prompt: answer.promptTokens, completion: answer.completionTokens))}"#)
        }
        events.append("[DONE]")
        return events
    }

    /// Deterministic unit-length vectors, one per input string.
    static func embeddings(for body: [String: Any], model: String, dimensions: Int) -> String {
        let inputs: [String]
        if let single = body["input"] as? String { inputs = [single] } else if let many = body["input"] as? [String] { inputs = many } else { inputs = [] }
        var data: [String] = []
        var characters = 0
        for (index, input) in inputs.enumerated() {
            characters += input.utf8.count
            var rng = SplitMix64(seed: Digest(of: input.utf8).value)
            var vector = (0..<dimensions).map { _ in rng.nextUnit() * 2 - 1 }
            let norm = max(vector.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-9)
            vector = vector.map { $0 / norm }
            let numbers = vector.map { String(format: "%.6f", $0) }.joined(separator: ",")
            data.append(#"{"object":"embedding","index":\#(index),"embedding":[\#(numbers)]}"#)
        }
        let tokens = tokens(forCharacters: characters)
        return
            #"{"object":"list","data":[\#(data.joined(separator: ","))],"model":\#(jsonQuoted(model)),"usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#
    }
}
