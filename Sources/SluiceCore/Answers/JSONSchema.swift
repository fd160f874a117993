import Foundation

/// A JSON Schema (draft 2020-12 subset) for checking structured-output answers: the model
/// was asked for JSON of a given shape, and the answer only counts if it has that shape.
/// Written here because no maintained Swift validator is available to the build.
///
/// Supported keywords, with their 2020-12 meaning:
/// - any instance: `type` (a name or an array of names; `integer` accepts 1.0), `enum`,
///   `const`, boolean schemas `true`/`false`;
/// - numbers: `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (numbers, not
///   the draft-4 booleans), `multipleOf` (decimal arithmetic, so 19.99 is a multiple of 0.01);
/// - strings: `minLength`, `maxLength` (Unicode code points, not UTF-16 units), `pattern`
///   (NSRegularExpression — ICU syntax, close to ECMA 262 — searched, not anchored);
/// - arrays: `prefixItems`, `items` (the elements after `prefixItems`), `minItems`,
///   `maxItems`, `uniqueItems`;
/// - objects: `properties`, `required`, `additionalProperties` (bool or schema; it only
///   looks at `properties` of the same schema), `minProperties`, `maxProperties`;
/// - applicators: `allOf`, `anyOf`, `oneOf`, `not`;
/// - `$ref` to the same document only: `#`, `#/$defs/…`, `#/definitions/…` or any other
///   JSON Pointer fragment (`~0`, `~1` and percent escapes), also when prefixed by the root
///   `$id`. `$ref` applies alongside its sibling keywords, as in 2020-12.
///
/// Everything else is ignored, as the specification asks of unknown keywords: `format`
/// (annotation only), `$schema`, `$comment`, `title`, `description`, `default`, but also
/// `patternProperties`, `propertyNames`, `contains`, `dependent*`, `if`/`then`/`else`,
/// `unevaluated*`, `$anchor` and `$dynamicRef`. Loading fails instead where ignoring would
/// silently give wrong answers: remote or anchor `$ref`s, `$ref`s inside a subschema with
/// its own `$id`, `$ref` cycles that never descend into the instance, and malformed values
/// of supported keywords (a bad `pattern`, `minLength: -1`, `items: [...]` in the old form).
///
/// Equality (`enum`, `const`, `uniqueItems`) is JSON Schema's: 1 equals 1.0, object members
/// are unordered, strings compare by code point, and `true` is not the number 1 (on Linux
/// JSONSerialization's booleans are NSNumbers, told apart by their objCType). Answers nested
/// more than 128 levels deep, where the schema descends that far, get a violation instead of
/// risking the stack. The schema is converted once into the immutable tree below, so a loaded
/// schema is cheap to share between tasks.
public struct JSONSchema: Sendable {
    /// The first reason an instance does not match, phrased for people (and for a model being
    /// asked to try again).
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        /// A JSON Pointer to the offending part of the instance; "" is the whole instance.
        public var path: String
        public var message: String

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }

        /// `at /items/2/label: …`, with the whole instance written as `/` so it stays readable.
        public var description: String { "at \(path.isEmpty ? "/" : path): \(message)" }
    }

    /// The schema itself is unusable; `message` says where (as a pointer into the schema) and why.
    public struct LoadError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String

        public init(message: String) { self.message = message }

        public var description: String { message }
    }

    let root: Node
    /// Compiled `$ref` destinations; `Keywords.ref` indexes here, which is what lets a
    /// recursive schema be a finite tree.
    let targets: [Node]

    /// Throws `LoadError` when `data` is not JSON or not a usable schema.
    public init(data: Data) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "not valid JSON"
            throw LoadError(message: "the schema is not valid JSON: \(detail)")
        }
        try self.init(jsonObject: object)
    }

    /// Throws `LoadError` when the schema is not a JSON object or boolean, misuses a supported
    /// keyword, or has a `$ref` that cannot be resolved locally.
    public init(jsonObject: Any) throws {
        guard let document = Value(foundation: jsonObject) else {
            throw LoadError(message: "the schema contains a value that is not JSON (as JSONSerialization would produce it)")
        }
        var loader = Loader(document: document)
        root = try loader.compile(document, at: [], nestedID: false)
        try loader.compilePending()
        try loader.rejectCycles()
        targets = loader.targets
    }

    /// nil when `instance` (a value as JSONSerialization returns it) matches; otherwise the first problem found.
    public func validate(_ instance: Any) -> Violation? {
        var walker = Walker(targets: targets)
        return walker.check(root, instance)
    }
}

