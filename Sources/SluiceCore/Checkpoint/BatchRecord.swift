/// One provider batch as the checkpoint remembers it: written when its input file is uploaded (before the
/// batch is created, so a crash in between finds the file again instead of creating a second batch), then
/// its batch id, then its end.
package struct BatchRecord: Sendable, Equatable {
    /// The checkpoint's own number for it.
    package var row: Int64
    package var fileID: String
    /// Nil until the gateway created the batch (or a resume found it by its input file).
    package var batchID: String?
    package var endpoint: String
    /// `uploaded`, `submitted`, then `done` once every line's outcome is recorded.
    package var state: String
    package var items: Int
    package var createdAt: Double
    /// When its outcomes were all recorded (state `done`).
    package var finishedAt: Double?
    package var note: String?

    package init(
        row: Int64, fileID: String, batchID: String?, endpoint: String, state: String, items: Int, createdAt: Double, finishedAt: Double? = nil,
        note: String? = nil
    ) {
        self.row = row
        self.fileID = fileID
        self.batchID = batchID
        self.endpoint = endpoint
        self.state = state
        self.items = items
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.note = note
    }
}
