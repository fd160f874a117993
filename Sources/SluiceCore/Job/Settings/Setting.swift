import Foundation

/// One job setting, described once: its job-file key, its flag, its help, its default, its check and
/// where the checkpoint keeps it. `JobConfiguration.settings` lists them all, beside the properties
/// they fill; reading a job file, merging the flags, validating, the stored form and the docs' table
/// of job-file keys all walk that list, so a new setting is a property, a row, and its flag.
///
/// Made with `value`, `optional`, `entries`, `loaded` or `bodyParameter`, which capture the property's type; what the
/// list holds is type-erased, like a `KeyPath`.
package struct Setting: Sendable {
    /// The job file's key (`max_retry_after`).
    package let key: String
    /// The command-line flag that sets it (`--max-retry-after`); nil for a job-file key alone (`name`).
    package let flag: String?
    package let group: SettingGroup
    /// What it does, for `--help` and the docs' table.
    package let help: String
    /// The default as the docs show it.
    package let defaultText: String
    /// The property it fills.
    package let keyPath: PartialKeyPath<JobConfiguration> & Sendable
    /// The checkpoint's key, nested for the gateway's settings (`["gateway", "cache"]`).
    let stored: [String]

    /// A job file's value, in the form a flag gives it.
    let read: @Sendable (_ json: JSONValue) throws -> any Sendable
    /// A job file's value as sluice uses it: a path made relative to the job file's `folder`.
    let fromFile: @Sendable (_ value: any Sendable, _ folder: String?) -> any Sendable
    /// Sets the property from a given value (a map merges it over what it holds).
    let apply: @Sendable (_ job: inout JobConfiguration, _ given: any Sendable) throws -> Void
    /// A map takes the job file's entries, then the flags' over them; any other setting takes one or the other.
    var mergesEntries = false
    /// Sets a default that follows from settings earlier in the list, when neither the file nor a flag gives it.
    var derive: (@Sendable (_ job: inout JobConfiguration) -> Void)?
    /// Why the resolved value cannot be used, or nil.
    let check: @Sendable (JobConfiguration) -> String?
    let encode: @Sendable (JobConfiguration, inout KeyedEncodingContainer<StoredKey>) throws -> Void
    /// Reads the stored value, or keeps the default for a checkpoint written before the setting existed.
    let decode: @Sendable (inout JobConfiguration, KeyedDecodingContainer<StoredKey>) throws -> Void

    /// A key of the stored form, spelled at run time.
    struct StoredKey: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}

/// How the docs and the help group settings: the way a user thinks of a job, not the way the code runs it.
package enum SettingGroup: String, CaseIterable, Sendable {
    case files = "Inputs and outputs"
    case gateway = "Gateway"
    case requests = "Requests"
    case dispatch = "Dispatch"
    case pacing = "Pacing"
    case money = "Money"
    case answers = "Structured outputs"
    case reuse = "Dedup and reuse"
    case batches = "Provider batches"
}

/// What a setting's value is when neither a flag nor the job file gives it.
package enum SettingDefault<Value: Sendable>: Sendable {
    /// `JobConfiguration()`'s value, shown as it encodes.
    case initial
    /// Follows from settings earlier in the list (the output from the first input).
    case derived(String, @Sendable (JobConfiguration) -> Value)
}

extension Setting {
    /// A setting that always has a value.
    static func value<Value: Codable & Sendable & Equatable>(
        _ keyPath: WritableKeyPath<JobConfiguration, Value> & Sendable, _ key: String, flag: String? = nil, stored: String? = nil,
        _ group: SettingGroup, default defaulting: SettingDefault<Value> = .initial, defaultText: String? = nil,
        fromFile: @escaping @Sendable (Value, String?) -> Value = { value, _ in value }, check: @escaping @Sendable (Value) -> String? = { _ in nil },
        required: Bool = false, help: String
    ) -> Setting {
        let storedKey = Self.storedKey(stored, key)
        var setting = Setting(
            key: key, flag: Self.flag(flag, key), group: group, help: help,
            defaultText: defaultText ?? Self.defaultText(defaulting, JobConfiguration()[keyPath: keyPath]), keyPath: keyPath,
            stored: Self.storedPath(stored, key),
            read: { json in try Self.decode(Value.self, json, key: key) },
            fromFile: { value, folder in (value as? Value).map { fromFile($0, folder) } ?? value },
            apply: { job, given in job[keyPath: keyPath] = try Self.given(given, key) },
            check: { check($0[keyPath: keyPath]) },
            encode: { job, container in try container.encode(job[keyPath: keyPath], forKey: storedKey) },
            decode: { job, container in
                if required {
                    job[keyPath: keyPath] = try container.decode(Value.self, forKey: storedKey)
                } else if let value = try container.decodeIfPresent(Value.self, forKey: storedKey) {
                    job[keyPath: keyPath] = value
                }
            })
        if case .derived(_, let derive) = defaulting { setting.derive = { job in job[keyPath: keyPath] = derive(job) } }
        return setting
    }

