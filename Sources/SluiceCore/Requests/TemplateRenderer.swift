import Foundation
import Mustache

/// A `PromptTemplate` compiled once per job and rendered for each record.
///
/// Mustache renders a missing field as nothing, which would send a prompt with a hole in it for every
/// record that lacks the field. So the fields the template names outside any section are required: a
/// record that lacks one is an input error naming the field, and the line. Fields inside
/// `{{#section}}...{{/section}}` keep Mustache's meaning (absent is empty), which is how a template
/// says a field is optional.
///
/// ```swift
/// let renderer = try TemplateRenderer(PromptTemplate(system: "Label tickets.", user: "Ticket: {{text}}"))
/// let (system, user) = try renderer.render(["text": .string("Printer on fire")])
/// ```
package struct TemplateRenderer: Sendable {
    package let template: PromptTemplate
    private let system: MustacheTemplate?
    private let user: MustacheTemplate
    /// Dotted paths (`ticket.text`) every record must have.
    package let requiredFields: [String]

    /// Turns HTML escaping off: prompts are text.
    private static let pragma = "{{% CONTENT_TYPE: TEXT}}"

    package init(_ template: PromptTemplate) throws {
        self.template = template
        func compile(_ text: String, _ part: String) throws -> MustacheTemplate {
            do {
                return try MustacheTemplate(string: Self.pragma + text)
            } catch {
                throw SluiceError(.configuration, "the template's \(part) text is not valid Mustache (\(error))")
            }
        }
        system = try template.system.map { try compile($0, "system") }
        user = try compile(template.user, "user")
        var fields: [String] = []
        for name in Self.topLevelVariables(in: (template.system ?? "") + "\n" + template.user) where !fields.contains(name) {
            fields.append(name)
        }
        requiredFields = fields
    }

    package struct MissingField: Error {
        package var field: String
        package var isNull: Bool
    }

    /// The system (nil when the template has none) and user texts for one record.
    package func render(_ record: [String: JSONValue]) throws -> (system: String?, user: String) {
        for field in requiredFields {
            switch Self.lookup(field, in: record) {
            case nil: throw MissingField(field: field, isNull: false)
            case .null?: throw MissingField(field: field, isNull: true)
            default: continue
            }
        }
        let context = TemplateObject(record)
        return (system?.render(context), user.render(context))
    }

    static func lookup(_ path: String, in record: [String: JSONValue]) -> JSONValue? {
        var parts = path.split(separator: ".").map(String.init)[...]
        guard let first = parts.popFirst(), var value = record[first] else { return nil }
        for part in parts {
            guard case .object(let object) = value, let next = object[part] else { return nil }
            value = next
        }
        return value
    }

    /// The variables named outside sections, in order: `{{x}}`, `{{{x}}}`, `{{& x}}`, and the argument of
    /// a transform (`{{uppercased(x)}}`). Comments, partials, pragmas and section tags are not fields.
    static func topLevelVariables(in text: String) -> [String] {
        var names: [String] = []
        var depth = 0
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            let triple = rest[open.upperBound...].hasPrefix("{")
            let closing = triple ? "}}}" : "}}"
            let start = triple ? rest.index(after: open.upperBound) : open.upperBound
            guard let close = rest[start...].range(of: closing) else { break }
            var tag = rest[start..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            rest = rest[close.upperBound...]
            switch tag.first {
            case "#", "^":
                depth += 1
                continue
            case "/":
                depth = max(0, depth - 1)
                continue
            case "!", ">", "<", "%", "=", "$":
                continue
            case "&":
                tag = String(tag.dropFirst()).trimmingCharacters(in: .whitespaces)
            default:
                break
            }
            if let open = tag.firstIndex(of: "("), let close = tag.lastIndex(of: ")"), open < close {
                tag = String(tag[tag.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
            }
            if depth == 0, !tag.isEmpty, tag != ".", !tag.hasPrefix(".") { names.append(tag) }
        }
        return names
    }
}

/// A record as Mustache sees it: scalars render as their JSON text (numbers as written, strings
/// without quotes), a nested object as its JSON, an array as a section to iterate.
struct TemplateObject: MustacheParent, MustacheCustomRenderable {
    let fields: [String: JSONValue]

    init(_ fields: [String: JSONValue]) { self.fields = fields }

    func child(named name: String) -> Any? { fields[name].flatMap(Self.context(for:)) }

    var renderText: String {
        (try? String(decoding: JSONText.encode(JSONValue.object(fields).foundationValue), as: UTF8.self)) ?? ""
    }

    var isNull: Bool { false }

    static func context(for value: JSONValue) -> Any? {
        switch value {
        case .null: return nil
        case .bool(let flag): return flag
        case .integer(let number): return String(number)
        case .number(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .string(let text): return text
        case .array(let values): return values.compactMap(context(for:))
        case .object(let object): return TemplateObject(object)
        }
    }
}