extension JSONSchema {
    enum Node: Sendable {
        case boolean(Bool)
        case subschema(Subschema)
    }

    /// A class so that the walk reads keywords in place: copying the struct at every level
    /// cost both time and stack.
    final class Subschema: Sendable {
        let keywords: Keywords
        init(_ keywords: Keywords) { self.keywords = keywords }
    }

    struct TypeSet: OptionSet, Sendable {
        let rawValue: UInt8
        static let null = TypeSet(rawValue: 1)
        static let boolean = TypeSet(rawValue: 2)
        static let object = TypeSet(rawValue: 4)
        static let array = TypeSet(rawValue: 8)
        static let number = TypeSet(rawValue: 16)
        static let string = TypeSet(rawValue: 32)
        static let integer = TypeSet(rawValue: 64)
        static let names: [String: TypeSet] = [
            "null": .null, "boolean": .boolean, "object": .object, "array": .array, "number": .number, "string": .string, "integer": .integer,
        ]
    }

    struct Property: Sendable {
        var name: String
        var schema: Node
    }

    /// The supported keywords of one schema object; nil or empty means "not present".
    struct Keywords: Sendable {
        var types: TypeSet?
        var typeNames: [String] = []
        var constant: Value?
        var enumeration: [Value]?
        var ref: Int?
        var minimum: Number?, maximum: Number?, exclusiveMinimum: Number?, exclusiveMaximum: Number?
        var multipleOf: Number?
        var minLength: Int?, maxLength: Int?
        var pattern: NSRegularExpression?
        var prefixItems: [Node] = []
        var items: Node?
        var minItems: Int?, maxItems: Int?
        var uniqueItems = false
        /// Sorted by name, so the first violation reported does not depend on hashing.
        var properties: [Property] = []
        var propertyNames: Set<String> = []
        var required: [String] = []
        var additionalProperties: Node?
        var minProperties: Int?, maxProperties: Int?
        var allOf: [Node] = [], anyOf: [Node] = [], oneOf: [Node] = []
        var negated: Node?
    }
}

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

        private mutating func keywords(_ members: [String: Value], at tokens: [String], nestedID: Bool) throws -> Keywords {
            var keywords = Keywords()
            func here(_ key: String) -> [String] { tokens + [key] }
            func count(_ key: String) throws -> Int? {
                guard let value = members[key] else { return nil }
                guard case .number(let number) = value, let exact = number.exact, exact >= 0 else {
                    throw problem(here(key), "\"\(key)\" must be a non-negative integer, not \(excerpt(value))")
                }
                return Int(clamping: exact)
            }
            func number(_ key: String) throws -> Number? {
                guard let value = members[key] else { return nil }
                guard case .number(let number) = value else { throw problem(here(key), "\"\(key)\" must be a number, not \(excerpt(value))") }
                return number
            }
            func schemas(_ key: String) throws -> [Node] {
                guard let value = members[key] else { return [] }
                guard case .array(let elements) = value, !elements.isEmpty else {
                    throw problem(here(key), "\"\(key)\" must be a non-empty array of schemas")
                }
                return try elements.indices.map { try compile(elements[$0], at: here(key) + [String($0)], nestedID: nestedID) }
            }
            func schema(_ key: String) throws -> Node? {
                guard let value = members[key] else { return nil }
                return try compile(value, at: here(key), nestedID: nestedID)
            }

            if let value = members["type"] {
                let names: [Value]
                if case .array(let list) = value { names = list } else { names = [value] }
                var types = TypeSet()
                for name in names {
                    guard case .string(let text) = name, let type = TypeSet.names[text] else {
                        throw problem(here("type"), "\(excerpt(name)) is not a JSON Schema type name")
                    }
                    types.insert(type)
                    keywords.typeNames.append(text)
                }
                keywords.types = types
            }
            keywords.constant = members["const"]
            if let value = members["enum"] {
                guard case .array(let values) = value else { throw problem(here("enum"), "\"enum\" must be an array") }
                keywords.enumeration = values
            }
            if let value = members["$ref"] {
                guard case .string(let reference) = value else { throw problem(here("$ref"), "\"$ref\" must be a string") }
                keywords.ref = try target(of: reference, at: here("$ref"), nestedID: nestedID)
            }

            keywords.minimum = try number("minimum")
            keywords.maximum = try number("maximum")
            keywords.exclusiveMinimum = try number("exclusiveMinimum")
            keywords.exclusiveMaximum = try number("exclusiveMaximum")
            keywords.multipleOf = try number("multipleOf")
            if let step = keywords.multipleOf, !(step.double > 0) {
                throw problem(here("multipleOf"), "\"multipleOf\" must be greater than 0")
            }

            keywords.minLength = try count("minLength")
            keywords.maxLength = try count("maxLength")
            if let value = members["pattern"] {
                guard case .string(let source) = value else { throw problem(here("pattern"), "\"pattern\" must be a string") }
                do {
                    keywords.pattern = try NSRegularExpression(pattern: source)
                } catch {
                    throw problem(here("pattern"), "\(excerpt(source)) is not a valid regular expression")
                }
            }

            keywords.prefixItems = try schemas("prefixItems")
            if case .array = members["items"] {
                throw problem(here("items"), "\"items\" must be a schema; the array form is pre-2020-12, use \"prefixItems\"")
            }
            keywords.items = try schema("items")
            keywords.minItems = try count("minItems")
            keywords.maxItems = try count("maxItems")
            if let value = members["uniqueItems"] {
                guard case .bool(let flag) = value else { throw problem(here("uniqueItems"), "\"uniqueItems\" must be a boolean") }
                keywords.uniqueItems = flag
            }

            if let value = members["properties"] {
                guard case .object(let properties) = value else { throw problem(here("properties"), "\"properties\" must be an object") }
                for name in properties.keys.sorted() {
                    let node = try compile(properties[name]!, at: here("properties") + [name], nestedID: nestedID)
                    keywords.properties.append(Property(name: name, schema: node))
                }
                keywords.propertyNames = Set(properties.keys)
            }
            if let value = members["required"] {
                guard case .array(let names) = value else { throw problem(here("required"), "\"required\" must be an array of strings") }
                keywords.required = try names.map { name in
                    guard case .string(let text) = name else { throw problem(here("required"), "\"required\" must be an array of strings") }
                    return text
                }
            }
            keywords.additionalProperties = try schema("additionalProperties")
            keywords.minProperties = try count("minProperties")
            keywords.maxProperties = try count("maxProperties")

            keywords.allOf = try schemas("allOf")
            keywords.anyOf = try schemas("anyOf")
            keywords.oneOf = try schemas("oneOf")
            keywords.negated = try schema("not")
            return keywords
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

        /// Refuses `$ref` loops that stay on the same instance (`allOf`, `anyOf`, `oneOf`,
        /// `not`, `$ref`): validating them would recurse forever.
        func rejectCycles() throws {
            func inPlace(_ node: Node) -> [Int] {
                guard case .subschema(let subschema) = node else { return [] }
                let keywords = subschema.keywords
                var found = keywords.ref.map { [$0] } ?? []
                for child in keywords.allOf + keywords.anyOf + keywords.oneOf + (keywords.negated.map { [$0] } ?? []) {
                    found += inPlace(child)
                }
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
