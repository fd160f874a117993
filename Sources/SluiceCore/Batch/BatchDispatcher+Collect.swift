import Foundation

/// Watching batches and collecting what they answered.
extension BatchDispatcher {
    /// Asks the gateway how the batch is doing, and collects it once it has finished. A failed call is
    /// asked again later (a gateway hiccup must not stop a day-long job); a batch the gateway no longer
    /// knows is given up and its lines sent again.
    func poll(_ watched: inout Watched) async throws -> PollResult {
        guard let id = watched.record.batchID else { return .running }
        let batch: BatchAPIClient.Batch
        do {
            batch = try await parts.api.batch(id)
            CrashPoint.reach("batch-polled")
        } catch let failure as BatchAPIClient.Failure where failure.status == 404 {
            let items = try await parts.store.batchItems(watched.record.row)
            return .collected(released: try await abandon(watched.record, reason: "the gateway no longer knows batch \(id)", items: items))
        } catch {
            parts.run.logger.warning("asking about batch \(id) failed (\(error)); asking again later")
            backOff(&watched)
            return .running
        }
        watched.status = batch.status
        if batch.isFinished, let refusal = batch.tokenLimitRefusal {
            return .collected(released: try await requeueRefused(watched, reason: refusal))
        }
        if batch.isFinished {
            do {
                return .collected(released: try await collect(watched.record, batch))
            } catch let failure as BatchAPIClient.Failure where !failure.isPermanent {
                parts.run.logger.warning("downloading batch \(id)'s results failed (\(failure.message)); trying again later")
                backOff(&watched)
                return .running
            }
        }
        if settings.auto, let deadline = settings.deadline, Date() >= deadline.due(createdAt: watched.record.createdAt), !watched.cancelAsked {
            parts.run.logger.notice("batch \(id) is still \(batch.status) at the deadline: cancelling it; its unfinished lines go live")
            _ = try? await parts.api.cancel(id)
            watched.cancelAsked = true
        }
        backOff(&watched)
        return .running
    }

    /// Long batches are asked less often: a 24-hour window needs no poll every few seconds.
    func backOff(_ watched: inout Watched) {
        watched.interval = min(watched.interval * 1.5, max(settings.pollSeconds, 300))
        watched.nextPoll = ContinuousClock.now.advanced(by: .seconds(watched.interval))
    }

    /// Records every line of a finished batch against the item its `custom_id` names, then marks it done;
    /// returns how many lines wait for a later batch.
    func collect(_ record: BatchRecord, _ batch: BatchAPIClient.Batch) async throws -> Int {
        let items = try await parts.store.batchItems(record.row)
        var files: [[UInt8]] = []
        var notes: [String] = []
        for fileID in [batch.outputFileID, batch.errorFileID].compactMap({ $0 }) {
            if let bytes = try await parts.api.content(ofFile: fileID) {
                files.append(bytes)
            } else {
                notes.append("file \(fileID) was gone before it could be downloaded")
            }
        }
        CrashPoint.reach("batch-downloaded")
        var collected = BatchCollection(
            batchID: batch.id, items: items, auto: settings.auto, maxAttempts: settings.maxAttempts, answers: settings.answers,
            batchFailure: batch.status == "failed" ? (batch.failureReason ?? "no reason given") : nil, redactor: parts.run.redactor)
        collected.defaultModel = parts.builder.defaultModel
        collected.followUpAllowed = followUpAllowed
        collected.followUps = followUps.withLock { asked in items.reduce(into: [:]) { $0[$1.id] = asked[$1.id] } }
        collected.read(files)
        let events = collected.events(batchStatus: batch.status)
        guard await parts.recorder.commitNow(events) else { throw SluiceError(.checkpoint, "recording batch \(batch.id)'s results failed") }
        CrashPoint.reach("batch-committed")
        followUps.withLock { asked in
            for item in items { asked[item.id] = collected.followUps[item.id] }
        }
        notes += collected.notes
        let note = parts.run.redactor.scrub("\(batch.status): " + ([collected.summary] + notes).joined(separator: "; "))
        try await parts.store.finishBatch(record.row, note: note)
        parts.run.counters.update {
            $0.batchesFinished += 1
            $0.batchLinesAnswered += collected.answered
            $0.invalidAnswers += collected.invalid
            $0.invalidAnswersRetried += collected.reasked
        }
        parts.run.logger.info("batch \(batch.id) \(note)")
        if collected.rerouted > 0 { await parts.feed.itemsPlanned() }
        return collected.released
    }

    /// Whether a batch's invalid answers may go to a follow-up batch: in `auto`, not once `--deadline` (a time) has
    /// passed; a deadline counted from each batch's creation gives the follow-up batch its own.
    var followUpAllowed: Bool {
        guard settings.auto, case .at(let date) = settings.deadline else { return true }
        return Date() < date
    }

    /// A batch that will not run: its items go live (`auto`) or back to pending, and the record is closed
    /// with the reason. Returns how many went back to pending.
    @discardableResult
    func abandon(_ record: BatchRecord, reason: String, items: [DispatchItem]) async throws -> Int {
        try await giveBack(items, counting: true)
        try await parts.store.finishBatch(record.row, note: parts.run.redactor.scrub("abandoned: \(reason)"))
        parts.run.logger.warning("batch for file \(record.fileID) abandoned: \(reason); its \(items.count) items \(settings.auto ? "go live" : "wait")")
        return settings.auto ? 0 : items.count
    }

    /// Items back to the live route (`auto`) or to pending; `counting` charges the attempt.
    func giveBack(_ items: [DispatchItem], counting: Bool) async throws {
        let events = items.map { item -> CheckpointEvent in
            let attempts = item.previousAttempts + (counting ? 1 : 0)
            return settings.auto ? .rerouted(item.id, attempts: attempts) : .released(item.id, attempts: attempts)
        }
        guard await parts.recorder.commitNow(events) else { throw SluiceError(.checkpoint, "giving batch items back failed") }
        if settings.auto { await parts.feed.itemsPlanned() }
    }

    func cancelAll(_ watched: [Watched]) async {
        for batch in watched {
            guard let id = batch.record.batchID else { continue }
            if (try? await parts.api.cancel(id)) != nil { parts.run.logger.notice("cancelled batch \(id) at the gateway") }
        }
    }
}
