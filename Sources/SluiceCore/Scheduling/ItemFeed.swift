/// Hands pending items to the scheduler in input order, a page at a time from
/// the checkpoint, so memory holds one page however large the job is. While
/// the planner is still reading input, an empty page means "wait for more".
public actor ItemFeed {
    private let store: CheckpointStore
    private let pageSize: Int
    private var cursor: Int64 = 0
    private var page: [DispatchItem] = []
    private var index = 0
    private var planningDone = false
    private var waiter: CheckedContinuation<Void, Never>?

    public init(store: CheckpointStore, pageSize: Int = 512, planningDone: Bool) {
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
            page = try store.pendingItems(after: cursor, limit: pageSize)
            index = 0
            if let last = page.last {
                cursor = last.id
                continue
            }
            if planningDone { return nil }
            await withCheckedContinuation { waiter = $0 }
        }
    }

    /// The planner committed more items.
    public func itemsPlanned() {
        waiter?.resume()
        waiter = nil
    }

    public func planningFinished() {
        planningDone = true
        itemsPlanned()
    }
}
