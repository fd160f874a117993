/// Where an item is in its life. Stored as an integer in the checkpoint.
///
/// ```
/// pending ──dispatch──▶ inFlight ──answer──▶ succeeded
///    ▲                     │  └────────────▶ failed ──(--retry-failed)──▶ pending
///    └──(crash, resume)────┘
/// ```
public enum ItemState: Int, Sendable, CaseIterable {
    case pending = 0
    case inFlight = 1
    case succeeded = 2
    case failed = 3

    public var name: String {
        switch self {
        case .pending: return "pending"
        case .inFlight: return "in_flight"
        case .succeeded: return "succeeded"
        case .failed: return "failed"
        }
    }
}

/// The final word on one item, written to the checkpoint in one go.
public struct ItemOutcome: Sendable {
    public var id: Int64
    public var succeeded: Bool
    /// Attempts over the item's whole life, across resumes.
    public var attempts: Int
    public var httpStatus: Int?
    public var errorCode: String?
    public var errorMessage: String?
    public var answeredModel: String?
    public var provider: String?
    public var requestID: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var totalTokens: Int?
    public var latencyMilliseconds: Double?
    /// JSON object of the headers of the last attempt, without Authorization.
    public var headersSent: [UInt8]
    public var response: [UInt8]?
    public var fallbacksUsed: Int
    public var retries: Int

    public init(id: Int64, succeeded: Bool, attempts: Int, headersSent: [UInt8], fallbacksUsed: Int, retries: Int) {
        self.id = id
        self.succeeded = succeeded
        self.attempts = attempts
        self.headersSent = headersSent
        self.fallbacksUsed = fallbacksUsed
        self.retries = retries
    }
}

/// What the scheduler tells the checkpoint, applied in order in one transaction.
public enum CheckpointEvent: Sendable {
    case started(Int64)
    case finished(ItemOutcome)
    /// Abandoned unfinished because the run is stopping: pending again, so a
    /// graceful stop leaves nothing "in flight" behind. `attempts` is the item's
    /// total so far, so the attempts made in this run are not forgotten.
    case released(Int64, attempts: Int)
}

/// One input file of a job as the checkpoint remembers it.
public struct InputRecord: Sendable, Equatable {
    public var fileIndex: Int
    public var path: String
    public var fingerprint: InputFingerprint
    /// Lines read and stored so far; planning resumes after this line.
    public var plannedLines: Int
    public var planningComplete: Bool
    /// A read error that ended planning of this file early (a truncated gzip stream).
    public var planningError: String?

    public init(fileIndex: Int, path: String, fingerprint: InputFingerprint, plannedLines: Int, planningComplete: Bool, planningError: String?) {
        self.fileIndex = fileIndex
        self.path = path
        self.fingerprint = fingerprint
        self.plannedLines = plannedLines
        self.planningComplete = planningComplete
        self.planningError = planningError
    }
}

/// Totals over every item of the job.
public struct ItemCounts: Sendable, Equatable {
    public var total = 0
    public var pending = 0
    public var inFlight = 0
    public var succeeded = 0
    public var failed = 0
    public var invalidInput = 0
    public var attempts = 0
    public var promptTokens = 0
    public var completionTokens = 0

    public var finished: Int { succeeded + failed }
}

/// A position in input order: an item's file and line.
public struct ResultCursor: Sendable, Equatable, Comparable {
    public var fileIndex: Int
    public var line: Int

    public init(fileIndex: Int, line: Int) {
        self.fileIndex = fileIndex
        self.line = line
    }

    /// Before the first item of the job.
    public static let start = ResultCursor(fileIndex: -1, line: 0)

    public static func < (lhs: ResultCursor, rhs: ResultCursor) -> Bool {
        (lhs.fileIndex, lhs.line) < (rhs.fileIndex, rhs.line)
    }
}

/// One row of the results file, read back from the checkpoint in input order.
public struct ResultRow: Sendable {
    public var id: Int64
    public var customID: String
    public var state: ItemState
    public var httpStatus: Int?
    public var requestID: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var response: [UInt8]?
    public var metadata: [UInt8]?
    public var position: ResultCursor
}

/// A bad input line as stored: where it is and why.
public struct InputProblemRecord: Sendable {
    public var file: String
    public var line: Int
    public var code: String
    public var message: String
}
