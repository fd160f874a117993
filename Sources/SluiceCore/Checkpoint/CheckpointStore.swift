/// Where a job remembers everything it has done, so it can stop at any moment
/// and resume exactly there. SQLite is the embedded default; a shared store
/// (PostgreSQL, for several workers on one job) implements the same protocol.
/// `CheckpointStores.withStore` picks the implementation from the checkpoint location.
///
/// ```swift
/// try await CheckpointStores.withStore("out.results.jsonl.sluice.db", role: .runner) { store in
///     try await store.insertPlanned(items, fileIndex: 0, throughLine: 1000, complete: false, replanning: false, error: nil)
///     let leased = try await store.lease(limit: 512)
///     try await store.record([.finished(outcome)])
/// }
/// ```
///
/// ## The contract
/// Every implementation keeps these rules, and `CheckpointStoreContract` (in
/// the tests) checks each one against every implementation:
/// 1. **Planning is idempotent by (input, line).** `insertPlanned` stores each
///    line once, with the file's planning position, in one transaction: a crash
///    between batches loses nothing and a repeated batch does not duplicate.
///    A line whose key is already taken is stored as a failed item naming the
///    first. With `replanning`, a line stored with the same content hash keeps
///    its state and result.
/// 2. **One item lifecycle.** `pending ─lease→ leased ─record(finished)→
///    succeeded | failed`; `record(released)` puts a leased item back to
///    pending. `lease` hands out pending items in input order and marks them
///    leased, so no two leases hold the same item.
/// 3. **Outcomes are atomic and grouped.** `record` applies its events in one
///    transaction: after a crash an item is either finished with its whole
///    outcome, or not at all. Finishing an item that is not leased changes
///    nothing (a late answer never overwrites a result).
/// 4. **Recovery.** `prepareForRun` makes leased items whose owner is gone
///    pending again (for SQLite, the one owner is the process holding the job
///    lock, so every leased item) and, when asked, failed items that have a
///    request body (bad input lines stay failed).
/// 5. **Reading back.** `counts` are totals over every item; `results(after:)`
///    pages through items in input order (file, then line), finished or not;
///    nothing read is ever held open between calls.
/// 6. **Answers can be shared.** A succeeded outcome recorded with a
///    `requestDigest` is found again by `answer(forRequest:endpoint:body:)`
///    when the endpoint and the stored body (without the model, which the
///    digest covers) are byte for byte the same.
/// 7. **Provider batches keep their items.** Items recorded to a batch stay
///    leased to it across `prepareForRun` until the batch is finished; lines
///    `rerouted` go back to pending on the live route.
/// 8. **Blocking work stays off the cooperative pool.** Every call runs on the
///    store's own executor (a dedicated thread for SQLite, a connection pool
///    for PostgreSQL).
package protocol CheckpointStore: Sendable {
    /// Where the checkpoint is, as the user named it (a path, or a URL without its password).
    nonisolated var location: String { get }

    /// The job's settings as JSON (never the API key), nil for a new job.
    func jobSettings() async throws -> String?
    func saveJobSettings(_ json: String) async throws
    /// A value the job learned and wants back on resume (e.g. a concurrency limit).
    func value(forKey key: String) async throws -> String?
    func setValue(_ value: String, forKey key: String) async throws

    func inputs() async throws -> [InputRecord]
    func saveInputs(_ inputs: [InputRecord]) async throws

    /// Stores a batch of planned items and the planning position of their file
    /// in one transaction. Returns how many were bad lines (including duplicates).
    /// With `replanning`, a line already stored with the same content is kept as it is.
    @discardableResult
    func insertPlanned(_ items: [PlannedItem], fileIndex: Int, throughLine: Int, complete: Bool, replanning: Bool, error: String?) async throws -> Int
    /// Drops items of a file beyond its last line (after the file was shortened and replanned).
    func removeItems(fileIndex: Int, afterLine: Int) async throws

    /// Makes leased items whose owner is gone pending again, and failed ones
    /// too when asked (bad input lines excepted).
    func prepareForRun(retryFailed: Bool) async throws -> RunPreparation
    /// Up to `limit` pending items of `route` in input order, now leased to the caller.
    func lease(limit: Int, route: LeaseRoute) async throws -> [DispatchItem]
    /// Applies outcomes and releases in one transaction, in order.
    func record(_ events: [CheckpointEvent]) async throws
    /// Whether this process may still send a leased item: false once its lease may have lapsed, so that another
    /// worker may hold it, or have stored its outcome (a shared store; a store with one owner always says true).
    nonisolated func maySend(_ id: Int64) -> Bool

    func counts() async throws -> ItemCounts
    /// Tokens by answering model, over every answered item (failed ones included: they were billed too).
    func usage() async throws -> [ModelUsage]
    /// Up to `limit` items after `cursor` in input order (file, then line),
    /// finished or not, for writing the results as a prefix completes.
    func results(after cursor: ResultCursor, limit: Int) async throws -> [ResultRow]
    func inputProblems(limit: Int) async throws -> [InputProblemRecord]
    /// Up to `limit` items with an id above `after`, without their bodies, for `status`,
    /// `list` and the report.
    func summaries(after id: Int64, limit: Int) async throws -> [ItemSummary]
    /// A succeeded item whose request had this digest, endpoint and body, for dedup and `--reuse`.
    func answer(forRequest digest: UInt64, endpoint: String, body: [UInt8]) async throws -> SharedAnswer?

    /// Adds one minute's figures to the job's history (a minute two runs share adds up).
    func addHistory(_ entry: HistoryEntry) async throws
    /// The job's history, oldest minute first.
    func history() async throws -> [HistoryEntry]
    /// Failed items of these classes become pending again (`retry-failed --class`); bad input
    /// lines never do. Returns how many.
    func requeueFailed(classes: Set<ErrorClass>) async throws -> Int

    /// Provider batches (rule 7): the uploaded file and the items it holds, recorded before the batch is
    /// created; the batch's id; its end (items still leased to it become pending).
    func recordBatchFile(fileID: String, endpoint: String, items: [Int64]) async throws -> Int64
    /// Leased items that ride in an open batch without a line of their own (their request is identical to one
    /// of its lines: dedup), counted in its items; returns how many joined.
    func joinBatch(_ row: Int64, items: [Int64]) async throws -> Int
    func setBatchID(_ batchID: String, forBatch row: Int64) async throws
    func finishBatch(_ row: Int64, note: String?) async throws
    func batches(openOnly: Bool) async throws -> [BatchRecord]
    /// The items still leased to a batch (its unfinished lines), in input order.
    func batchItems(_ row: Int64) async throws -> [DispatchItem]
    /// How many of each batch's lines are in each state (`status`'s per-batch view): one pass over the items.
    /// Lines a batch gave back (refused, or re-routed live) count under no batch.
    func batchLineStates() async throws -> [Int64: [ItemState: Int]]

    /// Removes everything this job stored (a fresh job refused by `--strict`).
    func destroy() async throws
    /// Releases the connection, the job lock and the executor. The store is unusable afterwards.
    func close() async
}

/// What `prepareForRun` changed.
package struct RunPreparation: Sendable, Equatable {
    /// Leased items of a run that stopped without releasing them (a crash), pending again.
    package var recoveredInFlight: Int
    /// Failed items made pending by `--retry-failed`.
    package var requeuedFailed: Int

    package init(recoveredInFlight: Int, requeuedFailed: Int) {
        self.recoveredInFlight = recoveredInFlight
        self.requeuedFailed = requeuedFailed
    }
}

extension CheckpointStore {
    /// Any pending item (`live` mode).
    package func lease(limit: Int) async throws -> [DispatchItem] { try await lease(limit: limit, route: .all) }

    /// One owner (SQLite: the job lock): a lease never passes to anyone else.
    package func maySend(_ id: Int64) -> Bool { true }
}
