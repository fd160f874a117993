import Foundation

/// Submitting within the enqueued-token budget: packing, the budget's question before each create, and
/// what a `token_limit_exceeded` refusal does (its lines wait, uncharged; the budget learns the limit).
extension BatchDispatcher {
    /// Packs pending batch-route items into files (one endpoint and model per file, within the line, byte
    /// and token limits), uploads each, records it, then creates its batch, for as long as the budget lets
    /// batches open, and `--max-cost` lets their worst case be spent. `waiting`: a file did not fit, its items
    /// went back to pending uncharged. `open`: batches already open (a cost cap with none open ends the run).
    func submitPending(open: Int) async throws -> (batches: [Watched], waiting: Bool) {
        var batches: [Watched] = []
        let lines = parts.builder.streaming(false)  // a batch line is answered whole
        while !parts.run.control.isStopping {
            let leased = try await parts.store.lease(limit: settings.maxLines, route: .batch)
            if leased.isEmpty { break }
            if try await sentLiveForDeadline(leased) { continue }
            let reaskedNow = Set(followUps.withLock { $0.keys })
            let (sent, riders) = try await share(leased)
            let limits = budget.withLock { $0 }
            var (files, apart) = BatchFile.pack(
                packEmbeddings(sent, tokenLimit: { limits.limit(for: $0) }), riders: riders, builder: lines, maxLines: settings.maxLines,
                maxBytes: settings.maxBytes,
                tokenLimit: { limits.limit(for: $0) })
            // Items riding with a re-ask's follow-up line that no file can hold go again uncharged: their own request may fit.
            let followingReasks = Set(riders.filter { reaskedNow.contains($0.key) }.values.flatMap { $0.map(\.id) })
            try await release((apart.tooLarge + apart.overTokenLimit).map(\.0).filter { followingReasks.contains($0.id) })
            apart.tooLarge.removeAll { followingReasks.contains($0.0.id) }
            apart.overTokenLimit.removeAll { followingReasks.contains($0.0.id) }
            try await setApart(apart.tooLarge, code: "batch_line_too_large", what: "over --batch-max-bytes \(settings.maxBytes)") {
                "the request is \($0) bytes as a batch line, over --batch-max-bytes \(self.settings.maxBytes); no batch file can hold it (--mode auto sends such lines live)"
            }
            try await setApart(apart.overTokenLimit, code: "batch_line_over_token_limit", what: "over the enqueued-token limit") {
                "the request is about \($0) tokens enqueued (prompt plus max_tokens, or \(TokenEstimate.defaultOutputCap)), over the enqueued-token limit \(self.limitText); no batch can hold it (--mode auto sends such lines live)"
            }
            for (index, file) in files.enumerated() {
                guard budget.withLock({ $0.canOpen(tokens: file.tokens, model: file.model) }) else {
                    // Back to pending, uncharged: the batches open now must finish first.
                    try await release(files[index...].flatMap(\.members))
                    parts.run.logger.debug("\(file.model): \(file.tokens) tokens do not fit the enqueued-token budget; waiting for batches to finish")
                    return (batches, true)
                }
                let spending: SpendDecision
                do {
                    spending = try reserveSpend(for: file, open: open + batches.count)
                } catch {
                    try await release(files[index...].flatMap(\.members))
                    throw error
                }
                if case .wait = spending {
                    // Back to pending, uncharged: open batches' answers will show what they really cost.
                    try await release(files[index...].flatMap(\.members))
                    return (batches, true)
                }
                if var batch = try await submit(file) {
                    batch.hold = spending.reservation
                    batches.append(batch)
                } else if let hold = spending.reservation {
                    parts.spend?.settle(hold, actualCost: nil)
                }
            }
        }
        return (batches, false)
    }

    /// A re-ask goes in its follow-up batch as the conversation so far; the checkpoint keeps the line's own request.
    func withFollowUps(_ leased: [DispatchItem]) -> [DispatchItem] {
        let asked = followUps.withLock { $0 }
        guard !asked.isEmpty else { return leased }
        return leased.map { item in
            var sent = item
            if let followUp = asked[item.id] { sent.body = followUp.body }
            return sent
        }
    }

    /// Nil when the file's items were handed to the live route instead (`auto`).
    func submit(_ file: BatchFile) async throws -> Watched? {
        let fileID: String
        do {
            fileID = try await parts.api.upload(file.bytes, filename: "\(settings.jobName)-\(file.items[0].id).jsonl")
        } catch {
            // Nothing at the gateway holds these items: they are free to go again.
            try await giveBack(file.members, counting: false)
            guard settings.auto else { throw SluiceError(.gateway, "uploading a batch file: \(error)") }
            parts.run.logger.warning("uploading a batch file failed (\(error)); its \(file.items.count) items go live")
            return nil
        }
        CrashPoint.reach("batch-uploaded")
        try await savePacks(of: file, fileID: fileID)
        let memberIDs = file.memberIDs
        let row = try await parts.store.recordBatchFile(fileID: fileID, endpoint: file.endpoint, items: memberIDs)
        CrashPoint.reach("batch-recorded")
        let record = BatchRecord(
            row: row, fileID: fileID, batchID: nil, endpoint: file.endpoint, state: "uploaded", items: memberIDs.count,
            createdAt: Date().timeIntervalSince1970)
        var batch = Watched(record: record, interval: settings.pollSeconds, model: file.model, tokens: file.tokens)
        batch.openAtCreate = budget.withLock { budget in
            let open = budget.openTokens(for: file.model)
            budget.opened(tokens: file.tokens, model: file.model)
            return open
        }
        do {
            let created = try await parts.api.create(inputFileID: fileID, endpoint: file.endpoint, metadata: settings.metadata)
            CrashPoint.reach("batch-created")
            try await parts.store.setBatchID(created.id, forBatch: row)
            batch.record.batchID = created.id
            parts.run.counters.update { $0.batchesCreated += 1 }
        } catch let failure as BatchAPIClient.Failure where failure.isPermanent {
            // The gateway will not make this batch (an endpoint or model it does not batch, bad metadata).
            budget.withLock { $0.closed(tokens: file.tokens, model: file.model) }
            try await abandon(record, reason: failure.message, items: file.members, riders: Set(file.riders.map(\.id)))
            guard settings.auto else { throw SluiceError(.gateway, "creating a batch: \(failure.message)") }
            return nil
        } catch {
            // No clear answer: the batch may exist. Look before creating again.
            batch.record.batchID = try await attach(record)
        }
        let riding = file.riders.isEmpty ? "" : " (and \(file.riders.count) identical requests riding with them)"
        parts.run.logger.info(
            "batch \(batch.record.batchID ?? "?"): \(file.items.count) items\(riding), \(file.bytes.count) bytes, about \(file.tokens) tokens enqueued (file \(fileID))"
        )
        if parts.sharing?.deduplicate == true {
            let reasked = Set(followUps.withLock { $0.keys })
            var digests: [UInt64] = []
            digests.reserveCapacity(file.items.count)
            for item in file.items {
                for carried in item.carried { if let digest = sharedDigest(carried, reasked: reasked) { digests.append(digest) } }
            }
            openRequests.withLock { $0.opened(row: row, digests: digests) }
        }
        return batch
    }

