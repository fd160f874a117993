/// Opens the checkpoint a location names: a file path is an SQLite database
/// (the embedded default), a `postgres://` URL a job shared by several workers.
///
/// ```swift
/// let store = try await CheckpointStores.open("out.results.jsonl.sluice.db", role: .reader)
/// let counts = try await store.counts()
/// await store.close()
/// ```
package enum CheckpointStores {
    package static func open(_ location: String, role: CheckpointRole) async throws -> any CheckpointStore {
        if PostgresLocation.isPostgres(location) {
            return try await PostgresCheckpointStore.open(try PostgresLocation(parsing: location), role: role)
        }
        return try await SQLiteCheckpointStore.open(path: location, role: role)
    }
}
