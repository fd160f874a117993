import Foundation

/// Turns one JSONL line into a `PlannedItem`, detecting its shape per line:
///
/// 1. OpenAI batch: `{"custom_id", "method", "url", "body"}`
/// 2. chat: `{"custom_id"?, "messages": [...], "model"?, ...body parameters}`
/// 3. prompt: `{"id"?, "prompt": "text", "system"?: "text"}`
///
/// Any shape may also carry `metadata` and per-line gateway settings
/// (`properties`, `fallback`, `session_id`, `user_id`, `cache`).
package struct ItemParser: Sendable {
    package static let knownURLs: Set<String> = ["/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/responses", "/v1/moderations"]
    static let settingKeys: Set<String> = ["metadata", "properties", "fallback", "session_id", "user_id", "cache", "prompt_id", "prompt_version", "mode"]
    static let keyKeys: Set<String> = ["custom_id", "id"]
    /// Built once, not per line: what a request body never copies from a line.
    static let notInBody = settingKeys.union(keyKeys).union(["model"])
    static let notInPromptBody = notInBody.union(["prompt", "system"])
    static let overrideKeys = settingKeys.subtracting(["metadata", "mode"])
    private static let blank = CharacterSet.whitespaces

    package var endpoint: String
    package var maxLineBytes: Int
    /// Body parameters applied where a line does not set them (temperature, max_tokens...).
    package var bodyDefaults: [String: JSONValue]
    /// Whether the job names a model; if not, every line must.
    package var jobHasModel: Bool
    /// Whether the job names a server-side prompt (`--prompt-id`), which `inputs` lines then fill.
    package var jobHasPrompt = false
    /// With a template, every line (and CSV row) is a record of fields that fill it, not a request.
    package var template: TemplateRenderer?
    /// The record field that keys an item (`--id-field`), instead of file:line.
    package var idField: String?
    /// The job streams (`--stream`), so a line's own `"stream": true` is welcome.
    package var acceptsStream: Bool
    /// The defaults encoded once, spliced into each body that lacks them.
    let encodedDefaults: [(key: String, json: [UInt8])]

    package init(
        endpoint: String, maxLineBytes: Int, bodyDefaults: [String: JSONValue], jobHasModel: Bool, template: TemplateRenderer? = nil,
        idField: String? = nil, jobHasPrompt: Bool = false, acceptsStream: Bool = false
    ) {
        self.jobHasPrompt = jobHasPrompt
        self.endpoint = endpoint
        self.maxLineBytes = maxLineBytes
        self.bodyDefaults = bodyDefaults
        self.jobHasModel = jobHasModel
        self.template = template
        self.idField = idField
        self.acceptsStream = acceptsStream
        encodedDefaults = bodyDefaults.keys.sorted().compactMap { key in
            (try? JSONText.encode(bodyDefaults[key]!.foundationValue)).map { (key, $0) }
        }
    }

    /// Returns nil for a blank line (skipped, not an error).
    ///
    /// The line is validated and taken apart with `JSONScanner` and the request
    /// body is assembled from the line's own bytes; Foundation's parser is used
    /// only to explain invalid JSON and to decode the small settings fields.
    package func parse(_ line: InputLine, fileIndex: Int, fileLabel: String) -> PlannedItem? {
        var item = PlannedItem(
            fileIndex: fileIndex, line: line.number, customID: "\(fileLabel):\(line.number)",
            lineHash: Digest64.of(line.bytes), endpoint: endpoint, model: nil, body: [],
            overrides: nil, metadata: nil, problem: nil)
        func fail(_ code: InputProblem.Code, _ message: String) -> PlannedItem {
            item.problem = InputProblem(code: code, message: message)
            return item
        }
        if line.oversized {
            return fail(.lineTooLong, "line is \(line.length) bytes, over the limit of \(maxLineBytes) bytes (--max-line-bytes)")
        }
        if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        if line.bytes.contains(where: { $0 >= 0x80 }), String(validating: line.bytes, as: UTF8.self) == nil {
            let offset = firstInvalidUTF8Offset(line.bytes)
            return fail(.invalidUTF8, "invalid UTF-8 at byte \(offset + 1) of the line")
        }
        let members: [JSONScanner.Member]
        do {
            guard let found = try JSONScanner.members(of: line.bytes) else {
                return fail(.notAnObject, "expected a JSON object, got \(Self.kind(ofFirstByte: line.bytes.first { $0 > 0x20 }))")
            }
            members = found
        } catch {
            return fail(.invalidJSON, "invalid JSON: \(Self.reasonForInvalidJSON(line.bytes))")
        }
        if template != nil { return parseRecord(line, fileIndex: fileIndex, fileLabel: fileLabel) }
        let object = RawObject(bytes: line.bytes, members: members)
        do {
            if let key = try Self.key(in: object) { item.customID = key }
            try readSettings(object, into: &item)
            var body: [UInt8] = [UInt8(ascii: "{")]
            body.reserveCapacity(line.bytes.count + 64)
            let modelSource: RawObject
            if object.has("body") || object.has("url") || object.has("method") {
                modelSource = try batchBody(object, item: &item, into: &body)
                item.shape = .batch
            } else if object.has("messages") {
                guard object.kind("messages") == UInt8(ascii: "[") else { throw Self.invalid("\"messages\" must be an array") }
                object.appendMembers(excluding: Self.notInBody, to: &body)
                modelSource = object
                item.shape = .chat
            } else if object.has("prompt") {
                try promptBody(object, into: &body)
                modelSource = object
                item.shape = .prompt
            } else if object.has("inputs") {
                // Floopy's server-side prompt: the gateway fills its stored template from `inputs`.
                guard object.kind("inputs") == UInt8(ascii: "{") else { throw Self.invalid("\"inputs\" must be an object") }
                guard object.has("prompt_id") || jobHasPrompt else {
                    throw Self.invalid("a line with \"inputs\" fills a server-side prompt: give \"prompt_id\" on the line or --prompt-id for the job")
                }
                object.appendMembers(excluding: Self.notInBody, to: &body)
                modelSource = object
                item.shape = .promptInputs
            } else {
                throw InputProblem(
                    code: .missingMessages,
                    message: "line has neither \"messages\", \"prompt\", \"inputs\" nor a batch \"body\"")
            }
            for (key, json) in encodedDefaults where !modelSource.has(key) && key != "model" {
                if body.last != UInt8(ascii: "{") { body.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(key, to: &body)
                body.append(UInt8(ascii: ":"))
                body += json
            }
            body.append(UInt8(ascii: "}"))
            if modelSource.raw("stream").map({ $0.elementsEqual("true".utf8) }) == true {
                // Without --stream, or on another endpoint, the answer would be events sluice does not read.
                if !acceptsStream {
                    throw Self.invalid(
                        "\"stream\": true needs --stream (job key \"stream\"), which reads the events and stores the assembled answer; or remove it")
                }
                if !RequestBuilder.streams(endpoint: item.endpoint) {
                    throw Self.invalid("\"stream\": true is read only on /v1/chat/completions, not \(item.endpoint); remove it")
                }
            }
            if modelSource.has("model") {
                guard let name = modelSource.string("model"), !name.isEmpty else { throw Self.invalid("\"model\" must be a non-empty string") }
                try Self.checkModelName(name, field: "model")
                item.model = name
            } else if case .string(let name)? = bodyDefaults["model"] {
                item.model = name
            } else if !jobHasModel {
                throw InputProblem(code: .missingModel, message: "line names no model and the job sets none (--model)")
            }
            item.body = body
        } catch let problem as InputProblem {
            item.shape = nil
            return fail(problem.code, problem.message)
        } catch {
            item.shape = nil
            return fail(.invalidField, "\(error)")
        }
        return item
    }

    static func invalid(_ message: String) -> InputProblem {
        InputProblem(code: .invalidField, message: message)
    }

    /// Returns the object the model is read from (the batch `body`).
    private func batchBody(_ object: RawObject, item: inout PlannedItem, into body: inout [UInt8]) throws -> RawObject {
        let method = object.has("method") ? object.string("method") : "POST"
        guard let method, method.uppercased() == "POST" else {
            throw InputProblem(code: .invalidMethod, message: "method must be POST, got \(object.string("method") ?? "a non-string")")
        }
        guard let url = object.string("url") else {
            throw InputProblem(code: .unknownURL, message: "batch line has no \"url\"")
        }
        guard Self.knownURLs.contains(url) else {
            throw InputProblem(
                code: .unknownURL,
                message: "unknown url \"\(url)\" (expected one of \(Self.knownURLs.sorted().joined(separator: ", ")))")
        }
        guard let inner = object.object("body") else {
            throw Self.invalid("batch line has no \"body\" object")
        }
        item.endpoint = url
        if url == "/v1/chat/completions", inner.kind("messages") != UInt8(ascii: "[") {
            throw InputProblem(code: .missingMessages, message: "batch body for /v1/chat/completions has no \"messages\" array")
        }
        inner.appendMembers(excluding: ["model"], to: &body)
        return inner
    }

    private func promptBody(_ object: RawObject, into body: inout [UInt8]) throws {
        guard let prompt = object.raw("prompt"), prompt.first == UInt8(ascii: "\"") else { throw Self.invalid("\"prompt\" must be a string") }
        body += Array(#""messages":["#.utf8)
        if let system = object.raw("system") {
            guard system.first == UInt8(ascii: "\"") else { throw Self.invalid("\"system\" must be a string") }
            body += Array(#"{"role":"system","content":"#.utf8) + system + Array("},".utf8)
        }
        body += Array(#"{"role":"user","content":"#.utf8) + prompt + Array("}]".utf8)
        object.appendMembers(excluding: Self.notInPromptBody, to: &body)
    }

    /// Per-line gateway settings and metadata; wrong types are reported, not ignored.
    private func readSettings(_ raw: RawObject, into item: inout PlannedItem) throws {
        if let metadata = raw.raw("metadata") { item.metadata = Array(metadata) }
        if raw.has("mode") {
            guard let mode = raw.string("mode"), mode == "live" || mode == "batch" else { throw Self.invalid("\"mode\" must be \"live\" or \"batch\"") }
            item.live = mode == "live"
        }
        guard raw.hasAny(of: Self.overrideKeys) else { return }
        var object: [String: Any] = [:]
        for key in Self.overrideKeys { object[key] = raw.value(key) }
        var overrides = LineOverrides()
        if let properties = object["properties"] {
            guard let dictionary = properties as? [String: Any] else { throw Self.invalid("\"properties\" must be an object of strings") }
            var values: [String: String] = [:]
            for (name, value) in dictionary {
                guard let text = Self.scalarText(value) else { throw Self.invalid("property \"\(name)\" must be a string, number or boolean") }
                try HeaderValidation.checkPropertyName(name)
                try HeaderValidation.checkValue(text, for: "property \(name)")
                values[name] = text
            }
            overrides.properties = values
        }
        if let fallback = object["fallback"] {
            if let single = fallback as? String {
                overrides.fallback = [single]
            } else if let list = fallback as? [String] {
                overrides.fallback = list
            } else {
                throw Self.invalid("\"fallback\" must be a model name or a list of them")
            }
            for name in overrides.fallback ?? [] { try Self.checkModelName(name, field: "fallback") }
        }
        for (field, keyPath) in [
            ("session_id", \LineOverrides.sessionID), ("user_id", \LineOverrides.userID), ("prompt_id", \LineOverrides.promptID),
            ("prompt_version", \LineOverrides.promptVersion),
        ] {
            if let value = object[field] {
                guard let text = Self.scalarText(value) else { throw Self.invalid("\"\(field)\" must be a string") }
                try HeaderValidation.checkValue(text, for: field)
                overrides[keyPath: keyPath] = text
            }
        }
        if let cache = object["cache"] {
            guard let text = cache as? String, let mode = CacheMode(rawValue: text) else {
                throw Self.invalid("\"cache\" must be one of exact, semantic, off")
            }
            overrides.cache = mode
        }
        if !overrides.isEmpty { item.overrides = Array(try JSONEncoder().encode(overrides)) }
    }

    /// `custom_id`, else `id`: a non-empty string or an integer.
    static func key(in object: RawObject) throws -> String? {
        let name = object.has("custom_id") ? "custom_id" : (object.has("id") ? "id" : nil)
        guard let name, let raw = object.raw(name) else { return nil }
        if raw.first == UInt8(ascii: "\""), let text = object.string(name) {
            guard text.unicodeScalars.contains(where: { !blank.contains($0) }) else {
                throw invalid("\(name) is empty; give each line a distinct key, or leave \(name) out to key it by file:line")
            }
            return text
        }
        let digits = raw.first == UInt8(ascii: "-") ? raw.dropFirst() : raw
        if !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            return String(decoding: raw, as: UTF8.self)
        }
        throw invalid("custom_id must be a string or an integer")
    }

    /// A comma makes a model name a fallback list to Floopy's body and to some other gateways: refused,
    /// so what is sent is what the line meant.
    static func checkModelName(_ name: String, field: String) throws {
        if name.isEmpty { throw invalid("\"\(field)\" names an empty model") }
        if name.contains(",") {
            throw invalid("\"\(field)\" model \"\(name)\" contains a comma, which gateways read as a fallback list; give fallbacks as \"fallback\": [...]")
        }
    }

    static func kind(ofFirstByte byte: UInt8?) -> String {
        switch byte {
        case UInt8(ascii: "[")?: return "an array"
        case UInt8(ascii: "\"")?: return "a string"
        case UInt8(ascii: "n")?: return "null"
        case UInt8(ascii: "t")?, UInt8(ascii: "f")?: return "a boolean"
        default: return "a number"
        }
    }

    /// Foundation's description of why the text is not JSON (it names the position).
    /// Foundation accepts a trailing comma, which JSON does not have and `JSONScanner` refuses.
    static func reasonForInvalidJSON(_ bytes: [UInt8]) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            return "a comma before a closing ] or } (JSON allows none there)"
        } catch {
            return JSONText.reason(of: error)
        }
    }

    static func scalarText(_ value: Any) -> String? {
        if let text = value as? String { return text }
        if let number = value as? NSNumber { return number.stringValue }
        return nil
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
