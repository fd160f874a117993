import Foundation

/// Records: with a template, a JSONL line (any JSON object) or a CSV row is data that fills it.
///
/// The rendered text becomes the body the job's endpoint expects: chat messages, the Responses
/// API's `instructions`/`input`, a legacy completion's `prompt`, or an embedding's `input`. The record
/// itself is echoed in the result as its `metadata`, so results can be joined back to the dataset.
extension ItemParser {
    /// A JSONL line already known to be a valid JSON object.
    func parseRecord(_ line: InputLine, fileIndex: Int, fileLabel: String) -> PlannedItem {
        let record: [String: JSONValue]
        do {
            record = try JSONDecoder().decode([String: JSONValue].self, from: Data(line.bytes))
        } catch {
            return recordItem(fileIndex: fileIndex, number: line.number, fileLabel: fileLabel, lineHash: Digest64.of(line.bytes))
                .failing(.invalidJSON, "invalid JSON: \(JSONText.reason(of: error))")
        }
        return item(for: record, fileIndex: fileIndex, number: line.number, fileLabel: fileLabel, lineHash: Digest64.of(line.bytes))
    }

    /// One record, from a JSONL line or a CSV row; `number` is its line (JSONL) or row (CSV).
    package func item(for record: [String: JSONValue], fileIndex: Int, number: Int, fileLabel: String, lineHash: UInt64) -> PlannedItem {
        var item = recordItem(fileIndex: fileIndex, number: number, fileLabel: fileLabel, lineHash: lineHash)
        guard let template else { return item.failing(.invalidField, "records need a template (--template)") }
        if let idField {
            switch record[idField] {
            case .string(let text)? where !text.trimmingCharacters(in: .whitespaces).isEmpty: item.customID = text
            case .integer(let number)?: item.customID = String(number)
            case nil, .null?: return item.failing(.missingField, "the record has no \"\(idField)\" field (--id-field)")
            default: return item.failing(.invalidField, "the \"\(idField)\" field (--id-field) must be a non-empty string or an integer")
            }
        }
        let text: (system: String?, user: String)
        do {
            text = try template.render(record)
        } catch let missing as TemplateRenderer.MissingField {
            return item.failing(
                .missingField,
                missing.isNull
                    ? "the template's field \"\(missing.field)\" is null in this record"
                    : "the record has no field \"\(missing.field)\", which the template uses")
        } catch {
            return item.failing(.invalidField, "\(error)")
        }
        var body: [UInt8] = [UInt8(ascii: "{")]
        appendRendered(text, to: &body)
        for (key, json) in encodedDefaults where key != "model" {
            body.append(UInt8(ascii: ","))
            JSONText.appendQuoted(key, to: &body)
            body.append(UInt8(ascii: ":"))
            body += json
        }
        body.append(UInt8(ascii: "}"))
        if case .string(let name)? = bodyDefaults["model"] {
            item.model = name
        } else if !jobHasModel {
            return item.failing(.missingModel, "the job names no model (--model)")
        }
        item.body = body
        item.metadata = try? JSONText.encode(JSONValue.object(record).foundationValue)
        item.shape = .record
        return item
    }

    private func recordItem(fileIndex: Int, number: Int, fileLabel: String, lineHash: UInt64) -> PlannedItem {
        PlannedItem(
            fileIndex: fileIndex, line: number, customID: "\(fileLabel):\(number)", lineHash: lineHash, endpoint: endpoint, model: nil,
            body: [], overrides: nil, metadata: nil, problem: nil)
    }

    private func appendRendered(_ text: (system: String?, user: String), to body: inout [UInt8]) {
        func field(_ key: String, _ value: String) {
            if body.last != UInt8(ascii: "{") { body.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(key, to: &body)
            body.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(value, to: &body)
        }
        switch endpoint {
        case "/v1/embeddings":
            field("input", text.user)
        case "/v1/completions":
            field("prompt", text.system.map { $0 + "\n\n" + text.user } ?? text.user)
        case "/v1/responses":
            if let system = text.system { field("instructions", system) }
            field("input", text.user)
        default:
            body += Array(#""messages":["#.utf8)
            if let system = text.system {
                body += Array(#"{"role":"system","content":"#.utf8)
                JSONText.appendQuoted(system, to: &body)
                body += Array("},".utf8)
            }
            body += Array(#"{"role":"user","content":"#.utf8)
            JSONText.appendQuoted(text.user, to: &body)
            body += Array("}]".utf8)
        }
    }
}

extension PlannedItem {
    func failing(_ code: InputProblem.Code, _ message: String) -> PlannedItem {
        var item = self
        item.problem = InputProblem(code: code, message: message)
        item.shape = nil
        return item
    }
}