    /// A batch the gateway refused for its enqueued-token limit: no line ran, so its lines go back to pending
    /// with their attempts as they were (in `auto` too: a later batch, not live), and the budget learns the
    /// limit. Returns how many lines wait.
    func requeueRefused(_ watched: Watched, reason: String) async throws -> Int {
        let items = try await parts.store.batchItems(watched.record.row)
        try await release(items)
        let learned = budget.withLock { $0.refused(tokens: watched.tokens, openTokens: watched.openAtCreate, model: watched.model) }
        let note =
            "refused by the enqueued-token limit (\(reason)); \(items.count) items wait for a later batch, uncharged; limit now taken as \(learned) tokens"
        try await parts.store.finishBatch(watched.record.row, note: parts.run.redactor.scrub(note))
        refusals.withLock { $0 += 1 }
        parts.run.logger.notice("batch \(watched.record.batchID ?? "?") \(parts.run.redactor.scrub(note))")
        return items.count
    }

    /// Items back to pending without charging an attempt (in every mode).
    func release(_ items: [DispatchItem]) async throws {
        guard !items.isEmpty else { return }
        let events = items.map { CheckpointEvent.released($0.id, attempts: $0.previousAttempts) }
        guard await parts.recorder.commitNow(events) else { throw SluiceError(.checkpoint, "giving batch items back failed") }
    }

    /// Lines no batch file can take: live in `auto`, failed with `code` in `batch`.
    func setApart(_ items: [(DispatchItem, Int)], code: String, what: String, message: (Int) -> String) async throws {
        guard !items.isEmpty else { return }
        if settings.auto {
            parts.run.logger.notice("\(items.count) line\(items.count == 1 ? "" : "s") \(what) go live")
            try await giveBack(items.map(\.0), counting: false)
            return
        }
        let events = items.map { item, size -> CheckpointEvent in
            var outcome = OutcomeBuilder.unsent(item, succeeded: false, attempts: item.previousAttempts)
            outcome.errorCode = code
            outcome.errorMessage = message(size)
            return .finished(outcome)
        }
        guard await parts.recorder.commitNow(events) else { throw SluiceError(.checkpoint, "recording lines \(what) failed") }
    }

    /// The limit in force, for messages: given, learned, or unknown.
    var limitText: String {
        let budget = budget.withLock { $0 }
        guard let limit = budget.tightestLimit else { return "(not known yet)" }
        return budget.given == limit ? "\(limit) (--batch-max-enqueued-tokens)" : "\(limit) (learned from the gateway's refusals)"
    }

    func publish(_ watched: [Watched]) {
        let byStatus = Dictionary(grouping: watched, by: { $0.status.isEmpty ? "submitted" : $0.status }).mapValues(\.count)
        let items = watched.reduce(0) { $0 + $1.record.items }
        let budget = budget.withLock { $0 }
        let refused = refusals.withLock { $0 }
        parts.run.counters.update {
            $0.batchesOpen = watched.count
            $0.itemsInBatches = items
            $0.batchStatuses = byStatus.keys.sorted().map { "\($0) \(byStatus[$0]!)" }.joined(separator: ", ")
            $0.enqueuedTokens = budget.openTokens
            $0.enqueuedTokenLimit = budget.tightestLimit
            $0.batchesRefused = refused
        }
    }

    /// The queue as `sluice status` shows it, and the learned limits a resume starts from; written when it changed.
    func saveQueue(_ watched: [Watched]) async throws {
        let budget = budget.withLock { $0 }
        let limit = budget.tightestLimit
        var queue = BatchQueue(enqueuedTokens: budget.openTokens, openBatches: watched.count, learnedLimits: budget.learned)
        queue.limit = limit
        queue.limitSource = limit.map { $0 == budget.given ? "given" : "learned" }
        // Refusals of earlier runs of the job count too.
        queue.refusedBatches = refusals.withLock { $0 } + earlierRefusals.withLock { $0 }
        guard lastQueue.withLock({ $0 != queue }) else { return }
        let data = try JSONEncoder().encode(queue)
        try await parts.store.setValue(String(decoding: data, as: UTF8.self), forKey: BatchQueue.key)
        lastQueue.withLock { $0 = queue }
    }
}
