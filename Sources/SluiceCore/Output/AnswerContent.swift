import Foundation

/// What an answer said, taken out of its response body for the flat and CSV
/// exports: the text of a chat or completion (or a Responses API answer), or
/// the vector of an embedding. Endpoint-agnostic on purpose: it looks for each
/// known shape in turn, so an export needs no knowledge of the job's endpoint.
enum AnswerContent {
    /// A JSON string for text, a JSON array for an embedding, nil when the body holds neither.
    static func content(of body: [String: Any]) -> Any? {
        if let choices = body["choices"] as? [Any], let first = choices.first as? [String: Any] {
            if let message = first["message"] as? [String: Any] {
                if let text = message["content"] as? String { return text }
                if let calls = message["tool_calls"] { return calls }
                return message["content"]
            }
            if let text = first["text"] as? String { return text }
        }
        if let data = body["data"] as? [Any], let first = data.first as? [String: Any], let vector = first["embedding"] {
            // Several inputs in one request: every vector, in order.
            return data.count == 1 ? vector : data.compactMap { ($0 as? [String: Any])?["embedding"] }
        }
        if let text = body["output_text"] as? String { return text }
        if let output = body["output"] as? [Any] {
            let texts = output.compactMap { $0 as? [String: Any] }.flatMap { ($0["content"] as? [Any]) ?? [] }
                .compactMap { ($0 as? [String: Any])?["text"] as? String }
            if !texts.isEmpty { return texts.joined() }
        }
        return nil
    }
}