    /// A setting that may be absent (no model, no cost cap).
    static func optional<Value: Codable & Sendable & Equatable>(
        _ keyPath: WritableKeyPath<JobConfiguration, Value?> & Sendable, _ key: String, flag: String? = nil, stored: String? = nil,
        _ group: SettingGroup, defaultText: String = "none", fromFile: @escaping @Sendable (Value, String?) -> Value = { value, _ in value },
        load: @escaping @Sendable (Value) throws -> Value = { $0 }, check: @escaping @Sendable (Value) -> String? = { _ in nil }, help: String
    ) -> Setting {
        let storedKey = Self.storedKey(stored, key)
        return Setting(
            key: key, flag: Self.flag(flag, key), group: group, help: help, defaultText: defaultText, keyPath: keyPath,
            stored: Self.storedPath(stored, key),
            read: { json in try Self.decode(Value.self, json, key: key) },
            fromFile: { value, folder in (value as? Value).map { fromFile($0, folder) } ?? value },
            apply: { job, given in job[keyPath: keyPath] = try load(Self.given(given, key)) },
            check: { job in job[keyPath: keyPath].flatMap(check) },
            encode: { job, container in try container.encodeIfPresent(job[keyPath: keyPath], forKey: storedKey) },
            decode: { job, container in
                job[keyPath: keyPath] = try container.decodeIfPresent(Value.self, forKey: storedKey)
            })
    }

    /// A map merged key by key: the job file's entries, then the flags', a flag winning per key.
    static func entries<Element: Codable & Sendable & Equatable>(
        _ keyPath: WritableKeyPath<JobConfiguration, [String: Element]> & Sendable, _ key: String, flag: String? = nil, stored: String? = nil,
        _ group: SettingGroup, defaultText: String = "`{}`", help: String
    ) -> Setting {
        let storedKey = Self.storedKey(stored, key)
        return Setting(
            key: key, flag: Self.flag(flag, key), group: group, help: help, defaultText: defaultText, keyPath: keyPath,
            stored: Self.storedPath(stored, key),
            read: { json in try Self.decode([String: Element].self, json, key: key) }, fromFile: { value, _ in value },
            apply: { job, given in job[keyPath: keyPath].merge(try Self.given(given, key) as [String: Element]) { _, later in later } },
            mergesEntries: true,
            check: { _ in nil },
            encode: { job, container in try container.encode(job[keyPath: keyPath], forKey: storedKey) },
            decode: { job, container in
                if let value = try container.decodeIfPresent([String: Element].self, forKey: storedKey) {
                    job[keyPath: keyPath] = value
                }
            })
    }

    /// A setting given in one form and kept in another: a template given as a path (or inline) is kept as its text.
    static func loaded<Given: Codable & Sendable, Value: Codable & Sendable & Equatable>(
        _ keyPath: WritableKeyPath<JobConfiguration, Value?> & Sendable, _ key: String, given: Given.Type, flag: String? = nil,
        _ group: SettingGroup, fromFile: @escaping @Sendable (Given, String?) -> Given, load: @escaping @Sendable (Given) throws -> Value, help: String
    ) -> Setting {
        let storedKey = Self.storedKey(nil, key)
        return Setting(
            key: key, flag: Self.flag(flag, key), group: group, help: help, defaultText: "none", keyPath: keyPath,
            stored: Self.storedPath(nil, key),
            read: { json in try Self.decode(Given.self, json, key: key) },
            fromFile: { value, folder in (value as? Given).map { fromFile($0, folder) } ?? value },
            apply: { job, given in job[keyPath: keyPath] = try load(Self.given(given, key) as Given) },
            check: { _ in nil },
            encode: { job, container in try container.encodeIfPresent(job[keyPath: keyPath], forKey: storedKey) },
            decode: { job, container in
                job[keyPath: keyPath] = try container.decodeIfPresent(Value.self, forKey: storedKey)
            })
    }
}

