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
public final class BatchDispatcher: Service, Sendable {
    public struct Settings: Sendable {
        /// `auto`: lines a batch failed, expired or lost go live; `batch`: they go to a later batch.
        public var auto: Bool
        public var maxLines: Int
        public var maxBytes: Int
        public var pollSeconds: Double
        /// `auto`: batches still unfinished at this time are cancelled and their lines sent live.
        public var deadline: Date?
        /// Batches an item may travel in before it fails (`batch` mode).
        public var maxAttempts: Int
        /// The batch's metadata: the job's name and properties (at most 16 pairs).
        public var metadata: [String: String]
        public var jobName: String

        public init(
            auto: Bool, maxLines: Int, maxBytes: Int, pollSeconds: Double, deadline: Date?, maxAttempts: Int, metadata: [String: String],
            jobName: String
        ) {
            self.auto = auto
            self.maxLines = maxLines
            self.maxBytes = maxBytes
            self.pollSeconds = pollSeconds
            self.deadline = deadline
            self.maxAttempts = maxAttempts
            self.metadata = metadata
            self.jobName = jobName
        }
    }

    public struct Parts: Sendable {
        public var store: any CheckpointStore
        public var api: BatchAPIClient
        public var builder: RequestBuilder
        public var recorder: CheckpointRecorder
        public var feed: ItemFeed
        public var control: RunControl
        public var counters: RunCounters
        public var logger: Logger

        public init(
            store: any CheckpointStore, api: BatchAPIClient, builder: RequestBuilder, recorder: CheckpointRecorder, feed: ItemFeed,
            control: RunControl, counters: RunCounters, logger: Logger
        ) {
            self.store = store
            self.api = api
            self.builder = builder
            self.recorder = recorder
            self.feed = feed
            self.control = control
            self.counters = counters
            self.logger = logger
        }
    }

    let settings: Settings
    let parts: Parts

    public init(settings: Settings, parts: Parts) {
        self.settings = settings
        self.parts = parts
    }

    /// A batch being watched.
    struct Watched {
        var record: BatchRecord
        var status = "submitted"
        var nextPoll = ContinuousClock.now
        var interval: Double
        var cancelAsked = false
    }

    public func run() async throws {
        do {
            try await dispatch()
        } catch {
            parts.control.stop(.error(SluiceError.wrapping(error, as: .gateway)))
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
            parts.logger.info("re-attached to \(watched.count) provider batch\(watched.count == 1 ? "" : "es") of an earlier run")
        }
        var submittedAll = false
        while true {
            if let reason = parts.control.stopReason {
                if case .error(let error) = reason, error.code == .cancelled { await cancelAll(watched) }
                return
            }
            if !submittedAll, await parts.feed.plannerFinished {
                let records = try await submitPending()
                submittedAll = records.isEmpty
                watched += records.map { Watched(record: $0, interval: settings.pollSeconds) }
            }
            let now = ContinuousClock.now
            for index in watched.indices where watched[index].nextPoll <= now && !parts.control.isStopping {
                guard let returned = try await poll(&watched[index]) else { continue }
                watched[index].record.state = "done"
                // Lines given back for a later batch make more to submit.
                if returned > 0 { submittedAll = false }
            }
            watched.removeAll { $0.record.state == "done" }
            publish(watched)
            if submittedAll && watched.isEmpty { return }
            let next = watched.map(\.nextPoll).min() ?? now.advanced(by: .seconds(settings.pollSeconds))
            let wait = min(max((next - ContinuousClock.now).inSeconds, 0.05), submittedAll ? 60 : 0.5)
            if !(await parts.control.sleep(seconds: wait)) { continue }
        }
    }

    /// A file recorded by a run that stopped before it knew its batch: the batch is found by its input
    /// file if the gateway created it, else created now. Says which.
    private func attach(_ record: BatchRecord) async throws -> String {
        var after: String?
        for _ in 0..<20 {
            let page = try await parts.api.list(after: after)
            if let found = page.batches.first(where: { $0.inputFileID == record.fileID }) {
                parts.logger.notice("found batch \(found.id) for file \(record.fileID), created before the last run stopped; watching it")
                try await parts.store.setBatchID(found.id, forBatch: record.row)
                return found.id
            }
            guard page.hasMore, let last = page.batches.last?.id else { break }
            after = last
        }
        let batch = try await parts.api.create(inputFileID: record.fileID, endpoint: record.endpoint, metadata: settings.metadata)
        parts.logger.notice("created batch \(batch.id) for file \(record.fileID), uploaded before the last run stopped")
        try await parts.store.setBatchID(batch.id, forBatch: record.row)
        return batch.id
    }

