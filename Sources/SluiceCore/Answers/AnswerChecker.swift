import Foundation
import Synchronization

/// Checks answers that were asked to be JSON: an answer is only as good as what the pipeline after sluice
/// can parse, and a model asked for JSON still sometimes answers prose, fenced code or a truncated object.
///
/// An item is checked when its request asks for JSON (`response_format` of type `json_object`, or
/// `json_schema` whose `schema` the answer must then also satisfy) or when the job does (`--expect-json`,
/// `--schema FILE`, whose schema applies to every item). A failed check is asked again up to `outputRetries`
/// times, as `reask` says (by default telling the model what was wrong, see `Reask`); then the item fails with
/// class `invalid_output` and the validator's message.
///
/// ```swift
/// let checker = AnswerChecker(expectJSON: true, schema: try JSONSchema(data: schemaFile), outputRetries: 2)
/// if let problem = checker.check(request: body, response: answer) { ... retry or fail ... }
/// ```
package final class AnswerChecker: Sendable {
    package let expectJSON: Bool
    package let schema: JSONSchema?
    package let outputRetries: Int
    package let reask: Reask
    /// Schemas named in request bodies, compiled once each (a job usually has one).
    private let requestSchemas = Mutex<[UInt64: JSONSchema]>([:])

    package init(expectJSON: Bool, schema: JSONSchema?, outputRetries: Int, reask: Reask = Reask()) {
        self.expectJSON = expectJSON || schema != nil
        self.schema = schema
        self.outputRetries = outputRetries
        self.reask = reask
    }

    /// The text of an answer, which a re-ask hands back to the model; nil when it has none.
    package static func answerText(of response: [UInt8]) -> String? {
        guard let body = try? JSONSerialization.jsonObject(with: Data(response)) as? [String: Any] else { return nil }
        return AnswerContent.content(of: body) as? String
    }

    /// What the request body asks of the answer.
    enum Demand {
        case none
        case json
        case schema(JSONSchema)
    }

    /// Nil when the answer is fine or nothing was asked of it; else why it is not what was asked.
    package func check(request: [UInt8], response: [UInt8]) -> String? {
        let demand = self.demand(of: request)
        let jobSchema = schema
        if case .none = demand, !expectJSON { return nil }
        guard let body = try? JSONSerialization.jsonObject(with: Data(response)) as? [String: Any] else {
            return "the answer is not a JSON object"
        }
        if let reason = Self.truncation(of: body) { return reason }
        guard let text = AnswerContent.content(of: body) as? String else { return "the answer has no text content to parse as JSON" }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            return "the answer is not JSON (\(JSONText.reason(of: error))): \(Self.excerpt(text))"
        }
        if case .schema(let requested) = demand, let violation = requested.validate(value) {
            return "the answer does not match the request's schema: \(violation)"
        }
        if let jobSchema, let violation = jobSchema.validate(value) {
            return "the answer does not match the schema: \(violation)"
        }
        return nil
    }

    /// A JSON answer cut off by `max_tokens` is invalid however it is parsed; saying so is clearer.
    static func truncation(of body: [String: Any]) -> String? {
        guard let choice = (body["choices"] as? [Any])?.first as? [String: Any], choice["finish_reason"] as? String == "length" else { return nil }
        let text = (choice["message"] as? [String: Any])?["content"] as? String ?? ""
        if (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil { return nil }
        return "the answer was cut off at max_tokens (finish_reason \"length\") before its JSON ended: \(excerpt(text))"
    }

    static func excerpt(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= 120 ? "\"\(flat)\"" : "\"\(flat.prefix(120))…\""
    }

    /// Chat completions ask with `response_format` (`{"type": "json_schema", "json_schema": {"schema": ...}}`),
    /// the Responses API with `text.format` (`{"type": "json_schema", "schema": ...}`).
    func demand(of request: [UInt8]) -> Demand {
        // Most jobs ask nothing of the answer: one byte search spares scanning every body's members.
        guard Self.mayAskForFormat(request) else { return .none }
        guard let members = (try? JSONScanner.members(of: request)) ?? nil,
            let format = members.first(where: { $0.key == "response_format" || $0.key == "text" }),
            let parsed = try? JSONSerialization.jsonObject(with: Data(request[format.value])) as? [String: Any]
        else { return .none }
        let object = format.key == "text" ? (parsed["format"] as? [String: Any] ?? [:]) : parsed
        switch object["type"] as? String {
        case "json_object":
            return .json
        case "json_schema":
            guard let schema = (object["json_schema"] as? [String: Any])?["schema"] ?? object["schema"] else { return .json }
            let digest = Digest64.of(request[format.value])
            if let compiled = requestSchemas.withLock({ $0[digest] }) { return .schema(compiled) }
            guard let compiled = try? JSONSchema(jsonObject: schema) else { return .json }
            requestSchemas.withLock { $0[digest] = compiled }
            return .schema(compiled)
        default:
            return .none
        }
    }

    private static let formatKey: [UInt8] = Array(#"format""#.utf8)

    /// False when the body has no `format"` anywhere, so neither `response_format` nor `text.format`.
    static func mayAskForFormat(_ request: [UInt8]) -> Bool {
        let needle = formatKey
        return request.withUnsafeBufferPointer { body in
            guard body.count >= needle.count else { return false }
            for end in (needle.count - 1)..<body.count where body[end] == 0x22 {
                if needle.indices.allSatisfy({ body[end - needle.count + 1 + $0] == needle[$0] }) { return true }
            }
            return false
        }
    }
}
