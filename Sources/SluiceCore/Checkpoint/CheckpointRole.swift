/// What a process opens a checkpoint for.
package enum CheckpointRole: Sendable {
    /// Runs the job: creates or migrates the checkpoint, and (for SQLite) holds the job lock.
    case runner
    /// Only reads (status, export): opens read-only, takes no lock, works while a job runs.
    case reader
    /// Writes a note to a job that may be running (`cancel`): no lock, no migration.
    case control
}
