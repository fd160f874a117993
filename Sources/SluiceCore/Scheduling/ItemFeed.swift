/// Hands pending items to the dispatcher in input order, leasing a page at a
/// time from the checkpoint, so memory holds one page however large the job
/// is. While the planner is still reading input, an empty page means "wait
/// for more".
///
/// ```swift
/// let feed = ItemFeed(store: store, planningDone: false)
/// while let item = try await feed.next() { ... }
/// await feed.releaseUnused(to: recorder)   // a stopping run gives back what it leased and never started
/// ```
package actor ItemFeed {
    private let store: any CheckpointStore
    private let pageSize: Int
    private var page: [DispatchItem] = []
    private var index = 0
    private var plannerDone = false
    /// Other sources of items besides the planner (the provider batch dispatcher hands failed lines back).
    private var otherProducers: Int
    private let route: LeaseRoute
    private var everyProducerFinished: Bool { plannerDone && otherProducers == 0 }
    /// Counts the planner's batches, so one that lands while `next()` is leasing is not missed.
    private var plannedBatches = 0
    private var waiter: CheckedContinuation<Void, Never>?
    /// A shared job: whether any worker still has work (planning, pending items, leases that may expire),
    /// asked when nothing is left to lease here; the feed ends only when the whole job is done.
    private let othersWorking: (@Sendable () async throws -> Bool)?
    private let pollSeconds: Double
    /// A stopping run must not keep watching for other workers' items (it would wait out the grace period).
    private let stopping: @Sendable () -> Bool

    /// `route`: which items this feed leases; `otherProducers`: sources that may still add items for it
    /// after planning (each calls `producerFinished()` once).
    /// `othersWorking` (shared jobs): asked every `pollSeconds` while nothing is left to lease.
    package init(
        store: any CheckpointStore, pageSize: Int = 512, planningDone: Bool, route: LeaseRoute = .all, otherProducers: Int = 0,
        othersWorking: (@Sendable () async throws -> Bool)? = nil, pollSeconds: Double = 1, stopping: @escaping @Sendable () -> Bool = { false }
    ) {
        self.stopping = stopping
        self.store = store
        self.othersWorking = othersWorking
        self.pollSeconds = pollSeconds
        self.pageSize = pageSize
        self.plannerDone = planningDone
        self.route = route
        self.otherProducers = otherProducers
    }

    /// Whether the planner has stored every line (the batch dispatcher waits for it to pack full files).
    package var plannerHasFinished: Bool { plannerDone }

    package func next() async throws -> DispatchItem? {
        while true {
            if index < page.count {
                defer { index += 1 }
                return page[index]
            }
            let batchesBefore = plannedBatches
            page = try await store.lease(limit: pageSize, route: route)
            index = 0
            if !page.isEmpty { continue }
            if plannedBatches != batchesBefore { continue }  // planned while the lease was under way
            if everyProducerFinished {
                guard let othersWorking, !stopping(), try await othersWorking() else { return nil }
                // Another worker plans or holds leases: look again soon (its leases may expire and come here).
                let poll = pollSeconds
                Task { [weak self] in
                    try? await Task.sleep(for: .seconds(poll))
                    await self?.itemsPlanned()
                }
            }
            // A cancelled dispatcher (the grace period ran out) must not wait here for more items.
            await withTaskCancellationHandler {
                await withCheckedContinuation { waiter = $0 }
            } onCancel: {
                Task { await self.itemsPlanned() }
            }
            if Task.isCancelled { return nil }
        }
    }

    /// The next item if it is already leased and `matches`, else nil (never waits, never leases): what
    /// `--embed-batch` packs with the item before it.
    package func nextBuffered(where matches: @Sendable (DispatchItem) -> Bool) -> DispatchItem? {
        guard index < page.count, matches(page[index]) else { return nil }
        defer { index += 1 }
        return page[index]
    }

    /// The planner committed more items.
    package func itemsPlanned() {
        plannedBatches += 1
        waiter?.resume()
        waiter = nil
    }

    package func planningFinished() {
        plannerDone = true
        itemsPlanned()
    }

    /// Another source of items is done (see `init`).
    package func producerFinished() {
        otherProducers = max(0, otherProducers - 1)
        itemsPlanned()
    }

    /// Gives back the items of the current page that were leased but never handed out.
    package func releaseUnused(to recorder: CheckpointRecorder) {
        for item in page[index...] {
            recorder.record(.released(item.id, attempts: item.previousAttempts))
        }
        page = []
        index = 0
    }
}
