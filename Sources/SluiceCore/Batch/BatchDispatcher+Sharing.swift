import Foundation

/// Dedup and `--reuse` for batch items (`BatchSharing`): one line per distinct request; the rest take an
/// earlier answer now, or ride in the batch that carries their request.
extension BatchDispatcher {
    /// The digest dedup finds a request by (`AnswerSharing.digest`: endpoint, first model, body), or nil for an
    /// item that is not shared: no dedup or `--reuse`, or a re-ask's follow-up (its conversation is its own).
    func sharedDigest(_ item: DispatchItem, reasked: Set<Int64> = []) -> UInt64? {
        guard parts.sharing != nil, !reasked.contains(item.id) else { return nil }
        return AnswerSharing.digest(endpoint: item.endpoint, model: item.model ?? parts.builder.defaultModel ?? "", body: item.body)
    }

    /// What a lease sends: one line per distinct request. Items whose request this job (or a `--reuse`
    /// checkpoint) already answered take that answer now; items identical to a line of an open batch join it;
    /// identical items of the lease ride with the first of them (`riders`, by that line's id). A re-ask goes as its
    /// follow-up line (`withFollowUps`), and the items identical to its own request ride with it: they take the
    /// answer the re-ask is accepted with, instead of sending the request that answered invalid JSON again.
    func share(_ leased: [DispatchItem]) async throws -> (lines: [DispatchItem], riders: [Int64: [DispatchItem]]) {
        guard let sharing = parts.sharing else { return (withFollowUps(leased), [:]) }
        let asked = followUps.withLock { $0 }
        // Repeats only: a lease of 50,000 distinct requests makes no group (memory stays that of the lease).
        var riders: [Int64: [DispatchItem]] = [:]
        var riding: Set<Int64> = []
        for group in sharing.deduplicate ? BatchSharing.repeatedGroups(leased, digest: { self.sharedDigest($0) }) : [] {
            // A re-ask's follow-up is the group's line (one per group): the others take the answer it is accepted with.
            let line = group.first { asked[$0.id] != nil } ?? group[0]
            riders[line.id] = group.filter { $0.id != line.id }
            riding.formUnion(riders[line.id]!.map(\.id))
        }
        let open = openRequests.withLock { $0 }
        // Which items do not go as lines of their own; the lines are then the lease itself, or a copy without them
        // (a lease is up to 50,000 items, and copying it or making an array per item left the heap 20 MB larger).
        var settled = riding
        var answered: [CheckpointEvent] = []
        var joining: [Int64: [Int64]] = [:]
        var (deduplicated, reused) = (0, 0)
        for item in leased where !riding.contains(item.id) && asked[item.id] == nil {
            guard let key = sharedDigest(item) else { continue }
            if case .answer(let answer, let source)? = await sharing.earlierAnswer(digest: key, endpoint: item.endpoint, body: item.body) {
                let group = [item] + (riders.removeValue(forKey: item.id) ?? [])
                answered += group.map { .finished(OutcomeBuilder.shared(answer, source: source, item: $0, digest: key)) }
                if source.hasPrefix("reuse:") { reused += group.count } else { deduplicated += group.count }
                settled.insert(item.id)
            } else if sharing.deduplicate, let row = open.batch(carrying: key) {
                joining[row, default: []] += [item.id] + (riders.removeValue(forKey: item.id) ?? []).map(\.id)
                settled.insert(item.id)
            }
        }
        let lines =
            settled.isEmpty && asked.isEmpty
            ? leased
            : leased.compactMap { item -> DispatchItem? in
                guard !settled.contains(item.id) else { return nil }
                guard let followUp = asked[item.id] else { return item }
                var sent = item
                sent.body = followUp.body
                return sent
            }
        if !answered.isEmpty {
            guard await parts.recorder.commitNow(answered) else { throw SluiceError(.checkpoint, "recording shared answers of batch items failed") }
        }
        for (row, ids) in joining.sorted(by: { $0.key < $1.key }) {
            let joined = try await parts.store.joinBatch(row, items: ids)
            if joined < ids.count { parts.run.logger.warning("\(ids.count - joined) of \(ids.count) items could not join open batch \(row)") }
            parts.run.logger.debug("\(joined) items ride in open batch \(row): their requests are identical to its lines'")
        }
        parts.run.counters.update {
            $0.deduplicated += deduplicated
            $0.reused += reused
        }
        return (lines, riders)
    }

    /// The riders of a group of identical items, given the batch's lines: all but its line, which is the item a
    /// packed line carries, else the one re-asked (`share` sends a group's follow-up line), else the first.
    static func riders(in group: [DispatchItem], lines: [DispatchItem], reasked: Set<Int64>) -> [Int64] {
        let packed = Set(lines.flatMap { $0.members?.map(\.id) ?? [] })
        let line = group.first { packed.contains($0.id) } ?? group.first { reasked.contains($0.id) } ?? group[0]
        return group.filter { $0.id != line.id }.map(\.id)
    }

    /// The ids of a batch's riders, from its items as the checkpoint holds them (after a resume too).
    func riders(of record: BatchRecord, items: [DispatchItem]) async throws -> Set<Int64> {
        let groups = rideGroups(items)
        guard !groups.isEmpty else { return [] }
        let sent = lines(of: items, packs: try await packs(of: record, items: items).packs)
        let reasked = Set(followUps.withLock { $0.keys })
        return groups.reduce(into: Set<Int64>()) { $0.formUnion(Self.riders(in: $1, lines: sent, reasked: reasked)) }
    }

    /// The batch's items grouped by request, as `share` rode them, for `BatchCollection` (riders take their line's answer).
    func rideGroups(_ items: [DispatchItem]) -> [[DispatchItem]] {
        guard parts.sharing?.deduplicate == true else { return [] }
        return BatchSharing.repeatedGroups(items, digest: { self.sharedDigest($0) })
    }
}
