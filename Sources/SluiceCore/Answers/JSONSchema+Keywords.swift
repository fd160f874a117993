import Foundation

extension JSONSchema {
    enum Step {
        case key(String)
        case index(Int)
    }

    /// One validation pass. The instance path is a stack pushed and popped on the way down and
    /// turned into a string only when something fails, so valid answers build no strings.
    ///
    /// Stack use is deliberate: only `check` and the `check…` functions that descend into
    /// children or subschemas recurse, they read keywords through the shared `Subschema` instead
    /// of copying them, and everything else (leaf keywords, messages) is kept out of line, so a
    /// nesting level costs a few hundred bytes of stack rather than kilobytes.
    struct Walker {
        /// Instance depth the walk descends to. Structured outputs nest a handful of levels
        /// (OpenAI allows 10), and 128 keeps even a recursive schema with several applicators
        /// per level well inside a 512 KB thread stack (about 2 KB a level, measured in release).
        static let maxDepth = 128
        let targets: [Node]
        var path: [Step] = []

        init(targets: [Node]) {
            self.targets = targets
            path.reserveCapacity(16)
        }

        var pointer: String {
            path.map { step in
                switch step {
                case .key(let key): return "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
                case .index(let index): return "/\(index)"
                }
            }.joined()
        }

        @inline(never)
        func failure(_ message: String) -> Violation { Violation(path: pointer, message: message) }

        mutating func check(_ node: Node, _ value: Any) -> Violation? {
            switch node {
            case .boolean(true): return nil
            case .boolean(false): return failure("no value is allowed here (the schema is false)")
            case .subschema(let schema): return check(schema, value)
            }
        }

        /// Keywords are checked in a fixed order (kind and value, then contents, then
        /// applicators) so the same answer always gets the same message.
        private mutating func check(_ schema: Subschema, _ value: Any) -> Violation? {
            let instance = Instance(value)
            if let violation = checkValue(schema, instance, value) { return violation }
            if let ref = schema.keywords.ref, let violation = check(targets[ref], value) { return violation }
            switch instance {
            case .array(let elements): if let violation = checkArray(schema, elements) { return violation }
            case .object(let members): if let violation = checkObject(schema, members) { return violation }
            default: break
            }
            return checkApplicators(schema, value)
        }

        /// Everything that does not descend: the kind, `const`/`enum`, number and string schema.keywords.
        @inline(never)
        private func checkValue(_ schema: Subschema, _ instance: Instance, _ value: Any) -> Violation? {
            if case .unsupported = instance { return failure("a value of type \(type(of: value)) is not JSON") }
            if let types = schema.keywords.types, !Walker.admits(types, instance) {
                return failure("expected \(Walker.list(schema.keywords.typeNames, conjunction: "or")), got \(instance.summary)")
            }
            if schema.keywords.constant != nil || schema.keywords.enumeration != nil {
                let comparable = instance.value
                let shown = comparable.map { excerpt($0) } ?? instance.summary
                if let constant = schema.keywords.constant, comparable != constant {
                    return failure("expected the constant \(excerpt(constant)), got \(shown)")
                }
                if let allowed = schema.keywords.enumeration, !(comparable.map(allowed.contains) ?? false) {
                    if allowed.isEmpty { return failure("no value is allowed here (enum is empty)") }
                    let choices = allowed.prefix(10).map { excerpt($0, limit: 40) } + (allowed.count > 10 ? ["…"] : [])
                    return failure("\(shown) is not one of \(choices.joined(separator: ", "))")
                }
            }
            switch instance {
            case .number(let number): return checkNumber(schema, number)
            case .string(let text): return checkString(schema, text)
            default: return nil
            }
        }

        static func admits(_ types: TypeSet, _ instance: Instance) -> Bool {
            switch instance {
            case .null: return types.contains(.null)
            case .bool: return types.contains(.boolean)
            case .number(let number): return types.contains(.number) || (types.contains(.integer) && number.isInteger)
            case .string: return types.contains(.string)
            case .array: return types.contains(.array)
            case .object: return types.contains(.object)
            case .unsupported: return false
            }
        }

        /// "a", "a or b", "a, b or c".
        static func list(_ items: [String], conjunction: String) -> String {
            guard items.count > 1 else { return items.first ?? "" }
            return items.dropLast().joined(separator: ", ") + " \(conjunction) " + items.last!
        }

        static func plural(_ count: Int, _ noun: String, _ nouns: String) -> String { "\(count) \(count == 1 ? noun : nouns)" }

        private func checkNumber(_ schema: Subschema, _ number: Number) -> Violation? {
            if let minimum = schema.keywords.minimum, number < minimum { return failure("\(number) is less than the minimum \(minimum)") }
            if let bound = schema.keywords.exclusiveMinimum, !(bound < number) {
                return failure("\(number) is not greater than the exclusive minimum \(bound)")
            }
            if let maximum = schema.keywords.maximum, maximum < number { return failure("\(number) is greater than the maximum \(maximum)") }
            if let bound = schema.keywords.exclusiveMaximum, !(number < bound) {
                return failure("\(number) is not less than the exclusive maximum \(bound)")
            }
            if let step = schema.keywords.multipleOf, !number.isMultiple(of: step) { return failure("\(number) is not a multiple of \(step)") }
            return nil
        }