extension Setting {
    /// A body parameter with a flag of its own (`--seed 7` is `--body seed=7`): what every line that does not set it
    /// gets. It lives in `bodyDefaults`, so the checkpoint keeps it there and it has no stored key of its own; given
    /// in the job file or as its flag, it wins over the same name in `body_defaults` or `--body`.
    static func bodyParameter<Value: Codable & Sendable & Equatable>(
        _ name: String, _ type: Value.Type, flag: String? = nil, _ group: SettingGroup = .requests,
        check: @escaping @Sendable (Value) -> String? = { _ in nil }, help: String
    ) -> Setting {
        let keyPath: WritableKeyPath<JobConfiguration, JSONValue?> & Sendable = \JobConfiguration.bodyDefaults[name]
        return Setting(
            key: name, flag: Self.flag(flag, name), group: group, help: help, defaultText: "none (the model's)", keyPath: keyPath, stored: [],
            read: { json in try Self.decode(Value.self, json, key: name) }, fromFile: { value, _ in value },
            apply: { job, given in
                job[keyPath: keyPath] = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(Self.given(given, name) as Value))
            },
            check: { job in
                // A `--body` value of another type is the gateway's to judge, as every other body parameter is.
                guard let json = job[keyPath: keyPath], let value = try? Self.decode(Value.self, json, key: name) else { return nil }
                return check(value)
            },
            encode: { _, _ in }, decode: { _, _ in })
    }
}

extension Setting {
    /// A given value as the row's type; another type is a caller's mistake (`JobFile`'s subscripts are typed by
    /// the property, which for a few rows is not the form given), refused like a bad value.
    static func given<Value>(_ value: any Sendable, _ key: String) throws -> Value {
        guard let value = value as? Value else {
            throw SluiceError(.configuration, "\(key) is given as \(type(of: value)), not \(Value.self)")
        }
        return value
    }

    /// `max_retry_after` → `--max-retry-after`, unless the row names its flag ("" for none).
    static func flag(_ given: String?, _ key: String) -> String? {
        guard let given else { return "--" + key.replacingOccurrences(of: "_", with: "-") }
        return given.isEmpty ? nil : given
    }

    /// The checkpoint's key: given, or the property's name (`maxRetryAfter`), which checkpoints have always used.
    static func storedPath(_ stored: String?, _ key: String) -> [String] {
        (stored ?? camelCase(key)).split(separator: ".").map(String.init)
    }

    /// The key the row's value is stored under inside its object (`cache` inside `gateway`).
    static func storedKey(_ stored: String?, _ key: String) -> StoredKey {
        StoredKey(storedPath(stored, key).last ?? key)
    }

    static func camelCase(_ key: String) -> String {
        let words = key.split(separator: "_")
        return words.enumerated().map { index, word in index == 0 ? String(word) : word.prefix(1).uppercased() + word.dropFirst() }.joined()
    }

    /// One key's value of a job file, with the error naming the key (`"concurrency" must be an integer`).
    static func decode<Value: Decodable>(_ type: Value.Type, _ json: JSONValue, key: String) throws -> Value {
        do {
            return try JSONDecoder().decode(Value.self, from: JSONEncoder().encode(json))
        } catch let DecodingError.typeMismatch(type, context) {
            throw SettingReadError("\"\(path(key, context))\" must be \(describe(type))")
        } catch let DecodingError.dataCorrupted(context) {
            throw SettingReadError("\"\(path(key, context))\" has an invalid value (\(context.debugDescription))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw SettingReadError("\"\(path(key, context))\" must be \(describe(type)), not null")
        } catch let DecodingError.keyNotFound(missing, context) {
            throw SettingReadError("\"\(path(key, context))\" lacks \"\(missing.stringValue)\"")
        }
    }

    private static func path(_ key: String, _ context: DecodingError.Context) -> String {
        ([key] + context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }).joined(separator: ".")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is [String].Type, is [Any].Type: return "a list"
        case is [String: String].Type, is [String: Any].Type: return "an object"
        default: return "of type \(type)"
        }
    }

    static func defaultText<Value: Encodable>(_ defaulting: SettingDefault<Value>, _ initial: Value) -> String {
        switch defaulting {
        case .derived(let text, _): return text
        case .initial:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? "`" + String(decoding: encoder.encode(initial), as: UTF8.self) + "`") ?? ""
        }
    }
}

/// A job file's value that cannot be read as its setting; `JobFile.load` adds the file's path.
struct SettingReadError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension Setting {
    /// "concurrency must be between 1 and 100000, got 0".
    static func within<Value: Comparable>(_ range: ClosedRange<Value>, _ noun: String) -> @Sendable (Value) -> String? where Value: Sendable {
        { value in range.contains(value) ? nil : "\(noun) must be between \(range.lowerBound) and \(range.upperBound), got \(value)" }
    }

    /// A path a job file names, relative to its folder (see `JobConfiguration.pathInJobFile`).
    static let relativePath: @Sendable (String, String?) -> String = { path, folder in JobConfiguration.pathInJobFile(path, folder: folder) }
    static let relativePaths: @Sendable ([String], String?) -> [String] = { paths, folder in paths.map { relativePath($0, folder) } }
}
