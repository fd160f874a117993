import Foundation
import Logging
import SluiceCore

/// A batch job: its prompts, the gateway it sends them to, and every other setting, as a job file
/// gives them (the keys of `docs/jobs-and-inputs.md`).
///
/// ```swift
/// let job = try Job(settings: ["inputs": ["prompts.jsonl"], "model": "gpt-4o-mini", "concurrency": 32])
/// for try await event in job.run() {
///     if case .progress(let progress) = event { print(progress.done, "of", progress.total) }
/// }
/// let status = try await job.status()
/// ```
///
/// Running the same job again resumes it: what its checkpoint holds as done is not sent again. The API
/// key comes from the environment variable or file the settings name (`api_key_env`, `api_key_file`),
/// never from a value in the settings.
public struct Job: Sendable {
    let configuration: JobConfiguration
    let logger: Logger

    /// A job file, with paths in it relative to the file's folder.
    public init(jobFile path: String, logger: Logger = Logger(label: "sluice")) throws {
        let file = try Self.wrapping { try JobFile.load(path: path) }
        configuration = try Self.wrapping {
            try JobConfiguration.resolve(file: file, fileDirectory: (path as NSString).deletingLastPathComponent, flags: JobFile())
        }
        self.logger = logger
        try refuseStandardInput()
    }

    /// `-` (standard input) is the command line's: a program passes a file it wrote.
    private func refuseStandardInput() throws {
        if configuration.inputs.contains("-") {
            throw JobError(code: "configuration", message: "input \"-\" (standard input) is for the command line; give the path of a file")
        }
    }

    /// Settings by job-file key (`"inputs"`, `"model"`, `"base_url"`, `"concurrency"`...), with paths as given.
    /// An unknown key or a value of the wrong type is an error naming the key.
    public init(settings: [String: Any], logger: Logger = Logger(label: "sluice")) throws {
        guard JSONSerialization.isValidJSONObject(settings) else {
            throw JobError(code: "configuration", message: "the settings are not JSON values (strings, numbers, booleans, lists and objects)")
        }
        let data = try JSONSerialization.data(withJSONObject: settings)
        let flags = try Self.wrapping { try JobFile.load(data: data, named: "the settings") }
        configuration = try Self.wrapping { try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags) }
        self.logger = logger
        try refuseStandardInput()
    }

    /// The job's name, as the summary and `sluice list` show it.
    public var name: String { configuration.name }
    /// The input files, as the job reads them.
    public var inputs: [String] { configuration.inputs }
    /// Where the answers go, in input order, once every item is done.
    public var resultsPath: String { configuration.output }
    /// Where the failed items go, beside the results.
    public var errorsPath: String { configuration.errors }
    /// The checkpoint: an SQLite file, or a PostgreSQL URL.
    public var checkpoint: String { configuration.checkpoint }

    /// Runs `body`, giving its errors the public form.
    static func wrapping<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SluiceError {
            throw JobError(error)
        }
    }

    static func wrapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SluiceError {
            throw JobError(error)
        }
    }
}
