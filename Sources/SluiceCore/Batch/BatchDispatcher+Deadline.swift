import Foundation

/// `auto` with `--deadline` as a time: items not yet in a batch go live once batches have been taking longer
/// than what is left, instead of opening batches that would miss the deadline and be cancelled there (their
/// lines then go live anyway, hours later). Batches' turnaround is observed in this run, creation to
/// collection; the slowest of the last few is the estimate, so one quick batch does not promise the next.
extension BatchDispatcher {
    /// Batches whose turnaround the estimate keeps.
    static let turnaroundsKept = 5

    /// A batch that answered (not one refused or abandoned) tells how long batches take now.
    func observeTurnaround(of batch: Watched) {
        guard batch.status == "completed" else { return }
        let took = Date().timeIntervalSince1970 - batch.record.createdAt
        let slowest = turnarounds.withLock { kept -> Double in
            kept.append(took)
            if kept.count > Self.turnaroundsKept { kept.removeFirst() }
            return kept.max() ?? took
        }
        parts.run.counters.update { $0.batchTurnaround = slowest }
    }

    /// True when `items` went live: the deadline is nearer than recent batches took, or already past.
    func sentLiveForDeadline(_ items: [DispatchItem]) async throws -> Bool {
        guard settings.auto, case .at(let deadline) = settings.deadline else { return false }
        let left = deadline.timeIntervalSinceNow
        let slowest = turnarounds.withLock { $0.max() }
        guard left <= 0 || slowest.map({ $0 >= left }) == true else { return false }
        try await giveBack(items, counting: false)
        parts.run.counters.update { $0.sentLiveForDeadline += items.count }
        let took = slowest.map { String(format: "%.0f s", $0) } ?? "no batch has finished yet"
        parts.run.logger.notice(
            "\(items.count) items go live instead of into a batch: \(String(format: "%.0f s", max(left, 0))) left before --deadline, and recent batches took up to \(took)"
        )
        return true
    }
}
