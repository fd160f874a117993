import Foundation

/// Turns one JSONL line into a `PlannedItem`, detecting its shape per line:
///
/// 1. OpenAI batch: `{"custom_id", "method", "url", "body"}`
/// 2. chat: `{"custom_id"?, "messages": [...], "model"?, ...body parameters}`
/// 3. prompt: `{"id"?, "prompt": "text", "system"?: "text"}`
///
/// Any shape may also carry `metadata` and per-line gateway settings
/// (`properties`, `fallback`, `session_id`, `user_id`, `cache`).
public struct ItemParser: Sendable {
    public static let knownURLs: Set<String> = ["/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/responses", "/v1/moderations"]
    static let settingKeys: Set<String> = ["metadata", "properties", "fallback", "session_id", "user_id", "cache"]
    static let keyKeys: Set<String> = ["custom_id", "id"]

    public var endpoint: String
    public var maxLineBytes: Int
    /// Body parameters applied where a line does not set them (temperature, max_tokens...).
    public var bodyDefaults: [String: JSONValue]
    /// Whether the job names a model; if not, every line must.
    public var jobHasModel: Bool

    public init(endpoint: String, maxLineBytes: Int, bodyDefaults: [String: JSONValue], jobHasModel: Bool) {
        self.endpoint = endpoint
        self.maxLineBytes = maxLineBytes
        self.bodyDefaults = bodyDefaults
        self.jobHasModel = jobHasModel
    }

