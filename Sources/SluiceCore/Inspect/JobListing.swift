import Foundation

/// `sluice list`: the checkpoints under a folder, a line each. Cheaper than a
/// status per job: counts and usage only, never a pass over the items.
///
/// ```swift
/// for path in CheckpointFiles.under("out") {
///     print(try await JobListing.entry(for: path).line())
/// }
/// ```
package enum JobListing {
    package struct Entry: Sendable, Codable, Equatable {
        package var checkpoint: String
        package var job: String
        /// As in `JobStatus.state`.
        package var state: String
        package var done: Int
        package var total: Int
        package var failed: Int
        package var costUSD: Double
        /// Seconds since the checkpoint last changed.
        package var idleSeconds: Double

        enum CodingKeys: String, CodingKey {
            case checkpoint, job, state, done, total, failed
            case costUSD = "cost_usd"
            case idleSeconds = "idle_seconds"
        }

        package func line() -> String {
            let percent = total > 0 ? String(format: "%5.1f%%", Double(done) * 100 / Double(total)) : "    -"
            return [
                state.padding(toLength: 9, withPad: " ", startingAt: 0), percent, "\(done)/\(total)".padding(toLength: 15, withPad: " ", startingAt: 0),
                "failed \(failed)".padding(toLength: 12, withPad: " ", startingAt: 0),
                ProgressReporter.dollars(costUSD).padding(toLength: 10, withPad: " ", startingAt: 0),
                (ProgressReporter.duration(idleSeconds) + " ago").padding(toLength: 10, withPad: " ", startingAt: 0), job, checkpoint,
            ].joined(separator: "  ")
        }
    }

    package static func entry(for checkpoint: String, now: Date = Date()) async throws -> Entry {
        let read = try await CheckpointStores.withStore(checkpoint, role: .reader) { store in
            let settings = try await JobConfiguration.stored(in: store)
            return (
                settings: settings, counts: try await store.counts(), planned: try await store.inputs(),
                cancelled: !(try await store.value(forKey: CancelWatcher.key) ?? "").isEmpty,
                cost: try await store.usage().cost(in: settings?.priceTable ?? PriceTable()).dollars,
                liveWorkers: try await (store as? any SharedCheckpointStore)?.liveWorkers(),
                lastChange: try await (store as? any SharedCheckpointStore)?.lastChange()
            )
        }
        let (counts, planned) = (read.counts, read.planned)
        let state: String
        // A shared job runs while any worker beats; an SQLite one while a process holds its lock.
        if read.liveWorkers.map({ $0 > 0 }) ?? (JobLock.holder(checkpointPath: checkpoint) != nil) {
            state = "running"
        } else if counts.pending + counts.inFlight == 0 && !planned.isEmpty && planned.allSatisfy(\.planningComplete) {
            state = "finished"
        } else {
            state = read.cancelled ? "cancelled" : "stopped"
        }
        let changed =
            read.lastChange
            ?? [checkpoint, checkpoint + "-wal"].compactMap {
                (try? FileManager.default.attributesOfItem(atPath: $0)[.modificationDate]) as? Date
            }.max() ?? now
        return Entry(
            checkpoint: checkpoint, job: read.settings?.name ?? "?", state: state, done: counts.finished, total: counts.total, failed: counts.failed,
            costUSD: read.cost, idleSeconds: max(now.timeIntervalSince(changed), 0))
    }
}
