import Foundation

/// `--embed-batch N` in provider batches: embedding items whose requests differ only in `input` travel as
/// one batch line with an `input` array (`EmbeddingPacker`), and the line's vectors are split back to
/// them when the batch is collected. Which items a line carried is kept in the checkpoint (`batch_packs:<file>`)
/// before the batch is created, so a resume collects a packed line as the run that packed it would.
extension BatchDispatcher {
    static func packsKey(fileID: String) -> String { "batch_packs:\(fileID)" }

    /// Lines packed up to `embedBatch` inputs (items of one packing key, in the order they came); the packed
    /// line's `custom_id` is its first item's. Other lines pass as they are.
    func packEmbeddings(_ lines: [DispatchItem]) -> [DispatchItem] {
        guard settings.embedBatch > 1 else { return lines }
        var buckets: [[DispatchItem]] = []
        var filling: [[UInt8]: Int] = [:]
        for item in lines {
            guard let key = EmbeddingPacker.packingKey(of: item) else {
                buckets.append([item])
                continue
            }
            if let index = filling[key], buckets[index].count < settings.embedBatch {
                buckets[index].append(item)
            } else {
                filling[key] = buckets.count
                buckets.append([item])
            }
        }
        return buckets.map { bucket in
            guard bucket.count > 1 else { return bucket[0] }
            var packed = EmbeddingPacker.pack(bucket)
            packed.customID = bucket[0].customID
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

    /// The packed lines of a batch being collected: their items, in the order the line carried them. A pack
    /// whose items are not all still with the batch is left out (its items are then lines without an answer).
    func packs(of record: BatchRecord, items: [DispatchItem]) async throws -> [Int64: [DispatchItem]] {
        guard let saved = try await parts.store.value(forKey: Self.packsKey(fileID: record.fileID)),
            let stored = try? JSONDecoder().decode([String: [Int64]].self, from: Data(saved.utf8))
        else { return [:] }
        let byID = Dictionary(items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var packs: [Int64: [DispatchItem]] = [:]
        for (lead, ids) in stored {
            let members = ids.compactMap { byID[$0] }
            guard let lead = Int64(lead), members.count == ids.count, members.first?.id == lead else { continue }
            packs[lead] = members
        }
        return packs
    }
}
