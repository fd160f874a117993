import Foundation
import SluiceCore

extension Job {
    /// Where a job stands, read from its checkpoint (the figures of `sluice status`).
    public struct Status: Sendable {
        /// `running` (a sluice process holds the job), `finished` (every item done), `cancelled`, or `stopped`
        /// (interrupted or not finished; resumable). A job that never ran has no checkpoint: `status()` throws.
        public let state: String
        public let total: Int
        public let succeeded: Int
        public let failed: Int
        public let pending: Int
        /// False while the inputs are still being read: `total` then counts only the lines read so far.
        public let planningComplete: Bool
        /// What every answer cost at the job's prices, in US dollars.
        public let costUSD: Double
    }

    /// Reads the job's checkpoint (read-only: a running job is not disturbed).
    public func status() async throws -> Status {
        try await Self.wrapping {
            guard PostgresLocation.isPostgres(checkpoint) || FileManager.default.fileExists(atPath: checkpoint) else {
                throw SluiceError(.checkpoint, "\(checkpoint): the job has no checkpoint yet; run it first")
            }
            let status = try await CheckpointStores.withStore(checkpoint, role: .reader) { store in
                try await JobStatusCollector(store: store, configuration: configuration).collect()
            }
            return Status(
                state: status.state, total: status.items.total, succeeded: status.items.succeeded, failed: status.items.failed,
                pending: status.items.pending + status.items.inFlight, planningComplete: status.progress.planningComplete,
                costUSD: status.cost.totalUSD)
        }
    }
}
