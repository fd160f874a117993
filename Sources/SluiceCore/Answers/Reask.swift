/// How an answer that failed the check is asked again (`--reask`).
package enum ReaskMode: String, Codable, Sendable, CaseIterable {
    /// The conversation goes on: the invalid answer, then a user message saying what was wrong with it.
    case reason
    /// The same request again (at temperature 0 the model mostly answers the same again).
    case same
}

/// The re-ask of an answer that is not the JSON asked for. At temperature 0 the same request mostly gets the
/// same answer; telling the model what was wrong (the checker's own message) gives it something to correct.
///
/// A chat request (`messages`) and a Responses API request (`input`, a string or a list of items) get two more
/// turns: the invalid answer as the assistant's, then the message as the user's. The other members of the body
/// are kept byte for byte. Any other body (embeddings, legacy completions) is asked again as it was.
///
/// ```swift
/// let reask = Reask(mode: .reason, template: Reask.defaultTemplate)
/// let next = reask.body(for: sent, endpoint: "/v1/chat/completions", answer: "Sure! {\"label\"", reason: problem) ?? sent
/// ```
package struct Reask: Sendable, Equatable {
    package static let defaultTemplate = "Your answer {reason}. Answer again with JSON only."
    package static let placeholder = "{reason}"

    package var mode: ReaskMode
    /// The user message; `{reason}` is replaced with what the checker found.
    package var template: String

    package init(mode: ReaskMode = .reason, template: String = Reask.defaultTemplate) {
        self.mode = mode
        self.template = template
    }

    /// The checker says "the answer is not JSON (...)"; the template says "Your answer {reason}", so the
    /// reason reads "is not JSON (...)".
    package func message(reason: String) -> String {
        let prefix = "the answer "
        let phrase = reason.hasPrefix(prefix) ? String(reason.dropFirst(prefix.count)) : reason
        return template.replacingOccurrences(of: Self.placeholder, with: phrase)
    }

    /// The next attempt's body: `body` (the one the invalid answer came to, so each re-ask builds on the
    /// last) with the answer and the message appended; nil for `same` or a body of another shape.
    package func body(for body: [UInt8], endpoint: String, answer: String, reason: String) -> [UInt8]? {
        guard mode == .reason else { return nil }
        return Self.appending(answer: answer, message: message(reason: reason), to: body, endpoint: endpoint)
    }

    /// The body with two more turns; nil when it has no conversation to extend.
    static func appending(answer: String, message: String, to body: [UInt8], endpoint: String) -> [UInt8]? {
        let path = endpoint.split(separator: "?").first.map(String.init) ?? endpoint
        let isChat = path.hasSuffix("/chat/completions")
        guard isChat || path.hasSuffix("/responses") else { return nil }
        let key: StaticString = isChat ? "messages" : "input"
        guard let members = (try? JSONScanner.members(of: body)) ?? nil,
            let member = members.last(where: { $0.key == key }), let first = body[member.value].first
        else { return nil }
        var turns: [UInt8] = []
        appendTurn(role: "assistant", content: answer, to: &turns)
        turns.append(UInt8(ascii: ","))
        appendTurn(role: "user", content: message, to: &turns)

        var value: [UInt8] = [UInt8(ascii: "[")]
        switch first {
        case UInt8(ascii: "["):
            // The list's items as they were, then the two turns.
            let inner = body[(member.value.lowerBound + 1)..<(member.value.upperBound - 1)]
            if inner.contains(where: { !Self.isWhitespace($0) }) {
                value += inner
                value.append(UInt8(ascii: ","))
            }
        case UInt8(ascii: "\"") where !isChat:
            // A Responses input given as text is the user's first turn.
            value += Array(#"{"role":"user","content":"#.utf8) + body[member.value] + [UInt8(ascii: "}"), UInt8(ascii: ",")]
        default:
            return nil
        }
        value += turns
        value.append(UInt8(ascii: "]"))
        return Array(body[..<member.value.lowerBound]) + value + Array(body[member.value.upperBound...])
    }

    private static func appendTurn(role: String, content: String, to out: inout [UInt8]) {
        out += Array(#"{"role":"#.utf8)
        JSONText.appendQuoted(role, to: &out)
        out += Array(#","content":"#.utf8)
        JSONText.appendQuoted(content, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
}