        private func checkString(_ schema: Subschema, _ text: String) -> Violation? {
            if schema.keywords.minLength != nil || schema.keywords.maxLength != nil {
                let length = text.unicodeScalars.count
                if let minimum = schema.keywords.minLength, length < minimum {
                    return failure("expected at least \(Walker.plural(minimum, "character", "characters")), got \(length)")
                }
                if let maximum = schema.keywords.maxLength, length > maximum {
                    return failure("expected at most \(Walker.plural(maximum, "character", "characters")), got \(length)")
                }
            }
            if let pattern = schema.keywords.pattern, !Walker.matches(pattern, text) {
                return failure("\(excerpt(text)) does not match the pattern \(quoted(pattern.pattern))")
            }
            return nil
        }

        @inline(never)
        private mutating func checkArray(_ schema: Subschema, _ elements: [Any]) -> Violation? {
            if let violation = checkArraySize(schema, elements) { return violation }
            let prefix = schema.keywords.prefixItems.count
            for (index, element) in elements.enumerated() {
                let child: Node
                if index < prefix {
                    child = schema.keywords.prefixItems[index]
                } else if let items = schema.keywords.items {
                    if case .boolean(false) = items { return tooManyItems(prefix, elements.count) }
                    child = items
                } else {
                    break
                }
                if path.count >= Walker.maxDepth { return tooDeep() }
                path.append(.index(index))
                let violation = check(child, element)
                path.removeLast()
                if let violation { return violation }
            }
            if let contains = schema.keywords.contains, let violation = checkContains(schema, contains, elements) { return violation }
            return schema.keywords.uniqueItems ? checkUniqueness(elements) : nil
        }

        /// `contains` with `minContains` (default 1) and `maxContains`: every element is tried,
        /// since the count is what matters.
        @inline(never)
        private mutating func checkContains(_ schema: Subschema, _ contains: Node, _ elements: [Any]) -> Violation? {
            var matches = 0
            for (index, element) in elements.enumerated() {
                if path.count >= Walker.maxDepth { return tooDeep() }
                path.append(.index(index))
                if check(contains, element) == nil { matches += 1 }
                path.removeLast()
            }
            let minimum = schema.keywords.minContains ?? 1
            if matches < minimum {
                return failure("expected at least \(Walker.plural(minimum, "item", "items")) matching the schema under \"contains\", got \(matches)")
            }
            if let maximum = schema.keywords.maxContains, matches > maximum {
                return failure("expected at most \(Walker.plural(maximum, "item", "items")) matching the schema under \"contains\", got \(matches)")
            }
            return nil
        }

        private func checkArraySize(_ schema: Subschema, _ elements: [Any]) -> Violation? {
            if let minimum = schema.keywords.minItems, elements.count < minimum {
                return failure("expected at least \(Walker.plural(minimum, "item", "items")), got \(elements.count)")
            }
            if let maximum = schema.keywords.maxItems, elements.count > maximum { return tooManyItems(maximum, elements.count) }
            return nil
        }

        @inline(never)
        private func tooManyItems(_ maximum: Int, _ count: Int) -> Violation {
            failure("expected at most \(Walker.plural(maximum, "item", "items")), got \(count)")
        }

        @inline(never)
        private func tooDeep() -> Violation { failure("nested more than \(Walker.maxDepth) levels deep") }

        @inline(never)
        private func checkUniqueness(_ elements: [Any]) -> Violation? {
            guard elements.count > 1 else { return nil }
            var seen: [Value: Int] = [:]
            for (index, element) in elements.enumerated() {
                guard let value = Value(foundation: element) else { continue }
                if let earlier = seen.updateValue(index, forKey: value) {
                    return failure("items \(earlier) and \(index) are equal, but uniqueItems is true")
                }
            }
            return nil
        }

        @inline(never)
        private mutating func checkObject(_ schema: Subschema, _ members: [String: Any]) -> Violation? {
            if let violation = checkObjectShape(schema, members) { return violation }
            for property in schema.keywords.properties {
                guard let member = members[property.name] else { continue }
                if path.count >= Walker.maxDepth { return tooDeep() }
                path.append(.key(property.name))
                let violation = check(property.schema, member)
                path.removeLast()
                if let violation { return violation }
            }
            if schema.keywords.additionalProperties != nil || schema.keywords.propertyNames != nil || !schema.keywords.patternProperties.isEmpty {
                // The smallest offending name wins, so the message does not depend on hash order.
                var first: (name: String, violation: Violation)?
                for (name, member) in members {
                    if let first, first.name < name { continue }
                    if let violation = checkMember(schema, name, member) { first = (name, violation) }
                }
                if let first { return first.violation }
            }
            for dependency in schema.keywords.dependentSchemas where members[dependency.name] != nil {
                if let violation = check(dependency.schema, members) { return violation }
            }
            return nil
        }

