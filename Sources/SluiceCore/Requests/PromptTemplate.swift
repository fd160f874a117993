import Foundation

/// A prompt written once and filled from each input record: the job key `template`
/// (`{"system": "You label support tickets.", "user": "Ticket: {{text}}\nLabel it."}`, or the path of a
/// JSON file of that shape) or `--template FILE`.
///
/// The text is Mustache (swift-mustache), rendered as plain text: prompts are not HTML, so `{{x}}` and
/// `{{{x}}}` both insert the field as it is. What the checkpoint keeps is this text; `TemplateRenderer`
/// is its compiled form.
package struct PromptTemplate: Codable, Sendable, Equatable {
    package var system: String?
    package var user: String

    package init(system: String? = nil, user: String) {
        self.system = system
        self.user = user
    }

    /// Reads a template file: a JSON object with `user` and optionally `system`.
    package static func load(path: String) throws -> PromptTemplate {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SluiceError(.configuration, "\(path): cannot read the template file")
        }
        do {
            return try JSONDecoder().decode(PromptTemplate.self, from: data)
        } catch {
            throw SluiceError(
                .configuration,
                "\(path): a template file is a JSON object {\"system\": \"...\", \"user\": \"... {{field}} ...\"} (\(JSONText.reason(of: error)))")
        }
    }
}

/// The job file's `template`: the template itself, or the path of a file holding it.
package enum TemplateSetting: Codable, Sendable, Equatable {
    case inline(PromptTemplate)
    case file(String)

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let path = try? container.decode(String.self) {
            self = .file(path)
        } else {
            self = .inline(try container.decode(PromptTemplate.self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .inline(let template): try container.encode(template)
        case .file(let path): try container.encode(path)
        }
    }
}
