import Foundation

/// Folds the `chat.completion.chunk` events of a streamed chat completion into
/// the `chat.completion` body the same request would have had unstreamed, so
/// results, export and status never need to know an answer was streamed.
///
/// ```swift
/// var assembler = StreamAssembler()
/// for event in events { try assembler.add(event) }   // throws on a malformed or error event
/// if assembler.isDone { store(assembler.body()) } else { fail(assembler.interruption("stream ended before [DONE]")) }
/// ```
package struct StreamAssembler: Sendable {
    /// Why a stream cannot become an answer, before it even ends.
    package struct Problem: Error, Sendable, Equatable {
        package var message: String
    }

    /// `[DONE]` arrived: the answer is whole.
    package private(set) var isDone = false
    /// Chunks taken (events other than `[DONE]`).
    package private(set) var chunks = 0
    /// The last chunk added carried the answer's first content (text, a tool call, a refusal).
    package private(set) var firstContentJustArrived = false
    private var sawContent = false
    private var id: String?
    private var created: Int?
    private var model: String?
    private var systemFingerprint: String?
    private var serviceTier: String?
    /// The usage object's bytes as the server sent them, wherever it came (its own chunk or the finish chunk).
    private var usage: [UInt8]?
    private var choices: [Int: Choice] = [:]

    /// The longest partial text a failure message quotes.
    package static let partialTextLimit = 500

    package init() {}

    private struct Choice: Sendable {
        var role: String?
        var content = ""
        var hadContent = false
        var refusal: String?
        var toolCalls: [Int: ToolCall] = [:]
        var functionCall: FunctionCall?
        var finishReason: String?
        var logprobs: [JSONValue]?
    }

    struct ToolCall: Sendable {
        var id: String?
        var type: String?
        var function = FunctionCall()
    }

    struct FunctionCall: Sendable {
        var name = ""
        var arguments = ""
    }

    /// Takes one event. After `[DONE]` nothing more is taken.
    package mutating func add(_ event: ServerSentEvents.Event) throws(Problem) {
        firstContentJustArrived = false
        guard !isDone else { return }
        if event.type == "error" { throw Problem(message: "the gateway sent an error event: \(Self.quote(event.text, limit: 300))") }
        guard event.type == nil else { return }  // a named event (ping, keep-alive) is not a chunk
        if event.data.elementsEqual("[DONE]".utf8) {
            isDone = true
            return
        }
        let members: [JSONScanner.Member]
        do {
            guard let found = try JSONScanner.members(of: event.data) else { throw JSONScanner.Malformed() }
            members = found
        } catch {
            throw Problem(message: "malformed event (not a JSON object: \(Self.quote(event.text, limit: 120)))")
        }
        let bytes = event.data
        func string(_ member: JSONScanner.Member) -> String? {
            JSONScanner.string(bytes[member.value]) ?? (try? JSONDecoder().decode(String.self, from: Data(bytes[member.value])))
        }
        for member in members {
            switch String(decoding: member.key, as: UTF8.self) {
            case "id": id = id ?? string(member)
            case "created": created = created ?? JSONScanner.integer(bytes[member.value])
            case "model": model = model ?? string(member)
            case "system_fingerprint": systemFingerprint = string(member) ?? systemFingerprint
            case "service_tier": serviceTier = string(member) ?? serviceTier
            case "usage" where bytes[member.value].first == UInt8(ascii: "{"): usage = Array(bytes[member.value])
            case "error":
                let message = ResponseSummary.errorMessage(in: bytes) ?? String(decoding: bytes[member.value], as: UTF8.self)
                throw Problem(message: "the gateway sent an error in the stream: \(Self.quote(message, limit: 300))")
            case "choices":
                guard let deltas = try? JSONDecoder().decode([ChoiceDelta].self, from: Data(bytes[member.value])) else {
                    throw Problem(message: "malformed event (its choices are not chunk choices)")
                }
                for delta in deltas { merge(delta) }
            default: break
            }
        }
        chunks += 1
    }

    private mutating func merge(_ delta: ChoiceDelta) {
        let index = delta.index ?? 0
        var choice = choices[index] ?? Choice()
        if let role = delta.delta?.role { choice.role = role }
        if let text = delta.delta?.content {
            choice.content += text
            choice.hadContent = true
            noteContent(!text.isEmpty)
        }
        if let refusal = delta.delta?.refusal {
            choice.refusal = (choice.refusal ?? "") + refusal
            noteContent(!refusal.isEmpty)
        }
        for call in delta.delta?.toolCalls ?? [] {
            let callIndex = call.index ?? choice.toolCalls.count
            var merged = choice.toolCalls[callIndex] ?? ToolCall()
            merged.id = call.id ?? merged.id
            merged.type = call.type ?? merged.type
            merged.function.name += call.function?.name ?? ""
            merged.function.arguments += call.function?.arguments ?? ""
            choice.toolCalls[callIndex] = merged
            noteContent(true)
        }
        if let call = delta.delta?.functionCall {
            var merged = choice.functionCall ?? FunctionCall()
            merged.name += call.name ?? ""
            merged.arguments += call.arguments ?? ""
            choice.functionCall = merged
            noteContent(true)
        }
        if let reason = delta.finishReason { choice.finishReason = reason }
        if let content = delta.logprobs?.content { choice.logprobs = (choice.logprobs ?? []) + content }
        choices[index] = choice
    }

    private mutating func noteContent(_ carriesContent: Bool) {
        guard carriesContent, !sawContent else { return }
        sawContent = true
        firstContentJustArrived = true
    }

    /// The text of the first choice so far: what a failure keeps for debugging.
    package var partialText: String { choices[choices.keys.min() ?? 0]?.content ?? "" }

    /// `stream ended before [DONE] after 37 chunks; partial text: "..."` (at most `partialTextLimit` characters of text).
    package func interruption(_ reason: String) -> String {
        "\(reason) after \(chunks) chunk\(chunks == 1 ? "" : "s"); partial text: \(Self.quote(partialText, limit: Self.partialTextLimit))"
    }

    static func quote(_ text: String, limit: Int) -> String {
        text.count <= limit ? JSONText.quoted(text) : JSONText.quoted(String(text.prefix(limit))) + "…"
    }

    /// The answer as a `chat.completion` object: id, object, created, model, choices, usage.
    package func body() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + choices.values.reduce(0) { $0 + $1.content.utf8.count })
        out += Array(#"{"id":"#.utf8)
        JSONText.appendQuoted(id ?? "", to: &out)
        out += Array(#","object":"chat.completion","created":"#.utf8)
        out += Array(String(created ?? 0).utf8)
        out += Array(#","model":"#.utf8)
        JSONText.appendQuoted(model ?? "", to: &out)
        out += Array(#","choices":["#.utf8)
        for (position, index) in choices.keys.sorted().enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            append(choices[index]!, index: index, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        out += Array(#","usage":"#.utf8)
        out += usage ?? Array("null".utf8)
        if let systemFingerprint {
            out += Array(#","system_fingerprint":"#.utf8)
            JSONText.appendQuoted(systemFingerprint, to: &out)
        }
        if let serviceTier {
            out += Array(#","service_tier":"#.utf8)
            JSONText.appendQuoted(serviceTier, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private func append(_ choice: Choice, index: Int, to out: inout [UInt8]) {
        func key(_ name: String) {
            JSONText.appendQuoted(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        out += Array(#"{"index":\#(index),"message":{"role":"#.utf8)
        JSONText.appendQuoted(choice.role ?? "assistant", to: &out)
        out.append(UInt8(ascii: ","))
        key("content")
        // As unstreamed: a message that only calls tools has `content: null`.
        let hasCalls = !choice.toolCalls.isEmpty || choice.functionCall != nil
        if choice.hadContent && !(choice.content.isEmpty && hasCalls) {
            JSONText.appendQuoted(choice.content, to: &out)
        } else {
            out += Array("null".utf8)
        }
        if let refusal = choice.refusal {
            out.append(UInt8(ascii: ","))
            key("refusal")
            JSONText.appendQuoted(refusal, to: &out)
        }
        if !choice.toolCalls.isEmpty {
            out.append(UInt8(ascii: ","))
            key("tool_calls")
            out.append(UInt8(ascii: "["))
            for (position, callIndex) in choice.toolCalls.keys.sorted().enumerated() {
                let call = choice.toolCalls[callIndex]!
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "{"))
                key("id")
                JSONText.appendQuoted(call.id ?? "", to: &out)
                out.append(UInt8(ascii: ","))
                key("type")
                JSONText.appendQuoted(call.type ?? "function", to: &out)
                out.append(UInt8(ascii: ","))
                Self.appendFunction(call.function, to: &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        }
        if let call = choice.functionCall {
            out.append(UInt8(ascii: ","))
            Self.appendFunction(call, key: "function_call", to: &out)
        }
        out += Array(#"},"logprobs":"#.utf8)
        if let logprobs = choice.logprobs, let json = try? JSONEncoder().encode(["content": logprobs]) {
            out += Array(json)
        } else {
            out += Array("null".utf8)
        }
        out += Array(#","finish_reason":"#.utf8)
        if let reason = choice.finishReason { JSONText.appendQuoted(reason, to: &out) } else { out += Array("null".utf8) }
        out.append(UInt8(ascii: "}"))
    }

    private static func appendFunction(_ function: FunctionCall, key: String = "function", to out: inout [UInt8]) {
        JSONText.appendQuoted(key, to: &out)
        out += Array(#":{"name":"#.utf8)
        JSONText.appendQuoted(function.name, to: &out)
        out += Array(#","arguments":"#.utf8)
        JSONText.appendQuoted(function.arguments, to: &out)
        out.append(UInt8(ascii: "}"))
    }
}

/// One entry of a chunk's `choices`, as much of it as assembling needs.
private struct ChoiceDelta: Decodable {
    var index: Int?
    var delta: Delta?
    var finishReason: String?
    var logprobs: Logprobs?

    struct Delta: Decodable {
        var role: String?
        var content: String?
        var refusal: String?
        var toolCalls: [ToolCallDelta]?
        var functionCall: FunctionDelta?

        enum CodingKeys: String, CodingKey {
            case role, content, refusal
            case toolCalls = "tool_calls"
            case functionCall = "function_call"
        }
    }

    struct ToolCallDelta: Decodable {
        var index: Int?
        var id: String?
        var type: String?
        var function: FunctionDelta?
    }

    struct FunctionDelta: Decodable {
        var name: String?
        var arguments: String?
    }

    struct Logprobs: Decodable {
        var content: [JSONValue]?
    }

    enum CodingKeys: String, CodingKey {
        case index, delta, logprobs
        case finishReason = "finish_reason"
    }
}