    /// Returns nil for a blank line (skipped, not an error).
    public func parse(_ line: InputLine, fileIndex: Int, fileLabel: String) -> PlannedItem? {
        var item = PlannedItem(fileIndex: fileIndex, line: line.number, customID: "\(fileLabel):\(line.number)",
                               lineHash: Digest64.of(line.bytes), endpoint: endpoint, model: nil, body: [],
                               overrides: nil, metadata: nil, problem: nil)
        func fail(_ code: String, _ message: String) -> PlannedItem {
            item.problem = InputProblem(code: code, message: message)
            return item
        }
        if line.oversized {
            return fail(InputProblem.codes.lineTooLong, "line is \(line.length) bytes, over the limit of \(maxLineBytes) bytes (--max-line-bytes)")
        }
        if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        if line.bytes.contains(where: { $0 >= 0x80 }), String(validating: line.bytes, as: UTF8.self) == nil {
            let offset = firstInvalidUTF8Offset(line.bytes)
            return fail(InputProblem.codes.invalidUTF8, "invalid UTF-8 at byte \(offset + 1) of the line")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(line.bytes), options: [.fragmentsAllowed])
        } catch {
            return fail(InputProblem.codes.invalidJSON, "invalid JSON: \(JSONText.reason(of: error))")
        }
        guard let object = parsed as? [String: Any] else {
            return fail(InputProblem.codes.notAnObject, "expected a JSON object, got \(Self.kind(of: parsed))")
        }
        if let key = Self.key(in: object) {
            guard case .success(let text) = key else {
                return fail(InputProblem.codes.invalidField, "custom_id must be a string or an integer")
            }
            item.customID = text
        }
        do {
            try readSettings(object, into: &item)
            var body: [String: Any]
            if object["body"] != nil || object["url"] != nil || object["method"] != nil {
                body = try batchBody(object, item: &item)
            } else if object["messages"] != nil {
                body = object.filter { !Self.settingKeys.contains($0.key) && !Self.keyKeys.contains($0.key) }
                guard body["messages"] is [Any] else { throw InputProblem(code: InputProblem.codes.invalidField, message: "\"messages\" must be an array") }
            } else if let prompt = object["prompt"] {
                body = try promptBody(object, prompt: prompt)
            } else {
                throw InputProblem(code: InputProblem.codes.missingMessages,
                                   message: "line has neither \"messages\", \"prompt\" nor a batch \"body\"")
            }
            for (key, value) in bodyDefaults where body[key] == nil { body[key] = value.foundationValue }
            if let model = body.removeValue(forKey: "model") {
                guard let name = model as? String, !name.isEmpty else {
                    throw InputProblem(code: InputProblem.codes.invalidField, message: "\"model\" must be a non-empty string")
                }
                item.model = name
            } else if !jobHasModel {
                throw InputProblem(code: InputProblem.codes.missingModel, message: "line names no model and the job sets none (--model)")
            }
            item.body = try JSONText.encode(body)
        } catch let problem as InputProblem {
            return fail(problem.code, problem.message)
        } catch {
            return fail(InputProblem.codes.invalidField, "cannot encode the request body: \(error)")
        }
        return item
    }

    private func batchBody(_ object: [String: Any], item: inout PlannedItem) throws -> [String: Any] {
        let method = (object["method"] as? String) ?? "POST"
        guard method.uppercased() == "POST" else {
            throw InputProblem(code: InputProblem.codes.invalidMethod, message: "method must be POST, got \(method)")
        }
        guard let url = object["url"] as? String else {
            throw InputProblem(code: InputProblem.codes.unknownURL, message: "batch line has no \"url\"")
        }
        guard Self.knownURLs.contains(url) else {
            throw InputProblem(code: InputProblem.codes.unknownURL,
                               message: "unknown url \"\(url)\" (expected one of \(Self.knownURLs.sorted().joined(separator: ", ")))")
        }
        guard let body = object["body"] as? [String: Any] else {
            throw InputProblem(code: InputProblem.codes.invalidField, message: "batch line has no \"body\" object")
        }
        item.endpoint = url
        if url == "/v1/chat/completions", !(body["messages"] is [Any]) {
            throw InputProblem(code: InputProblem.codes.missingMessages, message: "batch body for /v1/chat/completions has no \"messages\" array")
        }
        return body
    }

    private func promptBody(_ object: [String: Any], prompt: Any) throws -> [String: Any] {
        guard let text = prompt as? String else {
            throw InputProblem(code: InputProblem.codes.invalidField, message: "\"prompt\" must be a string")
        }
        var messages: [[String: Any]] = []
        if let system = object["system"] {
            guard let systemText = system as? String else {
                throw InputProblem(code: InputProblem.codes.invalidField, message: "\"system\" must be a string")
            }
            messages.append(["role": "system", "content": systemText])
        }
        messages.append(["role": "user", "content": text])
        var body = object.filter { !Self.settingKeys.contains($0.key) && !Self.keyKeys.contains($0.key) && $0.key != "prompt" && $0.key != "system" }
        body["messages"] = messages
        return body
    }

    /// Per-line gateway settings and metadata; wrong types are reported, not ignored.
    private func readSettings(_ object: [String: Any], into item: inout PlannedItem) throws {
        if let metadata = object["metadata"] { item.metadata = try JSONText.encode(metadata) }
        var overrides = LineOverrides()
        if let properties = object["properties"] {
            guard let dictionary = properties as? [String: Any] else {
                throw InputProblem(code: InputProblem.codes.invalidField, message: "\"properties\" must be an object of strings")
            }
            var values: [String: String] = [:]
            for (name, value) in dictionary {
                guard let text = Self.scalarText(value) else {
                    throw InputProblem(code: InputProblem.codes.invalidField, message: "property \"\(name)\" must be a string, number or boolean")
                }
                try HeaderValidation.checkPropertyName(name)
                try HeaderValidation.checkValue(text, for: "property \(name)")
                values[name] = text
            }
            overrides.properties = values
        }
        if let fallback = object["fallback"] {
            if let single = fallback as? String { overrides.fallback = [single] }
            else if let list = fallback as? [String] { overrides.fallback = list }
            else { throw InputProblem(code: InputProblem.codes.invalidField, message: "\"fallback\" must be a model name or a list of them") }
        }
        for (field, keyPath) in [("session_id", \LineOverrides.sessionID), ("user_id", \LineOverrides.userID)] {
            if let value = object[field] {
                guard let text = Self.scalarText(value) else {
                    throw InputProblem(code: InputProblem.codes.invalidField, message: "\"\(field)\" must be a string")
                }
                try HeaderValidation.checkValue(text, for: field)
                overrides[keyPath: keyPath] = text
            }
        }
        if let cache = object["cache"] {
            guard let text = cache as? String, let mode = CacheMode(rawValue: text) else {
                throw InputProblem(code: InputProblem.codes.invalidField, message: "\"cache\" must be one of exact, semantic, off")
            }
            overrides.cache = mode
        }
        if !overrides.isEmpty { item.overrides = Array(try JSONEncoder().encode(overrides)) }
    }

    enum KeyResult { case success(String), failure }

    static func key(in object: [String: Any]) -> KeyResult? {
        guard let value = object["custom_id"] ?? object["id"] else { return nil }
        if let text = value as? String, !text.isEmpty { return .success(text) }
        if let number = value as? NSNumber, number.objCType.pointee != CChar(UInt8(ascii: "c")),
           number.doubleValue == number.doubleValue.rounded() {
            return .success(number.stringValue)
        }
        return .failure
    }

    static func scalarText(_ value: Any) -> String? {
        if let text = value as? String { return text }
        if let number = value as? NSNumber { return number.stringValue }
        return nil
    }

    static func kind(of value: Any) -> String {
        switch value {
        case is [Any]: return "an array"
        case is String: return "a string"
        case is NSNull: return "null"
        case is NSNumber: return "a number"
        default: return "a non-object value"
        }
    }

    private func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var index = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var consumed = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                index = consumed
                consumed += UTF8.width(scalar)
            case .emptyInput: return consumed
            case .error: _ = index; return consumed
            }
        }
    }
}

/// FNV-1a over bytes, for cheap change detection of input lines.
public enum Digest64 {
    public static func of<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
