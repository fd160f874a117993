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
///   `maxItems`, `uniqueItems`, `contains` with `minContains`/`maxContains`;
/// - objects: `properties`, `patternProperties`, `additionalProperties` (bool or schema; it
///   only looks at `properties` and `patternProperties` of the same schema), `propertyNames`,
///   `required`, `dependentRequired`, `dependentSchemas`, `minProperties`, `maxProperties`;
/// - applicators: `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`;
/// - `$ref` to the same document only: `#`, `#/$defs/…`, `#/definitions/…` or any other
///   JSON Pointer fragment (`~0`, `~1` and percent escapes), also when prefixed by the root
///   `$id`. `$ref` applies alongside its sibling keywords, as in 2020-12.
///
/// Everything else is ignored, as the specification asks of unknown keywords: annotations
/// (`format`, `content*`, `$schema`, `$comment`, `title`, `description`, `default`), but also
/// `unevaluated*`, `$anchor`, `$dynamicRef` and `$vocabulary`. Loading fails instead where
/// ignoring would silently give wrong answers: remote or anchor `$ref`s, `$ref`s inside a
/// subschema with its own `$id`, `$ref` cycles that never descend into the instance, and
/// malformed values of supported keywords (a bad `pattern`, `minLength: -1`, `items: [...]`
/// in the old form). Tests/SluiceTests/Unit/JSONSchemaSuiteTests.swift runs the official
/// JSON-Schema-Test-Suite and lists, with reasons, what of it is left out.
///
/// Equality (`enum`, `const`, `uniqueItems`) is JSON Schema's: 1 equals 1.0, object members
/// are unordered, strings compare by code point, and `true` is not the number 1 (on Linux
/// JSONSerialization's booleans are NSNumbers, told apart by their objCType). Answers nested
/// more than 128 levels deep, where the schema descends that far, get a violation instead of
/// risking the stack. The schema is converted once into the immutable tree below, so a loaded
/// schema is cheap to share between tasks.
package struct JSONSchema: Sendable {
    /// The first reason an instance does not match, phrased for people (and for a model being
    /// asked to try again).
    package struct Violation: Sendable, Equatable, CustomStringConvertible {
        /// A JSON Pointer to the offending part of the instance; "" is the whole instance.
        package var path: String
        package var message: String

        package init(path: String, message: String) {
            self.path = path
            self.message = message
        }

        /// `at /items/2/label: …`, with the whole instance written as `/` so it stays readable.
        package var description: String { "at \(path.isEmpty ? "/" : path): \(message)" }
    }

    /// The schema itself is unusable; `message` says where (as a pointer into the schema) and why.
    package struct LoadError: Error, Sendable, Equatable, CustomStringConvertible {
        package var message: String

        package init(message: String) { self.message = message }

        package var description: String { message }
    }

    let root: Node
    /// Compiled `$ref` destinations; `Keywords.ref` indexes here, which is what lets a
    /// recursive schema be a finite tree.
    let targets: [Node]

    /// Throws `LoadError` when `data` is not JSON or not a usable schema.
    package init(data: Data) throws {
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
    package init(jsonObject: Any) throws {
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
    package func validate(_ instance: Any) -> Violation? {
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

    struct PatternProperty: Sendable {
        var pattern: NSRegularExpression
        var schema: Node
    }

    /// `dependentRequired`: when `name` is present, so must `required` be.
    struct Dependency: Sendable {
        var name: String
        var required: [String]
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
        var contains: Node?
        var minContains: Int?, maxContains: Int?
        /// Sorted by name (as are the dependencies), so the first violation reported does not
        /// depend on hashing.
        var properties: [Property] = []
        var declaredNames: Set<String> = []
        var patternProperties: [PatternProperty] = []
        var required: [String] = []
        var additionalProperties: Node?
        var propertyNames: Node?
        var minProperties: Int?, maxProperties: Int?
        var dependentRequired: [Dependency] = []
        var dependentSchemas: [Property] = []
        var allOf: [Node] = [], anyOf: [Node] = [], oneOf: [Node] = []
        var negated: Node?
        var condition: Node?, then: Node?, otherwise: Node?

        /// The subschemas applied to the instance itself rather than to a part of it: a `$ref`
        /// loop through only these would never end.
        var inPlace: [Node] {
            allOf + anyOf + oneOf + [negated, condition, then, otherwise].compactMap { $0 } + dependentSchemas.map(\.schema)
        }
    }
}
