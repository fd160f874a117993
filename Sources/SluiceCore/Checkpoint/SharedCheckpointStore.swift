import Foundation

/// What a checkpoint shared by several workers adds to the contract: who the
/// worker is, its heartbeat (which keeps its leases alive), who plans, when the
/// job as a whole is done, and who writes the results.
///
/// SQLite has one owner and never needs this; the run asks `store as? any
/// SharedCheckpointStore` and adds the heartbeat service, the planning
/// hand-over and the watch for other workers' items only when it is shared.
///
/// ```swift
/// if let shared = store as? any SharedCheckpointStore {
///     let live = try await shared.heartbeat(WorkerFigures(sent: 10, finished: 9, requestsPerSecond: 3))
///     budget.share(among: live)
/// }
/// ```
package protocol SharedCheckpointStore: CheckpointStore {
    /// This process's identity in the job (`host:pid:random`).
    nonisolated var workerID: String { get }
    /// How long a lease lasts without a heartbeat.
    nonisolated var leaseSeconds: Double { get }
    /// Extends this worker's leases and publishes its figures. Returns how many workers are live (this one included).
    func heartbeat(_ figures: WorkerFigures) async throws -> Int
    /// True when this worker may plan now: no other live worker is planning. A worker that dies while
    /// planning stops heartbeating, and another takes over where the stored planning position says.
    func takePlanning() async throws -> Bool
    func finishPlanning() async throws
    /// Whether anything is left for anyone: planning unfinished, pending items, or leases (live or expired).
    func workRemains() async throws -> Bool
    /// The first worker to ask once the job is complete writes the results; the others are told who did
    /// (nil: this worker writes them). A claim whose owner died before `publicationWritten` passes on.
    func claimPublication() async throws -> String?
    func publicationWritten() async throws
    /// The job has work again (a resume, `--retry-failed`, a re-planned input): its next completion is published anew.
    func reopenPublication() async throws
    /// Workers seen in the last `withinSeconds`, with their leases and rates, newest first.
    func workers(seenWithin seconds: Double) async throws -> [WorkerRecord]
    /// When a worker last beat or an item last finished (`sluice list`).
    func lastChange() async throws -> Date?
}

/// For `sluice list`, `sluice cancel` and `sluice workers`: what they ask of any shared store.
extension SharedCheckpointStore {
    /// Workers whose heartbeat is younger than a lease and that have not stopped.
    package func liveWorkers() async throws -> Int {
        try await workers(seenWithin: leaseSeconds).filter { !$0.stopped }.count
    }
}

/// A worker's running figures, as its heartbeat publishes them.
package struct WorkerFigures: Sendable, Equatable {
    package var sent: Int
    package var finished: Int
    package var requestsPerSecond: Double

    package init(sent: Int, finished: Int, requestsPerSecond: Double) {
        self.sent = sent
        self.finished = finished
        self.requestsPerSecond = requestsPerSecond
    }
}

/// One worker of a shared job, for `sluice workers`.
package struct WorkerRecord: Sendable, Equatable, Codable {
    package var id: String
    package var host: String
    package var pid: Int
    package var startedAt: Double
    package var seenSecondsAgo: Double
    package var stopped: Bool
    package var planning: Bool
    package var leases: Int
    package var sent: Int
    package var finished: Int
    package var lateAnswers: Int
    package var takenOver: Int
    package var requestsPerSecond: Double
}
