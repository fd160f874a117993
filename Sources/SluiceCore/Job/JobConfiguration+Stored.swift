import Foundation

/// The settings as the checkpoint keeps them, under each row's stored key (the property names checkpoints
/// have always used; the gateway's nested under `gateway`). Read back by `status`, `export`, `retry-failed`
/// and the others, also from checkpoints written by an earlier sluice: a key it lacks keeps its default.
extension JobConfiguration: Codable {
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Setting.StoredKey.self)
        for (prefix, rows) in Self.storedGroups {
            if let prefix {
                var nested = container.nestedContainer(keyedBy: Setting.StoredKey.self, forKey: Setting.StoredKey(prefix))
                for setting in rows { try setting.encode(self, &nested) }
            } else {
                for setting in rows { try setting.encode(self, &container) }
            }
        }
    }

    package init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: Setting.StoredKey.self)
        for (prefix, rows) in Self.storedGroups {
            if let prefix {
                guard container.contains(Setting.StoredKey(prefix)), !(try container.decodeNil(forKey: Setting.StoredKey(prefix))) else { continue }
                let nested = try container.nestedContainer(keyedBy: Setting.StoredKey.self, forKey: Setting.StoredKey(prefix))
                for setting in rows { try setting.decode(&self, nested) }
            } else {
                for setting in rows { try setting.decode(&self, container) }
            }
        }
    }

    /// The rows by the object they are stored in: nil for the top level, `gateway` for the gateway's.
    private static let storedGroups: [(String?, [Setting])] = {
        let nested = Dictionary(grouping: settings.filter { $0.stored.count > 1 }, by: { $0.stored[0] })
        return [(nil, settings.filter { $0.stored.count == 1 })] + nested.keys.sorted().map { ($0, nested[$0] ?? []) }
    }()

    /// The settings as stored in the checkpoint.
    package func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// The settings a checkpoint holds; nil for a checkpoint whose job never started.
    package static func stored(in store: any CheckpointStore) async throws -> JobConfiguration? {
        guard let json = try await store.jobSettings(), json != "{}" else { return nil }
        do {
            return try JSONDecoder().decode(JobConfiguration.self, from: Data(json.utf8))
        } catch {
            throw SluiceError(.checkpoint, "\(store.location): the job's settings cannot be read (\(error))")
        }
    }
}
