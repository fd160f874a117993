import Foundation

/// One provider batch as `sluice status` and `sluice report` show it: what the checkpoint recorded of it and
/// where its lines stand, so a batch's story (and its note) is readable without opening the database.
package struct BatchStatus: Codable, Sendable, Equatable {
    /// The gateway's batch id; nil while the file is uploaded but the batch not yet created.
    package var id: String?
    package var inputFileID: String
    /// `uploaded`, `submitted`, then `done` once every line's outcome is recorded.
    package var state: String
    package var lines: Int
    package var succeeded = 0
    package var failed = 0
    /// Lines still waiting on this batch.
    package var inBatch = 0
    /// Lines it gave back unanswered (refused at the enqueued-token limit, expired, cancelled, gone live):
    /// they were sent again, or wait to be.
    package var returned = 0
    package var createdAt: String
    package var finishedAt: String?
    /// Why it ended as it did, when that was not simply "answered" (the same note the log has).
    package var note: String?

    enum CodingKeys: String, CodingKey {
        case id, state, lines, succeeded, failed, returned, note
        case inputFileID = "input_file_id"
        case inBatch = "in_batch"
        case createdAt = "created_at"
        case finishedAt = "finished_at"
    }

    /// `record`'s lines by state (`CheckpointStore.batchLineStates`).
    package init(_ record: BatchRecord, lineStates: [ItemState: Int]) {
        id = record.batchID
        inputFileID = record.fileID
        state = record.state
        lines = record.items
        succeeded = lineStates[.succeeded] ?? 0
        failed = lineStates[.failed] ?? 0
        inBatch = record.state == "done" ? 0 : lineStates[.inFlight] ?? 0
        returned = max(lines - succeeded - failed - inBatch, 0)
        createdAt = JobStatusCollector.iso8601(record.createdAt)
        finishedAt = record.finishedAt.map(JobStatusCollector.iso8601)
        note = record.note
    }

    /// `batch_abc · done · 100 lines: 98 succeeded, 2 failed · created … · finished … · note`.
    package var line: String {
        var counts = ["\(succeeded) succeeded", "\(failed) failed"]
        if inBatch > 0 { counts.append("\(inBatch) in the batch") }
        if returned > 0 { counts.append("\(returned) returned unanswered") }
        var text = "\(id ?? "(not created: file \(inputFileID))") · \(state) · \(lines) lines: \(counts.joined(separator: ", ")) · created \(createdAt)"
        if let finishedAt { text += " · finished \(finishedAt)" }
        if let note, !note.isEmpty { text += " · \(note)" }
        return text
    }
}
