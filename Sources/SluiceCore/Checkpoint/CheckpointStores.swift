/// Opens the checkpoint a location names: a file path is an SQLite database
/// (the embedded default), a `postgres://` URL a job shared by several workers.
///
/// A store is open for a scope and closed as it ends, however it ends: a
/// PostgreSQL store's connections belong to that scope (see
/// `PostgresCheckpointStore.withStore`), so none outlives the code using it.
///
/// ```swift
/// let counts = try await CheckpointStores.withStore("out.results.jsonl.sluice.db", role: .reader) { store in
///     try await store.counts()
/// }
/// ```
package enum CheckpointStores {
    package static func withStore<T>(
        _ location: String, role: CheckpointRole, _ body: (any CheckpointStore) async throws -> T
    ) async throws -> T {
        if PostgresLocation.isPostgres(location) {
            return try await PostgresCheckpointStore.withStore(try PostgresLocation(parsing: location), role: role) { try await body($0) }
        }
        return try await closing(try await SQLiteCheckpointStore.open(path: location, role: role), body)
    }

    /// Runs `body` with an open `store` and closes it after, however `body` ends.
    package static func closing<Store: CheckpointStore, T>(_ store: Store, _ body: (Store) async throws -> T) async throws -> T {
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// Several checkpoints open at once (`--reuse`), each labelled with its location, for the length of `body`.
    /// `opening` says what a location that cannot be opened was for.
    package static func withStores<T>(
        _ locations: [String], role: CheckpointRole, opening: (String, any Error) -> any Error,
        _ body: ([(label: String, store: any CheckpointStore)]) async throws -> T
    ) async throws -> T {
        try await open(locations[...], role: role, opened: [], opening: opening, body)
    }

    private static func open<T>(
        _ rest: ArraySlice<String>, role: CheckpointRole, opened: [(label: String, store: any CheckpointStore)],
        opening: (String, any Error) -> any Error, _ body: ([(label: String, store: any CheckpointStore)]) async throws -> T
    ) async throws -> T {
        guard let location = rest.first else { return try await body(opened) }
        // Only this location's opening is reported as such; what `body` throws passes through untouched.
        var reached = false
        do {
            return try await withStore(location, role: role) { store in
                reached = true
                return try await open(rest.dropFirst(), role: role, opened: opened + [(location, store)], opening: opening, body)
            }
        } catch let error where !reached {
            throw opening(location, error)
        }
    }
}
