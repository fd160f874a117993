import Foundation
import Testing

@testable import SluiceCore

/// The schema is given as JSON text and instances are parsed by JSONSerialization, exactly as
/// answers are, so the Linux NSNumber/Bool quirks are exercised on every check.
struct JSONSchemaTests {
    private func load(_ schema: String) throws -> JSONSchema { try JSONSchema(data: Data(schema.utf8)) }

    private func parse(_ json: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed]) }

    /// The violation's description, or nil when `instance` is valid.
    private func problem(_ schema: String, _ instance: String) throws -> String? {
        try load(schema).validate(parse(instance))?.description
    }

    private func loadError(_ schema: String) -> String? {
        do {
            _ = try load(schema)
            return nil
        } catch let error as JSONSchema.LoadError {
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func typeKeyword() throws {
        #expect(try problem(#"{"type":"string"}"#, #""x""#) == nil)
        #expect(try problem(#"{"type":"string"}"#, "42") == "at /: expected string, got integer 42")
        #expect(try problem(#"{"type":["string","null"]}"#, "null") == nil)
        #expect(try problem(#"{"type":["string","null"]}"#, "true") == "at /: expected string or null, got boolean true")
        #expect(try problem(#"{"type":["string","array","null"]}"#, "{}") == "at /: expected string, array or null, got object with 0 properties")
        #expect(try problem(#"{"type":"integer"}"#, "1.0") == nil)
        #expect(try problem(#"{"type":"integer"}"#, "-12345678901234") == nil)
        #expect(try problem(#"{"type":"integer"}"#, "1.5") == "at /: expected integer, got number 1.5")
        #expect(try problem(#"{"type":"number"}"#, "3") == nil)
        #expect(try problem(#"{"type":"number"}"#, "true") == "at /: expected number, got boolean true")
        #expect(try problem(#"{"type":"integer"}"#, "false") == "at /: expected integer, got boolean false")
        #expect(try problem(#"{"type":"boolean"}"#, "1") == "at /: expected boolean, got integer 1")
        #expect(try problem(#"{"type":"boolean"}"#, "0") == "at /: expected boolean, got integer 0")
        #expect(try problem(#"{"type":"object"}"#, "[1]") == "at /: expected object, got array of 1 item")
        #expect(try problem(#"{"type":"null"}"#, #""""#) == #"at /: expected null, got string """#)
        #expect(loadError(#"{"type":"text"}"#) == #"at schema /type: "text" is not a JSON Schema type name"#)
    }

    @Test func foundationValuesBuiltByHand() throws {
        let schema = try load(#"{"properties":{"b":{"type":"boolean"},"i":{"type":"integer"},"d":{"type":"number"},"s":{"type":"string"}}}"#)
        let native: [String: Any] = ["b": true, "i": 3, "d": 2.5, "s": "x"]
        #expect(schema.validate(native) == nil)
        let bridged: [String: Any] = ["b": NSNumber(value: false), "i": NSNumber(value: 3), "d": NSNumber(value: 2.5), "s": NSString(string: "x")]
        #expect(schema.validate(bridged) == nil)
        #expect(schema.validate(["b": 1] as [String: Any])?.description == "at /b: expected boolean, got integer 1")
        #expect(schema.validate(["i": NSNumber(value: true)] as [String: Any])?.description == "at /i: expected integer, got boolean true")
        #expect(schema.validate(["d": Date(timeIntervalSince1970: 0)] as [String: Any])?.description == "at /d: a value of type Date is not JSON")
        #expect(try load(#"{"enum":[2]}"#).validate(NSNumber(value: UInt64(2))) == nil)
    }

    @Test func enumKeyword() throws {
        let schema = #"""
            {"type":"object","properties":{"items":{"type":"array","items":{"type":"object","properties":{"label":{"enum":["yes","no"]}}}}}}
            """#
        #expect(try problem(schema, #"{"items":[{"label":"yes"},{"label":"no"}]}"#) == nil)
        #expect(
            try problem(schema, #"{"items":[{"label":"yes"},{"label":"no"},{"label":"maybe"}]}"#) == #"at /items/2/label: "maybe" is not one of "yes", "no""#)
        #expect(try problem(#"{"enum":[1,"a",null,{"k":[1,2]}]}"#, "1.0") == nil)
        #expect(try problem(#"{"enum":[1,"a",null,{"k":[1,2]}]}"#, #"{"k":[1.0,2]}"#) == nil)
        #expect(try problem(#"{"enum":[1,"a",null]}"#, "true") == #"at /: true is not one of 1, "a", null"#)
        #expect(try problem(#"{"enum":[false]}"#, "0") == "at /: 0 is not one of false")
        #expect(try problem(#"{"enum":[[1]]}"#, "[true]") == "at /: [true] is not one of [1]")
        #expect(try problem(#"{"enum":[]}"#, "1") == "at /: no value is allowed here (enum is empty)")
    }

    @Test func constKeyword() throws {
        #expect(try problem(#"{"const":{"a":[1,{"b":null}],"c":"x"}}"#, #"{"c":"x","a":[1.0,{"b":null}]}"#) == nil)
        #expect(try problem(#"{"const":{"a":1}}"#, #"{"a":1,"b":2}"#) == #"at /: expected the constant {"a":1}, got {"a":1,"b":2}"#)
        #expect(try problem(#"{"const":"y"}"#, #""x""#) == #"at /: expected the constant "y", got "x""#)
        #expect(try problem(#"{"const":true}"#, "1") == "at /: expected the constant true, got 1")
        #expect(try problem(#"{"const":9007199254740992}"#, "9007199254740993") != nil)
        #expect(try problem(#"{"const":-2.0}"#, "-2") == nil)
        // Code points, not Swift's canonical equivalence: precomposed and combining "é" differ.
        #expect(try problem(#"{"const":"\u00e9"}"#, #""e\u0301""#) == #"at /: expected the constant "é", got "é""#)
        #expect(try problem(#"{"uniqueItems":true}"#, #"["\u00e9","e\u0301"]"#) == nil)
    }

    @Test func propertiesAndRequired() throws {
        let schema = #"{"type":"object","properties":{"label":{"type":"string"},"a/b~c":{"type":"integer"}},"required":["label"]}"#
        #expect(try problem(schema, #"{"label":"ok","extra":1}"#) == nil)
        #expect(try problem(schema, #"{"other":1}"#) == #"at /: missing required property "label""#)
        #expect(try problem(schema, #"{"label":7}"#) == "at /label: expected string, got integer 7")
        #expect(try problem(schema, #"{"label":"x","a/b~c":"1"}"#) == #"at /a~1b~0c: expected integer, got string "1""#)
        #expect(try problem(schema, "[]") == "at /: expected object, got array of 0 items")
        // Without "type", object keywords ignore other kinds of instance.
        #expect(try problem(#"{"required":["a"],"properties":{"a":false}}"#, "12") == nil)
        #expect(try problem(#"{"properties":{"a":false}}"#, #"{"a":null}"#) == "at /a: no value is allowed here (the schema is false)")
        #expect(try problem(#"{"required":["a","b"]}"#, #"{"b":1}"#) == #"at /: missing required property "a""#)
    }

    @Test func additionalProperties() throws {
        let closed = #"{"properties":{"a":{},"b":{}},"additionalProperties":false}"#
        #expect(try problem(closed, #"{"a":1,"b":2}"#) == nil)
        #expect(try problem(closed, #"{"a":1,"z":2,"c":3,"y":4}"#) == #"at /: property "c" is not allowed (allowed: "a", "b")"#)
        #expect(try problem(#"{"additionalProperties":false}"#, #"{"x":1}"#) == #"at /: property "x" is not allowed (no properties are allowed)"#)
        let typed = #"{"properties":{"a":{}},"additionalProperties":{"type":"integer"}}"#
        #expect(try problem(typed, #"{"a":"any","n":1,"m":2}"#) == nil)
        #expect(try problem(typed, #"{"a":"any","q":"x","p":"y"}"#) == #"at /p: expected integer, got string "y""#)
        // additionalProperties does not look into allOf.
        #expect(try problem(#"{"allOf":[{"properties":{"a":{}}}],"additionalProperties":false}"#, #"{"a":1}"#) != nil)
    }

    @Test func itemsAndPrefixItems() throws {
        #expect(try problem(#"{"items":{"type":"integer"}}"#, "[1,2,3]") == nil)
        #expect(try problem(#"{"items":{"type":"integer"}}"#, #"[1,2,"3"]"#) == #"at /2: expected integer, got string "3""#)
        let tuple = #"{"prefixItems":[{"type":"string"},{"type":"number"}],"items":false}"#
        #expect(try problem(tuple, #"["a",1]"#) == nil)
        #expect(try problem(tuple, #"["a"]"#) == nil)
        #expect(try problem(tuple, #"[1]"#) == "at /0: expected string, got integer 1")
        #expect(try problem(tuple, #"["a",1,null]"#) == "at /: expected at most 2 items, got 3")
        #expect(try problem(#"{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}"#, #"["a",1,"b"]"#) == #"at /2: expected integer, got string "b""#)
        #expect(try problem(#"{"prefixItems":[{"type":"string"}]}"#, #"["a",1,{}]"#) == nil)
        #expect(try problem(#"{"items":{"items":{"minimum":0}}}"#, "[[0],[1,-1]]") == "at /1/1: -1 is less than the minimum 0")
        #expect(loadError(#"{"items":[{}]}"#) == #"at schema /items: "items" must be a schema; the array form is pre-2020-12, use "prefixItems""#)
    }

    @Test func arraySizeAndUniqueness() throws {
        #expect(try problem(#"{"minItems":2,"maxItems":3}"#, "[1,2]") == nil)
        #expect(try problem(#"{"minItems":2}"#, "[1]") == "at /: expected at least 2 items, got 1")
        #expect(try problem(#"{"maxItems":1}"#, "[1,2]") == "at /: expected at most 1 item, got 2")
        #expect(try problem(#"{"minItems":2.0}"#, "[1]") != nil)
        #expect(try problem(#"{"uniqueItems":true}"#, #"[1,"1",true,[1],{"a":1},0,false,null]"#) == nil)
        #expect(try problem(#"{"uniqueItems":true}"#, "[1,2,1.0]") == "at /: items 0 and 2 are equal, but uniqueItems is true")
        #expect(try problem(#"{"uniqueItems":true}"#, #"[{"a":1,"b":[2]},{"b":[2.0],"a":1}]"#) == "at /: items 0 and 1 are equal, but uniqueItems is true")
        #expect(try problem(#"{"uniqueItems":false}"#, "[1,1]") == nil)
        #expect(loadError(#"{"maxItems":-1}"#) == #"at schema /maxItems: "maxItems" must be a non-negative integer, not -1"#)
    }

    @Test func stringLengthCountsCodePoints() throws {
        #expect(try problem(#"{"maxLength":2}"#, #""😀😀""#) == nil)  // four UTF-16 units, two code points
        #expect(try problem(#"{"maxLength":1}"#, #""e\u0301""#) == "at /: expected at most 1 character, got 2")
        #expect(try problem(#"{"minLength":3}"#, #""ab""#) == "at /: expected at least 3 characters, got 2")
        #expect(try problem(#"{"minLength":3}"#, "12") == nil)
        #expect(loadError(#"{"minLength":"3"}"#) == #"at schema /minLength: "minLength" must be a non-negative integer, not "3""#)
    }

    @Test func pattern() throws {
        #expect(try problem(#"{"pattern":"[0-9]{3}"}"#, #""abc123def""#) == nil)  // searched, not anchored
        #expect(try problem(#"{"pattern":"^[a-z]+$"}"#, #""abc1""#) == #"at /: "abc1" does not match the pattern "^[a-z]+$""#)
        #expect(try problem(#"{"pattern":"^\\p{Letter}+$"}"#, #""πλ""#) == nil)
        #expect(try problem(#"{"pattern":"^a"}"#, "7") == nil)
        #expect(loadError(#"{"pattern":"(unclosed"}"#) == #"at schema /pattern: "(unclosed" is not a valid regular expression"#)
    }

    @Test func numericBounds() throws {
        let closed = #"{"minimum":1,"maximum":3.5}"#
        #expect(try problem(closed, "1") == nil)
        #expect(try problem(closed, "3.5") == nil)
        #expect(try problem(closed, "0.9") == "at /: 0.9 is less than the minimum 1")
        #expect(try problem(closed, "4") == "at /: 4 is greater than the maximum 3.5")
        let open = #"{"exclusiveMinimum":0,"exclusiveMaximum":10}"#
        #expect(try problem(open, "0.0001") == nil)
        #expect(try problem(open, "0") == "at /: 0 is not greater than the exclusive minimum 0")
        #expect(try problem(open, "10.0") == "at /: 10 is not less than the exclusive maximum 10")
        #expect(try problem(closed, #""10""#) == nil)
        #expect(try problem(#"{"maximum":18446744073709551615}"#, "18446744073709551600") == nil)
        #expect(try problem(#"{"minimum":-9223372036854775808}"#, "-9223372036854775807") == nil)
        #expect(loadError(#"{"exclusiveMinimum":true}"#) == #"at schema /exclusiveMinimum: "exclusiveMinimum" must be a number, not true"#)
    }

    @Test func multipleOf() throws {
        #expect(try problem(#"{"multipleOf":2}"#, "10") == nil)
        #expect(try problem(#"{"multipleOf":2}"#, "7") == "at /: 7 is not a multiple of 2")
        #expect(try problem(#"{"multipleOf":0.01}"#, "19.99") == nil)  // 1998.9999999999998 in binary floating point
        #expect(try problem(#"{"multipleOf":0.1}"#, "0.3") == nil)
        #expect(try problem(#"{"multipleOf":0.01}"#, "0.075") == "at /: 0.075 is not a multiple of 0.01")
        #expect(try problem(#"{"multipleOf":1.5}"#, "4.5") == nil)
        #expect(try problem(#"{"multipleOf":0.123456789}"#, "1e308") != nil)
        #expect(try problem(#"{"multipleOf":1e-8}"#, "12391239123") == nil)
        #expect(loadError(#"{"multipleOf":0}"#) == #"at schema /multipleOf: "multipleOf" must be greater than 0"#)
    }

    @Test func patternPropertiesAndPropertyNames() throws {
        let schema = #"{"properties":{"id":{}},"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}"#
        #expect(try problem(schema, #"{"id":1,"x-a":"s"}"#) == nil)
        #expect(try problem(schema, #"{"id":1,"x-b":1}"#) == "at /x-b: expected string, got integer 1")
        #expect(try problem(schema, #"{"y":1,"x-a":"s"}"#) == #"at /: property "y" is not allowed (allowed: "id", names matching "^x-")"#)
        // A name that is declared and matches a pattern must satisfy both.
        #expect(
            try problem(#"{"properties":{"ab":{"minimum":1}},"patternProperties":{"b":{"maximum":5}}}"#, #"{"ab":9}"#)
                == "at /ab: 9 is greater than the maximum 5")
        let names = #"{"propertyNames":{"pattern":"^[a-z]+$"}}"#
        #expect(try problem(names, #"{"ok":1,"also":2}"#) == nil)
        #expect(try problem(names, #"{"ok":1,"Z9":2,"B1":3}"#) == #"at /: the property name "B1" is not allowed: "B1" does not match the pattern "^[a-z]+$""#)
        #expect(loadError(#"{"patternProperties":{"(":{}}}"#) == #"at schema /patternProperties/(: "(" is not a valid regular expression"#)
    }

    @Test func containsAndItsCounts() throws {
        let schema = #"{"contains":{"type":"integer"},"minContains":2,"maxContains":3}"#
        #expect(try problem(schema, #"[1,"a",2]"#) == nil)
        #expect(try problem(schema, #"[1,"a"]"#) == #"at /: expected at least 2 items matching the schema under "contains", got 1"#)
        #expect(try problem(schema, "[1,2,3,4]") == #"at /: expected at most 3 items matching the schema under "contains", got 4"#)
        #expect(try problem(#"{"contains":{"type":"integer"}}"#, "[]") == #"at /: expected at least 1 item matching the schema under "contains", got 0"#)
        #expect(try problem(#"{"contains":false,"minContains":0}"#, "[1]") == nil)
        #expect(try problem(#"{"minContains":2,"maxContains":0}"#, "[1]") == nil)  // without "contains" they do nothing
    }

    @Test func dependenciesAndConditionals() throws {
        let dependent = #"{"dependentRequired":{"card":["billing","cvc"]},"dependentSchemas":{"card":{"properties":{"cvc":{"maxLength":4}}}}}"#
        #expect(try problem(dependent, #"{"billing":1}"#) == nil)
        #expect(try problem(dependent, #"{"card":1,"cvc":"123"}"#) == #"at /: missing property "billing", required when "card" is present"#)
        #expect(try problem(dependent, #"{"card":1,"billing":1,"cvc":"12345"}"#) == "at /cvc: expected at most 4 characters, got 5")
        #expect(loadError(#"{"dependentRequired":{"a":[1]}}"#) == #"at schema /dependentRequired/a: "dependentRequired" must be an array of strings"#)
        let branches = #"{"if":{"properties":{"kind":{"const":"a"}}},"then":{"required":["x"]},"else":{"required":["y"]}}"#
        #expect(try problem(branches, #"{"kind":"a","x":1}"#) == nil)
        #expect(try problem(branches, #"{"kind":"a","y":1}"#) == #"at /: missing required property "x""#)
        #expect(try problem(branches, #"{"kind":"b","x":1}"#) == #"at /: missing required property "y""#)
        #expect(try problem(#"{"then":false,"else":false}"#, "1") == nil)  // without "if" they do nothing
        #expect(loadError(##"{"if":{"$ref":"#"}}"##) == "$ref loop that never moves into the instance: # -> #")
        #expect(loadError(##"{"dependentSchemas":{"a":{"$ref":"#"}}}"##) == "$ref loop that never moves into the instance: # -> #")
    }

    @Test func propertyCounts() throws {
        #expect(try problem(#"{"minProperties":1,"maxProperties":2}"#, #"{"a":1}"#) == nil)
        #expect(try problem(#"{"minProperties":1}"#, "{}") == "at /: expected at least 1 property, got 0")
        #expect(try problem(#"{"maxProperties":1}"#, #"{"a":1,"b":2}"#) == "at /: expected at most 1 property, got 2")
        #expect(try problem(#"{"maxProperties":0}"#, "[1]") == nil)
    }

    @Test func applicators() throws {
        let nullable = #"{"properties":{"n":{"anyOf":[{"type":"string"},{"type":"null"}]}}}"#
        #expect(try problem(nullable, #"{"n":null}"#) == nil)
        #expect(
            try problem(nullable, #"{"n":3}"#)
                == "at /n: does not match any alternative of anyOf: [0] expected string, got integer 3; [1] expected null, got integer 3")
        let nested = #"{"anyOf":[{"properties":{"a":{"type":"string"}}},{"type":"array"}]}"#
        #expect(
            try problem(nested, #"{"a":1}"#)
                == "at /: does not match any alternative of anyOf: [0] at /a: expected string, got integer 1; [1] expected array, got object with 1 property")
        let both = #"{"allOf":[{"minimum":1},{"maximum":5}]}"#
        #expect(try problem(both, "3") == nil)
        #expect(try problem(both, "9") == "at /: 9 is greater than the maximum 5")
        let exactlyOne = #"{"oneOf":[{"type":"integer"},{"minimum":2}]}"#
        #expect(try problem(exactlyOne, "1") == nil)
        #expect(try problem(exactlyOne, "2.5") == nil)
        #expect(try problem(exactlyOne, "3") == "at /: matches more than one alternative of oneOf ([0] and [1]), expected exactly one")
        #expect(
            try problem(exactlyOne, "1.5")
                == "at /: does not match any alternative of oneOf: [0] expected integer, got number 1.5; [1] 1.5 is less than the minimum 2")
        #expect(try problem(#"{"not":{"type":"string"}}"#, "1") == nil)
        #expect(try problem(#"{"not":{"type":"string"}}"#, #""s""#) == #"at /: must not match the schema under "not""#)
        #expect(loadError(#"{"anyOf":[]}"#) == #"at schema /anyOf: "anyOf" must be a non-empty array of schemas"#)
    }

    @Test func booleanSchemas() throws {
        #expect(try problem("true", #"{"anything":[1,null]}"#) == nil)
        #expect(try problem("{}", "null") == nil)
        #expect(try problem("false", "null") == "at /: no value is allowed here (the schema is false)")
        #expect(loadError("12") == "at schema /: a schema must be an object or a boolean, not 12")
        #expect(loadError("{") != nil)
        #expect(loadError(#"{"properties":{"a":"string"}}"#) == #"at schema /properties/a: a schema must be an object or a boolean, not "string""#)
    }

    @Test func localReferences() throws {
        let tree = ##"""
            {"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value"]}},
             "$ref":"#/$defs/node"}
            """##
        #expect(try problem(tree, ##"{"value":1,"children":[{"value":2,"children":[{"value":3}]}]}"##) == nil)
        #expect(
            try problem(tree, ##"{"value":1,"children":[{"value":2,"children":[{"value":"3"}]}]}"##)
                == ##"at /children/0/children/0/value: expected integer, got string "3""##)
        let list = ##"{"type":"object","properties":{"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["next"]}"##
        #expect(try problem(list, ##"{"next":{"next":{"next":null}}}"##) == nil)
        #expect(try problem(##"{"definitions":{"a":{"type":"string"}},"properties":{"x":{"$ref":"#/definitions/a"}}}"##, ##"{"x":1}"##) != nil)
        let escaped =
            ##"{"$defs":{"a/b":{"type":"string"},"t~d":{"type":"integer"},"p%c":{"type":"null"}},"prefixItems":[{"$ref":"#/$defs/a~1b"},{"$ref":"#/$defs/t~0d"},{"$ref":"#/$defs/p%25c"}]}"##
        #expect(try problem(escaped, ##"["s",1,null]"##) == nil)
        #expect(try problem(escaped, ##"["s",1,2]"##) == "at /2: expected null, got integer 2")
        // In 2020-12 the keywords next to $ref still apply.
        #expect(
            try problem(##"{"$defs":{"s":{"type":"string"}},"$ref":"#/$defs/s","maxLength":2}"##, ##""abc""##) == "at /: expected at most 2 characters, got 3")
        #expect(
            try problem(##"{"$id":"https://example.com/s.json","$defs":{"s":{"type":"string"}},"$ref":"https://example.com/s.json#/$defs/s"}"##, "1") != nil)
    }

    @Test func referencesThatCannotBeUsed() {
        #expect(loadError(##"{"$ref":"#/$defs/missing"}"##) == ##"at schema /$ref: cannot resolve $ref "#/$defs/missing": # has no "$defs""##)
        #expect(
            loadError(##"{"$defs":{},"$ref":"#/$defs/missing"}"##) == ##"at schema /$ref: cannot resolve $ref "#/$defs/missing": #/$defs has no "missing""##)
        #expect(loadError(##"{"$ref":"https://example.com/other.json"}"##)?.contains("only references within this schema") == true)
        #expect(loadError(##"{"$ref":"#anchor"}"##)?.contains("anchor references are not supported") == true)
        #expect(loadError(##"{"$defs":{"a":{"$id":"https://x/a","$ref":"#"}}, "$ref":"#/$defs/a"}"##)?.contains("own $id") == true)
        #expect(
            loadError(##"{"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/b"}]},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##)
                == "$ref loop that never moves into the instance: #/$defs/a -> #/$defs/b -> #/$defs/a")
        #expect(loadError(##"{"$ref":"#"}"##) == "$ref loop that never moves into the instance: # -> #")
    }

    /// Deep answers get a violation, not a stack overflow (JSONSerialization itself stops at 512 levels).
    @Test func deepAnswersDoNotExhaustTheStack() throws {
        let nested = try load(##"{"type":"array","items":{"$ref":"#"}}"##)
        #expect(try nested.validate(parse(String(repeating: "[", count: 128) + String(repeating: "]", count: 128))) == nil)
        let tooDeep = nested.validate(try parse(String(repeating: "[", count: 512) + String(repeating: "]", count: 512)))
        #expect(tooDeep == JSONSchema.Violation(path: String(repeating: "/0", count: 128), message: "nested more than 128 levels deep"))
        var built: Any = 1
        for _ in 0..<5_000 { built = [built] }
        #expect(nested.validate(built)?.message == "nested more than 128 levels deep")
        let linked = try load(
            ##"{"allOf":[{"$ref":"#/$defs/node"}],"$defs":{"node":{"type":"object","properties":{"next":{"anyOf":[{"type":"null"},{"oneOf":[{"$ref":"#"}]}]}}}}}"##
        )
        var list: Any = NSNull()
        for _ in 0..<128 { list = ["next": list] }
        #expect(linked.validate(list) == nil)
        list = ["next": list]
        // The reasons of nested alternatives are cut short, so the message stays bounded.
        let nestedTooDeep = try #require(linked.validate(list))
        #expect(nestedTooDeep.path == "/next" && nestedTooDeep.message.count < 1_000)
    }

    @Test func unknownKeywordsAndFormatAreIgnored() throws {
        let schema = #"{"type":"string","format":"email","x-vendor":{"type":"integer"},"title":"t","contentMediaType":"text/plain"}"#
        #expect(try problem(schema, #""not an email""#) == nil)
        #expect(try problem(#"{"$schema":"https://json-schema.org/draft/2020-12/schema","$comment":"c"}"#, "1") == nil)
    }

    @Test func violationDescribesRootAsSlash() {
        #expect(JSONSchema.Violation(path: "", message: "m").description == "at /: m")
        #expect(JSONSchema.Violation(path: "/a/0", message: "m").description == "at /a/0: m")
    }

    @Test func schemaIsSharedAcrossTasks() async throws {
        let schema = try load(#"{"type":"object","properties":{"n":{"type":"integer","minimum":0},"s":{"pattern":"^[0-5]+$"}},"required":["n"]}"#)
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    (0..<2_000).filter { schema.validate(["n": ($0 + worker) % 7 - 1, "s": String($0 % 10)] as [String: Any]) != nil }.count
                }
            }
            return await group.reduce(0, +)
        }
        let expected = (0..<4).map { worker in (0..<2_000).filter { ($0 + worker) % 7 == 0 || $0 % 10 > 5 }.count }.reduce(0, +)
        #expect(failures == expected)
    }
}
