/// One provider batch as the checkpoint remembers it: written when its input file is uploaded (before the
/// batch is created, so a crash in between finds the file again instead of creating a second batch), then
/// its batch id, then its end.
public struct BatchRecord: Sendable, Equatable {
    /// The checkpoint's own number for it.
    public var row: Int64
    public var fileID: String
    /// Nil until the gateway created the batch (or a resume found it by its input file).
    public var batchID: String?
    public var endpoint: String
    /// `uploaded`, `submitted`, then `done` once every line's outcome is recorded.
    public var state: String
    public var items: Int
    public var createdAt: Double
    public var note: String?

    public init(row: Int64, fileID: String, batchID: String?, endpoint: String, state: String, items: Int, createdAt: Double, note: String? = nil) {
        self.row = row
        self.fileID = fileID
        self.batchID = batchID
        self.endpoint = endpoint
        self.state = state
        self.items = items
        self.createdAt = createdAt
        self.note = note
    }
}
