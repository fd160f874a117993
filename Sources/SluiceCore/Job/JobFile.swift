import Foundation

/// A job file (`jobs/*.json`), or the flags that override one: settings by job-file key, each in the
/// form a user gives it (a template's path, not its text). Every key is optional; `JobConfiguration.resolve`
/// merges a file with the flags, and `JobConfiguration.settings` says which keys there are.
///
/// ```json
/// {
///   "name": "nightly-classification",
///   "inputs": ["../data/prompts.jsonl.gz"],
///   "model": "gpt-4o-mini",
///   "body_defaults": {"temperature": 0, "max_tokens": 64},
///   "concurrency": 64,
///   "cache": "exact",
///   "properties": {"batch": "nightly"},
///   "fallback": ["claude-sonnet-4-20250514"]
/// }
/// ```
/// Relative paths are relative to the job file's folder. Set values by the property they fill:
/// `flags.concurrency = 8`, `flags[\.gateway.cache] = .exact`.
@dynamicMemberLookup
package struct JobFile: Sendable {
    /// Given values by job-file key.
    var values: [String: any Sendable] = [:]

    package init() {}

    package subscript<Value: Sendable>(_ keyPath: WritableKeyPath<JobConfiguration, Value>) -> Value? {
        get { values[Self.key(keyPath)] as? Value }
        set { values[Self.key(keyPath)] = newValue }
    }

    /// An optional setting (`model`, `max_cost`): nil means not given.
    package subscript<Value: Sendable>(_ keyPath: WritableKeyPath<JobConfiguration, Value?>) -> Value? {
        get { values[Self.key(keyPath)] as? Value }
        set { values[Self.key(keyPath)] = newValue }
    }

    package subscript<Value: Sendable>(dynamicMember keyPath: WritableKeyPath<JobConfiguration, Value>) -> Value? {
        get { self[keyPath] }
        set { self[keyPath] = newValue }
    }

    package subscript<Value: Sendable>(dynamicMember keyPath: WritableKeyPath<JobConfiguration, Value?>) -> Value? {
        get { self[keyPath] }
        set { self[keyPath] = newValue }
    }

    /// A body parameter's own setting (`flags[body: "seed"] = 42`, see `Setting.bodyParameter`).
    package subscript<Value: Sendable>(body name: String) -> Value? {
        get { values[Self.key(\JobConfiguration.bodyDefaults[name])] as? Value }
        set { values[Self.key(\JobConfiguration.bodyDefaults[name])] = newValue }
    }

    /// The template as given: a file's path, or (in a job file) the template itself.
    package var template: TemplateSetting? {
        get { values["template"] as? TemplateSetting }
        set { values["template"] = newValue }
    }

    private static func key(_ keyPath: AnyKeyPath) -> String {
        guard let setting = JobConfiguration.settings.first(where: { $0.keyPath == keyPath }) else {
            preconditionFailure("\(keyPath) is not a setting: add its row to JobConfiguration.settings")
        }
        return setting.key
    }

    /// Loads and checks a job file: unknown keys and wrong types are errors
    /// naming the key, so a typo never silently falls back to a default.
    package static func load(path: String) throws -> JobFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SluiceError(.configuration, "\(path): cannot read the job file")
        }
        return try load(data: data, named: path)
    }

    /// A job file's content; `path` names it in messages.
    package static func load(data: Data, named path: String) throws -> JobFile {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SluiceError(.configuration, "\(path): not valid JSON (\(JSONText.reason(of: error)))")
        }
        guard object is [String: Any], let members = try? JSONDecoder().decode([String: JSONValue].self, from: data) else {
            throw SluiceError(.configuration, "\(path): a job file is a JSON object")
        }
        let settings = Dictionary(uniqueKeysWithValues: JobConfiguration.settings.map { ($0.key, $0) })
        let unknown = members.keys.filter { settings[$0] == nil }.sorted()
        if !unknown.isEmpty {
            throw SluiceError(
                .configuration,
                "\(path): unknown key\(unknown.count > 1 ? "s" : "") \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) (known keys: \(settings.keys.sorted().joined(separator: ", ")))"
            )
        }
        var file = JobFile()
        for (key, json) in members.sorted(by: { $0.key < $1.key }) {
            // `null` is "not given", as it always was.
            guard let setting = settings[key], json != .null else { continue }
            do {
                file.values[key] = try setting.read(json)
            } catch let error as SettingReadError {
                throw SluiceError(.configuration, "\(path): \(error.message)")
            }
        }
        return file
    }
}
