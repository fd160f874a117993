import Foundation

/// What `status`, `export`, `report`, `cancel` and `retry-failed` are pointed
/// at: a job file (its checkpoint is where the job file's settings put it) or
/// the checkpoint itself. Both are accepted because people remember the job
/// file, while scripts and `sluice list` see checkpoints.
///
/// ```swift
/// let job = try JobReference.resolve("jobs/nightly.json")
/// let counts = try await CheckpointStores.withStore(job.checkpoint, role: .reader) { try await $0.counts() }
/// ```
package struct JobReference: Sendable {
    /// The checkpoint's location.
    package var checkpoint: String
    /// The job file's settings, when a job file was named (else the checkpoint's own are used).
    package var configuration: JobConfiguration?

    package init(checkpoint: String, configuration: JobConfiguration? = nil) {
        self.checkpoint = checkpoint
        self.configuration = configuration
    }

    package static func resolve(_ argument: String) throws -> JobReference {
        if argument.hasPrefix("postgres://") || argument.hasPrefix("postgresql://") { return JobReference(checkpoint: argument) }
        guard FileManager.default.fileExists(atPath: argument) else {
            throw SluiceError(.configuration, "\(argument): no such job file or checkpoint")
        }
        if CheckpointFiles.isSQLiteFile(argument) { return JobReference(checkpoint: argument) }
        let file: JobFile
        do {
            file = try JobFile.load(path: argument)
        } catch let error as SluiceError {
            throw SluiceError(.configuration, "\(argument) is neither a sluice checkpoint nor a job file: \(error.message)")
        }
        let configuration = try JobConfiguration.resolve(
            file: file, fileDirectory: (argument as NSString).deletingLastPathComponent, flags: JobFile())
        guard PostgresLocation.isPostgres(configuration.checkpoint) || FileManager.default.fileExists(atPath: configuration.checkpoint) else {
            throw SluiceError(
                .configuration, "\(argument): the job has no checkpoint yet (\(configuration.checkpoint) does not exist); run it first")
        }
        return JobReference(checkpoint: configuration.checkpoint, configuration: configuration)
    }
}
