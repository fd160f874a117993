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
            let riders = try await riders(of: watched.record, items: items)
            return .collected(released: try await abandon(watched.record, reason: "the gateway no longer knows batch \(id)", items: items, riders: riders))
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
    /// returns how many lines wait for a later batch. The output and error files are streamed to a private
    /// temporary folder (`sluice-batch-*` under `$TMPDIR`, 0700, files 0600) and read back a line at a time,
    /// their outcomes committed `collectGroup` at a time, so memory does not grow with the files. The folder
    /// is removed on every way out; a crash can leave it behind.
    func collect(_ record: BatchRecord, _ batch: BatchAPIClient.Batch) async throws -> Int {
        let items = try await parts.store.batchItems(record.row)
        let folder = try PrivateFile.temporaryFolder(prefix: "sluice-batch-")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var paths: [String] = []
        var notes: [String] = []
        for fileID in [batch.outputFileID, batch.errorFileID].compactMap({ $0 }) {
            let path = folder + "/file-\(paths.count + notes.count).jsonl"
            if try await parts.api.download(file: fileID, to: path) {
                paths.append(path)
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
        collected.ride(rideGroups(items))
        (collected.packs, collected.brokenPacks) = try await packs(of: record, items: items)
        collected.followUps = followUps.withLock { asked in items.reduce(into: [:]) { $0[$1.id] = asked[$1.id] } }
        try await read(paths, into: &collected, batch: batch)
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
            $0.deduplicated += collected.shared
            $0.invalidAnswers += collected.invalid
            $0.invalidAnswersRetried += collected.reasked
        }
        parts.run.logger.info("batch \(batch.id) \(note)")
        if collected.rerouted > 0 { await parts.feed.itemsPlanned() }
        return collected.released
    }

    /// Outcomes committed at a time while a batch's files are read: memory holds this many answers, not the file's.
    static var collectGroup: Int { 500 }

    /// The downloaded files a line at a time (the output file first), committing outcomes in groups and, last,
    /// those of the items no line named. A crash between groups leaves the committed items finished; collecting
    /// the batch again takes the rest (the lines of the finished ones then count as unknown custom_ids).
    private func read(_ paths: [String], into collected: inout BatchCollection, batch: BatchAPIClient.Batch) async throws {
        var group: [CheckpointEvent] = []
        func commit() async throws {
            guard await parts.recorder.commitNow(group) else { throw SluiceError(.checkpoint, "recording batch \(batch.id)'s results failed") }
            // Identical requests leased later find these answers in the checkpoint.
            if let sharing = parts.sharing {
                for case .finished(let outcome) in group where outcome.succeeded {
                    if let digest = outcome.requestDigest { sharing.answeredElsewhere(digest: digest) }
                }
            }
            group.removeAll(keepingCapacity: true)
        }
        for path in paths {
            let lines = LineReader(source: try FileChunkReader(path: path), maxLineBytes: 256 << 20)
            while let line = try lines.next() {
                if line.length == 0 { continue }
                group += collected.take(line.oversized ? nil : BatchLine(line.bytes[...]))
                if group.count >= Self.collectGroup {
                    try await commit()
                    CrashPoint.reach("batch-group-committed")
                }
            }
        }
        group += collected.finish(batchStatus: batch.status)
        try await commit()
    }

    /// Whether a batch's invalid answers may go to a follow-up batch: in `auto`, not once `--deadline` (a time) has
    /// passed; a deadline counted from each batch's creation gives the follow-up batch its own.
    var followUpAllowed: Bool {
        guard settings.auto, case .at(let date) = settings.deadline else { return true }
        return Date() < date
    }

    /// A batch that will not run: its items go live (`auto`) or back to pending, and the record is closed
    /// with the reason. Returns how many went back to pending.
    /// Riders (`BatchSharing`) are given back uncharged: they never travelled.
    @discardableResult
    func abandon(_ record: BatchRecord, reason: String, items: [DispatchItem], riders: Set<Int64> = []) async throws -> Int {
        try await giveBack(items, counting: true, except: riders)
        try await parts.store.finishBatch(record.row, note: parts.run.redactor.scrub("abandoned: \(reason)"))
        parts.run.logger.warning("batch for file \(record.fileID) abandoned: \(reason); its \(items.count) items \(settings.auto ? "go live" : "wait")")
        return settings.auto ? 0 : items.count
    }

    /// Items back to the live route (`auto`) or to pending; `counting` charges the attempt (not to those `except` names).
    func giveBack(_ items: [DispatchItem], counting: Bool, except uncharged: Set<Int64> = []) async throws {
        let events = items.map { item -> CheckpointEvent in
            let attempts = item.previousAttempts + (counting && !uncharged.contains(item.id) ? 1 : 0)
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