    /// Packs every pending batch-route item into files (one endpoint per file, within the line and byte
    /// limits), uploads each, records it, then creates its batch.
    private func submitPending() async throws -> [BatchRecord] {
        var records: [BatchRecord] = []
        while !parts.control.isStopping {
            let items = try await parts.store.lease(limit: settings.maxLines, route: .batch)
            if items.isEmpty { break }
            for file in BatchFile.pack(items, builder: parts.builder, maxLines: settings.maxLines, maxBytes: settings.maxBytes) {
                records.append(try await submit(file))
            }
        }
        return records
    }

    private func submit(_ file: BatchFile) async throws -> BatchRecord {
        let fileID: String
        do {
            fileID = try await parts.api.upload(file.bytes, filename: "\(settings.jobName)-\(file.items[0].id).jsonl")
        } catch {
            // Nothing at the gateway holds these items: they are free to go again.
            let events = file.items.map { item -> CheckpointEvent in
                settings.auto ? .rerouted(item.id, attempts: item.previousAttempts) : .released(item.id, attempts: item.previousAttempts)
            }
            _ = await parts.recorder.commitNow(events)
            throw error
        }
        CrashPoint.reach("batch-uploaded")
        let row = try await parts.store.recordBatchFile(fileID: fileID, endpoint: file.endpoint, items: file.items.map(\.id))
        CrashPoint.reach("batch-recorded")
        let batch = try await parts.api.create(inputFileID: fileID, endpoint: file.endpoint, metadata: settings.metadata)
        CrashPoint.reach("batch-created")
        try await parts.store.setBatchID(batch.id, forBatch: row)
        parts.counters.update { $0.batchesCreated += 1 }
        parts.logger.info("batch \(batch.id): \(file.items.count) items, \(file.bytes.count) bytes (file \(fileID))")
        return BatchRecord(
            row: row, fileID: fileID, batchID: batch.id, endpoint: file.endpoint, state: "submitted", items: file.items.count,
            createdAt: Date().timeIntervalSince1970)
    }

    /// Asks the gateway how the batch is doing; once its lines are all recorded, how many of them went
    /// back to pending for a later batch (nil while it runs).
    private func poll(_ watched: inout Watched) async throws -> Int? {
        guard let id = watched.record.batchID else { return nil }
        let batch = try await parts.api.batch(id)
        CrashPoint.reach("batch-polled")
        watched.status = batch.status
        if batch.isFinished { return try await collect(watched.record, batch) }
        if settings.auto, let deadline = settings.deadline, Date() >= deadline, !watched.cancelAsked {
            parts.logger.notice("batch \(id) is still \(batch.status) at the deadline: cancelling it; its unfinished lines go live")
            _ = try? await parts.api.cancel(id)
            watched.cancelAsked = true
        }
        // Long batches are asked less often: a 24-hour window needs no poll every few seconds.
        watched.interval = min(watched.interval * 1.5, max(settings.pollSeconds, 300))
        watched.nextPoll = ContinuousClock.now.advanced(by: .seconds(watched.interval))
        return nil
    }

    /// Records every line of a finished batch against the item its `custom_id` names, then marks it done.
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
        var collected = BatchCollection(batchID: batch.id, items: items, auto: settings.auto, maxAttempts: settings.maxAttempts)
        collected.read(files)
        if batch.status == "failed" {
            let reason = batch.errors?.data?.compactMap { [$0.code, $0.message].compactMap { $0 }.joined(separator: ": ") }.first
            notes.append("the batch failed: \(reason ?? "no reason given")")
        }
        let events = collected.events(batchStatus: batch.status)
        guard await parts.recorder.commitNow(events) else { return 0 }
        CrashPoint.reach("batch-committed")
        notes += collected.notes
        let note = "\(batch.status): " + ([collected.summary] + notes).joined(separator: "; ")
        try await parts.store.finishBatch(record.row, note: note)
        parts.counters.update {
            $0.batchesFinished += 1
            $0.batchLinesAnswered += collected.answered
        }
        parts.logger.info("batch \(batch.id) \(note)")
        if collected.rerouted > 0 { await parts.feed.itemsPlanned() }
        return collected.released
    }

    private func cancelAll(_ watched: [Watched]) async {
        for batch in watched {
            guard let id = batch.record.batchID else { continue }
            if (try? await parts.api.cancel(id)) != nil { parts.logger.notice("cancelled batch \(id) at the gateway") }
        }
    }

    private func publish(_ watched: [Watched]) {
        let byStatus = Dictionary(grouping: watched, by: \.status).mapValues(\.count)
        let items = watched.reduce(0) { $0 + $1.record.items }
        parts.counters.update {
            $0.batchesOpen = watched.count
            $0.itemsInBatches = items
            $0.batchStatuses = byStatus.keys.sorted().map { "\($0) \(byStatus[$0]!)" }.joined(separator: ", ")
        }
    }
}
