import ArgumentParser
import Foundation
import SluiceCore

/// Every command ends a `SluiceError` the same way: its message on stderr,
/// prefixed `sluice: error:`, and its documented exit code.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as SluiceError {
        FileHandle.standardError.write(Data("sluice: error: \(error.message)\n".utf8))
        throw ExitCode(error.exitCode)
    }
}

/// Opens the checkpoint a JOB argument names, read-only, and closes it after `body`.
func withJob<T>(_ argument: String, role: CheckpointRole = .reader, _ body: (JobReference, any CheckpointStore) async throws -> T) async throws -> T {
    let reference = try JobReference.resolve(argument)
    return try await CheckpointStores.withStore(reference.checkpoint, role: role) { try await body(reference, $0) }
}
