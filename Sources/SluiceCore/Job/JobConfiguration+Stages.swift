import Foundation

/// What the stages are built from: the settings read as a price table, an answer checker, an item parser, a deadline.
extension JobConfiguration {
    /// The job's prices over the built-in table.
    package var priceTable: PriceTable { PriceTable(overrides: prices) }

    /// Always a checker, even with no `--expect-json` and no schema: a request may still ask for JSON
    /// itself (its `response_format`), and items that ask nothing cost it one scan of the request.
    package func answerChecker() throws -> AnswerChecker {
        var compiled: JSONSchema?
        if let schema {
            do {
                compiled = try JSONSchema(jsonObject: schema.foundationValue)
            } catch {
                throw SluiceError(.configuration, "the schema cannot be used: \(error)")
            }
        }
        return AnswerChecker(
            expectJSON: expectJSON, schema: compiled, outputRetries: outputRetries,
            reask: Reask(mode: reask ?? .reason, template: reaskMessage ?? Reask.defaultTemplate))
    }

    /// The parser for this job's input lines and records.
    package func itemParser() throws -> ItemParser {
        ItemParser(
            endpoint: endpoint, maxLineBytes: maxLineBytes, bodyDefaults: bodyDefaults, jobHasModel: model != nil,
            template: try template.map(TemplateRenderer.init), idField: idField, jobHasPrompt: gateway.promptID != nil,
            acceptsStream: stream)
    }

    /// `--deadline` for the batch dispatcher: an ISO 8601 time as it is, a duration counted from each batch's creation.
    package var batchDeadline: BatchDispatcher.Deadline? {
        guard let deadline else { return nil }
        if let date = ISO8601DateFormatter().date(from: deadline) { return .at(date) }
        return Self.deadlineDate(deadline, from: Date(timeIntervalSince1970: 0)).map { .afterCreation(seconds: $0.timeIntervalSince1970) }
    }

    /// `6h`, `90m`, `2d`, `3600s`, `3600` (seconds from `start`), or an ISO 8601 time.
    package static func deadlineDate(_ text: String, from start: Date) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()), amount >= 0 { return start + amount * unit }
        if let seconds = Double(text), seconds >= 0 { return start + seconds }
        return nil
    }
}
