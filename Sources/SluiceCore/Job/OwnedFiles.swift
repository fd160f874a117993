import Foundation

/// Every file a command writes and every file the job reads or keeps, each with its role, so that no write
/// lands on a file the user owns or the job needs. Paths are compared as files (`FileIdentity`: `./x`, a
/// symlink and a hard link are all `x`), and a clash is refused before anything is sent or written.
///
/// ```swift
/// var files = OwnedFiles()
/// files.writes("export --output", "the export", path, temporary: OutputFile.temporaryPath(for: path))
/// files.add(job: configuration, sources: sources)
/// try files.refuseClashes()  // "export --output in.jsonl is the input in.jsonl (same file): sluice would overwrite it"
/// ```
package struct OwnedFiles: Sendable {
    struct Role: Sendable {
        /// How the role is named when it would do the overwriting (`--errors`).
        var name: String
        /// How it is named when it would be overwritten (`the errors file`).
        var noun: String
        var path: String
        var writes: Bool
    }

    private(set) var roles: [Role] = []

    package init() {}

    /// The files of a job: what `run` writes, then what it reads.
    package init(job configuration: JobConfiguration, sources: JobSources = JobSources()) {
        add(job: configuration, sources: sources)
    }

    /// A file this command writes; `temporary` is the working name it is written under first.
    package mutating func writes(_ name: String, _ noun: String, _ path: String, temporary: String? = nil) {
        roles.append(Role(name: name, noun: noun, path: path, writes: true))
        if let temporary { roles.append(Role(name: "\(name)'s temporary file", noun: "the temporary file of \(noun)", path: temporary, writes: true)) }
    }

    /// A file this command reads, or keeps for later runs.
    package mutating func reads(_ noun: String, _ path: String) {
        roles.append(Role(name: noun, noun: noun, path: path, writes: false))
    }

    package mutating func add(job configuration: JobConfiguration, sources: JobSources = JobSources()) {
        let shared = PostgresLocation.isPostgres(configuration.checkpoint)
        let partial = ResultsPublisher.partialSuffix(shared: shared)
        writes("--output", "the results file", configuration.output)
        writes("the partial results file", "the partial results file", configuration.output + partial)
        writes("--errors", "the errors file", configuration.errors)
        writes("the partial errors file", "the partial errors file", configuration.errors + partial)
        add(checkpoint: configuration.checkpoint)
        if configuration.inputs.contains(StandardInputSpool.marker) {
            let copy = StandardInputSpool.partialPath(besideCheckpoint: configuration.checkpoint, jobName: configuration.name)
            writes("the copy of standard input", "the copy of standard input", copy)
        }
        for input in configuration.inputs where input != StandardInputSpool.marker { reads("the input", input) }
        if let template = sources.template { reads("the template", template) }
        if let schema = sources.schema { reads("the schema", schema) }
        if let caFile = configuration.caFile { reads("the CA file", caFile) }
        if let keyFile = configuration.apiKeyFile { reads("the API key file", keyFile) }
        for checkpoint in configuration.reuseCheckpoints { reads("the --reuse checkpoint", checkpoint) }
        if let jobFile = sources.jobFile { reads("the job file", jobFile) }
    }

    /// The checkpoint and the files SQLite and the job lock keep beside it; a PostgreSQL checkpoint is a URL, no local file.
    mutating func add(checkpoint: String) {
        guard !PostgresLocation.isPostgres(checkpoint) else { return }
        writes("--checkpoint", "the checkpoint", checkpoint)
        let besideTheRealFile = JobLock.resolved(checkpoint)
        for suffix in ["-wal", "-shm", "-journal", JobLock.suffix] {
            writes("the checkpoint's \(suffix) file", "the checkpoint's \(suffix) file", besideTheRealFile + suffix)
        }
    }

    /// Throws a configuration error naming both roles when a written file is any other file of the list.
    package func refuseClashes() throws {
        let identities = roles.map { FileIdentity(path: $0.path) }
        for first in roles.indices {
            for second in roles.indices where second > first && (roles[first].writes || roles[second].writes) {
                guard identities[first].isSameFile(as: identities[second]) else { continue }
                let (writer, other) = roles[first].writes ? (roles[first], roles[second]) : (roles[second], roles[first])
                throw SluiceError(.configuration, "\(writer.name) \(writer.path) is \(other.noun) \(other.path) (same file): sluice would overwrite it")
            }
        }
    }
}
