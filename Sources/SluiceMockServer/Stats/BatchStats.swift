import Foundation

/// The Files and Batches API's part of `GET /stats` (`"batch"`).
///
/// A batch client's tests need to prove what the gateway did with every line: that no batch was created
/// twice for the same items, and that no `custom_id` was answered by two batches.
struct BatchStats {
    var filesUploaded = 0
    var bytesUploaded = 0
    var batchesCreated = 0
    var linesSubmitted = 0
    /// Lines answered with status 200 (written to an output file), duplicates written by `--batch-duplicate-line` not counted.
    var linesAnswered = 0
    /// The `floopy-provider` header of each batch creation, `none` when it was absent.
    var providers: [String: Int] = [:]
    var answeredCustomIDs: Set<String> = []
    /// Answers to a `custom_id` that an earlier batch had already answered.
    var customIDsAnsweredTwice = 0
    /// Creates refused with `token_limit_exceeded` (`--batch-enqueued-token-limit`).
    var batchesRefused = 0
    /// The most tokens each model had enqueued in open batches at once, by the mock's count.
    var enqueuedTokensPeak: [String: Int] = [:]

    mutating func answered(customID: String) {
        if !answeredCustomIDs.insert(customID).inserted { customIDsAnsweredTwice += 1 }
    }

    /// `byStatus` is read from the batches themselves, which move on with time rather than with requests.
    func json(byStatus: [String: Int]) -> [String: Any] {
        [
            "files_uploaded": filesUploaded, "bytes_uploaded": bytesUploaded, "batches_created": batchesCreated,
            "batches_by_status": byStatus, "lines_submitted": linesSubmitted, "lines_answered": linesAnswered,
            "providers": providers, "custom_ids_answered_twice": customIDsAnsweredTwice, "batches_refused": batchesRefused,
            "enqueued_tokens_peak": enqueuedTokensPeak.values.max() ?? 0, "enqueued_tokens_peak_by_model": enqueuedTokensPeak,
        ]
    }
}
