import Foundation
import Logging
import ServiceLifecycle

/// `--mode batch|auto`: pending items travel through the gateway's Files and Batches API at the
/// provider's batch price, beside the live dispatcher, in the same checkpoint.
///
/// The order of writes is what makes a crash harmless: items are leased, their file uploaded, and the
/// file id recorded with the items it holds *before* the batch is created; a resume that finds a file
/// without a batch id looks the batch up by its input file before creating one, so no item is ever in
/// two live batches. A finished batch's lines are committed, then the batch is marked done; a crash in
/// between re-reads the same output and changes nothing (only items still leased to the batch take an
/// outcome).
///
/// ```swift
/// let batches = BatchDispatcher(settings: settings, parts: parts)
/// try await batches.run()    // a service of the run's ServiceGroup
/// ```
package final class BatchDispatcher: Service, Sendable {
    package struct Settings: Sendable {
        /// `auto`: lines a batch failed, expired or lost go live; `batch`: they go to a later batch.
        package var auto: Bool
        /// False when a `live` run only collects the batches an earlier run left open.
        package var submits: Bool
        package var maxLines: Int
        package var maxBytes: Int
        package var pollSeconds: Double
        /// `auto`: when an unfinished batch is cancelled and its lines sent live.
        package var deadline: Deadline?
        /// Batches an item may travel in before it fails (`batch` mode).
        package var maxAttempts: Int
        /// The batch's metadata: the job's name and properties (at most 16 pairs).
        package var metadata: [String: String]
        package var jobName: String
        /// Answers asked to be JSON are checked as live ones are.
        package var answers: AnswerChecker?

        package init(
            auto: Bool, submits: Bool = true, maxLines: Int, maxBytes: Int, pollSeconds: Double, deadline: Deadline?, maxAttempts: Int,
            metadata: [String: String], jobName: String, answers: AnswerChecker? = nil
        ) {
            self.auto = auto
            self.submits = submits
            self.maxLines = maxLines
            self.maxBytes = maxBytes
            self.pollSeconds = pollSeconds
            self.deadline = deadline
            self.maxAttempts = maxAttempts
            self.metadata = metadata
            self.jobName = jobName
            self.answers = answers
        }
    }

    /// `--deadline`: a time, or a duration counted from each batch's creation (so a resume does not
    /// restart the clock of a batch that has been running for hours).
    package enum Deadline: Sendable {
        case at(Date)
        case afterCreation(seconds: Double)

        func due(createdAt: Double) -> Date {
            switch self {
            case .at(let date): date
            case .afterCreation(let seconds): Date(timeIntervalSince1970: createdAt + seconds)
            }
        }
    }

    package struct Parts: Sendable {
        package var store: any CheckpointStore
        package var api: BatchAPIClient
        package var builder: RequestBuilder
        package var recorder: CheckpointRecorder
        package var feed: ItemFeed
        /// The run's control, counters, logger and secrets (scrubbed from result lines, error files and every
        /// message made of the gateway's words).
        package var run: RunContext

        package init(store: any CheckpointStore, api: BatchAPIClient, builder: RequestBuilder, recorder: CheckpointRecorder, feed: ItemFeed, run: RunContext) {
            self.store = store
            self.api = api
            self.builder = builder
            self.recorder = recorder
            self.feed = feed
            self.run = run
        }
    }

    let settings: Settings
    let parts: Parts

    package init(settings: Settings, parts: Parts) {
        self.settings = settings
        self.parts = parts
    }

    /// A batch being watched.
    struct Watched {
        var record: BatchRecord
        /// What the gateway last said; empty until the first poll.
        var status = ""
        var nextPoll = ContinuousClock.now
        var interval: Double
        var cancelAsked = false
        var done = false
    }

    /// What a poll found.
    enum PollResult {
        case running
        /// Every line is recorded; `released` lines wait for a later batch.
        case collected(released: Int)
    }

    package func run() async throws {
        do {
            try await dispatch()
        } catch let error as SluiceError {
            parts.run.control.stop(.error(SluiceError(error.code, parts.run.redactor.scrub(error.message))))
        } catch {
            parts.run.control.stop(.error(SluiceError(.gateway, parts.run.redactor.scrub("provider batches: \(error)"))))
        }
        await parts.feed.producerFinished()
    }

    private func dispatch() async throws {
        var watched: [Watched] = []
        for var record in try await parts.store.batches(openOnly: true) {
            if record.batchID == nil { record.batchID = try await attach(record) }
            watched.append(Watched(record: record, interval: settings.pollSeconds))
        }
        if !watched.isEmpty {
            parts.run.logger.info("re-attached to \(watched.count) provider batch\(watched.count == 1 ? "" : "es") of an earlier run")
            publish(watched)
        }
        var submittedAll = !settings.submits
        while true {
            if let reason = parts.run.control.stopReason {
                if case .error(let error) = reason, error.code == .cancelled { await cancelAll(watched) }
                return
            }
            if !submittedAll, await parts.feed.plannerHasFinished {
                let records = try await submitPending()
                submittedAll = records.isEmpty
                watched += records.map { Watched(record: $0, interval: settings.pollSeconds) }
            }
            let now = ContinuousClock.now
            for index in watched.indices where watched[index].nextPoll <= now && !parts.run.control.isStopping {
                switch try await poll(&watched[index]) {
                case .running:
                    break
                case .collected(let released):
                    watched[index].done = true
                    // Lines given back for a later batch make more to submit.
                    if released > 0, settings.submits { submittedAll = false }
                }
            }
            watched.removeAll(where: \.done)
            publish(watched)
            if submittedAll && watched.isEmpty { return }
            let next = watched.map(\.nextPoll).min() ?? now.advanced(by: .seconds(settings.pollSeconds))
            let wait = min(max((next - ContinuousClock.now).inSeconds, 0.05), submittedAll ? 60 : 0.5)
            _ = await parts.run.control.sleep(seconds: wait)
        }
    }

    /// A file recorded by a run that stopped before it knew its batch (or whose create got no clear answer):
    /// the batch is looked up by its input file, newest first, back to the time the file was recorded, and
    /// created only when the whole list was read without finding it. Says which.
    private func attach(_ record: BatchRecord) async throws -> String {
        var after: String?
        var searched = false
        for _ in 0..<200 {
            let page = try await parts.api.list(after: after)
            if let found = page.batches.first(where: { $0.inputFileID == record.fileID }) {
                parts.run.logger.notice("found batch \(found.id) for file \(record.fileID), created before sluice could record it; watching it")
                try await parts.store.setBatchID(found.id, forBatch: record.row)
                return found.id
            }
            let older = page.batches.last?.createdAt.map { $0 < record.createdAt - 60 } ?? false
            guard page.hasMore, !older, let last = page.batches.last?.id else {
                searched = true
                break
            }
            after = last
        }
        guard searched else {
            throw SluiceError(
                .gateway,
                "file \(record.fileID) may already have a batch, and 20,000 batches were listed without reaching it; not creating a second one. Find it with GET /v1/batches, or cancel and delete the file, then run again."
            )
        }
        let batch = try await parts.api.create(inputFileID: record.fileID, endpoint: record.endpoint, metadata: settings.metadata)
        parts.run.logger.notice("created batch \(batch.id) for file \(record.fileID), which had none")
        try await parts.store.setBatchID(batch.id, forBatch: record.row)
        parts.run.counters.update { $0.batchesCreated += 1 }
        return batch.id
    }

    /// Packs every pending batch-route item into files (one endpoint per file, within the line and byte
    /// limits), uploads each, records it, then creates its batch.
    private func submitPending() async throws -> [BatchRecord] {
        var records: [BatchRecord] = []
        let lines = parts.builder.streaming(false)  // a batch line is answered whole
        while !parts.run.control.isStopping {
            let items = try await parts.store.lease(limit: settings.maxLines, route: .batch)
            if items.isEmpty { break }
            let packed = BatchFile.pack(items, builder: lines, maxLines: settings.maxLines, maxBytes: settings.maxBytes)
            try await refuse(packed.tooLarge)
            for file in packed.files {
                if let record = try await submit(file) { records.append(record) }
            }
        }
        return records
    }

    /// Nil when the file's items were handed to the live route instead (`auto`).
    private func submit(_ file: BatchFile) async throws -> BatchRecord? {
        let fileID: String
        do {
            fileID = try await parts.api.upload(file.bytes, filename: "\(settings.jobName)-\(file.items[0].id).jsonl")
        } catch {
            // Nothing at the gateway holds these items: they are free to go again.
            try await giveBack(file.items, counting: false)
            guard settings.auto else { throw SluiceError(.gateway, "uploading a batch file: \(error)") }
            parts.run.logger.warning("uploading a batch file failed (\(error)); its \(file.items.count) items go live")
            return nil
        }
        CrashPoint.reach("batch-uploaded")
        let row = try await parts.store.recordBatchFile(fileID: fileID, endpoint: file.endpoint, items: file.items.map(\.id))
        CrashPoint.reach("batch-recorded")
        var record = BatchRecord(
            row: row, fileID: fileID, batchID: nil, endpoint: file.endpoint, state: "uploaded", items: file.items.count,
            createdAt: Date().timeIntervalSince1970)
        do {
            let batch = try await parts.api.create(inputFileID: fileID, endpoint: file.endpoint, metadata: settings.metadata)
            CrashPoint.reach("batch-created")
            try await parts.store.setBatchID(batch.id, forBatch: row)
            record.batchID = batch.id
            parts.run.counters.update { $0.batchesCreated += 1 }
        } catch let failure as BatchAPIClient.Failure where failure.isPermanent {
            // The gateway will not make this batch (an endpoint or model it does not batch, bad metadata).
            try await abandon(record, reason: failure.message, items: file.items)
            guard settings.auto else { throw SluiceError(.gateway, "creating a batch: \(failure.message)") }
            return nil
        } catch {
            // No clear answer: the batch may exist. Look before creating again.
            record.batchID = try await attach(record)
        }
        parts.run.logger.info("batch \(record.batchID ?? "?"): \(file.items.count) items, \(file.bytes.count) bytes (file \(fileID))")
        return record
    }

    /// Asks the gateway how the batch is doing, and collects it once it has finished. A failed call is
    /// asked again later (a gateway hiccup must not stop a day-long job); a batch the gateway no longer
    /// knows is given up and its lines sent again.
    private func poll(_ watched: inout Watched) async throws -> PollResult {
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
    private func backOff(_ watched: inout Watched) {
        watched.interval = min(watched.interval * 1.5, max(settings.pollSeconds, 300))
        watched.nextPoll = ContinuousClock.now.advanced(by: .seconds(watched.interval))
    }

    /// Records every line of a finished batch against the item its `custom_id` names, then marks it done;
    /// returns how many lines wait for a later batch.
    private func collect(_ record: BatchRecord, _ batch: BatchAPIClient.Batch) async throws -> Int {
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
        collected.read(files)
        let events = collected.events(batchStatus: batch.status)
        guard await parts.recorder.commitNow(events) else { throw SluiceError(.checkpoint, "recording batch \(batch.id)'s results failed") }
        CrashPoint.reach("batch-committed")
        notes += collected.notes
        let note = parts.run.redactor.scrub("\(batch.status): " + ([collected.summary] + notes).joined(separator: "; "))
        try await parts.store.finishBatch(record.row, note: note)
        parts.run.counters.update {
            $0.batchesFinished += 1
            $0.batchLinesAnswered += collected.answered
        }
        parts.run.logger.info("batch \(batch.id) \(note)")
        if collected.rerouted > 0 { await parts.feed.itemsPlanned() }
        return collected.released
    }

    /// A batch that will not run: its items go live (`auto`) or back to pending, and the record is closed
    /// with the reason. Returns how many went back to pending.
    @discardableResult
    private func abandon(_ record: BatchRecord, reason: String, items: [DispatchItem]) async throws -> Int {
        try await giveBack(items, counting: true)
        try await parts.store.finishBatch(record.row, note: parts.run.redactor.scrub("abandoned: \(reason)"))
        parts.run.logger.warning("batch for file \(record.fileID) abandoned: \(reason); its \(items.count) items \(settings.auto ? "go live" : "wait")")
        return settings.auto ? 0 : items.count
    }

    /// Lines too large for any batch file: live in `auto`, failed in `batch` (no batch could take them).
    private func refuse(_ items: [(DispatchItem, Int)]) async throws {
        guard !items.isEmpty else { return }
        if settings.auto {
            parts.run.logger.notice("\(items.count) line\(items.count == 1 ? "" : "s") over --batch-max-bytes \(settings.maxBytes) go live")
            try await giveBack(items.map(\.0), counting: false)
            return
        }
        let events = items.map { item, bytes -> CheckpointEvent in
            var outcome = OutcomeBuilder.unsent(item, succeeded: false, attempts: item.previousAttempts)
            outcome.errorCode = "batch_line_too_large"
            outcome.errorMessage =
                "the request is \(bytes) bytes as a batch line, over --batch-max-bytes \(settings.maxBytes); no batch file can hold it (--mode auto sends such lines live)"
            return .finished(outcome)
        }
        guard await parts.recorder.commitNow(events) else { throw SluiceError(.checkpoint, "recording lines too large for a batch failed") }
    }

    /// Items back to the live route (`auto`) or to pending; `counting` charges the attempt.
    private func giveBack(_ items: [DispatchItem], counting: Bool) async throws {
        let events = items.map { item -> CheckpointEvent in
            let attempts = item.previousAttempts + (counting ? 1 : 0)
            return settings.auto ? .rerouted(item.id, attempts: attempts) : .released(item.id, attempts: attempts)
        }
        guard await parts.recorder.commitNow(events) else { throw SluiceError(.checkpoint, "giving batch items back failed") }
        if settings.auto { await parts.feed.itemsPlanned() }
    }

    private func cancelAll(_ watched: [Watched]) async {
        for batch in watched {
            guard let id = batch.record.batchID else { continue }
            if (try? await parts.api.cancel(id)) != nil { parts.run.logger.notice("cancelled batch \(id) at the gateway") }
        }
    }

    private func publish(_ watched: [Watched]) {
        let byStatus = Dictionary(grouping: watched, by: { $0.status.isEmpty ? "submitted" : $0.status }).mapValues(\.count)
        let items = watched.reduce(0) { $0 + $1.record.items }
        parts.run.counters.update {
            $0.batchesOpen = watched.count
            $0.itemsInBatches = items
            $0.batchStatuses = byStatus.keys.sorted().map { "\($0) \(byStatus[$0]!)" }.joined(separator: ", ")
        }
    }
}
