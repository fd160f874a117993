import SluiceCore

/// What `Job.run()` tells as the job runs.
public enum JobEvent: Sendable {
    /// The figures of the moment, about once per progress interval.
    case progress(JobProgress)
    /// The run ended (the last event): every item done, or stopped and resumable.
    case finished(JobSummary)
}

/// A running job's figures, over every run of the job (items finished by earlier runs count as done).
public struct JobProgress: Sendable {
    /// Items answered or failed for good.
    public let done: Int
    public let succeeded: Int
    public let failed: Int
    /// Items planned so far; while the inputs are still being read, more will come.
    public let planned: Int
    /// Requests this run sent, retries included.
    public let requestsSent: Int
    public let inFlight: Int
    /// What this run's answers cost at the job's prices, in US dollars.
    public let costUSD: Double
    public let elapsedSeconds: Double

    init(_ moment: ProgressFeed.Moment) {
        let stats = moment.stats
        succeeded = moment.baseline.succeeded + stats.succeeded
        failed = moment.baseline.failed + stats.failed + stats.plannedInvalid
        done = succeeded + failed
        planned = moment.baseline.total + stats.planned
        requestsSent = stats.requestsSent
        inFlight = stats.inFlight
        costUSD = stats.cost
        elapsedSeconds = moment.elapsedSeconds
    }
}

/// How a run ended.
public struct JobSummary: Sendable {
    public let total: Int
    public let succeeded: Int
    public let failed: Int
    /// Items finished by earlier runs, not sent again.
    public let skipped: Int
    /// Every item is done and the results file is written.
    public let isComplete: Bool
    /// Why the run stopped before the end (cancelled, the cost cap, an error), or nil.
    public let stopReason: String?
    /// What the job's answers cost at its prices, over every run, in US dollars.
    public let costUSD: Double
    public let elapsedSeconds: Double
    /// `sluice run`'s exit code for the same end: 0, 1 (some items failed), 3 (cost cap), 130 (cancelled)...
    public let exitCode: Int32

    init(_ report: RunReport, redactor: Redactor) {
        total = report.counts.total
        succeeded = report.counts.succeeded
        failed = report.counts.failed
        skipped = report.skipped
        isComplete = report.written != nil || report.publishedBy != nil
        stopReason = report.stopReason.map { reason in
            switch reason {
            case .signal: "cancelled"
            case .error(let error): redactor.scrub(error.message)
            }
        }
        costUSD = report.totalCost
        elapsedSeconds = report.elapsedSeconds
        exitCode = report.exitCode
    }
}
