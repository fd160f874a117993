import Foundation

extension JSONSchema {
    /// Turns the schema document into `Node`s, checking each supported keyword's value once
    /// so that validation never meets a malformed schema.
    struct Loader {
        let document: Value
        /// The root `$id` without a trailing `#`: refs that spell it out are still local.
        let rootID: String?
        var targets: [Node] = []
        var targetNames: [String] = []
        var targetIndex: [[String]: Int] = [:]
        var pending: [(tokens: [String], index: Int, nestedID: Bool)] = []

        init(document: Value) {
            self.document = document
            if case .object(let members) = document, case .string(let id) = members["$id"] {
                rootID = id.hasSuffix("#") ? String(id.dropLast()) : id
            } else {
                rootID = nil
            }
        }

        static func pointer(_ tokens: [String]) -> String {
            tokens.map { "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }.joined()
        }

        func problem(_ tokens: [String], _ message: String) -> LoadError {
            LoadError(message: "at schema \(tokens.isEmpty ? "/" : Loader.pointer(tokens)): \(message)")
        }

        mutating func compile(_ value: Value, at tokens: [String], nestedID: Bool) throws -> Node {
            switch value {
            case .bool(let flag): return .boolean(flag)
            case .object(let members):
                var nested = nestedID
                if !tokens.isEmpty, case .string = members["$id"] { nested = true }
                return .subschema(Subschema(try keywords(members, at: tokens, nestedID: nested)))
            default:
                throw problem(tokens, "a schema must be an object or a boolean, not \(excerpt(value))")
            }
        }

        mutating func compilePending() throws {
            while let next = pending.popLast() {
                let (target, _) = try resolve(next.tokens, from: next.tokens)
                targets[next.index] = try compile(target, at: next.tokens, nestedID: next.nestedID)
            }
        }

        /// One schema object being read: its members, where it is (for messages) and whether it
        /// lies below a subschema with its own `$id`.
        struct Members {
            let values: [String: Value]
            let tokens: [String]
            let nestedID: Bool

            subscript(_ key: String) -> Value? { values[key] }
            func here(_ key: String) -> [String] { tokens + [key] }
        }

        private mutating func keywords(_ members: [String: Value], at tokens: [String], nestedID: Bool) throws -> Keywords {
            let object = Members(values: members, tokens: tokens, nestedID: nestedID)
            var keywords = Keywords()
            try readValueKeywords(object, into: &keywords)
            try readArrayKeywords(object, into: &keywords)
            try readObjectKeywords(object, into: &keywords)
            keywords.allOf = try schemas(object, "allOf")
            keywords.anyOf = try schemas(object, "anyOf")
            keywords.oneOf = try schemas(object, "oneOf")
            keywords.negated = try schema(object, "not")
            keywords.condition = try schema(object, "if")
            keywords.then = try schema(object, "then")
            keywords.otherwise = try schema(object, "else")
            return keywords
        }

        /// The kind, `const`/`enum`, `$ref`, and the number and string keywords.
        private mutating func readValueKeywords(_ object: Members, into keywords: inout Keywords) throws {
            if let value = object["type"] {
                let names: [Value]
                if case .array(let list) = value { names = list } else { names = [value] }
                var types = TypeSet()
                for name in names {
                    guard case .string(let text) = name, let type = TypeSet.names[text] else {
                        throw problem(object.here("type"), "\(excerpt(name)) is not a JSON Schema type name")
                    }
                    types.insert(type)
                    keywords.typeNames.append(text)
                }
                keywords.types = types
            }
            keywords.constant = object["const"]
            if let value = object["enum"] {
                guard case .array(let values) = value else { throw problem(object.here("enum"), "\"enum\" must be an array") }
                keywords.enumeration = values
            }
            if let value = object["$ref"] {
                guard case .string(let reference) = value else { throw problem(object.here("$ref"), "\"$ref\" must be a string") }
                keywords.ref = try target(of: reference, at: object.here("$ref"), nestedID: object.nestedID)
            }
            keywords.minimum = try number(object, "minimum")
            keywords.maximum = try number(object, "maximum")
            keywords.exclusiveMinimum = try number(object, "exclusiveMinimum")
            keywords.exclusiveMaximum = try number(object, "exclusiveMaximum")
            keywords.multipleOf = try number(object, "multipleOf")
            if let step = keywords.multipleOf, !(step.double > 0) {
                throw problem(object.here("multipleOf"), "\"multipleOf\" must be greater than 0")
            }
            keywords.minLength = try count(object, "minLength")
            keywords.maxLength = try count(object, "maxLength")
            if let value = object["pattern"] { keywords.pattern = try regex(value, at: object.here("pattern"), keyword: "pattern") }
        }

        private mutating func readArrayKeywords(_ object: Members, into keywords: inout Keywords) throws {
            keywords.prefixItems = try schemas(object, "prefixItems")
            if case .array = object["items"] {
                throw problem(object.here("items"), "\"items\" must be a schema; the array form is pre-2020-12, use \"prefixItems\"")
            }
            keywords.items = try schema(object, "items")
            keywords.minItems = try count(object, "minItems")
            keywords.maxItems = try count(object, "maxItems")
            if let value = object["uniqueItems"] {
                guard case .bool(let flag) = value else { throw problem(object.here("uniqueItems"), "\"uniqueItems\" must be a boolean") }
                keywords.uniqueItems = flag
            }
            keywords.contains = try schema(object, "contains")
            keywords.minContains = try count(object, "minContains")
            keywords.maxContains = try count(object, "maxContains")
        }

        private mutating func readObjectKeywords(_ object: Members, into keywords: inout Keywords) throws {
            keywords.properties = try schemaMap(object, "properties")
            keywords.declaredNames = Set(keywords.properties.map(\.name))
            for property in try schemaMap(object, "patternProperties") {
                let at = object.here("patternProperties") + [property.name]
                let pattern = try regex(.string(property.name), at: at, keyword: "patternProperties")
                keywords.patternProperties.append(PatternProperty(pattern: pattern, schema: property.schema))
            }
            keywords.required = try strings(object["required"], at: object.here("required"), keyword: "required") ?? []
            keywords.additionalProperties = try schema(object, "additionalProperties")
            keywords.propertyNames = try schema(object, "propertyNames")
            keywords.minProperties = try count(object, "minProperties")
            keywords.maxProperties = try count(object, "maxProperties")
            if let value = object["dependentRequired"] {
                guard case .object(let dependencies) = value else {
                    throw problem(object.here("dependentRequired"), "\"dependentRequired\" must be an object")
                }
                keywords.dependentRequired = try dependencies.keys.sorted().map { name in
                    let at = object.here("dependentRequired") + [name]
                    return Dependency(name: name, required: try strings(dependencies[name], at: at, keyword: "dependentRequired") ?? [])
                }
            }
            keywords.dependentSchemas = try schemaMap(object, "dependentSchemas")
        }

        private func count(_ object: Members, _ key: String) throws -> Int? {
            guard let value = object[key] else { return nil }
            guard case .number(let number) = value, let exact = number.exact, exact >= 0 else {
                throw problem(object.here(key), "\"\(key)\" must be a non-negative integer, not \(excerpt(value))")
            }
            return Int(clamping: exact)
        }

        private func number(_ object: Members, _ key: String) throws -> Number? {
            guard let value = object[key] else { return nil }
            guard case .number(let number) = value else { throw problem(object.here(key), "\"\(key)\" must be a number, not \(excerpt(value))") }
            return number
        }

        private func strings(_ value: Value?, at tokens: [String], keyword: String) throws -> [String]? {
            guard let value else { return nil }
            guard case .array(let names) = value else { throw problem(tokens, "\"\(keyword)\" must be an array of strings") }
            return try names.map { name in
                guard case .string(let text) = name else { throw problem(tokens, "\"\(keyword)\" must be an array of strings") }
                return text
            }
        }

        private func regex(_ value: Value, at tokens: [String], keyword: String) throws -> NSRegularExpression {
            guard case .string(let source) = value else { throw problem(tokens, "\"\(keyword)\" must be a string") }
            do {
                return try NSRegularExpression(pattern: source)
            } catch {
                throw problem(tokens, "\(excerpt(source)) is not a valid regular expression")
            }
        }

        private mutating func schema(_ object: Members, _ key: String) throws -> Node? {
            guard let value = object[key] else { return nil }
            return try compile(value, at: object.here(key), nestedID: object.nestedID)
        }

        private mutating func schemas(_ object: Members, _ key: String) throws -> [Node] {
            guard let value = object[key] else { return [] }
            guard case .array(let elements) = value, !elements.isEmpty else {
                throw problem(object.here(key), "\"\(key)\" must be a non-empty array of schemas")
            }
            return try elements.indices.map { try compile(elements[$0], at: object.here(key) + [String($0)], nestedID: object.nestedID) }
        }

        /// An object of schemas (`properties`, `patternProperties`, `dependentSchemas`), sorted by name.
        private mutating func schemaMap(_ object: Members, _ key: String) throws -> [Property] {
            guard let value = object[key] else { return [] }
            guard case .object(let members) = value else { throw problem(object.here(key), "\"\(key)\" must be an object") }
            return try members.keys.sorted().map { name in
                Property(name: name, schema: try compile(members[name]!, at: object.here(key) + [name], nestedID: object.nestedID))
            }
        }

        /// The index of the compiled destination of `reference`, queued for compiling on first use.
        private mutating func target(of reference: String, at tokens: [String], nestedID: Bool) throws -> Int {
            func refuse(_ why: String) -> LoadError { problem(tokens, "cannot resolve $ref \(quoted(reference)): \(why)") }
            if nestedID { throw refuse("$ref inside a subschema with its own $id is not supported") }
            let base = String(reference.prefix { $0 != "#" })
            guard base.isEmpty || base == rootID else { throw refuse("only references within this schema (\"#...\") are supported") }
            guard let fragment = reference.dropFirst(base.count + 1).removingPercentEncoding else { throw refuse("bad percent-encoding") }
            guard fragment.isEmpty || fragment.hasPrefix("/") else { throw refuse("anchor references are not supported, use a JSON Pointer") }
            let path = fragment.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
                .map { $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~") }
            if let index = targetIndex[path] { return index }
            let (_, nested) = try resolve(path, from: tokens, reference: reference)
            let index = targets.count
            targets.append(.boolean(true))  // placeholder until `compilePending`
            targetNames.append("#" + Loader.pointer(path))
            targetIndex[path] = index
            pending.append((path, index, nested))
            return index
        }

        /// Follows a JSON Pointer through the document; `nestedID` tells whether it passed a
        /// subschema with its own `$id`, below which pointers would mean something else.
        private func resolve(_ path: [String], from tokens: [String], reference: String? = nil) throws -> (Value, nestedID: Bool) {
            var current = document
            var nested = false
            for (depth, token) in path.enumerated() {
                var next: Value?
                switch current {
                case .object(let members): next = members[token]
                case .array(let elements):
                    if let index = Int(token), index >= 0, index < elements.count, String(index) == token { next = elements[index] }
                default: break
                }
                guard let found = next else {
                    let reached = "#" + Loader.pointer(Array(path.prefix(depth)))
                    throw problem(tokens, "cannot resolve $ref \(quoted(reference ?? "#" + Loader.pointer(path))): \(reached) has no \(quoted(token))")
                }
                if depth < path.count - 1, case .object(let members) = found, case .string = members["$id"] { nested = true }
                current = found
            }
            return (current, nested)
        }

        /// Refuses `$ref` loops that stay on the same instance (through `$ref` and the in-place
        /// applicators): validating them would recurse forever.
        func rejectCycles() throws {
            func inPlace(_ node: Node) -> [Int] {
                guard case .subschema(let subschema) = node else { return [] }
                var found = subschema.keywords.ref.map { [$0] } ?? []
                for child in subschema.keywords.inPlace { found += inPlace(child) }
                return found
            }
            let edges = targets.map(inPlace)
            var state = [UInt8](repeating: 0, count: targets.count)  // 0 new, 1 on the stack, 2 done
            var stack: [Int] = []
            func visit(_ index: Int) throws {
                if state[index] == 2 { return }
                if state[index] == 1 {
                    let loop = stack.drop { $0 != index }.map { targetNames[$0] } + [targetNames[index]]
                    throw LoadError(message: "$ref loop that never moves into the instance: \(loop.joined(separator: " -> "))")
                }
                state[index] = 1
                stack.append(index)
                for next in edges[index] { try visit(next) }
                stack.removeLast()
                state[index] = 2
            }
            for index in targets.indices { try visit(index) }
        }
    }
}
