import Foundation

/// `--embed-batch N` in provider batches: embedding items whose requests differ only in `input` travel as
/// one batch line with an `input` array (`EmbeddingPacker`), and the line's vectors are split back to
/// them when the batch is collected. Which items a line carried is kept in the checkpoint (`batch_packs:<file>`)
/// before the batch is created, so a resume collects a packed line as the run that packed it would.
extension BatchDispatcher {
    static func packsKey(fileID: String) -> String { "batch_packs:\(fileID)" }

    /// Lines packed up to `embedBatch` inputs (items of one packing key, in the order they came), each packed
    /// line within half of `--batch-max-bytes` and its model's enqueued-token limit (a line over either would be
    /// set apart whole); the packed line's `custom_id` is its first item's. Other lines pass as they are.
    func packEmbeddings(_ lines: [DispatchItem], tokenLimit: (String) -> Int?) -> [DispatchItem] {
        guard settings.embedBatch > 1 else { return lines }
        var buckets: [(items: [DispatchItem], bytes: Int)] = []
        var filling: [[UInt8]: Int] = [:]
        for item in lines {
            guard let key = EmbeddingPacker.packingKey(of: item) else {
                buckets.append(([item], 0))
                continue
            }
            let limit = tokenLimit(item.model ?? parts.builder.defaultModel ?? "").map { $0 - TokenEstimate.defaultOutputCap }
            if let index = filling[key], buckets[index].items.count < settings.embedBatch,
                buckets[index].bytes + item.body.count <= settings.maxBytes / 2,
                limit.map({ TokenEstimate.promptTokens(bodyBytes: buckets[index].bytes + item.body.count) <= $0 }) ?? true
            {
                buckets[index].items.append(item)
                buckets[index].bytes += item.body.count
            } else {
                filling[key] = buckets.count
                buckets.append(([item], item.body.count))
            }
        }
        return buckets.map { bucket in
            guard bucket.items.count > 1 else { return bucket.items[0] }
            var packed = EmbeddingPacker.pack(bucket.items)
            packed.customID = bucket.items[0].customID
            return packed
        }
    }

    /// A batch's lines as they were sent, from its items: packed embedding lines put back together (`packs`).
    func lines(of items: [DispatchItem], packs: [Int64: [DispatchItem]]) -> [DispatchItem] {
        let packedLater = Set(packs.values.flatMap { $0.dropFirst().map(\.id) })
        return items.compactMap { item in
            if packedLater.contains(item.id) { return nil }
            guard let members = packs[item.id] else { return item }
            var packed = EmbeddingPacker.pack(members)
            packed.customID = item.customID
            return packed
        }
    }

    /// Records which items each packed line of the file carries, in order (before the batch exists).
    func savePacks(of file: BatchFile, fileID: String) async throws {
        var packs: [String: [Int64]] = [:]
        for item in file.items {
            if let members = item.members { packs[String(item.id)] = members.map(\.id) }
        }
        guard !packs.isEmpty else { return }
        let json = try JSONEncoder().encode(packs)
        try await parts.store.setValue(String(decoding: json, as: UTF8.self), forKey: Self.packsKey(fileID: fileID))
    }

    /// The packed lines of a batch: their items, in the order the line carried them, by the first one's id. A
    /// pack not all of whose items are still with the batch is `broken`: its line cannot be split, and its
    /// items still there go again as lines without an answer.
    func packs(of record: BatchRecord, items: [DispatchItem]) async throws -> (packs: [Int64: [DispatchItem]], broken: Set<Int64>) {
        guard let saved = try await parts.store.value(forKey: Self.packsKey(fileID: record.fileID)),
            let stored = try? JSONDecoder().decode([String: [Int64]].self, from: Data(saved.utf8))
        else { return ([:], []) }
        let byID = Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var packs: [Int64: [DispatchItem]] = [:]
        var broken: Set<Int64> = []
        for (lead, ids) in stored {
            guard let lead = Int64(lead) else { continue }
            let members = ids.compactMap { byID[$0] }
            if members.count == ids.count, members.first?.id == lead { packs[lead] = members } else { broken.insert(lead) }
        }
        return (packs, broken)
    }
}
