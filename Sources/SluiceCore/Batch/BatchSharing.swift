/// Dedup in provider batches: identical requests (the same endpoint, first model and body, as
/// `AnswerSharing` counts them) travel once. The first of them is a line of the batch file; the others
/// *ride* in the same batch without a line, and take its answer when the batch is collected
/// (`BatchCollection`'s riders). Items leased later that are identical to a line of an open batch join that
/// batch as riders. Riders are recorded to the batch in the checkpoint like its lines, so a crash or a
/// resume loses nothing: the batch's collection settles them.
enum BatchSharing {
    /// Identical items, in the order the first of them came: `items[0]` travels, the rest ride.
    struct Group {
        /// Nil for an item that is not shared (a re-ask's follow-up: its conversation is its own).
        var digest: UInt64?
        var items: [DispatchItem]
    }

    /// The items grouped by request. Two items are identical when their digests are equal and their endpoints
    /// and bodies too (a digest collision makes two groups, not a wrong answer).
    static func groups(_ items: [DispatchItem], digest: (DispatchItem) -> UInt64?) -> [Group] {
        var groups: [Group] = []
        var byDigest: [UInt64: Int] = [:]
        for item in items {
            guard let key = digest(item) else {
                groups.append(Group(digest: nil, items: [item]))
                continue
            }
            if let index = byDigest[key], groups[index].items[0].endpoint == item.endpoint, groups[index].items[0].body == item.body {
                groups[index].items.append(item)
                continue
            }
            if byDigest[key] == nil { byDigest[key] = groups.count }
            groups.append(Group(digest: key, items: [item]))
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

    var isEmpty: Bool { batches.isEmpty }

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
