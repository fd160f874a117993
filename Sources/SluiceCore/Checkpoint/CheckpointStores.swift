/// Opens the checkpoint a location names: a file path is an SQLite database
/// (the embedded default).
///
/// ```swift
/// let store = try await CheckpointStores.open("out.results.jsonl.sluice.db", role: .reader)
/// let counts = try await store.counts()
/// await store.close()
/// ```
public enum CheckpointStores {
    public static func open(_ location: String, role: CheckpointRole) async throws -> any CheckpointStore {
        if location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") {
            throw SluiceError(.configuration, "PostgreSQL checkpoints are not supported by this build of sluice; use a file path")
        }
        return try await SQLiteCheckpointStore.open(path: location, role: role)
    }
}
