/// Dedup in provider batches: identical requests (the same endpoint, first model and body, as
/// `AnswerSharing` counts them) travel once. The first of them is a line of the batch file; the others
/// *ride* in the same batch without a line, and take its answer when the batch is collected
/// (`BatchCollection`'s riders). Items leased later that are identical to a line of an open batch join that
/// batch as riders. Riders are recorded to the batch in the checkpoint like its lines, so a crash or a
/// resume loses nothing: the batch's collection settles them.
enum BatchSharing {
    /// The groups of identical items (more than one each, in input order): equal digests, then equal endpoints and
    /// bodies (a digest collision makes two groups, not a wrong answer). `digest` nil: never grouped (a re-ask).
    /// A lease or a batch holds up to 50,000 items, nearly all distinct: the digests are sorted once, and arrays
    /// are made for repeats only.
    static func repeatedGroups(_ items: [DispatchItem], digest: (DispatchItem) -> UInt64?) -> [[DispatchItem]] {
        let keys = items.map(digest)
        let order = items.indices.filter { keys[$0] != nil }.sorted { (keys[$0]!, $0) < (keys[$1]!, $1) }
        var groups: [[DispatchItem]] = []
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, keys[order[end]] == keys[order[start]] { end += 1 }
            if end - start > 1 {
                // Equal digests, in input order: equal bodies make a group (a collision makes two).
                var same: [[DispatchItem]] = []
                for index in order[start..<end] {
                    let item = items[index]
                    if let found = same.firstIndex(where: { $0[0].endpoint == item.endpoint && $0[0].body == item.body }) {
                        same[found].append(item)
                    } else {
                        same.append([item])
                    }
                }
                groups += same.filter { $0.count > 1 }
            }
            start = end
        }
        return groups
    }
}

/// The requests the open batches carry (each line's digest, 8 bytes a line, sorted per batch), so that an
/// item leased later with an identical request joins that batch instead of travelling again.
struct OpenBatchRequests: Sendable {
    private var batches: [(row: Int64, digests: [UInt64])] = []

    mutating func opened(row: Int64, digests: [UInt64]) {
        batches.append((row, digests.sorted()))
    }

    mutating func closed(row: Int64) {
        batches.removeAll { $0.row == row }
    }

    /// The open batch whose file carries a request with this digest (the collection checks the body).
    func batch(carrying digest: UInt64) -> Int64? {
        batches.first { Self.contains($0.digests, digest) }?.row
    }

    private static func contains(_ sorted: [UInt64], _ digest: UInt64) -> Bool {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < digest { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low] == digest
    }
}
