/// Where a job remembers everything it has done, so it can stop at any moment
/// and resume exactly there. SQLite is the embedded default; a shared store
/// (PostgreSQL, for several workers on one job) implements the same protocol.
///
/// ```swift
/// let store = try SQLiteCheckpointStore(path: "out.results.jsonl.sluice.db")
/// try store.insertPlanned(items, fileIndex: 0, throughLine: 1000, complete: false, replanning: false)
/// let page = try store.pendingItems(after: 0, limit: 256)
/// try store.apply([.started(page[0].id)])
/// ```
///
/// Implementations must make `apply` atomic: after a crash, an item is either
/// recorded as finished with its whole outcome, or not at all.
public protocol CheckpointStore: AnyObject, Sendable {
    /// The job's settings as JSON (never the API key), nil for a new job.
    func jobSettings() throws -> String?
    func saveJobSettings(_ json: String) throws
    /// A value the job learned and wants back on resume (e.g. a concurrency limit).
    func value(forKey key: String) throws -> String?
    func setValue(_ value: String, forKey key: String) throws

    func inputs() throws -> [InputRecord]
    func saveInputs(_ inputs: [InputRecord]) throws

    /// Stores a batch of planned items and the planning position of their file
    /// in one transaction. Returns how many were bad lines (including duplicates).
    /// With `replanning`, a line already stored with the same content is kept as it is.
    @discardableResult
    func insertPlanned(_ items: [PlannedItem], fileIndex: Int, throughLine: Int, complete: Bool, replanning: Bool, error: String?) throws -> Int
    /// Drops items of a file beyond its last line (after the file was shortened and replanned).
    func removeItems(fileIndex: Int, afterLine: Int) throws

    /// Makes in-flight items (from a crash) pending again, and failed ones too
    /// when asked. Returns both counts.
    func prepareForRun(retryFailed: Bool) throws -> (recoveredInFlight: Int, requeuedFailed: Int)
    /// Pending items with an id above `after`, in input order.
    func pendingItems(after: Int64, limit: Int) throws -> [DispatchItem]
    func apply(_ events: [CheckpointEvent]) throws

    func counts() throws -> ItemCounts
    /// Up to `limit` items after `cursor` in input order (file, then line),
    /// finished or not, for writing the results as a prefix completes.
    func results(after cursor: ResultCursor, limit: Int) throws -> [ResultRow]
    func inputProblems(limit: Int) throws -> [InputProblemRecord]
}