        /// The keywords that look at every member: `propertyNames`, `patternProperties`, and
        /// `additionalProperties` for a name that neither `properties` nor a pattern covers.
        private mutating func checkMember(_ schema: Subschema, _ name: String, _ member: Any) -> Violation? {
            if let names = schema.keywords.propertyNames, let violation = check(names, name) {
                return failure("the property name \(quoted(name)) is not allowed: \(violation.message)")
            }
            var covered = schema.keywords.declaredNames.contains(name)
            for pattern in schema.keywords.patternProperties where Walker.matches(pattern.pattern, name) {
                covered = true
                if path.count >= Walker.maxDepth { return tooDeep() }
                path.append(.key(name))
                let violation = check(pattern.schema, member)
                path.removeLast()
                if let violation { return violation }
            }
            guard !covered, let additional = schema.keywords.additionalProperties else { return nil }
            if case .boolean(false) = additional { return notAllowed(name, schema) }
            if path.count >= Walker.maxDepth { return tooDeep() }
            path.append(.key(name))
            defer { path.removeLast() }
            return check(additional, member)
        }

        /// ECMA 262 `pattern`s are searched for, not anchored.
        static func matches(_ pattern: NSRegularExpression, _ text: String) -> Bool {
            pattern.rangeOfFirstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)).location != NSNotFound
        }

        private func checkObjectShape(_ schema: Subschema, _ members: [String: Any]) -> Violation? {
            if let minimum = schema.keywords.minProperties, members.count < minimum {
                return failure("expected at least \(Walker.plural(minimum, "property", "properties")), got \(members.count)")
            }
            if let maximum = schema.keywords.maxProperties, members.count > maximum {
                return failure("expected at most \(Walker.plural(maximum, "property", "properties")), got \(members.count)")
            }
            for name in schema.keywords.required where members[name] == nil {
                return failure("missing required property \(quoted(name))")
            }
            for dependency in schema.keywords.dependentRequired where members[dependency.name] != nil {
                for name in dependency.required where members[name] == nil {
                    return failure("missing property \(quoted(name)), required when \(quoted(dependency.name)) is present")
                }
            }
            return nil
        }

        /// Names what is allowed, so a retry prompt can say more than "no".
        @inline(never)
        private func notAllowed(_ name: String, _ schema: Subschema) -> Violation {
            let known =
                schema.keywords.properties.prefix(10).map { quoted($0.name) } + (schema.keywords.properties.count > 10 ? ["…"] : [])
                + schema.keywords.patternProperties.prefix(3).map { "names matching " + quoted($0.pattern.pattern) }
            let hint = known.isEmpty ? "no properties are allowed" : "allowed: " + known.joined(separator: ", ")
            return failure("property \(quoted(name)) is not allowed (\(hint))")
        }

        @inline(never)
        private mutating func checkApplicators(_ schema: Subschema, _ value: Any) -> Violation? {
            for child in schema.keywords.allOf {
                if let violation = check(child, value) { return violation }
            }
            if !schema.keywords.anyOf.isEmpty {
                var reasons: [Violation] = []
                for child in schema.keywords.anyOf {
                    guard let violation = check(child, value) else { return checkOneOfAndNot(schema, value) }
                    reasons.append(violation)
                }
                return noAlternative("anyOf", reasons)
            }
            return checkOneOfAndNot(schema, value)
        }

        private mutating func checkOneOfAndNot(_ schema: Subschema, _ value: Any) -> Violation? {
            if !schema.keywords.oneOf.isEmpty {
                var reasons: [Violation] = []
                var matched: Int?
                for (index, child) in schema.keywords.oneOf.enumerated() {
                    if let violation = check(child, value) {
                        reasons.append(violation)
                    } else if let earlier = matched {
                        return failure("matches more than one alternative of oneOf ([\(earlier)] and [\(index)]), expected exactly one")
                    } else {
                        matched = index
                    }
                }
                if matched == nil { return noAlternative("oneOf", reasons) }
            }
            if let negated = schema.keywords.negated, check(negated, value) == nil {
                return failure("must not match the schema under \"not\"")
            }
            if let condition = schema.keywords.condition {
                let branch = check(condition, value) == nil ? schema.keywords.then : schema.keywords.otherwise
                if let branch, let violation = check(branch, value) { return violation }
            }
            return nil
        }

        /// Why each alternative failed, so a retry prompt can say what would have been accepted;
        /// cut short, or nested alternatives would repeat themselves at every level.
        @inline(never)
        private func noAlternative(_ keyword: String, _ reasons: [Violation]) -> Violation {
            let here = pointer
            let shown = reasons.prefix(5).enumerated().map { index, reason in
                let text = reason.path == here ? reason.message : reason.description
                return "[\(index)] " + (text.count > 200 ? text.prefix(200) + "…" : text)
            }
            return failure("does not match any alternative of \(keyword): " + shown.joined(separator: "; ") + (reasons.count > 5 ? "; …" : ""))
        }
    }
}
