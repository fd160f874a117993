import Foundation

/// One batch: what it was given, what was drawn for it at creation, and where it stands.
///
/// Its status is a function of the clock rather than of a timer, so a batch advances whether or not
/// anyone polls it and the mock needs no background work: the first request that sees it ended
/// writes its files (`MockBatches.advance`).
struct BatchRecord: Sendable {
    /// How a batch that is not cancelled ends, drawn at creation (`--batch-fail`, `--batch-expire`).
    enum Fate: Sendable { case complete, expire, fail }

    /// What the batch left when it ended.
    struct Ending: Sendable {
        var outputFileID: String?
        var errorFileID: String?
        var completed: Int
        var failed: Int
    }

    let number: Int
    let endpoint: String
    let inputFileID: String
    let completionWindow: String
    let metadata: [String: String]?
    /// Unix time, in seconds with fractions: `--batch-seconds` may be 0.5.
    let createdAt: Double
    let seconds: Double
    let lines: [BatchLine]
    /// Non-empty when the input file was refused: the batch fails at the end of validation.
    let invalid: [BatchLineError]
    let fate: Fate
    /// Seeds the order of the output and the per-line draws.
    let seed: UInt64
    /// The `floopy-property-*` headers (usage is counted per property) and `floopy-fallback` of the creation.
    let headers: [(name: String, value: String)]
    /// `--echo-credentials`: the credentials the creation presented, sent back in one error and one output line.
    var echo: CredentialEcho?
    var cancelRequestedAt: Double?
    var ending: Ending?
    /// Tokens it holds enqueued, by model, while it is open (`--batch-enqueued-token-limit`); empty when refused.
    var enqueued: [String: Int] = [:]

    var id: String { "batch_\(number)" }
    /// Validating, in progress or finalizing: what counts against the enqueued-token limit.
    func isOpen(at now: Double) -> Bool { ["validating", "in_progress", "finalizing"].contains(status(at: now)) }
    var validatedAt: Double { createdAt + 0.1 * seconds }
    var finalizingAt: Double { createdAt + 0.9 * seconds }

    /// The status the batch ends in, and when. A cancel is accepted only before the natural end.
    var end: (status: String, at: Double) {
        if let cancel = cancelRequestedAt { return ("cancelled", cancel + 0.1 * seconds) }
        if !invalid.isEmpty { return ("failed", validatedAt) }
        switch fate {
        case .complete: return ("completed", createdAt + seconds)
        case .expire: return ("expired", createdAt + seconds)
        case .fail: return ("failed", createdAt + seconds)
        }
    }

    func status(at now: Double) -> String {
        let (final, endsAt) = end
        if now >= endsAt { return final }
        if cancelRequestedAt != nil { return "cancelling" }
        if now < validatedAt { return "validating" }
        return fate == .complete && now >= finalizingAt ? "finalizing" : "in_progress"
    }

    /// Share of the lines done by `time`, in proportion to the time elapsed.
    func progress(at time: Double) -> Double {
        guard seconds > 0 else { return 1 }
        return min(max((time - createdAt) / seconds, 0), 1)
    }

    /// The batch object, with OpenAI's field names and Unix-second timestamps.
    func json(at now: Double) -> [String: Any] {
        let (final, endsAt) = end
        let ended = now >= endsAt
        // Phases count as reached only before a cancel or the end cut them short.
        let reached = min(now, cancelRequestedAt ?? now, endsAt)
        func stamp(_ time: Double?) -> Any { time.map { Int($0) } ?? NSNull() }
        func stamp(_ time: Double, if condition: Bool) -> Any { condition ? Int(time) : NSNull() }
        var counts: [String: Int] = ["total": invalid.isEmpty ? lines.count : 0, "completed": 0, "failed": 0]
        if let ending {
            counts["completed"] = ending.completed
            counts["failed"] = ending.failed
        } else if invalid.isEmpty, reached >= validatedAt {
            counts["completed"] = Int(Double(lines.count) * progress(at: reached))
        }
        var errors: Any = NSNull()
        if ended, final == "failed" {
            let list =
                invalid.isEmpty
                ? [BatchLineError(code: "server_error", message: "The batch failed because of an error on the server.", line: nil)] : invalid
            errors = ["object": "list", "data": list.map(\.json)]
        }
        return [
            "id": id, "object": "batch", "endpoint": endpoint, "errors": errors, "input_file_id": inputFileID,
            "completion_window": completionWindow, "status": status(at: now),
            "output_file_id": nullable(ending?.outputFileID), "error_file_id": nullable(ending?.errorFileID),
            "created_at": Int(createdAt),
            "in_progress_at": stamp(validatedAt, if: invalid.isEmpty && reached >= validatedAt),
            "expires_at": Int(createdAt) + 86_400,
            "finalizing_at": stamp(finalizingAt, if: fate == .complete && cancelRequestedAt == nil && reached >= finalizingAt),
            "completed_at": stamp(endsAt, if: ended && final == "completed"),
            "failed_at": stamp(endsAt, if: ended && final == "failed"),
            "expired_at": stamp(endsAt, if: ended && final == "expired"),
            "cancelling_at": stamp(cancelRequestedAt),
            "cancelled_at": stamp(endsAt, if: ended && final == "cancelled"),
            "request_counts": counts, "metadata": metadata.map { $0 as Any } ?? NSNull(),
        ]
    }

    private func nullable(_ text: String?) -> Any { text.map { $0 as Any } ?? NSNull() }
}
