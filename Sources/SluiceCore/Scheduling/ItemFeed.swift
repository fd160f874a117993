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
public actor ItemFeed {
    private let store: any CheckpointStore
    private let pageSize: Int
    private var page: [DispatchItem] = []
    private var index = 0
    private var planningDone = false
    /// Counts the planner's batches, so one that lands while `next()` is leasing is not missed.
    private var plannedBatches = 0
    private var waiter: CheckedContinuation<Void, Never>?

    public init(store: any CheckpointStore, pageSize: Int = 512, planningDone: Bool) {
        self.store = store
        self.pageSize = pageSize
        self.planningDone = planningDone
    }

    public func next() async throws -> DispatchItem? {
        while true {
            if index < page.count {
                defer { index += 1 }
                return page[index]
            }
            let batchesBefore = plannedBatches
            page = try await store.lease(limit: pageSize)
            index = 0
            if !page.isEmpty { continue }
            if planningDone { return nil }
            if plannedBatches != batchesBefore { continue }  // planned while the lease was under way
            await withCheckedContinuation { waiter = $0 }
        }
    }

    /// The next item if it is already leased and `matches`, else nil (never waits, never leases): what
    /// `--embed-batch` packs with the item before it.
    public func nextBuffered(where matches: @Sendable (DispatchItem) -> Bool) -> DispatchItem? {
        guard index < page.count, matches(page[index]) else { return nil }
        defer { index += 1 }
        return page[index]
    }

    /// The planner committed more items.
    public func itemsPlanned() {
        plannedBatches += 1
        waiter?.resume()
        waiter = nil
    }

    public func planningFinished() {
        planningDone = true
        itemsPlanned()
    }

    /// Gives back the items of the current page that were leased but never handed out.
    public func releaseUnused(to recorder: CheckpointRecorder) {
        for item in page[index...] {
            recorder.record(.released(item.id, attempts: item.previousAttempts))
        }
        page = []
        index = 0
    }
}
