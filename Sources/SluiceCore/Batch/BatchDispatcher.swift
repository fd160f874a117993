import Foundation
import Logging
import ServiceLifecycle
import Synchronization

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
/// Batches are opened within an `EnqueuedTokenBudget` (the gateway's cap on tokens queued in open batches
/// per model): a batch that does not fit waits for others to finish, and one the gateway refuses with
/// `token_limit_exceeded` costs its lines no attempt (they wait for a later batch; see `+Queue`).
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
        /// `--batch-max-enqueued-tokens`: nil until a refusal teaches the limit.
        package var maxEnqueuedTokens: Int?
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
        /// `--embed-batch`: embedding items packed into one line of up to this many inputs (`+Packing`).
        package var embedBatch = 1

        package init(
            auto: Bool, submits: Bool = true, maxLines: Int, maxBytes: Int, maxEnqueuedTokens: Int? = nil, pollSeconds: Double, deadline: Deadline?,
            maxAttempts: Int, metadata: [String: String], jobName: String, answers: AnswerChecker? = nil
        ) {
            self.auto = auto
            self.submits = submits
            self.maxLines = maxLines
            self.maxBytes = maxBytes
            self.maxEnqueuedTokens = maxEnqueuedTokens
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
        /// `--max-cost`, shared with the live dispatcher: a batch opens only if its worst case fits.
        package var spend: SpendGuard?
        /// Dedup and `--reuse`, shared with the live dispatcher: identical batch items travel once (`+Sharing`).
        package var sharing: AnswerSharing?

        package init(
            store: any CheckpointStore, api: BatchAPIClient, builder: RequestBuilder, recorder: CheckpointRecorder, feed: ItemFeed, run: RunContext,
            spend: SpendGuard? = nil, sharing: AnswerSharing? = nil
        ) {
            self.spend = spend
            self.sharing = sharing
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
    /// The open batches' enqueued tokens and the limit; changed only by `dispatch`'s task.
    let budget: Mutex<EnqueuedTokenBudget>
    /// Batches refused with `token_limit_exceeded` in this run.
    let refusals = Mutex(0)
    /// Those of the job's earlier runs, from the checkpoint's `batch_queue`.
    let earlierRefusals = Mutex(0)
    /// The `batch_queue` record last written, so an unchanged queue is not written again.
    let lastQueue = Mutex<BatchQueue?>(nil)
    /// Items whose last batch answer was not the JSON asked for, with the conversation their follow-up batch
    /// line sends (`Reask`). Kept in memory: a resume sends such an item's own request again.
    let followUps = Mutex<[Int64: BatchCollection.FollowUp]>([:])
    /// The requests the open batches carry, for items that join them as riders (`+Sharing`).
    let openRequests = Mutex(OpenBatchRequests())
    /// How long recent batches took from creation to collection, newest last (`+Deadline`).
    let turnarounds = Mutex<[Double]>([])

    package init(settings: Settings, parts: Parts) {
        self.settings = settings
        self.parts = parts
        budget = Mutex(EnqueuedTokenBudget(given: settings.maxEnqueuedTokens))
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
        /// The model its file holds and its enqueued tokens, counted in the budget while it is watched.
        var model = ""
        var tokens = 0
        /// The model's tokens in other open batches when it was created: what its refusal would teach.
        var openAtCreate = 0
        /// Its worst case under `--max-cost`, released when it is collected (its answers' cost is then counted).
        var hold: SpendGuard.Reservation?
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
        var watched = try await reattach()
        var submittedAll = !settings.submits
        // A batch did not fit the enqueued-token budget: nothing is submitted until one is collected.
        var waitingForBudget = false
        while true {
            if let reason = parts.run.control.stopReason {
                if case .error(let error) = reason, error.code == .cancelled { await cancelAll(watched) }
                return
            }
            if !submittedAll, !waitingForBudget, await parts.feed.plannerHasFinished {
                let submitted = try await submitPending(open: watched.count)
                submittedAll = submitted.batches.isEmpty && !submitted.waiting
                waitingForBudget = submitted.waiting
                watched += submitted.batches
            }
            let now = ContinuousClock.now
            for index in watched.indices where watched[index].nextPoll <= now && !parts.run.control.isStopping {
                switch try await poll(&watched[index]) {
                case .running:
                    break
                case .collected(let released):
                    watched[index].done = true
                    openRequests.withLock { $0.closed(row: watched[index].record.row) }
                    observeTurnaround(of: watched[index])
                    if let hold = watched[index].hold { parts.spend?.settle(hold, actualCost: nil) }
                    budget.withLock { $0.closed(tokens: watched[index].tokens, model: watched[index].model) }
                    waitingForBudget = false
                    // Lines given back for a later batch make more to submit.
                    if released > 0, settings.submits { submittedAll = false }
                }
            }
            watched.removeAll(where: \.done)
            publish(watched)
            try await saveQueue(watched)
            if submittedAll && watched.isEmpty { return }
            let next = watched.map(\.nextPoll).min() ?? now.advanced(by: .seconds(settings.pollSeconds))
            let wait = min(max((next - ContinuousClock.now).inSeconds, 0.05), submittedAll || waitingForBudget ? 60 : 0.5)
            _ = await parts.run.control.sleep(seconds: wait)
        }
    }

    /// The batches an earlier run left open, watched again and counted in the budget (their tokens estimated
    /// again from their items); the limit that run learned is taken back from the checkpoint.
    private func reattach() async throws -> [Watched] {
        if let saved = try await parts.store.value(forKey: BatchQueue.key), let queue = try? JSONDecoder().decode(BatchQueue.self, from: Data(saved.utf8)) {
            budget.withLock { $0 = EnqueuedTokenBudget(given: settings.maxEnqueuedTokens, learned: queue.learnedLimits) }
            earlierRefusals.withLock { $0 = queue.refusedBatches }
            if !queue.learnedLimits.isEmpty {
                let limits = queue.learnedLimits.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                parts.run.logger.info("starting from the enqueued-token limits an earlier run learned: \(limits)")
            }
        }
        var watched: [Watched] = []
        let lines = parts.builder.streaming(false)
        for var record in try await parts.store.batches(openOnly: true) {
            if record.batchID == nil { record.batchID = try await attach(record) }
            var batch = Watched(record: record, interval: settings.pollSeconds)
            var promptTokens = 0
            var digests: [UInt64] = []
            // One line per distinct request: the others ride (`BatchSharing`) and enqueue nothing.
            // The lines as they were sent: packed embeddings put back together, riders (identical requests) left out.
            let items = try await parts.store.batchItems(record.row)
            let sent = self.lines(of: items, packs: try await packs(of: record, items: items).packs)
            let riders = rideGroups(items).reduce(into: Set<Int64>()) { $0.formUnion(Self.riders(in: $1, lines: sent, reasked: [])) }
            for item in sent where !riders.contains(item.id) {
                let line = BatchFile.line(for: item, builder: lines)
                batch.model = line.model
                batch.tokens += line.estimate.total
                promptTokens += line.estimate.prompt
                digests += item.carried.compactMap { sharedDigest($0) }
            }
            if parts.sharing?.deduplicate == true { openRequests.withLock { $0.opened(row: record.row, digests: digests) } }
            batch.openAtCreate = budget.withLock { $0.openTokens(for: batch.model) }
            budget.withLock { $0.opened(tokens: batch.tokens, model: batch.model) }
            if let spend = parts.spend, let worst = worstCase(model: batch.model, promptTokens: promptTokens, totalTokens: batch.tokens) {
                batch.hold = spend.hold(worstCase: worst)
            }
            watched.append(batch)
        }
        if !watched.isEmpty {
            parts.run.logger.info("re-attached to \(watched.count) provider batch\(watched.count == 1 ? "" : "es") of an earlier run")
            publish(watched)
        }
        return watched
    }

    /// A file recorded by a run that stopped before it knew its batch (or whose create got no clear answer):
    /// the batch is looked up by its input file, newest first, back to the time the file was recorded, and
    /// created only when the whole list was read without finding it. Says which.
    func attach(_ record: BatchRecord) async throws -> String {
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

}
