import Foundation

/// Merging a job file with the flags, by walking `settings` in layers: the defaults, then the job file, then
/// the flags, so a flag always wins over the file. Maps (`properties`, `headers`, `header_env`, `body_defaults`,
/// `prices`) take the file's entries and then the flags' over them; any other setting given as a flag is not
/// read from the file at all (a template file the flag replaces is never opened). Within a layer, rows apply
/// in order, so a body parameter's own key (`seed`) wins over the same name in that layer's `body_defaults`.
extension JobConfiguration {
    /// Merges `file` (paths relative to `fileDirectory`) with `flags` (paths as given).
    package static func resolve(file: JobFile?, fileDirectory: String?, flags: JobFile) throws -> JobConfiguration {
        let file = file ?? JobFile()
        var job = JobConfiguration()
        for setting in settings where setting.mergesEntries || flags.values[setting.key] == nil {
            if let given = file.values[setting.key] { try setting.apply(&job, setting.fromFile(given, fileDirectory)) }
        }
        for setting in settings {
            if let given = flags.values[setting.key] { try setting.apply(&job, given) }
        }
        guard !job.inputs.isEmpty else {
            throw SluiceError(.configuration, "no input: give a job file with \"inputs\" or --input PATH")
        }
        for setting in settings where file.values[setting.key] == nil && flags.values[setting.key] == nil {
            setting.derive?(&job)
        }
        try job.validate()
        return job
    }

    /// A path a job file names, as sluice opens it: relative to the job file's folder, unless it is absolute,
    /// standard input, or a PostgreSQL checkpoint (a URL, not a path).
    static func pathInJobFile(_ path: String, folder: String?) -> String {
        guard path != StandardInputSpool.marker, !PostgresLocation.isPostgres(path), let folder, !path.hasPrefix("/") else {
            return path
        }
        return normalized((folder as NSString).appendingPathComponent(path))
    }

    /// `jobs/../samples/x.jsonl` → `samples/x.jsonl`, so messages show the path a user would type.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// `data/prompts.jsonl.gz` → `data/prompts.results.jsonl`.
    static func defaultOutput(for input: String) -> String {
        let directory = (input as NSString).deletingLastPathComponent
        let stem = stripExtensions((input as NSString).lastPathComponent)
        let name = stem + ".results.jsonl"
        return directory.isEmpty ? name : (directory as NSString).appendingPathComponent(name)
    }

    /// `x.results.jsonl` → `x.errors.jsonl`; gzip output gets gzip errors.
    static func defaultErrors(for output: String) -> String {
        let gz = output.hasSuffix(".gz")
        var stem = gz ? String(output.dropLast(3)) : output
        for suffix in [".results.jsonl", ".jsonl", ".json"] where stem.hasSuffix(suffix) {
            stem = String(stem.dropLast(suffix.count))
            break
        }
        return stem + ".errors.jsonl" + (gz ? ".gz" : "")
    }

    static func stripExtensions(_ name: String) -> String {
        var stem = name
        for suffix in [".gz", ".jsonl", ".ndjson", ".json", ".csv", ".tsv"] where stem.hasSuffix(suffix) && stem.count > suffix.count {
            stem = String(stem.dropLast(suffix.count))
        }
        return stem
    }

    /// A template file a job file names is relative to it; an inline template stays as it is.
    static let relativeTemplate: @Sendable (TemplateSetting, String?) -> TemplateSetting = { setting, folder in
        guard case .file(let path) = setting else { return setting }
        return .file(pathInJobFile(path, folder: folder))
    }

    /// A template given as a file is read here, so the checkpoint keeps the template itself.
    static let loadTemplate: @Sendable (TemplateSetting) throws -> PromptTemplate = { setting in
        switch setting {
        case .inline(let template): return template
        case .file(let path): return try PromptTemplate.load(path: path)
        }
    }

    /// A schema a job file names by path is relative to it; a schema object stays as it is.
    static let relativeSchema: @Sendable (JSONValue, String?) -> JSONValue = { value, folder in
        guard case .string(let path) = value else { return value }
        return .string(pathInJobFile(path, folder: folder))
    }

    /// A schema given as a path is read here, so the checkpoint keeps the schema itself.
    static let loadSchema: @Sendable (JSONValue) throws -> JSONValue = { value in
        guard case .string(let path) = value else { return value }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SluiceError(.configuration, "\(path): cannot read the schema file")
        }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw SluiceError(.configuration, "\(path): the schema file is not JSON (\(JSONText.reason(of: error)))")
        }
    }
}
